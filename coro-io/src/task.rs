//! Spawned tasks and their [`JoinHandle`].
//!
//! A spawned task is a Rust future (a `Task` or `SendTask` through its
//! `IntoFuture`, which starts the task at the first poll and wakes the
//! loop when it finishes) boxed in the loop's task slab with a waker that
//! names its slab key and generation. Its result goes to a [`JoinState`]
//! shared with the handle, which wakes whoever waits: a coroutine
//! (through its registration) or a future's waker.

use core::cell::{Cell, RefCell};
use core::fmt;
use core::future::Future;
use core::mem;
use core::pin::Pin;
use core::task::{Context, Poll, Waker};
use std::any::Any;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::rc::Rc;

use coro_core::{AwaitSuspend, Awaiter, CoroutineHandle};

use crate::event_loop::{Inner, TaskKey};
use crate::registration::Key;

type Payload = Box<dyn Any + Send>;

/// A task as the loop holds it.
pub(crate) trait Runnable {
    /// Polls the task; `Ready(Some(panic))` if a detached task panicked
    /// (the loop rethrows it once the task is gone).
    fn poll(&mut self, lp: &Inner, cx: &mut Context<'_>) -> Poll<Option<Payload>>;
}

enum Waiter {
    None,
    Coroutine(Key),
    Future(Waker),
}

/// What a task and its handle share.
pub(crate) struct JoinState<T> {
    result: RefCell<Option<std::thread::Result<T>>>,
    waiter: RefCell<Waiter>,
    detached: Cell<bool>,
}

pub(crate) struct Spawned<F: Future> {
    future: Pin<Box<F>>,
    state: Rc<JoinState<F::Output>>,
}

impl<F: Future + 'static> Spawned<F> {
    pub(crate) fn boxed(future: F) -> (Box<dyn Runnable>, Rc<JoinState<F::Output>>) {
        let state = Rc::new(JoinState {
            result: RefCell::new(None),
            waiter: RefCell::new(Waiter::None),
            detached: Cell::new(false),
        });
        (Box::new(Spawned { future: Box::pin(future), state: state.clone() }), state)
    }
}

impl<F: Future> Runnable for Spawned<F> {
    fn poll(&mut self, lp: &Inner, cx: &mut Context<'_>) -> Poll<Option<Payload>> {
        let result = match catch_unwind(AssertUnwindSafe(|| self.future.as_mut().poll(cx))) {
            Ok(Poll::Pending) => return Poll::Pending,
            Ok(Poll::Ready(v)) => Ok(v),
            Err(panic) => Err(panic),
        };
        if self.state.detached.get() {
            // Nobody takes the value: dropped here; a panic goes to the loop.
            return Poll::Ready(result.err());
        }
        *self.state.result.borrow_mut() = Some(result);
        match mem::replace(&mut *self.state.waiter.borrow_mut(), Waiter::None) {
            Waiter::Coroutine(key) => lp.wake(key),
            Waiter::Future(w) => w.wake(),
            Waiter::None => {}
        }
        Poll::Ready(None)
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
    lp: Rc<Inner>,
    key: TaskKey,
    state: Rc<JoinState<T>>,
    /// The registration of the coroutine awaiting it.
    waiting: Option<Key>,
}

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHandle").field("finished", &self.is_finished()).finish()
    }
}

impl<T> JoinHandle<T> {
    pub(crate) fn new(lp: Rc<Inner>, key: TaskKey, state: Rc<JoinState<T>>) -> Self {
        JoinHandle { lp, key, state, waiting: None }
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
        self.state.result.borrow().is_some()
    }

    /// Lets the task run on without a handle: its value is dropped when it
    /// finishes; a panic in it propagates out of whatever drives the loop.
    /// A task detached after it finished is simply dropped (its panic too).
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
        self.state.detached.set(true);
        drop(self.state.result.borrow_mut().take());
    }

    /// Destroys the task at once, on this thread: its frame's locals and
    /// its awaiters are dropped (a sleep withdraws its timer, an awaited
    /// handle cancels its own task). A task that already finished is
    /// dropped with its value. A task cancelling itself is destroyed when
    /// it next suspends.
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
        match self.state.result.borrow_mut().take() {
            Some(Ok(v)) => v,
            Some(Err(panic)) => resume_unwind(panic),
            None => panic!("JoinHandle: the task has not finished"),
        }
    }

    /// Has `key` (a registration someone else owns: a `timeout`'s) woken
    /// when the task finishes.
    pub(crate) fn set_waiter(&mut self, key: Key) {
        *self.state.waiter.borrow_mut() = Waiter::Coroutine(key);
    }

    /// The finished task's value (or its panic).
    pub(crate) fn into_result(mut self) -> T {
        self.take_result()
    }
}

impl<T> Drop for JoinHandle<T> {
    fn drop(&mut self) {
        *self.state.waiter.borrow_mut() = Waiter::None;
        if let Some(key) = self.waiting.take() {
            self.lp.deregister(key);
        }
        if !self.state.detached.get() {
            self.lp.cancel_task(self.key);
        }
    }
}

/// `co_await!(handle)`: the task's value; its panic resumes in the awaiting
/// coroutine.
impl<T> Awaiter for JoinHandle<T> {
    type Output = T;
    fn await_ready(&mut self) -> bool {
        self.is_finished()
    }
    unsafe fn await_suspend(&mut self, awaiting: CoroutineHandle) -> impl AwaitSuspend {
        let key = self.lp.register(awaiting);
        self.waiting = Some(key);
        *self.state.waiter.borrow_mut() = Waiter::Coroutine(key);
    }
    fn await_resume(mut self) -> T {
        self.take_result()
    }
}

/// `block_on(handle)`, or `.await` from a Rust future on the same loop.
impl<T> Future for JoinHandle<T> {
    type Output = T;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        let this = self.get_mut();
        if this.is_finished() {
            return Poll::Ready(this.take_result());
        }
        *this.state.waiter.borrow_mut() = Waiter::Future(cx.waker().clone());
        Poll::Pending
    }
}
