//! `SendSharedTask<T>`: a [`SharedTask`](crate::SharedTask) that coroutines
//! on several threads can await at once.
//!
//! Invariants:
//! - the state is one `Arc` allocation: a stand-in frame header (the task's
//!   final awaiter transfers to it) and a `Mutex` over the status and the
//!   intrusive FIFO list of waiting awaiters;
//! - a waiter's node lives in its awaiter, in the waiting coroutine's frame,
//!   and is linked, unlinked and read only under the mutex; `finished` pops
//!   it (marking it idle) before resuming its coroutine, and an awaiter
//!   dropped while its node is queued unlinks it;
//! - a thread-bound waiter (a `Task`) arms its node's `HomeWake` before
//!   the node is published (`WaitNode::arm_home`, one allocation; none for
//!   a `SendTask` or `sync_wait`). `finished`, on another thread, pops its
//!   node and marks it `HOME` under the mutex (`WaitNode::hand_home`), then,
//!   the mutex released, posts the wake-up to the home thread's wake-up
//!   queue and never touches the node again; `resume_woken` there resumes
//!   the coroutine, whose `await_resume` reads the result under the mutex.
//!   An awaiter dropped while its node is `HOME` detaches the wake-up, which
//!   then does nothing (`abandon_wait_with`); there is nothing to hand on,
//!   the result being shared;
//! - the running task owns one strong count (given to the frame as its
//!   continuation), taken back once by `finished`;
//! - `ready` is set, with `Release`, after the result is stored: a waiter
//!   that sees it set reads the result without waiting.

use core::fmt;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicBool, Ordering};
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::language::awaiter::{AwaitSuspend, Awaiter, CancelOutcome, IntoAwaiter};
use crate::language::frame::{counted_handle, no_destroy, take_counted, Header, VTable};
use crate::language::handle::{noop_coroutine, CoroutineHandle, UniqueCoroutineHandle};
use crate::language::promise::{CoroutineTraits, FromReturnObject, Payload};
use crate::library::sync::ready::HomeWake;
use crate::library::sync::waiter::{abandon_wait_with, cancel_wait_with, WaitList, WaitNode, IDLE};
use crate::library::sync::ThreadSafe;
use crate::library::task::shared::message;
use crate::library::task::{sync_wait_awaiter, SendFrame, SendTask, Sendable, SyncWait, TaskPromise, TaskReturn};

/// A lazily started task whose result any number of coroutines, on any
/// number of threads, can await at once; each gets a clone of the value.
///
/// The thread-safe [`SharedTask`](crate::SharedTask): an `Arc` handle,
/// cheap to clone, `Send + Sync` when `T: Send`, made from a
/// [`SendTask`] (so its frame is `Send`).
///
/// - The first `co_await!` starts the task, on the awaiting thread, by
///   symmetric transfer; awaiters that come while it runs (from any thread)
///   are queued, allocation-free: the awaiter in the waiting frame is the
///   list node.
/// - When the task finishes — on whichever thread last resumed it — its
///   frame is destroyed at once, then every queued awaiter is resumed **on
///   that thread**, in the order it started waiting, from a loop (the last
///   one by symmetric transfer), so thousands of awaiters take bounded
///   stack.
/// - Except thread-bound awaiters ([`Task`](crate::Task),
///   [`AsyncGenerator`](crate::AsyncGenerator)) of other threads: as with
///   the thread-safe [`coro::sync`](crate::sync) primitives, such an awaiter
///   is not resumed there but posted to its own thread's wake-up queue and
///   resumed by [`resume_woken`](crate::resume_woken) on that thread (which
///   [`sync_wait`](crate::sync_wait), a `Task` polled as a future and
///   [`LocalScheduler::run_until_idle`](crate::schedule::LocalScheduler::run_until_idle)
///   call); it gets its clone of the value, or the panic, there. Such a wait
///   allocates one small block; queuing a [`SendTask`] allocates nothing.
///   If it is destroyed while posted home, the wake-up does nothing.
/// - Awaiting a finished task returns a clone of the value at once, without
///   waiting.
/// - A panic in the task reaches every awaiter: the first to resume gets the
///   original payload; every other one, and any later awaiter, a panic with
///   the `String` payload `"SendSharedTask panicked: <message>"`.
/// - An awaiting coroutine destroyed while queued (a `when_any` loser)
///   leaves the queue. Dropping the last handle of a task that never
///   started destroys its frame; a started task keeps itself alive until it
///   finishes.
///
/// Make one with [`SendTask::shared`], `SendSharedTask::from(task)`, or as a
/// coroutine's return type (its frame is then checked `Send`, as for
/// `SendTask`). [`sync_wait`](crate::sync_wait) drives one from a thread.
///
/// ```
/// use coro::{co_await, co_return, sync_wait, SendSharedTask, SendTask};
///
/// #[coro::coroutine]
/// fn config() -> SendSharedTask<String> { co_return!("debug".to_string()) }
///
/// #[coro::coroutine]
/// fn user(cfg: SendSharedTask<String>) -> SendTask<usize> { co_return!(co_await!(cfg).len()) }
///
/// let cfg = config();
/// let threads: Vec<_> = (0..4)
///     .map(|_| { let c = cfg.clone(); std::thread::spawn(move || sync_wait(user(c))) })
///     .collect();
/// for t in threads { assert_eq!(t.join().unwrap(), 5); }
/// assert_eq!(sync_wait(&cfg), "debug");
/// ```
///
/// A thread-bound [`Task`](crate::Task) (here holding an `Rc`) awaiting a
/// shared task that finishes on another thread resumes on its own thread:
///
/// ```
/// use std::{rc::Rc, sync::Arc, thread};
/// use coro::{co_await, co_return, sync_wait, SendSharedTask, Task, ThreadPool};
///
/// #[coro::coroutine]
/// fn answer(pool: Arc<ThreadPool>) -> SendSharedTask<u32> {
///     co_await!(pool.schedule()); // finishes on a worker
///     co_return!(41)
/// }
///
/// #[coro::coroutine]
/// fn local(s: SendSharedTask<u32>, r: Rc<u32>) -> Task<u32> {
///     let me = thread::current().id();
///     let v = co_await!(s); // starts it here; it finishes on the worker
///     assert_eq!(thread::current().id(), me); // resumed back here
///     co_return!(v + *r)
/// }
///
/// let pool = Arc::new(ThreadPool::new(1));
/// assert_eq!(sync_wait(local(answer(pool), Rc::new(1))), 42);
/// ```
///
/// ```compile_fail
/// use std::rc::Rc;
/// use coro::{co_await, co_return, SendSharedTask, SuspendNever};
///
/// #[coro::coroutine]
/// fn holds_rc() -> SendSharedTask<u32> {
///     let r = Rc::new(1);
///     co_await!(SuspendNever);   // `r` is held across this suspension point
///     co_return!(*r)
/// }
/// ```
pub struct SendSharedTask<T> {
    state: Arc<State<T>>,
}

impl<T> Clone for SendSharedTask<T> {
    fn clone(&self) -> Self {
        SendSharedTask { state: self.state.clone() }
    }
}

impl<T> fmt::Debug for SendSharedTask<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = self.state.lock();
        let status = match inner.status {
            Status::Unstarted(_) => "unstarted",
            Status::Running(_) => "running",
            Status::Done(_) => "done",
            Status::Taken => "changing",
        };
        f.debug_struct("SendSharedTask").field("status", &status).finish()
    }
}

/// The task's result, once finished.
enum Done<T> {
    Value(T),
    /// The original payload (until the first awaiter takes it) and the message.
    Panicked(Option<Payload>, String),
}

enum Status<T> {
    Unstarted(UniqueCoroutineHandle<TaskPromise<T, Sendable>>),
    /// Started; the frame is owned by the state until it finishes.
    Running(UniqueCoroutineHandle<TaskPromise<T, Sendable>>),
    Done(Done<T>),
    /// Momentarily, while the status changes.
    Taken,
}

struct Inner<T> {
    status: Status<T>,
    /// The queued awaiters' nodes, oldest first.
    waiters: WaitList,
}

// SAFETY: the frame comes from a `SendTask` (its body and promise are
// `Send`, `T: Send`); the list's raw pointers are to `WaitNode`s (`Send +
// Sync`) inside live awaiters, and are followed only under the mutex that
// holds this `Inner` (module invariants).
unsafe impl<T: Send> Send for Inner<T> {}

/// The shared state. `header` makes it a stand-in frame: the task's final
/// awaiter transfers to it.
#[repr(C)]
struct State<T> {
    header: Header,
    /// Set once the status is `Done`.
    ready: AtomicBool,
    inner: Mutex<Inner<T>>,
}

impl<T> State<T> {
    const VTABLE: VTable = VTable::stand_in(finished::<T>, no_destroy);

    /// The inner state. A panic while it was held (a panicking `T::clone`)
    /// leaves it consistent: every change is made before user code runs.
    fn lock(&self) -> MutexGuard<'_, Inner<T>> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// What `finished` does with the next waiter.
enum Next {
    /// Resume it here (the last one by symmetric transfer).
    Here(CoroutineHandle, bool),
    /// A thread-bound coroutine of another thread: post it home.
    Home(Arc<HomeWake>),
}

/// The task finished and transferred here (on the thread that last resumed
/// it): store its result, destroy its frame, resume the waiters in order,
/// the last one by symmetric transfer; post the thread-bound waiters of
/// other threads to their home threads instead.
unsafe fn finished<T>(h: NonNull<Header>) -> Option<NonNull<Header>> {
    // SAFETY: only `await_suspend` makes this state the task's continuation,
    // after leaking one strong count for it (`Arc::into_raw`) and deriving
    // the handle from that very pointer; the count is taken back here, once,
    // and keeps the state alive while waiters run.
    let state: Arc<State<T>> = unsafe { take_counted(h) };
    let frame = {
        let mut inner = state.lock();
        let Status::Running(mut frame) = core::mem::replace(&mut inner.status, Status::Taken) else {
            unreachable!("a shared task finished twice")
        };
        // SAFETY: the task is at its final suspend point (it just
        // transferred here) and owned by the state: nobody else uses it.
        let promise = unsafe { frame.promise_mut() };
        inner.status = Status::Done(match promise.take_outcome() {
            Ok(v) => Done::Value(v),
            Err(p) => {
                let m = message(&p);
                Done::Panicked(Some(p), m)
            }
        });
        // From here on, newcomers do not queue.
        state.ready.store(true, Ordering::Release);
        frame
    };
    // Destroy the frame (its parameters and locals) before anyone resumes,
    // outside the lock: their drops are user code.
    drop(frame);
    // A panic posting a wake-up (a waker registered with
    // `notify_when_woken`) does not keep the other waiters waiting: the
    // first is rethrown once every waiter has been resumed or posted.
    let mut first_panic = None;
    loop {
        let next = {
            let mut inner = state.lock();
            inner.waiters.pop_front().map(|node| {
                // SAFETY: a queued node is alive (its awaiter unlinks it
                // under this lock before going away), registered, and has
                // just been taken out of the list under the lock.
                let node = unsafe { &*node };
                // SAFETY: as above.
                match unsafe { node.hand_home() } {
                    // Now `HOME`: from the unlock on, only its home thread
                    // resumes it (or its awaiter detaches the wake-up).
                    Some(home) => Next::Home(home),
                    None => {
                        // Out of the list, so idle: its awaiter's drop will
                        // not touch the list.
                        node.set_state(IDLE);
                        Next::Here(node.handle(), inner.waiters.is_empty())
                    }
                }
            })
        };
        match next {
            None => break,
            Some(Next::Home(home)) => {
                // Outside the lock; only our own `Arc` is touched.
                if let Err(p) = catch_unwind(AssertUnwindSafe(|| home.post())) {
                    first_panic.get_or_insert(p);
                }
            }
            Some(Next::Here(h, true)) if first_panic.is_none() => {
                drop(state);
                return Some(h.header());
            }
            // SAFETY: a queued waiter is a live coroutine suspended in a
            // `SendSharedTaskAwaiter`, resumed only from here, once; it may
            // run on this thread (`hand_home` said so: its frame is `Send`,
            // or this is its home thread).
            Some(Next::Here(h, _)) => unsafe { h.resume() },
        }
    }
    drop(state);
    if let Some(p) = first_panic {
        resume_unwind(p);
    }
    None
}

impl<T> SendSharedTask<T> {
    fn from_handle(handle: UniqueCoroutineHandle<TaskPromise<T, Sendable>>) -> Self {
        SendSharedTask {
            state: Arc::new(State {
                header: Header::stand_in(&State::<T>::VTABLE),
                ready: AtomicBool::new(false),
                inner: Mutex::new(Inner { status: Status::Unstarted(handle), waiters: WaitList::new() }),
            }),
        }
    }

    /// `true` once the task has finished (awaiting it returns at once).
    ///
    /// ```
    /// use coro::{co_return, sync_wait, SendSharedTask};
    /// #[coro::coroutine]
    /// fn one() -> SendSharedTask<u8> { co_return!(1) }
    /// let t = one();
    /// assert!(!t.is_ready());
    /// sync_wait(&t);
    /// assert!(t.is_ready());
    /// ```
    pub fn is_ready(&self) -> bool {
        self.state.ready.load(Ordering::Acquire)
    }
}

impl<T> From<SendTask<T>> for SendSharedTask<T> {
    /// Shares a task (see [`SendTask::shared`]).
    fn from(task: SendTask<T>) -> Self {
        SendSharedTask::from_handle(task.into_handle())
    }
}

/// A coroutine may return `SendSharedTask<T>` directly; its frame is then
/// checked `Send` and `'static` (`F` is its body), as for [`SendTask`].
impl<T: Send, F: SendFrame + 'static> FromReturnObject<TaskReturn<T, Sendable>, F> for SendSharedTask<T> {
    fn from_return_object(ro: TaskReturn<T, Sendable>) -> Self {
        <SendTask<T> as FromReturnObject<TaskReturn<T, Sendable>, F>>::from_return_object(ro).into()
    }
}

#[diagnostic::do_not_recommend]
impl<T> CoroutineTraits for SendSharedTask<T> {
    type Promise = TaskPromise<T, Sendable>;
}

impl<T> SendTask<T> {
    /// Turns the task into a [`SendSharedTask`] that coroutines on several
    /// threads can await.
    ///
    /// ```
    /// use coro::{co_await, co_return, sync_wait, SendSharedTask, SendTask};
    ///
    /// #[coro::coroutine]
    /// fn seven() -> SendTask<u32> { co_return!(7) }
    ///
    /// #[coro::coroutine]
    /// fn add(a: SendSharedTask<u32>, b: SendSharedTask<u32>) -> SendTask<u32> {
    ///     co_return!(co_await!(a) + co_await!(b))
    /// }
    ///
    /// let s = seven().shared();
    /// let t = add(s.clone(), s);
    /// assert_eq!(std::thread::spawn(move || sync_wait(t)).join().unwrap(), 14);
    /// ```
    pub fn shared(self) -> SendSharedTask<T> {
        self.into()
    }
}

impl<T: Clone> IntoAwaiter for SendSharedTask<T> {
    type Awaiter = SendSharedTaskAwaiter<T>;
    fn into_awaiter(self) -> SendSharedTaskAwaiter<T> {
        SendSharedTaskAwaiter { state: self.state, node: WaitNode::new() }
    }
}

impl<T: Clone> IntoAwaiter for &SendSharedTask<T> {
    type Awaiter = SendSharedTaskAwaiter<T>;
    fn into_awaiter(self) -> SendSharedTaskAwaiter<T> {
        SendSharedTaskAwaiter { state: self.state.clone(), node: WaitNode::new() }
    }
}

impl<T: Clone> SyncWait for SendSharedTask<T> {
    type Output = T;
    /// Awaits the task from this thread (starting it if nobody has), sleeping
    /// while it runs elsewhere; returns a clone of its value.
    ///
    /// ```
    /// use coro::{co_return, sync_wait, SendSharedTask};
    /// #[coro::coroutine]
    /// fn name() -> SendSharedTask<String> { co_return!("coro".to_string()) }
    /// let s = name();
    /// let t = { let s = s.clone(); std::thread::spawn(move || sync_wait(s)) };
    /// assert_eq!(sync_wait(&s), "coro");
    /// assert_eq!(t.join().unwrap(), "coro");
    /// ```
    fn sync_wait(self) -> T {
        sync_wait_awaiter(self.into_awaiter())
    }
}

impl<T: Clone> SyncWait for &SendSharedTask<T> {
    type Output = T;
    /// As for `SendSharedTask<T>`, keeping the handle.
    fn sync_wait(self) -> T {
        sync_wait_awaiter(self.into_awaiter())
    }
}

/// Awaiting a [`SendSharedTask`] (by value or by reference): starts it if
/// needed, waits in line, and gives a clone of its value. Holds the list
/// node it waits on.
pub struct SendSharedTaskAwaiter<T> {
    state: Arc<State<T>>,
    node: WaitNode,
}

impl<T> fmt::Debug for SendSharedTaskAwaiter<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SendSharedTaskAwaiter").field("queued", &!self.node.is_idle()).finish()
    }
}

#[diagnostic::do_not_recommend]
impl<T: Clone> Awaiter for SendSharedTaskAwaiter<T> {
    type Output = T;
    fn await_ready(&mut self) -> bool {
        self.state.ready.load(Ordering::Acquire)
    }
    unsafe fn await_suspend(&mut self, awaiting: CoroutineHandle) -> impl AwaitSuspend {
        // Once the node is queued and the lock released, another thread may
        // resume the awaiting coroutine and drop this awaiter, with its
        // `Arc`: this clone keeps the mutex alive until the guard is gone.
        let state = self.state.clone();
        // A thread-bound coroutine gets the wake-up that sends it home if
        // the task finishes on another thread (one allocation; none for a
        // `SendTask` or `sync_wait`). Made before the mutex is taken, as the
        // `coro::sync` primitives do, so that no allocation (nor the first
        // use of this thread's wake-up queue) lengthens the critical section
        // that `finished` and the other awaiters wait on.
        // SAFETY: `awaiting` is the live coroutine suspended on this
        // awaiter; the node is not published yet.
        unsafe { self.node.arm_home::<ThreadSafe>(awaiting) };
        let mut inner = state.lock();
        if let Status::Done(_) = inner.status {
            // Finished since `await_ready`: do not wait.
            return awaiting;
        }
        self.node.prepare(awaiting);
        // SAFETY: the node is in no list (a fresh awaiter) and stays alive
        // and in place until its awaiter's drop, which unlinks it first if
        // it is still queued (the awaiter is parked in the awaiting frame).
        unsafe { inner.waiters.push_back(&self.node) };
        match core::mem::replace(&mut inner.status, Status::Taken) {
            Status::Unstarted(mut frame) => {
                // The running task owns one strong count, given back by
                // `finished`.
                let stand_in = counted_handle(&self.state);
                // SAFETY: unstarted and owned by the state: nobody else uses it.
                unsafe { frame.promise_mut() }.continuation = Some(stand_in);
                let h = frame.handle().erase();
                inner.status = Status::Running(frame);
                // Transfer into the task: it runs on this thread first.
                h
            }
            other => {
                inner.status = other;
                noop_coroutine()
            }
        }
    }
    /// Leaves the line if still queued (`Withdrawn`: the task runs on for
    /// its other awaiters); popped by `finished` already, the resumption
    /// is on its way (`ResumeComing`).
    unsafe fn await_cancel(&mut self) -> CancelOutcome {
        let node: *const WaitNode = &self.node;
        let state = &self.state;
        // SAFETY: the node is alive and registered with this state's list;
        // the mutex is held.
        let unlink = || unsafe { state.lock().waiters.unlink_if_queued(node) };
        // SAFETY: the node is alive (ours); `unlink` reaches its list under
        // the mutex.
        unsafe { cancel_wait_with(node, unlink) }
    }
    fn await_resume(self) -> T {
        // Resumed: nothing refers to the node any more (it was idle, or
        // `HOME` and its wake-up has run).
        self.node.finish();
        let mut inner = self.state.lock();
        match &mut inner.status {
            Status::Done(Done::Value(v)) => v.clone(),
            Status::Done(Done::Panicked(p, m)) => {
                let payload = p.take().unwrap_or_else(|| Box::new(format!("SendSharedTask panicked: {m}")));
                drop(inner);
                resume_unwind(payload)
            }
            _ => unreachable!("a shared task's awaiter resumed before it finished"),
        }
    }
}

impl<T> Drop for SendSharedTaskAwaiter<T> {
    fn drop(&mut self) {
        // Idle after a normal resumption (`finished` unlinked it) or if it
        // never waited. If the awaiting coroutine is destroyed while it
        // waits: queued, it leaves the line; posted home (`HOME`), its
        // wake-up is detached and will do nothing. The value is shared, so
        // there is nothing to hand on.
        let node: *const WaitNode = &self.node;
        let state = &self.state;
        // SAFETY: the node is alive and was registered, if at all, with
        // this state's list; the mutex is held.
        let unlink = || unsafe { state.lock().waiters.unlink_if_queued(node) };
        // SAFETY: the node is alive (ours); `unlink` reaches its list under
        // the mutex. It is never put in a ready queue nor marked `RESUMING`.
        unsafe { abandon_wait_with(node, unlink) };
    }
}
