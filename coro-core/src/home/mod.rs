//! Which thread a thread-bound coroutine belongs to.
//!
//! A coroutine whose frame is not `Send` (a [`Task`](crate::Task), an
//! [`AsyncGenerator`](crate::AsyncGenerator)) must only run on the thread
//! that created it. Its promise records that thread and refuses, with a
//! panic, to be resumed anywhere else ([`Promise::before_resume`](crate::Promise::before_resume)),
//! leaving the frame untouched at its suspension point: running it on
//! another thread would use its `Rc`s, its `MutexGuard`s there.
//!
//! The library's own wake-ups never get that far. Those that can fire on
//! another thread — the waker of a `co_await!`ed `Future`, a thread-safe
//! `coro::sync` primitive released by another thread, a `SendSharedTask`
//! or an awaited `SendTask` finished on another thread — do not resume a
//! thread-bound coroutine there: they post it to its home thread's
//! [`WakeQueue`], which [`resume_woken`] runs. Only a hand-written awaiter
//! that resumes a `Task` from another thread meets the panic.
//!
//! Model-checked: the queue's post / drain / requeue / close, a driver's
//! registration against a post, [`HomeResume`]'s `WAITING` / `RESUMED` /
//! `DETACHED` race, and the hop home of `hop.rs`, run under loom in the
//! `loom_tests` at the end of this file (`.ci/loom`); their atomics, locks
//! and thread-locals come from `language::atomic` for that.

pub(crate) mod hop;

use core::cell::{OnceCell, RefCell};
use core::task::Waker;
use core::{fmt, mem};
use std::sync::{Arc, Weak};
use std::thread::{self, Thread};

use crate::language::atomic::{thread_local, AtomicU8, Mutex, MutexGuard, Ordering};
use crate::language::handle::CoroutineHandle;

thread_local! {
    static MARKER: u8 = const { 0 };
}

/// The thread a coroutine was created on: the address of a thread-local,
/// unique among running threads and cheap to read (no reference count, unlike
/// `std::thread::current()`).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct HomeThread(usize);

impl HomeThread {
    #[inline]
    pub(crate) fn current() -> HomeThread {
        HomeThread(MARKER.with(|m| m as *const u8 as usize))
    }

    /// Panics unless called on the home thread.
    #[inline]
    pub(crate) fn check(self, what: &str) {
        if HomeThread::current() != self {
            wrong_thread(what)
        }
    }
}

impl fmt::Debug for HomeThread {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("HomeThread").field(&format_args!("{:#x}", self.0)).finish()
    }
}

#[cold]
#[inline(never)]
fn wrong_thread(what: &str) -> ! {
    panic!(
        "a {what} (its frame is not Send) was resumed on a thread other than the one that created it; \
         it was left suspended. Use a SendTask for coroutines that wait for other threads, \
         or the coro::sync::local primitives within one thread"
    )
}

// ===========================================================================
// The wake-up queue: thread-bound coroutines woken from other threads
// ===========================================================================

/// Something a waker on another thread asks the home thread to run.
pub(crate) trait Wakeup: Send + Sync {
    /// Runs on the home thread, from [`resume_woken`].
    fn run(self: Arc<Self>);
}

/// Waiting for its wake-up.
const WAITING: u8 = 0;
/// Taken by the wake-up, on the home thread, which resumes the coroutine.
const RESUMED: u8 = 1;
/// The awaiter was dropped first: the wake-up does nothing.
const DETACHED: u8 = 2;

/// The part every "send a thread-bound coroutine home" wake-up shares (a
/// `coro::sync` release's `HomeWake`, a `SendTask`'s `HomeHop`): the
/// suspended coroutine, its home thread and that thread's queue, and who
/// wins between the wake-up (`WAITING -> RESUMED`, which resumes it) and
/// the awaiter's drop (`-> DETACHED`, after which the wake-up does
/// nothing). It never points into the frame unguarded: the handle is only
/// resumed after winning `WAITING -> RESUMED`.
pub(crate) struct HomeResume {
    state: AtomicU8,
    handle: CoroutineHandle,
    thread: HomeThread,
    /// Weak, so that a wake-up still queued when its home thread exits is
    /// freed with the queue instead of keeping it alive.
    queue: Weak<WakeQueue>,
}

impl HomeResume {
    /// For `handle`, a thread-bound coroutine suspended on this thread,
    /// its home.
    pub(crate) fn new(handle: CoroutineHandle) -> HomeResume {
        HomeResume {
            state: AtomicU8::new(WAITING),
            handle,
            thread: HomeThread::current(),
            queue: Arc::downgrade(&WakeQueue::current()),
        }
    }

    /// The coroutine to resume.
    #[inline]
    pub(crate) fn handle(&self) -> CoroutineHandle {
        self.handle
    }

    /// Whether this is the coroutine's home thread.
    #[inline]
    pub(crate) fn is_home_thread(&self) -> bool {
        HomeThread::current() == self.thread
    }

    /// The awaiter's side: from now on the wake-up does nothing. Returns
    /// `true` if it had not resumed the coroutine (it now never will),
    /// `false` if it had won first (the awaiter is then dropped after, or
    /// instead of, its `await_resume`: the coroutine was resumed).
    #[inline]
    pub(crate) fn detach(&self) -> bool {
        self.state.swap(DETACHED, Ordering::AcqRel) == WAITING
    }

    /// Posts `wakeup` (whose [`Wakeup::run`] calls [`run`](Self::run) on
    /// this) to the home thread's queue. Nothing to do if that thread has
    /// exited or is exiting: nothing can run the coroutine any more. May
    /// wake a waker that [`notify_when_woken`] registered: user code.
    pub(crate) fn post(&self, wakeup: Arc<dyn Wakeup>) {
        if let Some(queue) = self.queue.upgrade() {
            // Refused: the home thread is exiting; nothing can run it.
            let _ = queue.post(wakeup);
        }
    }

    /// The wake-up's side, on the home thread: resumes the coroutine unless
    /// its awaiter has detached first.
    ///
    /// # Safety
    /// Called from [`resume_woken`] (so on the home thread). Nobody but
    /// this wake-up resumes the coroutine until it is detached, and its
    /// awaiter detaches before the frame can be freed.
    pub(crate) unsafe fn run(&self) {
        if self.state.compare_exchange(WAITING, RESUMED, Ordering::AcqRel, Ordering::Acquire).is_ok() {
            // SAFETY: winning `WAITING -> RESUMED` means the awaiter has not
            // been dropped (`detach` comes first), so the frame is alive and
            // suspended on it; nobody else resumes it and this is its home
            // thread (caller).
            unsafe { self.handle.resume() }
        }
    }
}

/// A thread's queue of wake-ups posted by other threads.
///
/// A waker firing on a foreign thread must not resume a thread-bound
/// coroutine there; it posts a [`Wakeup`] here instead and notifies the
/// thread: it unparks it (for [`sync_wait`](crate::sync_wait), which parks)
/// and wakes the waker a driver registered with [`notify_when_woken`] (an
/// executor polling a `Task` as a future, an event loop).
pub(crate) struct WakeQueue {
    /// `None` once the thread has exited: later posts are dropped (nothing
    /// could resume a coroutine bound to a dead thread, and keeping the
    /// entries would keep their reference cycles through this queue).
    pending: Mutex<Option<Vec<Arc<dyn Wakeup>>>>,
    /// The drivers to wake at the next post: each one registered once
    /// (several drivers may share a thread: the futures of two `Task`s
    /// under one executor, an event loop). A [`TaskFuture`](crate::task::TaskFuture)
    /// registers under its own key and withdraws when done; the key of
    /// [`notify_when_woken`] is [`ANY_DRIVER`].
    notify: Mutex<Drivers>,
    /// Where a post wakes the drivers from (see `wake_drivers`): empty
    /// between posts, its storage swapped back into `notify`.
    waking: Mutex<Drivers>,
    /// The thread to unpark at each post; `None` for a driver's own queue
    /// (a `SendTask` future's), which only its registered waker hears of.
    thread: Option<Thread>,
}

/// The wakers of the drivers to wake at the next post. Keyed wakers (one
/// per [`TaskFuture`](crate::task::TaskFuture), replaced on each poll) are in a
/// map, so that registering is O(1) with any number of task futures on one
/// thread (a linear search made spawning N of them O(N²)); the wakers of
/// [`notify_when_woken`] have no key and are told apart by `will_wake`, and
/// there are few of them (one per event loop or executor).
#[derive(Default)]
struct Drivers {
    keyed: std::collections::HashMap<usize, Waker>,
    any: Vec<Waker>,
}

impl Drivers {
    fn register(&mut self, key: usize, waker: &Waker) {
        if key == ANY_DRIVER {
            match self.any.iter_mut().find(|w| w.will_wake(waker)) {
                Some(w) => w.clone_from(waker),
                None => self.any.push(waker.clone()),
            }
        } else {
            match self.keyed.get_mut(&key) {
                Some(w) => w.clone_from(waker),
                None => {
                    self.keyed.insert(key, waker.clone());
                }
            }
        }
    }

    fn wake_all(self) {
        for w in self.any.into_iter().chain(self.keyed.into_values()) {
            w.wake();
        }
    }

    /// As [`wake_all`](Self::wake_all), keeping the storage.
    fn wake_in_place(&mut self) {
        for w in self.any.drain(..) {
            w.wake();
        }
        for (_, w) in self.keyed.drain() {
            w.wake();
        }
    }
}

/// This thread's queue; closes it when the thread exits.
struct ThreadQueue(OnceCell<Arc<WakeQueue>>);

impl Drop for ThreadQueue {
    fn drop(&mut self) {
        if let Some(queue) = self.0.get() {
            // Registered drivers too: an executor's waker may own a task
            // whose frame owns a future waker that owns this queue.
            queue.close();
        }
    }
}

thread_local! {
    static WAKE_QUEUE: ThreadQueue = const { ThreadQueue(OnceCell::new()) };
}

impl WakeQueue {
    /// This thread's queue, made on first use.
    pub(crate) fn current() -> Arc<WakeQueue> {
        WAKE_QUEUE.with(|q| {
            q.0.get_or_init(|| {
                Arc::new(WakeQueue {
                    pending: Mutex::new(Some(Vec::new())),
                    notify: Mutex::new(Drivers::default()),
                    waking: Mutex::new(Drivers::default()),
                    thread: Some(thread::current()),
                })
            })
            .clone()
        })
    }

    /// Queues `wakeup` for the home thread and notifies it; gives it back
    /// if the queue is closed (its thread or driver is gone).
    pub(crate) fn post(&self, wakeup: Arc<dyn Wakeup>) -> Result<(), Arc<dyn Wakeup>> {
        let mut pending = lock(&self.pending);
        let Some(list) = pending.as_mut() else {
            drop(pending);
            return Err(wakeup);
        };
        list.push(wakeup);
        drop(pending);
        if let Some(t) = &self.thread {
            t.unpark();
        }
        self.wake_drivers();
        Ok(())
    }

    /// A queue of a driver's own, bound to no thread: drained by whoever
    /// holds it ([`WakeQueue::drain`]), wherever that is.
    pub(crate) fn for_driver() -> Arc<WakeQueue> {
        Arc::new(WakeQueue {
            pending: Mutex::new(Some(Vec::new())),
            notify: Mutex::new(Drivers::default()),
            waking: Mutex::new(Drivers::default()),
            thread: None,
        })
    }

    /// Runs the wake-ups queued so far (not those they queue in turn);
    /// returns how many.
    ///
    /// If one panics (a detached task's panic escaping its resume), the
    /// rest of the batch goes back to the front of the queue before the
    /// panic propagates: dropping them would leave their coroutines queued
    /// in name only, never resumed.
    pub(crate) fn drain(&self) -> usize {
        let mut batch = lock(&self.pending).as_mut().map(mem::take).unwrap_or_default();
        let n = batch.len();
        {
            let mut rest = Requeue { queue: self, rest: batch.drain(..) };
            for wakeup in rest.rest.by_ref() {
                wakeup.run();
            }
        }
        // The emptied batch goes back as the queue's vector if that is
        // still empty, so that steady posting and draining reuse one
        // allocation instead of growing a new vector every time.
        if batch.capacity() != 0 {
            if let Some(list) = lock(&self.pending).as_mut() {
                if list.is_empty() && list.capacity() < batch.capacity() {
                    mem::swap(list, &mut batch);
                }
            }
        }
        n
    }

    /// Puts `rest` back at the front of the queue (unless it is closed).
    fn requeue_front(&self, rest: impl Iterator<Item = Arc<dyn Wakeup>>) {
        let mut pending = lock(&self.pending);
        if let Some(list) = pending.as_mut() {
            let later = mem::take(list);
            list.extend(rest);
            list.extend(later);
        }
    }

    /// Drops every queued wake-up and registered waker and refuses later
    /// posts: the driver owning this queue is gone (entries and wakers may
    /// own what owns the queue).
    pub(crate) fn close(&self) {
        drop(self.close_and_take());
    }

    /// Closes the queue (as [`close`](Self::close)) and returns what was
    /// still queued, for the caller to run: a driver's own queue may hold
    /// wake-ups of `Send` coroutines that are not its own (resumed under it
    /// by a release elsewhere), which must not be lost with it.
    pub(crate) fn close_and_take(&self) -> Vec<Arc<dyn Wakeup>> {
        let stale = lock(&self.pending).take().unwrap_or_default();
        let drivers = mem::take(&mut *lock(&self.notify));
        drop(drivers);
        stale
    }

    /// Withdraws the waker registered under `key` (not [`ANY_DRIVER`]), if
    /// any: the counterpart of [`register_waker`](Self::register_waker),
    /// which keeps at most one waker per such key.
    pub(crate) fn forget_waker(&self, key: usize) {
        debug_assert_ne!(key, ANY_DRIVER, "the wakers of notify_when_woken are only forgotten by a post");
        let removed = {
            let mut drivers = lock(&self.notify);
            drivers.keyed.remove(&key)
        };
        // Dropped outside the lock: a waker's drop may run anything.
        drop(removed);
    }

    /// Wakes (and forgets) every registered driver, outside the lock: a
    /// waker may register again at once.
    ///
    /// The wakers are swapped into `waking` (whose emptied map and vector
    /// take their place), so that registering again after each post
    /// reuses the same storage instead of allocating; a post that finds
    /// `waking` in use (another thread posting at the same moment, or a
    /// waker that posts from inside `wake`) takes the wakers out instead.
    fn wake_drivers(&self) {
        match self.waking.try_lock() {
            Ok(mut waking) => {
                mem::swap(&mut *lock(&self.notify), &mut *waking);
                waking.wake_in_place();
            }
            Err(_) => {
                let drivers = mem::take(&mut *lock(&self.notify));
                drivers.wake_all();
            }
        }
    }

    /// Registers `waker` under `key` (replacing that key's waker): woken
    /// at the next post, or at once if wake-ups are already waiting.
    pub(crate) fn register_waker(&self, key: usize, waker: &Waker) {
        lock(&self.notify).register(key, waker);
        // A wake-up may have been posted before the waker was registered.
        if lock(&self.pending).as_ref().is_some_and(|list| !list.is_empty()) {
            self.wake_drivers();
        }
    }
}

/// The part of a batch that [`WakeQueue::drain`] has not run yet; requeued
/// if a wake-up unwinds.
struct Requeue<'q, 'b> {
    queue: &'q WakeQueue,
    rest: std::vec::Drain<'b, Arc<dyn Wakeup>>,
}

impl Drop for Requeue<'_, '_> {
    fn drop(&mut self) {
        if self.rest.len() != 0 {
            // Only when a wake-up unwound: collected first, since the
            // drain borrows the batch.
            let rest: Vec<_> = self.rest.by_ref().collect();
            self.queue.requeue_front(rest.into_iter());
        }
    }
}

// ===========================================================================
// Drivers: where a `Send` coroutine woken by a future goes
// ===========================================================================

/// Where a wake-up sends a coroutine to be resumed.
pub(crate) trait WakeTarget: Send + Sync {
    /// Queues `wakeup` and tells whoever drains the queue; gives it back
    /// if nobody will (the driver is gone or stopping).
    fn post(&self, wakeup: Arc<dyn Wakeup>) -> Result<(), Arc<dyn Wakeup>>;
}

impl WakeTarget for WakeQueue {
    fn post(&self, wakeup: Arc<dyn Wakeup>) -> Result<(), Arc<dyn Wakeup>> {
        WakeQueue::post(self, wakeup)
    }
}

/// A driver's queue, as recorded for the thread running it.
#[derive(Clone)]
enum Driver {
    /// This thread's own queue, made only if a coroutine needs it (so that
    /// `sync_wait` allocates nothing unless a future is awaited).
    ThisThread,
    Target(Arc<dyn WakeTarget>),
}

thread_local! {
    /// The driver resuming coroutines on this thread right now, if any.
    static DRIVER: RefCell<Option<Driver>> = const { RefCell::new(None) };
}

/// Marks a driver's resumes: while it lives, a `Send` coroutine that
/// suspends on a future on this thread is sent back to the driver's queue
/// when the future wakes it. Scopes nest; dropping one restores the outer
/// driver. Not `Send`: it restores a thread-local.
///
/// A runtime enters [`DriverScope::this_thread`] around the resumes it
/// makes, so that a `SendTask` it resumes, which then awaits a Rust future,
/// is woken back onto the same thread (through [`resume_woken`], which the
/// runtime runs when [`notify_when_woken`] tells it to) rather than resumed
/// inside the future's `wake()` on whatever thread calls it.
///
/// ```
/// use coro::schedule::DriverScope;
/// let _driver = DriverScope::this_thread();
/// // ... resume coroutines; their futures' wake-ups come back here ...
/// coro::resume_woken();
/// ```
pub struct DriverScope {
    outer: Option<Driver>,
    _not_send: core::marker::PhantomData<*const ()>,
}

impl fmt::Debug for DriverScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DriverScope").finish_non_exhaustive()
    }
}

impl DriverScope {
    fn set(driver: Driver) -> DriverScope {
        DriverScope { outer: DRIVER.with(|d| d.replace(Some(driver))), _not_send: core::marker::PhantomData }
    }

    /// Enters `target` as the driver (a pool, a `SendTask` future's queue).
    pub(crate) fn enter(target: Arc<dyn WakeTarget>) -> DriverScope {
        DriverScope::set(Driver::Target(target))
    }

    /// Enters this thread's own queue as the driver (`sync_wait`, a
    /// `LocalScheduler`, a `Task` polled as a future, an event loop):
    /// wake-ups come back to [`resume_woken`].
    ///
    /// ```
    /// let outer = coro::schedule::DriverScope::this_thread();
    /// let inner = coro::schedule::DriverScope::this_thread(); // scopes nest
    /// drop(inner);
    /// drop(outer);
    /// ```
    pub fn this_thread() -> DriverScope {
        DriverScope::set(Driver::ThisThread)
    }
}

impl Drop for DriverScope {
    fn drop(&mut self) {
        let outer = self.outer.take();
        // At thread exit the slot may be gone already; nothing to restore.
        let _ = DRIVER.try_with(|d| d.replace(outer));
    }
}

/// The driver resuming coroutines on this thread, if any.
pub(crate) fn current_driver() -> Option<Arc<dyn WakeTarget>> {
    match DRIVER.try_with(|d| d.borrow().clone()).ok().flatten()? {
        Driver::ThisThread => Some(WakeQueue::current()),
        Driver::Target(t) => Some(t),
    }
}

/// The key of the wakers registered with [`notify_when_woken`]: kept until
/// the next post, one per distinct waker.
const ANY_DRIVER: usize = 0;

/// Registers a [`TaskFuture`](crate::task::TaskFuture)'s waker under `key` (an
/// address it owns, never 0): woken at the next post on this thread.
pub(crate) fn register_driver(key: usize, waker: &Waker) {
    WakeQueue::current().register_waker(key, waker);
}

/// Withdraws what was registered under `key` on this thread's queue: the
/// future is done or gone.
pub(crate) fn forget_driver(key: usize) {
    let queue = WAKE_QUEUE.try_with(|q| q.0.get().cloned()).ok().flatten();
    if let Some(queue) = queue {
        queue.forget_waker(key);
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Nothing runs user code under these locks, so a poisoned one still
    // holds a consistent value.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Resumes the coroutines of this thread that wakers on other threads have
/// woken, and returns how many wake-ups it ran.
///
/// A coroutine whose frame is not `Send` (a [`Task`](crate::Task), an
/// [`AsyncGenerator`](crate::AsyncGenerator)) only runs on the thread that
/// created it. When it `co_await!`s a [`Future`](core::future::Future) whose
/// waker fires on another thread, or waits on a thread-safe
/// [`coro::sync`](crate::sync) primitive that another thread releases (an
/// event set, a lock or permit handed over, a value sent), or awaits a
/// [`SendSharedTask`](crate::SendSharedTask) or a
/// [`SendTask`](crate::SendTask) that finishes on another thread, it is
/// queued for
/// its own thread, which resumes it the next time something there calls
/// this function:
/// [`sync_wait`](crate::sync_wait) does, a [`Task`](crate::Task) polled as a
/// future does, [`LocalScheduler::run_until_idle`](crate::schedule::LocalScheduler::run_until_idle)
/// does, and so should any event loop that drives coroutines (use
/// [`notify_when_woken`] to be told when there is work). A future's waker
/// comes through here even on the coroutine's own thread (a coroutine is
/// never resumed inside `wake()`: the caller may hold a lock its `poll`
/// takes); a `coro::sync` release on the coroutine's own thread resumes it
/// at once.
///
/// What a primitive granted is the coroutine's from the release on: a
/// mutex stays locked for it, a permit or a value stays reserved, until it
/// is resumed here; if it is destroyed first, its awaiter hands the grant
/// on as usual and the queued wake-up does nothing.
///
/// ```
/// use coro::{co_await, co_return, sync_wait, Task};
/// use futures::channel::oneshot;
///
/// #[coro::coroutine]
/// fn receive(rx: oneshot::Receiver<u32>) -> Task<u32> {
///     // The sender fires the waker on another thread; the task still
///     // resumes here, on the thread that runs `sync_wait`.
///     co_return!(co_await!(rx).unwrap() + 1)
/// }
///
/// let (tx, rx) = oneshot::channel();
/// let sender = std::thread::spawn(move || tx.send(41).unwrap());
/// assert_eq!(sync_wait(receive(rx)), 42);
/// sender.join().unwrap();
/// assert_eq!(coro::resume_woken(), 0); // sync_wait ran the wake-up
/// ```
pub fn resume_woken() -> usize {
    let Some(queue) = WAKE_QUEUE.with(|q| q.0.get().cloned()) else { return 0 };
    let _driver = DriverScope::this_thread();
    queue.drain()
}

/// Whether no wake-up can ever reach this thread's queue: nothing is
/// queued and nobody else holds the queue (every wake source that can post
/// here — a future's waker, a thread-safe wait's or a `SendTask`'s hand-off
/// home — holds it, strongly or weakly), or it was never made.
///
/// Only the current thread makes new holders ([`WakeQueue::current`]); a
/// holder elsewhere can only clone itself. So `true` stays true while this
/// thread does nothing.
pub(crate) fn nothing_can_post_here() -> bool {
    let Ok(queue) = WAKE_QUEUE.try_with(|q| q.0.get().cloned()) else { return false };
    let Some(queue) = queue else { return true };
    // Ours and the thread-local's.
    Arc::strong_count(&queue) == 2
        && Arc::weak_count(&queue) == 0
        && lock(&queue.pending).as_ref().is_some_and(|list| list.is_empty())
}

/// Asks for `waker` to be woken the next time a waker on another thread
/// queues a coroutine of this thread for [`resume_woken`] (once: register
/// again after each wake-up, as with `Future::poll`). Several drivers of one
/// thread may register: each distinct waker is kept, and all are woken.
///
/// An event loop or executor that drives coroutines on this thread uses it
/// to learn that it has work even while it is blocked elsewhere; a thread
/// blocked in [`std::thread::park`] is unparked anyway.
///
/// ```
/// use std::sync::atomic::{AtomicBool, Ordering};
/// use std::sync::Arc;
/// use std::task::{Wake, Waker};
///
/// struct Flag(AtomicBool);
/// impl Wake for Flag {
///     fn wake(self: Arc<Self>) { self.0.store(true, Ordering::SeqCst) }
/// }
/// let flag = Arc::new(Flag(AtomicBool::new(false)));
/// coro::schedule::notify_when_woken(&Waker::from(flag.clone()));
/// // ... later, a wake-up from another thread sets the flag; the loop then
/// // calls `coro::resume_woken()`.
/// ```
pub fn notify_when_woken(waker: &Waker) {
    WakeQueue::current().register_waker(ANY_DRIVER, waker);
}

/// Models of the wake-up queue and of [`HomeResume`] (`.ci/loom`; what they
/// cover is in the "Model checking" section of docs/soundness.md). They run
/// the real queue and the real `HomeResume`, posted and run as `HomeWake`
/// and `HomeHop` do, with a [`ProbeFrame`] as the coroutine; the home
/// thread's queue is its real thread-local one, closed by the real
/// `ThreadQueue` destructor when the modelled thread ends.
#[cfg(all(test, loom))]
mod loom_tests {
    use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
    use std::task::Wake;

    use loom::thread;

    use super::hop::HopSlot;
    use super::*;
    use crate::language::atomic::probe::ProbeFrame;
    use crate::language::atomic::AtomicBool;
    use crate::language::suspend::SuspendAlways;

    /// A wake-up that logs its number when it runs (and then unwinds, if
    /// `unwinds`: a detached task's panic escaping its resume).
    struct Logged {
        id: u32,
        unwinds: bool,
        log: Arc<Mutex<Vec<u32>>>,
    }

    impl Wakeup for Logged {
        fn run(self: Arc<Self>) {
            lock(&self.log).push(self.id);
            if self.unwinds {
                // No panic hook: the models run this many times.
                resume_unwind(Box::new(self.id));
            }
        }
    }

    fn logged(id: u32, unwinds: bool, log: &Arc<Mutex<Vec<u32>>>) -> Arc<dyn Wakeup> {
        Arc::new(Logged { id, unwinds, log: log.clone() })
    }

    /// A thread-bound coroutine's wake-up: the real `HomeResume`, run as
    /// `HomeWake::run` and `HomeHop::run` run it. Tracked: loom fails the
    /// model if one is never freed (kept by a queue that outlived its
    /// thread, or by a reference cycle).
    struct Home(HomeResume, #[allow(dead_code)] loom::alloc::Track<()>);

    fn home(frame: CoroutineHandle) -> Arc<Home> {
        Arc::new(Home(HomeResume::new(frame), loom::alloc::Track::new(())))
    }

    impl Wakeup for Home {
        fn run(self: Arc<Self>) {
            // SAFETY: run by `resume_woken` on the home thread; the probe
            // coroutine is suspended and resumed by nothing else; each model
            // detaches before it destroys the probe.
            unsafe { self.0.run() }
        }
    }

    /// A driver's waker: records that it was woken.
    struct Flag(AtomicBool);

    impl Wake for Flag {
        fn wake(self: Arc<Self>) {
            self.0.store(true, Ordering::Release);
        }
    }

    /// Shares a probe coroutine with a second modelled thread.
    struct Shared<T>(T);
    // SAFETY: the probe's memory is a loom cell: every access the model
    // makes to it from either thread is checked by loom (which is the point).
    unsafe impl<T> Send for Shared<T> {}
    // SAFETY: as above.
    unsafe impl<T> Sync for Shared<T> {}

    #[test]
    fn loom_a_post_racing_a_drain_that_unwinds_runs_once_behind_the_requeued_rest() {
        loom::model(|| {
            let queue = WakeQueue::for_driver();
            let log = Arc::new(Mutex::new(Vec::new()));
            assert!(queue.post(logged(1, true, &log)).is_ok());
            assert!(queue.post(logged(2, false, &log)).is_ok());
            let poster = {
                let (queue, log) = (queue.clone(), log.clone());
                thread::spawn(move || assert!(queue.post(logged(3, false, &log)).is_ok()))
            };
            // The first wake-up unwinds: the rest of its batch goes back to
            // the front of the queue, ahead of a post that came meanwhile.
            assert!(catch_unwind(AssertUnwindSafe(|| queue.drain())).is_err());
            poster.join().unwrap();
            while queue.drain() > 0 {}
            assert_eq!(*lock(&log), [1, 2, 3], "each wake-up runs once, in the order posted");
        });
    }

    #[test]
    fn loom_a_driver_that_drains_then_registers_while_a_wake_up_is_posted_runs_it_or_is_woken() {
        loom::model(|| {
            let queue = WakeQueue::for_driver();
            let log = Arc::new(Mutex::new(Vec::new()));
            let poster = {
                let (queue, log) = (queue.clone(), log.clone());
                thread::spawn(move || assert!(queue.post(logged(1, false, &log)).is_ok()))
            };
            // A driver's poll (a task polled as a future): drain, then
            // register its waker before it returns `Pending`.
            let flag = Arc::new(Flag(AtomicBool::new(false)));
            let ran = queue.drain();
            queue.register_waker(1, &Waker::from(flag.clone()));
            poster.join().unwrap();
            assert!(ran == 1 || flag.0.load(Ordering::Acquire), "a wake-up posted while the driver polled was lost");
        });
    }

    #[test]
    fn loom_a_wake_up_posted_home_while_its_thread_drains_and_exits_resumes_once_or_is_dropped_unrun() {
        loom::model(|| {
            let home_thread = thread::spawn(|| {
                let frame = ProbeFrame::new(SuspendAlways, true);
                // SAFETY: the frame stays in place until this thread ends,
                // after which nothing can resume it (only this thread runs
                // its wake-up).
                assert!(unsafe { frame.co_await() });
                let wake = home(frame.handle());
                let poster = {
                    let wake = wake.clone();
                    thread::spawn(move || wake.0.post(wake.clone()))
                };
                resume_woken();
                let resumed = frame.resumes();
                // The awaiter is dropped: after its `await_resume`, or
                // instead of it (the coroutine is destroyed as it waits).
                assert_eq!(wake.0.detach(), resumed == 0, "the wake-up and the awaiter disagree on who won");
                if resumed == 0 {
                    assert!(frame.destroy());
                }
                // The thread ends next: its queue is closed, a wake-up still
                // in it is dropped (loom's leak check: `Home`), and later
                // posts are refused. (A loom `join` returns before the
                // thread's locals are destroyed, so the check is loom's, at
                // the end of each execution.)
                (poster, resumed)
            });
            let (poster, resumed) = home_thread.join().unwrap();
            poster.join().unwrap();
            assert!(resumed <= 1);
        });
    }

    #[test]
    fn loom_detach_racing_the_wake_up_on_another_thread_lets_exactly_one_of_them_win() {
        loom::model(|| {
            let frame = Arc::new(Shared(ProbeFrame::new(SuspendAlways, true)));
            // SAFETY: the frame stays in place until the model ends.
            assert!(unsafe { frame.0.co_await() });
            let wake = home(frame.0.handle());
            wake.0.post(wake.clone());
            // Stronger than the library needs (both sides run on the home
            // thread there): the awaiter's side on another thread, which
            // frees the coroutine at once if it won.
            let awaiter = {
                let (frame, wake) = (frame.clone(), wake.clone());
                thread::spawn(move || {
                    let won = wake.0.detach();
                    if won {
                        assert!(frame.0.destroy());
                    }
                    won
                })
            };
            assert_eq!(resume_woken(), 1);
            let detached_first = awaiter.join().unwrap();
            assert_eq!(frame.0.resumes(), usize::from(!detached_first));
        });
    }
    #[test]
    fn loom_a_post_racing_a_driver_queues_close_is_run_once_by_the_drain_the_closer_or_the_poster() {
        loom::model(|| {
            let queue = WakeQueue::for_driver();
            let log = Arc::new(Mutex::new(Vec::new()));
            let poster = {
                let (queue, log) = (queue.clone(), log.clone());
                // Refused by a closed queue, the wake-up comes back to the
                // poster, which must deal with it (here: run it).
                thread::spawn(move || {
                    if let Err(refused) = queue.post(logged(1, false, &log)) {
                        refused.run();
                    }
                })
            };
            // A `SendTask` future's last poll, then its withdrawal: what is
            // still queued is run by the closer, not dropped.
            queue.drain();
            for stale in queue.close_and_take() {
                stale.run();
            }
            poster.join().unwrap();
            assert_eq!(queue.drain(), 0, "a closed queue ran a wake-up");
            assert_eq!(*lock(&log), [1], "a wake-up was lost or run twice");
        });
    }

    #[test]
    fn loom_a_task_finishing_on_another_thread_hops_its_thread_bound_awaiter_home_once_or_never_after_its_drop() {
        loom::model(|| {
            // The coroutine awaiting a `SendTask`, suspended on this thread.
            let awaiting = ProbeFrame::new(SuspendAlways, true);
            // SAFETY: the frame stays in place until the model ends.
            assert!(unsafe { awaiting.co_await() });
            let mut slot = HopSlot::default();
            // SAFETY: the probe is live and suspended (its own handle).
            let continuation = unsafe { slot.continuation(awaiting.handle(), true) };
            assert_ne!(continuation, awaiting.handle(), "a thread-bound awaiter gets a hop");
            // The task finishes on a worker and transfers to its continuation.
            let worker = thread::spawn(move || {
                // SAFETY: the hop's handle, resumed once, as the task's final
                // awaiter does.
                unsafe { continuation.resume() }
            });
            resume_woken();
            let resumed = awaiting.resumes();
            // The awaiter goes: after its coroutine resumed, or with it.
            drop(slot);
            if resumed == 0 {
                assert!(awaiting.destroy());
            }
            worker.join().unwrap();
            resume_woken();
            assert_eq!(awaiting.resumes(), resumed, "resumed after its awaiter was dropped");
        });
    }
}
