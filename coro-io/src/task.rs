//! Spawned tasks and their [`JoinHandle`].
//!
//! A spawned task is a Rust future (a `Task` or `SendTask` through its
//! `IntoFuture`, which starts the task at the first poll and wakes the
//! loop when it finishes) boxed in its loop's task slab with a waker that
//! names its slab key and generation. Its result goes to a [`JoinState`]
//! shared (`Arc`) with the handle, which may be on another thread: the
//! state's mutex orders the task's end against the handle's await, detach
//! and drop. Whoever waits is woken through what it left there: a
//! coroutine's registration with *its own* loop (resumed there: a message
//! if that is another loop), or a future's waker.
//!
//! Cancellation (the handle dropped unfinished) sets `cancelled` under the
//! mutex and reads the task's key: on the task's loop thread the task is
//! destroyed at once; from another thread a `Cancel` message names it, and
//! its loop destroys it. A task spawned from another thread gets its key
//! when its loop takes the `Spawn` message, under the same mutex: if its
//! handle was dropped first, the loop drops it unstarted instead.

use core::fmt;
use core::future::Future;
use core::mem;
use core::pin::Pin;
use core::task::{Context, Poll, Waker};
use std::any::Any;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex, MutexGuard};

use coro_core::awaiter::CancelOutcome;
use coro_core::task::SyncWait;
use coro_core::{AwaitSuspend, Awaiter, CoroutineHandle};

use crate::event_loop::{self, current_for, Inner, Message, Shared, TaskKey};
use crate::registration::Key;

type Payload = Box<dyn Any + Send>;

/// A task as the loop holds it.
pub(crate) trait Runnable {
    /// Polls the task; `Ready(Some(panic))` if a detached task panicked
    /// (the loop rethrows it once the task is gone).
    fn poll(&mut self, lp: &Inner, cx: &mut Context<'_>) -> Poll<Option<Payload>>;
    /// Records the task's key for its handle; `false` if the handle was
    /// dropped already (the task is then dropped unstarted).
    fn attach(&self, key: TaskKey) -> bool;
}

enum Waiter {
    None,
    /// A coroutine registered with the loop of that `Shared`.
    Coroutine(Arc<Shared>, Key),
    Future(Waker),
}

struct Join<T> {
    result: Option<std::thread::Result<T>>,
    finished: bool,
    waiter: Waiter,
    detached: bool,
    cancelled: bool,
    /// Set by the loop when it takes the task in.
    key: Option<TaskKey>,
}

/// What a task and its handle share.
pub(crate) struct JoinState<T> {
    join: Mutex<Join<T>>,
}

impl<T> JoinState<T> {
    fn lock(&self) -> MutexGuard<'_, Join<T>> {
        // No user code runs under this lock (results and wakers are dropped
        // or woken outside it), so a poisoned one is still consistent.
        self.join.lock().unwrap_or_else(|e| e.into_inner())
    }
}

pub(crate) struct Spawned<F: Future> {
    future: Pin<Box<F>>,
    state: Arc<JoinState<F::Output>>,
}

impl<F: Future + 'static> Spawned<F> {
    pub(crate) fn new(future: F) -> (Spawned<F>, Arc<JoinState<F::Output>>) {
        let state = Arc::new(JoinState {
            join: Mutex::new(Join {
                result: None,
                finished: false,
                waiter: Waiter::None,
                detached: false,
                cancelled: false,
                key: None,
            }),
        });
        (Spawned { future: Box::pin(future), state: state.clone() }, state)
    }

    pub(crate) fn boxed(future: F) -> (Box<dyn Runnable>, Arc<JoinState<F::Output>>) {
        let (run, state) = Spawned::new(future);
        (Box::new(run), state)
    }
}

/// Resumes the coroutine registered as `key` with the loop of `shared`:
/// at its next turn (`lp` is the loop running this code).
fn wake_registration(lp: &Inner, shared: &Arc<Shared>, key: Key) {
    if Arc::ptr_eq(shared, &lp.shared) {
        lp.wake(key)
    } else {
        // Refused: that loop is gone, and the registration with it.
        let _ = shared.post(Message::Resume(key));
    }
}

impl<F: Future> Runnable for Spawned<F> {
    fn poll(&mut self, lp: &Inner, cx: &mut Context<'_>) -> Poll<Option<Payload>> {
        let result = match catch_unwind(AssertUnwindSafe(|| self.future.as_mut().poll(cx))) {
            Ok(Poll::Pending) => return Poll::Pending,
            Ok(Poll::Ready(v)) => Ok(v),
            Err(panic) => Err(panic),
        };
        let mut join = self.state.lock();
        if join.detached {
            drop(join);
            // Nobody takes the value: dropped here; a panic goes to the loop.
            return Poll::Ready(result.err());
        }
        join.result = Some(result);
        join.finished = true;
        let waiter = mem::replace(&mut join.waiter, Waiter::None);
        drop(join);
        match waiter {
            Waiter::Coroutine(shared, key) => wake_registration(lp, &shared, key),
            Waiter::Future(w) => w.wake(),
            Waiter::None => {}
        }
        Poll::Ready(None)
    }

    fn attach(&self, key: TaskKey) -> bool {
        let mut join = self.state.lock();
        join.key = Some(key);
        !join.cancelled
    }
}

/// The handle of a task spawned on an [`EventLoop`](crate::EventLoop)
/// ([`spawn_local`](crate::spawn_local)): `co_await!` it (an awaiter: the
/// task's value, or its panic), [`block_on`](crate::EventLoop::block_on)
/// it (it is also a `Future`), [`detach`](Self::detach) it or
/// [`cancel`](Self::cancel) it.
///
/// **Dropping a `JoinHandle` cancels its task**, as dropping a `Task`
/// destroys it (and as `async-task`/`smol` do; tokio detaches instead):
/// the task's lifetime is its handle's unless you say otherwise with
/// [`detach`](Self::detach). So a coroutine awaiting a handle that is
/// destroyed (cancelled itself) takes the task down with it. A detached
/// task's value is dropped when it finishes, and its panic propagates out
/// of whatever drives the loop ([`block_on`](crate::EventLoop::block_on),
/// [`run`](crate::EventLoop::run)), as with `coro::schedule::spawn_detached`.
///
/// ```
/// use std::time::Duration;
/// use coro::{co_await, co_return, Task};
/// use coro_io::{sleep, spawn_local, EventLoop};
///
/// #[coro::coroutine]
/// fn child(x: u32) -> Task<u32> {
///     co_await!(sleep(Duration::from_millis(1)));
///     co_return!(x * 2)
/// }
///
/// #[coro::coroutine]
/// fn parent() -> Task<u32> {
///     let a = spawn_local(child(1));
///     let b = spawn_local(child(2)); // both run concurrently
///     co_return!(co_await!(a) + co_await!(b))
/// }
///
/// let rt = EventLoop::new().unwrap();
/// assert_eq!(rt.block_on(parent()), 6);
/// ```
#[must_use = "dropping a JoinHandle cancels its task: call .detach() to let it run on"]
pub struct JoinHandle<T> {
    /// The task's loop.
    shared: Arc<Shared>,
    state: Arc<JoinState<T>>,
    /// The registration of the coroutine awaiting it, with its own loop.
    waiting: Option<(Arc<Shared>, Key)>,
}

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHandle").field("finished", &self.is_finished()).finish()
    }
}

impl<T> JoinHandle<T> {
    pub(crate) fn new(shared: Arc<Shared>, state: Arc<JoinState<T>>) -> Self {
        JoinHandle { shared, state, waiting: None }
    }

    /// `true` once the task has finished (returned or panicked).
    ///
    /// ```
    /// use coro::{co_return, Task};
    /// #[coro::coroutine]
    /// fn one() -> Task<u8> { co_return!(1) }
    ///
    /// let rt = coro_io::EventLoop::new().unwrap();
    /// let h = rt.spawn_local(one());
    /// assert!(!h.is_finished()); // starts at the next loop turn
    /// assert_eq!(rt.block_on(h), 1);
    /// ```
    pub fn is_finished(&self) -> bool {
        self.state.lock().finished
    }

    /// Lets the task run on without a handle: its value is dropped when it
    /// finishes; a panic in it propagates out of whatever drives the loop
    /// (on a [`Runtime`](crate::Runtime)'s loop: counted by
    /// [`Runtime::panics`](crate::Runtime::panics)). A task detached after
    /// it finished is simply dropped (its panic too).
    ///
    /// ```
    /// use std::{cell::Cell, rc::Rc};
    /// use coro::{co_return, Task};
    ///
    /// #[coro::coroutine]
    /// fn set(flag: Rc<Cell<bool>>) -> Task<()> { flag.set(true); co_return!(()) }
    ///
    /// let rt = coro_io::EventLoop::new().unwrap();
    /// let flag = Rc::new(Cell::new(false));
    /// rt.spawn_local(set(flag.clone())).detach();
    /// rt.run();
    /// assert!(flag.get());
    /// ```
    pub fn detach(self) {
        let result = {
            let mut join = self.state.lock();
            join.detached = true;
            join.result.take()
        };
        drop(result);
    }

    /// Destroys the task: at once if called on the task's loop thread
    /// (its frame's locals and its awaiters are dropped: a sleep withdraws
    /// its timer, an awaited handle cancels its own task); from another
    /// thread, the task's loop is told, and destroys it there at its next
    /// turn. A task that already finished is dropped with its value. A
    /// task cancelling itself is destroyed when it next suspends.
    ///
    /// ```
    /// use std::time::Duration;
    /// use coro::{co_await, co_return, Task};
    /// use coro_io::{sleep, yield_now};
    ///
    /// #[coro::coroutine]
    /// fn forever() -> Task<()> {
    ///     co_await!(sleep(Duration::from_secs(3600)));
    ///     co_return!(())
    /// }
    /// #[coro::coroutine]
    /// fn tick() -> Task<()> { co_await!(yield_now()); co_return!(()) }
    ///
    /// let rt = coro_io::EventLoop::new().unwrap();
    /// let h = rt.spawn_local(forever());
    /// rt.block_on(tick()); // lets it start and sleep
    /// assert_eq!(rt.timers(), 1);
    /// h.cancel();
    /// assert_eq!((rt.tasks(), rt.timers()), (0, 0));
    /// ```
    pub fn cancel(self) {
        // `Drop` does it.
    }

    fn take_result(&mut self) -> T {
        let result = self.state.lock().result.take();
        match result {
            Some(Ok(v)) => v,
            Some(Err(panic)) => resume_unwind(panic),
            None => panic!("JoinHandle: the task has not finished"),
        }
    }

    /// Has `key` (a registration on this handle's own loop, which someone
    /// else owns: a `timeout`'s) woken when the task finishes.
    pub(crate) fn set_waiter(&mut self, key: Key) {
        self.state.lock().waiter = Waiter::Coroutine(self.shared.clone(), key);
    }

    /// The finished task's value (or its panic).
    pub(crate) fn into_result(mut self) -> T {
        self.take_result()
    }
}

impl<T> Drop for JoinHandle<T> {
    fn drop(&mut self) {
        if let Some((shared, key)) = self.waiting.take() {
            event_loop::withdraw(&shared, key);
        }
        let (cancel, key, result) = {
            let mut join = self.state.lock();
            join.waiter = Waiter::None;
            if join.detached {
                (false, None, None)
            } else if join.finished {
                (false, None, join.result.take())
            } else {
                join.cancelled = true;
                (true, join.key, None)
            }
        };
        drop(result);
        if !cancel {
            return;
        }
        // No key yet: the task is still in its loop's injection queue, and
        // the loop drops it when it takes it (it reads `cancelled`).
        let Some(key) = key else { return };
        match event_loop::local(&self.shared) {
            Some(lp) => lp.cancel_task(key),
            // Refused: the loop is gone, and the task with it.
            None => drop(self.shared.post(Message::Cancel(key))),
        }
    }
}

/// `co_await!(handle)`: the task's value; its panic resumes in the awaiting
/// coroutine. The awaiting coroutine (a `Task` or a `SendTask`) registers
/// with the loop of the thread it runs on, and is resumed there, whichever
/// loop the task runs on.
///
/// # Panics
/// At the `co_await!`, if the awaiting thread has no
/// [`EventLoop`](crate::EventLoop) (use [`sync_wait`](coro_core::sync_wait)
/// or `.await` there instead).
impl<T> Awaiter for JoinHandle<T> {
    type Output = T;
    fn await_ready(&mut self) -> bool {
        self.is_finished()
    }
    unsafe fn await_suspend(&mut self, awaiting: CoroutineHandle) -> impl AwaitSuspend {
        let lp = current_for("co_await! of a coro_io::JoinHandle");
        let key = lp.register(awaiting);
        let mut join = self.state.lock();
        if join.finished {
            // Finished since `await_ready` (on another loop): go on at once.
            drop(join);
            lp.deregister(key);
            return false;
        }
        join.waiter = Waiter::Coroutine(lp.shared.clone(), key);
        drop(join);
        self.waiting = Some((lp.shared.clone(), key));
        true
    }
    fn await_resume(mut self) -> T {
        self.take_result()
    }
    unsafe fn await_cancel(&mut self) -> CancelOutcome {
        let outcome = event_loop::cancel(&mut self.waiting);
        if outcome == CancelOutcome::Withdrawn {
            self.state.lock().waiter = Waiter::None;
        }
        outcome
    }
}

/// `block_on(handle)`, or `.await` from a Rust future on any thread.
impl<T> Future for JoinHandle<T> {
    type Output = T;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        let this = self.get_mut();
        let mut join = this.state.lock();
        if join.finished {
            drop(join);
            return Poll::Ready(this.take_result());
        }
        match &mut join.waiter {
            Waiter::Future(w) if w.will_wake(cx.waker()) => {}
            waiter => *waiter = Waiter::Future(cx.waker().clone()),
        }
        Poll::Pending
    }
}

/// `sync_wait(handle)`: blocks this thread until the task finishes (on a
/// thread with an [`EventLoop`](crate::EventLoop), runs that loop
/// meanwhile, so a task of this very loop can finish too).
///
/// ```
/// use coro::{co_return, sync_wait, SendTask};
///
/// #[coro::coroutine]
/// fn answer() -> SendTask<u32> { co_return!(42) }
///
/// let rt = coro_io::Runtime::new(1).unwrap();
/// assert_eq!(sync_wait(rt.spawn(answer())), 42);
/// ```
impl<T: 'static> SyncWait for JoinHandle<T> {
    type Output = T;
    fn sync_wait(mut self) -> T {
        if let Some(lp) = event_loop::try_current() {
            return lp.block_on(self);
        }
        struct Unpark(std::thread::Thread);
        impl std::task::Wake for Unpark {
            fn wake(self: Arc<Self>) {
                self.0.unpark()
            }
        }
        let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
        let mut cx = Context::from_waker(&waker);
        loop {
            if let Poll::Ready(v) = Pin::new(&mut self).poll(&mut cx) {
                return v;
            }
            // Coroutines of this thread woken elsewhere run meanwhile (a
            // wake-up for them unparks this thread too).
            if coro_core::resume_woken() == 0 {
                std::thread::park();
            }
        }
    }
}
