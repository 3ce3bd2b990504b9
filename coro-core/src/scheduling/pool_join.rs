//! [`PoolJoinHandle<T>`]: the owner of a task started by
//! [`ThreadPool::spawn`](crate::ThreadPool::spawn).
//!
//! No new lock-free protocol: the pieces are the library's own.
//!
//! - One `Arc<Join<T>>` allocation is a stand-in frame (like a detached
//!   task's `Detached`, or `SendSharedTask`'s state). *The run* owns one
//!   strong count of it (`counted_handle`): posted to the pool, the
//!   stand-in is resumed a first time by a worker and transfers into the
//!   task (`started`); it is also the task's continuation, so the task's
//!   final awaiter resumes it a second time, which takes the count back
//!   (`take_counted`). If the pool destroys it unstarted (the pool dropped
//!   with it queued), `join_destroy` takes the count back instead. The two
//!   resumptions are ordered: the second one is the end of the task the
//!   first one started.
//! - The task's frame belongs to the run (`frame`), never to the handle:
//!   the handle may go away while the task runs on a worker. The frame is
//!   destroyed by the second resumption (or by `join_destroy`), on that
//!   thread. The task's `Flight` word stays
//!   `IDLE` (its owner, the run, never leaves before it finishes), so it is
//!   never abandoned.
//! - `slot` (a mutex) decides between the finishing run and the handle
//!   going away: `Running -> Done` (the run stores the outcome, then sets
//!   `done`), `Done -> Taken` (the joiner), `Running | Done -> Detached`
//!   (the handle dropped without joining: the run, or the handle, drops
//!   the value; a panic is counted in the pool's
//!   [`panics`](crate::ThreadPool::panics)).
//! - The joiner waits on `done`, a thread-safe `coro::sync::Event`: its
//!   wait node lives in the awaiter, a `SendTask` joiner is resumed on the
//!   thread that finished the task, a thread-bound one (a `Task`,
//!   `sync_wait`) is sent home (`coro::sync`'s "Waking").

use core::fmt;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::panic::resume_unwind;
use std::sync::{Arc, Mutex, MutexGuard};

use crate::language::awaiter::{AwaitSuspend, Awaiter, CancelOutcome, IntoAwaiter};
use crate::language::frame::{counted_handle, take_counted, Header, VTable};
use crate::language::handle::{CoroutineHandle, UniqueCoroutineHandle};
use crate::language::promise::Payload;
use crate::library::sync::event::Event;
use crate::library::sync::waiter::WaitNode;
use crate::library::sync::ThreadSafe;
use crate::library::task::{sync_wait_awaiter, SendTask, Sendable, SyncWait, TaskPromise};

/// The frame of the spawned `SendTask`.
struct Frame<T>(UniqueCoroutineHandle<TaskPromise<T, Sendable>>);

// SAFETY: it comes from a `SendTask<T>` with `T: Send`, whose frame is
// `Send` (checked by its `FromReturnObject`); it is used by one thread at a
// time (behind `Join::frame`'s mutex, by the run's resumptions).
unsafe impl<T: Send> Send for Frame<T> {}

/// Who has the task's outcome (see the module docs).
enum Slot<T> {
    Running,
    Done(Result<T, Payload>),
    Taken,
    Detached,
}

/// The run's stand-in frame and the state the handle shares with it.
#[repr(C)]
pub(crate) struct Join<T> {
    header: Header,
    /// Set by the first resumption (the worker starting the task).
    started: AtomicBool,
    frame: Mutex<Option<Frame<T>>>,
    slot: Mutex<Slot<T>>,
    /// Set once `slot` is `Done` (or the handle can never get an outcome).
    done: Event<ThreadSafe>,
    /// The pool's panic counter: a detached task's panic is counted there.
    panics: Arc<AtomicUsize>,
}

impl<T> Join<T> {
    const VTABLE: VTable = VTable::stand_in(join_resume::<T>, join_destroy::<T>);

    /// Nothing panics while these are held, except allocation failure
    /// (which aborts): poisoning is ignored.
    fn slot(&self) -> MutexGuard<'_, Slot<T>> {
        self.slot.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn frame(&self) -> MutexGuard<'_, Option<Frame<T>>> {
        self.frame.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The run's end: hands `outcome` to the handle and wakes its joiner,
    /// or, if the handle is gone, drops it (counting a panic).
    fn finish(&self, outcome: Result<T, Payload>, count_panic: bool) {
        let mut slot = self.slot();
        match *slot {
            Slot::Running => {
                *slot = Slot::Done(outcome);
                drop(slot);
                // Resumes a joiner that waits (a thread-bound one: sends it home).
                self.done.set();
            }
            _ => {
                drop(slot);
                if outcome.is_err() && count_panic {
                    self.panics.fetch_add(1, Ordering::Relaxed);
                }
                // Dropped outside the lock: user drops.
                drop(outcome);
            }
        }
    }

    /// The handle goes away without joining.
    fn detach(&self) {
        let old = core::mem::replace(&mut *self.slot(), Slot::Detached);
        if let Slot::Done(Err(_)) = old {
            // Finished by a panic nobody will see (the hook reported it).
            if !self.started.load(Ordering::Relaxed) {
                return; // destroyed unstarted: no panic of the task's
            }
            self.panics.fetch_add(1, Ordering::Relaxed);
        }
        // `old` (a value, a payload) is dropped here, outside the lock.
    }
}

unsafe fn join_resume<T>(h: NonNull<Header>) -> Option<NonNull<Header>> {
    // SAFETY: `PoolJoinHandle::start` made this stand-in and gave its
    // counted handle to the pool (first resumption) and to the task as its
    // continuation (second resumption); the count is alive until taken
    // back below.
    let join = unsafe { &*h.cast::<Join<T>>().as_ptr() };
    if !join.started.swap(true, Ordering::Relaxed) {
        // The worker starts the task by symmetric transfer; the count
        // stays with the run (the task's continuation).
        let frame = join.frame();
        let task = frame.as_ref().expect("a spawned task's frame").0.handle();
        return Some(task.erase().header());
    }
    // SAFETY: the task transferred here from its final awaiter: the run's
    // count, taken back once.
    let join: Arc<Join<T>> = unsafe { take_counted(h) };
    let mut frame = join.frame().take().expect("a spawned task finished twice");
    // SAFETY: the task is at its final suspend point and owned by the run.
    let outcome = unsafe { frame.0.promise_mut() }.take_outcome();
    // Its locals and parameters are dropped before the joiner resumes.
    drop(frame);
    join.finish(outcome, true);
    None
}

unsafe fn join_destroy<T>(h: NonNull<Header>) {
    // SAFETY: only the pool destroys the stand-in, instead of its first
    // resumption: the task never started; the run's count, taken back once.
    let join: Arc<Join<T>> = unsafe { take_counted(h) };
    let frame = join.frame().take();
    drop(frame);
    let never_ran: Payload = Box::new(String::from(
        "the task was destroyed before it started: its ThreadPool was dropped with it still queued",
    ));
    join.finish(Err(never_ran), false);
}

/// The owner of a task started on a [`ThreadPool`](crate::ThreadPool) by
/// [`spawn`](crate::ThreadPool::spawn): the task is already running (or
/// queued to run) on a worker; the handle gives its value.
///
/// - `co_await!(handle)` (from a `Task` or a `SendTask`) suspends until the
///   task finishes and gives its value. A `SendTask` joiner is resumed on
///   the worker that finished the task; a thread-bound joiner (a `Task`)
///   is sent back to its own thread, as when it awaits a `SendTask`.
/// - [`sync_wait(handle)`](crate::sync_wait) blocks the thread until then.
/// - A panic in the task reaches whoever joins it, with its payload.
/// - [`detach`](Self::detach), or dropping the handle, does **not** cancel
///   the task (it may be running on another thread): it runs to
///   completion and its value is dropped, on the worker, as with
///   `std::thread::JoinHandle`. A panic nobody will join is counted in
///   [`ThreadPool::panics`](crate::ThreadPool::panics).
/// - If the pool is dropped with the task still queued (not
///   [`shutdown`](crate::ThreadPool::shutdown)), the task is destroyed
///   unstarted and joining panics, saying so.
///
/// ```
/// use coro::{co_await, co_return, sync_wait, SendTask, ThreadPool};
///
/// #[coro::coroutine]
/// fn square(x: u64) -> SendTask<u64> { co_return!(x * x) }
///
/// #[coro::coroutine]
/// fn sum(a: coro::schedule::PoolJoinHandle<u64>, b: coro::schedule::PoolJoinHandle<u64>) -> SendTask<u64> {
///     co_return!(co_await!(a) + co_await!(b))
/// }
///
/// let pool = ThreadPool::new(2);
/// let (a, b) = (pool.spawn(square(3)), pool.spawn(square(4))); // both running already
/// assert_eq!(sync_wait(sum(a, b)), 25);
/// assert_eq!(sync_wait(pool.spawn(square(5))), 25);
/// ```
pub struct PoolJoinHandle<T> {
    /// The awaiter it becomes; its `Drop` detaches.
    join: PoolJoin<T>,
}

impl<T: Send + 'static> PoolJoinHandle<T> {
    /// The handle of `task`, and the stand-in to post to start it (which
    /// owns the run's count; destroying it unposted destroys the task).
    pub(crate) fn start(task: SendTask<T>, panics: Arc<AtomicUsize>) -> (Self, CoroutineHandle) {
        let mut frame = task.into_handle();
        let join = Arc::new(Join {
            header: Header::stand_in(&Join::<T>::VTABLE),
            started: AtomicBool::new(false),
            frame: Mutex::new(None),
            slot: Mutex::new(Slot::Running),
            done: Event::<ThreadSafe>::new(),
            panics,
        });
        let run = counted_handle(&join);
        // SAFETY: unstarted and owned here: nobody else uses the promise.
        // Its `Flight` stays `IDLE`: the run waits for the task.
        unsafe { frame.promise_mut() }.continuation = Some(run);
        *join.frame() = Some(Frame(frame));
        (PoolJoinHandle { join: PoolJoin { join, node: WaitNode::new() } }, run)
    }
}

impl<T> PoolJoinHandle<T> {
    /// `true` once the task has finished (joining it returns at once).
    ///
    /// ```
    /// use coro::{co_return, sync_wait, SendTask, ThreadPool};
    /// #[coro::coroutine]
    /// fn one() -> SendTask<u8> { co_return!(1) }
    /// let pool = ThreadPool::new(1);
    /// let h = pool.spawn(one());
    /// pool.shutdown(); // finishes it
    /// assert!(h.is_finished());
    /// assert_eq!(sync_wait(h), 1);
    /// ```
    pub fn is_finished(&self) -> bool {
        self.join.join.done.is_set()
    }

    /// Lets the task run on without an owner (the same as dropping the
    /// handle): it runs to completion, its value is dropped on the worker,
    /// a panic in it is counted in [`ThreadPool::panics`](crate::ThreadPool::panics).
    ///
    /// ```
    /// use std::sync::mpsc;
    /// use coro::{co_return, SendTask, ThreadPool};
    ///
    /// #[coro::coroutine]
    /// fn report(tx: mpsc::Sender<u32>) -> SendTask<()> {
    ///     tx.send(7).unwrap();
    ///     co_return!(())
    /// }
    ///
    /// let pool = ThreadPool::new(1);
    /// let (tx, rx) = mpsc::channel();
    /// pool.spawn(report(tx)).detach();
    /// pool.shutdown(); // detached tasks are finished too
    /// assert_eq!(rx.try_recv(), Ok(7));
    /// ```
    pub fn detach(self) {}
}

impl<T> fmt::Debug for PoolJoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PoolJoinHandle").field("finished", &self.is_finished()).finish()
    }
}

impl<T> IntoAwaiter for PoolJoinHandle<T> {
    type Awaiter = PoolJoin<T>;
    fn into_awaiter(self) -> PoolJoin<T> {
        self.join
    }
}

impl<T> SyncWait for PoolJoinHandle<T> {
    type Output = T;
    /// Blocks this thread until the task finishes; gives its value (or
    /// resumes its panic).
    ///
    /// ```
    /// use coro::{co_return, SendTask, ThreadPool};
    /// use coro::task::SyncWait;
    /// #[coro::coroutine]
    /// fn two() -> SendTask<u8> { co_return!(2) }
    /// let pool = ThreadPool::new(1);
    /// assert_eq!(pool.spawn(two()).sync_wait(), 2);
    /// ```
    fn sync_wait(self) -> T {
        sync_wait_awaiter(self.join)
    }
}

/// The awaiter of a [`PoolJoinHandle`] (`co_await!(handle)`): waits for the
/// task to finish and gives its value. Dropped before that (its coroutine
/// destroyed), it detaches the task.
///
/// ```
/// use coro::schedule::{PoolJoin, PoolJoinHandle};
/// use coro::{co_return, IntoAwaiter, SendTask, ThreadPool};
///
/// #[coro::coroutine]
/// fn one() -> SendTask<u8> { co_return!(1) }
///
/// let pool = ThreadPool::new(1);
/// let h: PoolJoinHandle<u8> = pool.spawn(one());
/// let awaiter: PoolJoin<u8> = h.into_awaiter(); // what `co_await!(h)` uses
/// drop(awaiter); // never awaited: the task is detached, not cancelled
/// pool.shutdown();
/// ```
pub struct PoolJoin<T> {
    join: Arc<Join<T>>,
    node: WaitNode,
}

impl<T> fmt::Debug for PoolJoin<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PoolJoin").field("finished", &self.join.done.is_set()).finish()
    }
}

#[diagnostic::do_not_recommend]
impl<T> Awaiter for PoolJoin<T> {
    type Output = T;
    fn await_ready(&mut self) -> bool {
        self.join.done.is_set()
    }
    unsafe fn await_suspend(&mut self, awaiting: CoroutineHandle) -> impl AwaitSuspend {
        // SAFETY: forwarded `await_suspend` contract: the node is this
        // awaiter's, idle, and stays in place in the suspended frame until
        // resumed or dropped (`Drop` abandons it); `self` is not touched
        // once registered. Not exclusive, so never `None`.
        unsafe { self.join.done.register(&self.node, awaiting, false) }.unwrap_or(true)
    }
    /// Leaves the completion event's wait list if still queued (the pool
    /// task runs on, detached, as when the awaiter is dropped).
    unsafe fn await_cancel(&mut self) -> CancelOutcome {
        // SAFETY: the node is this awaiter's, registered with this event;
        // the coroutine is suspended on it.
        unsafe { self.join.done.cancel(&self.node) }
    }
    fn await_resume(self) -> T {
        self.node.finish();
        let outcome = core::mem::replace(&mut *self.join.slot(), Slot::Taken);
        match outcome {
            Slot::Done(Ok(v)) => v,
            Slot::Done(Err(p)) => resume_unwind(p),
            _ => unreachable!("a PoolJoinHandle resumed before its task finished"),
        }
    }
}

impl<T> Drop for PoolJoin<T> {
    fn drop(&mut self) {
        // SAFETY: the node is this awaiter's, registered (if at all) with
        // this event.
        unsafe { self.join.done.abandon(&self.node) };
        self.join.detach();
    }
}
