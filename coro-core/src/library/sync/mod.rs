//! Synchronisation primitives for coroutines: events, a mutex, a
//! reader-writer lock, a semaphore, a latch and a bounded channel. Waiting suspends the coroutine (never the
//! thread) and allocates nothing — except for a thread-bound coroutine (a
//! [`Task`](crate::Task)) waiting on a thread-safe primitive, which makes
//! one small reference-counted block per wait so that a release on another
//! thread can send it home (see [Waking](#waking)).
//!
//! | type | C++ / library model | waits for |
//! | --- | --- | --- |
//! | [`SingleConsumerEvent`] | cppcoro `single_consumer_event` | `set()`; one waiter at a time |
//! | [`Event`] | cppcoro `async_manual_reset_event` | `set()`; any number of waiters |
//! | [`AutoResetEvent`] | cppcoro `async_auto_reset_event` | `set()`; each `set` lets one waiter through |
//! | [`Mutex<T>`](Mutex) | cppcoro `async_mutex` (+ a value, like `std::sync::Mutex`) | the lock, FIFO; guard unlocks on drop |
//! | [`RwLock<T>`](RwLock) | libcoro `shared_mutex` (+ a value, like `std::sync::RwLock`) | shared or exclusive access; writers first, readers in batches |
//! | [`Semaphore`] | libcoro / folly coro semaphore | a permit, FIFO; permit released on drop |
//! | [`Latch`] | C++20 `std::latch`, folly / libcoro latch | the count reaching zero |
//! | [`Channel<T>`](Channel) | Go channel, bounded MPMC | room to send / a value to receive, FIFO |
//!
//! # Two flavours
//!
//! Each primitive comes in two flavours, chosen by a type parameter
//! `F` ([`ThreadSafe`] or [`Local`]) and named through aliases:
//!
//! - **thread-safe**, `coro::sync::{Event, Mutex, ...}`: `Send + Sync`.
//!   Coroutines on any threads may wait, and any thread may release. The
//!   state (a flag or counter and the waiter lists) sits behind a small
//!   spin lock, held for a few instructions and never while user code or a
//!   coroutine runs.
//! - **single-threaded**, [`coro::sync::local::{Event, Mutex, ...}`](local):
//!   not `Sync`, so the compiler keeps every user on one thread; no atomic
//!   operation at all. They are `Send` (when their contents are): an idle
//!   primitive can be moved to another thread, and one with waiters cannot
//!   be moved at all, since the waiters borrow it. Use them for coroutines
//!   that all run on one thread (one event loop), where they are cheaper.
//!
//! Both flavours share one implementation; only the lock differs (the
//! local "lock" merely checks against re-entry). Guards and awaiters of the
//! thread-safe flavour are `Send`, so a coroutine holding one can move to
//! another thread; those of the local flavour are not.
//!
//! # Waking
//!
//! A primitive that becomes ready — an unlock, a `set`, a count down to
//! zero, a send to a waiting receiver, a close — resumes the coroutines it
//! releases **on the releasing thread, before the releasing call returns**,
//! in the order they started waiting. This is cppcoro's choice (no
//! scheduler is needed, and the released coroutine runs at once). It means
//! a thread-safe primitive released on thread B resumes a coroutine that
//! may run anywhere (a [`SendTask`](crate::SendTask)) and that waited on
//! thread A on thread B; hop back to a scheduler of your own if such a
//! coroutine must run on a given thread.
//!
//! **Thread-bound coroutines go home.** A coroutine whose frame is not
//! `Send` (a [`Task`](crate::Task), an [`AsyncGenerator`](crate::AsyncGenerator))
//! must only run on the thread that created it. Released by another
//! thread, it is granted what it waited for there and then (the lock is
//! its, the permit or value reserved for it: FIFO order and hand-off are
//! unchanged), but it is not resumed there: it is posted to its own
//! thread's wake-up queue and resumed by
//! [`resume_woken`](crate::resume_woken) on that thread, which
//! [`sync_wait`](crate::sync_wait), a `Task` polled as a future and
//! [`LocalScheduler::run_until_idle`](crate::schedule::LocalScheduler::run_until_idle)
//! call (an event loop of your own should too). So it runs a little later,
//! when its thread gets to it, rather than inside the release; released on
//! its own thread, it is resumed inline as above. The hand-off needs one
//! small allocation per wait of such a coroutine on a thread-safe
//! primitive, made in `await_suspend`; `SendTask`s and the `local`
//! flavour allocate nothing.
//!
//! Resuming inline has one classic trap: a released coroutine that releases
//! in turn (waiter 1 locks, works, unlocks, which resumes waiter 2, which
//! unlocks, ...) nests one stack level per waiter. Here the released
//! coroutines go through a per-thread ready queue, and the loops resuming it
//! nest at most 16 deep on a thread; a release deeper than that only
//! queues, and the innermost loop resumes the queued coroutines as soon as
//! the one it is running suspends. A chain of any length therefore runs in
//! bounded stack. (The price: a coroutine released that deep starts a
//! little later, when the innermost loop gets to it; and a coroutine that
//! *blocks its thread* at that depth — `sync_wait` inside a coroutine 16
//! releases deep — blocks the queued ones too.) The queue is intrusive, so
//! waking allocates nothing either.
//!
//! Symmetric transfer cannot do this job: a release happens in a guard's
//! `drop` or a plain method such as `set()`, not in an `await_suspend`, so
//! there is no suspended releaser to transfer from, and suspending the
//! releaser instead would need a scheduler to resume it.
//!
//! Releases never resume anyone from inside an `await_suspend`, where the
//! awaiting coroutine is already suspended and could be destroyed by the
//! coroutine resumed. The one case where an `await_suspend` releases a
//! waiter — a channel send or receive whose counterpart arrived, from
//! another thread, between `await_ready` and `await_suspend` — queues its
//! own coroutine behind the released one instead of continuing.
//!
//! For the thread-safe flavour, an `await_suspend` registers its waiter
//! under the spin lock; releasing the lock publishes it, and nothing after
//! that touches the awaiter or the primitive, since another thread may
//! resume the coroutine at once (and free the primitive).
//!
//! A panic escaping a resumed coroutine (a promise whose
//! `unhandled_exception` rethrows) does not prevent the other released
//! coroutines from being resumed; the first such panic then propagates from
//! the releasing call (unless that call is itself part of an unwinding — a
//! guard dropped by a panic — in which case the panic already under way
//! wins). A guard dropped by a panic unlocks as usual: there is no
//! poisoning.
//!
//! # Fairness
//!
//! Every wait list is FIFO, and resources are handed over, never raced
//! for: an unlock with waiters passes the lock to the first waiter without
//! ever freeing it, a released permit goes to the first waiter, a sent value
//! to the first waiting receiver. A newcomer (a `try_lock`, a `lock()` whose
//! `await_ready` runs just after an unlock) cannot overtake coroutines that
//! are already waiting.
//!
//! # Destroyed waiters
//!
//! Every awaiter carries its list node inside itself, so inside the waiting
//! coroutine's frame. Destroying a coroutine suspended on a primitive drops
//! the awaiter, whose `Drop` unlinks the node: the primitive stays
//! consistent, and nothing is leaked or freed twice. If the coroutine had
//! already been granted what it waited for (it is in the ready queue,
//! because a coroutine resumed before it destroyed it, or queued for its
//! home thread, which has not resumed it yet), the grant is passed on: a
//! mutex lock or a permit to the next waiter, a received value to the next
//! receiver or back into the channel. A wake-up already queued for the home
//! thread then does nothing when it runs: it holds a reference-counted
//! block that the awaiter detaches, never a pointer into the freed frame.
//!
//! With the thread-safe flavour, the usual rule for coroutine handles
//! applies: do not destroy a coroutine while another thread may resume it.
//! A waiter that another thread has just released belongs to that thread
//! until it is resumed — while it sits in that thread's ready queue, and
//! while that thread is resuming it, up to the waiter's `await_resume`;
//! destroying it then is detected and aborts the process rather than
//! freeing a frame that is about to run. (Thread-bound coroutines are
//! never resumed by another thread, so their owners may destroy them at
//! any time.)
//!
//! # The awaiter contract
//!
//! The awaiters are meant to be driven by `co_await!`, which keeps them in
//! place in the frame from `await_suspend` until they are resumed or
//! dropped, and passes the handle of the coroutine that is suspended on
//! them. As with any C++ awaiter, calling `await_suspend` by hand and then
//! moving or forgetting the awaiter, or passing some other handle, breaks
//! that contract: a later release would follow a dangling node or resume
//! the wrong coroutine.
//!
//! # Example
//!
//! Three coroutines on one thread queue for a local mutex. The small eager
//! promise `Spawn` starts a coroutine in its ramp, as a scheduler's `spawn`
//! would.
//!
//! ```
//! use std::rc::Rc;
//! use coro::sync::local::{Event, Mutex};
//! use coro::promise::{AwaitDirect, Payload, ReturnVoid, ReturnsVoid};
//! use coro::{co_await, CoroutineHandle, Promise, SuspendAlways, SuspendNever, UniqueCoroutineHandle};
//!
//! /// Runs at once; keeps the frame at the end so that `done()` can be asked.
//! #[derive(Default)]
//! struct Spawn;
//! impl Promise for Spawn {
//!     type ReturnObject = UniqueCoroutineHandle<Spawn>;
//!     type InitialSuspend = SuspendNever;
//!     type FinalSuspend = SuspendAlways;
//!     type Return = ReturnsVoid;
//!     type Await = AwaitDirect;
//!     unsafe fn get_return_object(&mut self) -> Self::ReturnObject {
//!         // SAFETY: the returned owner is the frame's only owner.
//!         unsafe { UniqueCoroutineHandle::from_raw(CoroutineHandle::from_promise(self)) }
//!     }
//!     fn initial_suspend(&mut self) -> SuspendNever { SuspendNever }
//!     fn final_suspend(&mut self) -> SuspendAlways { SuspendAlways }
//!     fn unhandled_exception(&mut self, p: Payload) { std::panic::resume_unwind(p) }
//! }
//! impl ReturnVoid for Spawn {
//!     fn return_void(&mut self) {}
//! }
//!
//! #[coro::coroutine(promise = Spawn)]
//! fn worker(name: char, go: Rc<Event>, log: Rc<Mutex<String>>) -> UniqueCoroutineHandle<Spawn> {
//!     co_await!(go.wait());
//!     let mut log = co_await!(log.lock());
//!     log.push(name);
//! }
//!
//! let go = Rc::new(Event::new());
//! let log = Rc::new(Mutex::new(String::new()));
//! let workers: Vec<_> = "abc".chars().map(|c| worker(c, go.clone(), log.clone())).collect();
//! assert!(workers.iter().all(|w| !w.done()));      // all wait for `go`
//!
//! let held = log.try_lock().unwrap();               // hold the lock...
//! go.set();                                         // ...resume the workers: all queue on it
//! assert!(workers.iter().all(|w| !w.done()));
//! drop(held);                                       // FIFO hand-off from one to the next
//! assert!(workers.iter().all(|w| w.done()));
//! assert_eq!(*log.try_lock().unwrap(), "abc");
//! //! ```

mod flavor;
pub(crate) mod ready;
pub(crate) mod waiter;

pub mod auto_reset_event;
pub mod channel;
pub mod condvar;
pub mod event;
pub mod latch;
pub mod mutex;
pub mod rw_lock;
pub mod semaphore;
pub mod single_consumer_event;

pub use channel::{SendError, TryRecvError, TrySendError};
pub use flavor::{Flavor, Local, ThreadSafe};
pub use semaphore::TooManyPermits;

/// A thread-safe [`SingleConsumerEvent`](single_consumer_event::SingleConsumerEvent).
///
/// ```
/// let ev = coro::sync::SingleConsumerEvent::new();
/// std::thread::scope(|s| {
///     s.spawn(|| ev.set()); // `Sync`: set from another thread
/// });
/// assert!(ev.is_set());
/// ```
pub type SingleConsumerEvent = single_consumer_event::SingleConsumerEvent<ThreadSafe>;
/// A thread-safe manual-reset [`Event`](event::Event).
///
/// ```
/// let ev = coro::sync::Event::new();
/// std::thread::scope(|s| {
///     s.spawn(|| ev.set()); // `Sync`: set from another thread
/// });
/// assert!(ev.is_set());
/// ```
pub type Event = event::Event<ThreadSafe>;
/// A thread-safe [`Condvar`](condvar::Condvar), used with a [`Mutex`].
///
/// ```
/// let cv = coro::sync::Condvar::new();
/// std::thread::scope(|s| {
///     s.spawn(|| cv.notify_all()); // `Sync`: notified from another thread
/// });
/// ```
pub type Condvar = condvar::Condvar<ThreadSafe>;
/// A thread-safe [`AutoResetEvent`](auto_reset_event::AutoResetEvent).
///
/// ```
/// let ev = coro::sync::AutoResetEvent::new();
/// std::thread::scope(|s| {
///     s.spawn(|| ev.set()); // `Sync`: set from another thread
/// });
/// assert!(ev.try_wait()); // consumed by one wait
/// assert!(!ev.is_set());
/// ```
pub type AutoResetEvent = auto_reset_event::AutoResetEvent<ThreadSafe>;
/// A thread-safe async [`Mutex`](mutex::Mutex).
///
/// ```
/// let m = coro::sync::Mutex::new(0);
/// std::thread::scope(|s| {
///     s.spawn(|| *m.try_lock().unwrap() += 1); // `Sync`: shared with a thread
/// });
/// assert_eq!(m.into_inner(), 1);
/// ```
pub type Mutex<T> = mutex::Mutex<T, ThreadSafe>;
/// The guard of a thread-safe [`Mutex`].
///
/// ```
/// use coro::sync::{Mutex, MutexGuard};
///
/// let m = Mutex::new(5);
/// let guard: MutexGuard<'_, i32> = m.try_lock().unwrap();
/// assert_eq!(*guard, 5);
/// ```
pub type MutexGuard<'a, T> = mutex::MutexGuard<'a, T, ThreadSafe>;
/// A thread-safe async [`RwLock`](rw_lock::RwLock).
///
/// ```
/// let l = coro::sync::RwLock::new(0);
/// std::thread::scope(|s| {
///     s.spawn(|| *l.try_write().unwrap() += 1); // `Sync`: shared with a thread
/// });
/// assert_eq!(*l.try_read().unwrap(), 1);
/// ```
pub type RwLock<T> = rw_lock::RwLock<T, ThreadSafe>;
/// A thread-safe counting [`Semaphore`](semaphore::Semaphore).
///
/// ```
/// let sem = coro::sync::Semaphore::new(2);
/// std::thread::scope(|s| {
///     s.spawn(|| sem.try_acquire().unwrap().forget()); // `Sync`: shared with a thread
/// });
/// assert_eq!(sem.available_permits(), 1);
/// ```
pub type Semaphore = semaphore::Semaphore<ThreadSafe>;
/// A permit of a thread-safe [`Semaphore`].
///
/// ```
/// use coro::sync::{Semaphore, SemaphorePermit};
///
/// let sem = Semaphore::new(1);
/// let permit: SemaphorePermit<'_> = sem.try_acquire().unwrap();
/// assert_eq!(sem.available_permits(), 0);
/// drop(permit);
/// assert_eq!(sem.available_permits(), 1);
/// ```
pub type SemaphorePermit<'a> = semaphore::SemaphorePermit<'a, ThreadSafe>;
/// A thread-safe [`Latch`](latch::Latch).
///
/// ```
/// let latch = coro::sync::Latch::new(2);
/// std::thread::scope(|s| {
///     for _ in 0..2 {
///         s.spawn(|| latch.count_down()); // `Sync`: counted down from threads
///     }
/// });
/// assert!(latch.is_ready());
/// ```
pub type Latch = latch::Latch<ThreadSafe>;
/// A thread-safe bounded MPMC [`Channel`](channel::Channel).
///
/// ```
/// let ch = coro::sync::Channel::new(2);
/// std::thread::scope(|s| {
///     s.spawn(|| ch.try_send("from a thread").unwrap()); // `Sync`: shared with a thread
/// });
/// assert_eq!(ch.try_recv(), Ok("from a thread"));
/// ```
pub type Channel<T> = channel::Channel<T, ThreadSafe>;

/// The single-threaded flavour of every primitive: not `Sync`, no atomic
/// operations. See [the module docs](crate::sync#two-flavours).
pub mod local {
    use super::{
        auto_reset_event, channel, condvar, event, latch, mutex, rw_lock, semaphore, single_consumer_event, Local,
    };

    /// A single-threaded [`SingleConsumerEvent`](single_consumer_event::SingleConsumerEvent).
    ///
    /// ```
    /// let ev = coro::sync::local::SingleConsumerEvent::new(); // not `Sync`
    /// ev.set();
    /// assert!(ev.is_set());
    /// ```
    pub type SingleConsumerEvent = single_consumer_event::SingleConsumerEvent<Local>;
    /// A single-threaded manual-reset [`Event`](event::Event).
    ///
    /// ```
    /// use std::rc::Rc;
    /// use coro::{co_await, co_return, sync_wait, Task};
    /// use coro::sync::local::Event;
    ///
    /// #[coro::coroutine]
    /// fn wait(ev: Rc<Event>) -> Task<bool> {
    ///     co_await!(ev.wait());
    ///     co_return!(true)
    /// }
    ///
    /// let ev = Rc::new(Event::new()); // not `Sync`: stays on this thread
    /// ev.set();
    /// assert!(sync_wait(wait(ev)));
    /// ```
    pub type Event = event::Event<Local>;
    /// A single-threaded [`Condvar`](condvar::Condvar), used with a
    /// [`Mutex`].
    ///
    /// ```
    /// let cv = coro::sync::local::Condvar::new(); // not `Sync`
    /// cv.notify_one();
    /// ```
    pub type Condvar = condvar::Condvar<Local>;
    /// A single-threaded [`AutoResetEvent`](auto_reset_event::AutoResetEvent).
    ///
    /// ```
    /// let ev = coro::sync::local::AutoResetEvent::new(); // not `Sync`
    /// ev.set();
    /// assert!(ev.try_wait());
    /// assert!(!ev.try_wait());
    /// ```
    pub type AutoResetEvent = auto_reset_event::AutoResetEvent<Local>;
    /// A single-threaded async [`Mutex`](mutex::Mutex).
    ///
    /// ```
    /// use std::rc::Rc;
    /// use coro::{co_await, co_return, sync_wait, Task};
    /// use coro::sync::local::Mutex;
    ///
    /// #[coro::coroutine]
    /// fn push(m: Rc<Mutex<Vec<u32>>>, v: u32) -> Task<()> {
    ///     co_await!(m.lock()).push(v);
    ///     co_return!(())
    /// }
    ///
    /// let m = Rc::new(Mutex::new(Vec::new())); // not `Sync`: stays on this thread
    /// sync_wait(push(m.clone(), 1));
    /// sync_wait(push(m.clone(), 2));
    /// assert_eq!(*m.try_lock().unwrap(), [1, 2]);
    /// ```
    pub type Mutex<T> = mutex::Mutex<T, Local>;
    /// The guard of a single-threaded [`Mutex`].
    ///
    /// ```
    /// use coro::sync::local::{Mutex, MutexGuard};
    ///
    /// let m = Mutex::new('a');
    /// let guard: MutexGuard<'_, char> = m.try_lock().unwrap();
    /// assert_eq!(*guard, 'a');
    /// ```
    pub type MutexGuard<'a, T> = mutex::MutexGuard<'a, T, Local>;
    /// A single-threaded async [`RwLock`](rw_lock::RwLock).
    ///
    /// ```
    /// let l = coro::sync::local::RwLock::new(1); // not `Sync`
    /// let (a, b) = (l.try_read().unwrap(), l.try_read().unwrap());
    /// assert_eq!(*a + *b, 2);
    /// ```
    pub type RwLock<T> = rw_lock::RwLock<T, Local>;
    /// A single-threaded counting [`Semaphore`](semaphore::Semaphore).
    ///
    /// ```
    /// let sem = coro::sync::local::Semaphore::new(1); // not `Sync`
    /// let permit = sem.try_acquire();
    /// assert!(permit.is_some() && sem.try_acquire().is_none());
    /// ```
    pub type Semaphore = semaphore::Semaphore<Local>;
    /// A permit of a single-threaded [`Semaphore`].
    ///
    /// ```
    /// use coro::sync::local::{Semaphore, SemaphorePermit};
    ///
    /// let sem = Semaphore::new(1);
    /// let permit: SemaphorePermit<'_> = sem.try_acquire().unwrap();
    /// permit.forget();
    /// assert_eq!(sem.available_permits(), 0);
    /// ```
    pub type SemaphorePermit<'a> = semaphore::SemaphorePermit<'a, Local>;
    /// A single-threaded [`Latch`](latch::Latch).
    ///
    /// ```
    /// let latch = coro::sync::local::Latch::new(1); // not `Sync`
    /// latch.count_down();
    /// assert!(latch.is_ready());
    /// ```
    pub type Latch = latch::Latch<Local>;
    /// A single-threaded bounded MPMC [`Channel`](channel::Channel).
    ///
    /// ```
    /// use std::rc::Rc;
    ///
    /// let ch = coro::sync::local::Channel::new(1); // not `Sync`; may carry an `Rc`
    /// ch.try_send(Rc::new(1)).unwrap();
    /// assert_eq!(*ch.try_recv().unwrap(), 1);
    /// ```
    pub type Channel<T> = channel::Channel<T, Local>;
}
