//! [`SingleConsumerEvent`]: a manual-reset event with at most one waiter at
//! a time (cppcoro's `single_consumer_event`).

use core::fmt;

use super::event::Event;
use super::flavor::{Flavor, Local, ThreadSafe};
use super::waiter::WaitNode;
use crate::language::awaiter::{AwaitSuspend, Awaiter, CancelOutcome, IntoAwaiter};
use crate::language::handle::CoroutineHandle;

/// A manual-reset event that one coroutine at a time may wait on
/// (cppcoro's `single_consumer_event`): the cheapest way for a producer to
/// wake one consumer.
///
/// `co_await!(event.wait())` suspends until the event is [`set`](Self::set);
/// `set` resumes the waiter on the calling thread before it returns (see
/// the [module docs](super#waking)). The event stays set until
/// [`reset`](Self::reset). A second coroutine waiting while one already
/// waits is a bug: its `co_await!` panics.
///
/// Name it [`coro::sync::SingleConsumerEvent`](super::SingleConsumerEvent)
/// or [`coro::sync::local::SingleConsumerEvent`](super::local::SingleConsumerEvent).
///
/// ```
/// use std::sync::Arc;
/// use coro::{co_await, co_return, sync_wait, SendTask};
/// use coro::sync::SingleConsumerEvent;
///
/// #[coro::coroutine]
/// fn consumer(ev: Arc<SingleConsumerEvent>) -> SendTask<&'static str> {
///     co_await!(ev.wait());
///     co_return!("woken")
/// }
///
/// let ev = Arc::new(SingleConsumerEvent::new());
/// let producer = std::thread::spawn({
///     let ev = ev.clone();
///     move || ev.set()
/// });
/// assert_eq!(sync_wait(consumer(ev.clone())), "woken");
/// producer.join().unwrap();
/// assert!(ev.is_set());
/// ```
pub struct SingleConsumerEvent<F: Flavor = ThreadSafe> {
    /// An [`Event`] that never has more than one waiter: a second one is
    /// refused by [`Wait`]'s `await_suspend`. With at most one waiter,
    /// `Event`'s `set` (resume them all) resumes that one.
    inner: Event<F>,
}

impl SingleConsumerEvent<ThreadSafe> {
    /// A thread-safe event, not set.
    ///
    /// `const`, so it can live in a `static`:
    /// ```
    /// use coro::sync::SingleConsumerEvent;
    ///
    /// static WAKE: SingleConsumerEvent = SingleConsumerEvent::new();
    /// assert!(!WAKE.is_set());
    /// ```
    pub const fn new() -> Self {
        SingleConsumerEvent { inner: Event::<ThreadSafe>::new() }
    }

    /// A thread-safe event that starts set (cppcoro's
    /// `single_consumer_event(true)`); a constructor of its own, not a
    /// `bool` argument to `new`, for the reason given at the thread-safe
    /// [`Event`](super::event::Event)'s `new_set`.
    ///
    /// ```
    /// use coro::sync::SingleConsumerEvent;
    ///
    /// static READY: SingleConsumerEvent = SingleConsumerEvent::new_set();
    /// assert!(READY.is_set());
    /// ```
    pub const fn new_set() -> Self {
        SingleConsumerEvent { inner: Event::<ThreadSafe>::new_set() }
    }
}

impl SingleConsumerEvent<Local> {
    /// A single-threaded event, not set.
    ///
    /// ```
    /// let ev = coro::sync::local::SingleConsumerEvent::new();
    /// assert!(!ev.is_set());
    /// ```
    pub const fn new() -> Self {
        SingleConsumerEvent { inner: Event::<Local>::new() }
    }

    /// A single-threaded event that starts set.
    ///
    /// ```
    /// let ev = coro::sync::local::SingleConsumerEvent::new_set();
    /// assert!(ev.is_set());
    /// ```
    pub const fn new_set() -> Self {
        SingleConsumerEvent { inner: Event::<Local>::new_set() }
    }
}

impl Default for SingleConsumerEvent<ThreadSafe> {
    fn default() -> Self {
        Self::new()
    }
}

impl Default for SingleConsumerEvent<Local> {
    fn default() -> Self {
        Self::new()
    }
}

impl<F: Flavor> SingleConsumerEvent<F> {
    /// Whether the event is set.
    ///
    /// ```
    /// let ev = coro::sync::local::SingleConsumerEvent::new();
    /// ev.set();
    /// assert!(ev.is_set());
    /// ```
    pub fn is_set(&self) -> bool {
        self.inner.is_set()
    }

    /// Sets the event; if a coroutine waits, resumes it on this thread
    /// before returning.
    ///
    /// ```
    /// use std::{cell::Cell, rc::Rc};
    /// use coro::schedule::{spawn_detached, LocalScheduler};
    /// use coro::{co_await, co_return, Task};
    /// use coro::sync::local::SingleConsumerEvent;
    ///
    /// #[coro::coroutine]
    /// fn consumer(ev: Rc<SingleConsumerEvent>, woken: Rc<Cell<bool>>) -> Task<()> {
    ///     co_await!(ev.wait());
    ///     woken.set(true);
    ///     co_return!(())
    /// }
    ///
    /// let (ev, woken) = (Rc::new(SingleConsumerEvent::new()), Rc::new(Cell::new(false)));
    /// let s = LocalScheduler::new();
    /// spawn_detached(consumer(ev.clone(), woken.clone()), &s);
    /// s.run_until_idle();
    /// assert!(!woken.get()); // suspended in `wait()`
    /// ev.set();              // resumes it before returning
    /// assert!(woken.get());
    /// ```
    pub fn set(&self) {
        self.inner.set()
    }

    /// Clears the event.
    ///
    /// A consumer that handles each wake-up once:
    /// ```
    /// use std::{cell::Cell, rc::Rc};
    /// use coro::schedule::{spawn_detached, LocalScheduler};
    /// use coro::{co_await, co_return, Task};
    /// use coro::sync::local::SingleConsumerEvent;
    ///
    /// #[coro::coroutine]
    /// fn consumer(ev: Rc<SingleConsumerEvent>, wakes: Rc<Cell<u32>>) -> Task<()> {
    ///     for _ in 0..2 {
    ///         co_await!(ev.wait());
    ///         ev.reset(); // the next `wait()` suspends again
    ///         wakes.set(wakes.get() + 1);
    ///     }
    ///     co_return!(())
    /// }
    ///
    /// let (ev, wakes) = (Rc::new(SingleConsumerEvent::new()), Rc::new(Cell::new(0)));
    /// let s = LocalScheduler::new();
    /// spawn_detached(consumer(ev.clone(), wakes.clone()), &s);
    /// s.run_until_idle();
    /// ev.set();
    /// ev.set();
    /// assert_eq!(wakes.get(), 2);
    /// ```
    pub fn reset(&self) {
        self.inner.reset()
    }

    /// An awaiter that completes once the event is set.
    ///
    /// A set event does not suspend its waiter:
    /// ```
    /// use coro::{co_await, co_return, sync_wait, Task};
    /// use coro::sync::SingleConsumerEvent;
    ///
    /// static EV: SingleConsumerEvent = SingleConsumerEvent::new();
    ///
    /// #[coro::coroutine]
    /// fn after_set() -> Task<u32> {
    ///     co_await!(EV.wait());
    ///     co_await!(&EV); // the same
    ///     co_return!(1)
    /// }
    ///
    /// EV.set();
    /// assert_eq!(sync_wait(after_set()), 1);
    /// ```
    pub fn wait(&self) -> Wait<'_, F> {
        Wait { event: self, node: WaitNode::new() }
    }
}

impl<F: Flavor> fmt::Debug for SingleConsumerEvent<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SingleConsumerEvent").field("set", &self.is_set()).finish()
    }
}

/// The awaiter of [`SingleConsumerEvent::wait`].
#[must_use = "an awaiter does nothing unless `co_await!`ed"]
pub struct Wait<'a, F: Flavor = ThreadSafe> {
    event: &'a SingleConsumerEvent<F>,
    node: WaitNode,
}

// Left out of the "other types implement `Awaiter`" list of unrelated errors.
#[diagnostic::do_not_recommend]
impl<F: Flavor> Awaiter for Wait<'_, F> {
    type Output = ();

    fn await_ready(&mut self) -> bool {
        self.event.is_set()
    }

    unsafe fn await_suspend(&mut self, handle: CoroutineHandle) -> impl AwaitSuspend {
        // SAFETY: forwarded `await_suspend` contract; nothing touches `self`
        // afterwards once registered (the release of the lock publishes the
        // node, and another thread may resume the coroutine at once).
        let registered = unsafe { self.event.inner.register(&self.node, handle, true) };
        // Not registered, so `self` is still ours: the panic is rethrown
        // inside the coroutine at its `co_await!`.
        registered.expect("a SingleConsumerEvent was awaited by a second coroutine while one already waits on it")
    }

    unsafe fn await_cancel(&mut self) -> CancelOutcome {
        // SAFETY: the node is this awaiter's, registered with this
        // event's inner `Event`; the coroutine is suspended on it.
        unsafe { self.event.inner.cancel(&self.node) }
    }

    fn await_resume(self) {
        self.node.finish();
    }
}

impl<F: Flavor> Drop for Wait<'_, F> {
    fn drop(&mut self) {
        // SAFETY: the node is this awaiter's, registered (if at all) with
        // this event's inner `Event`.
        unsafe { self.event.inner.abandon(&self.node) };
    }
}

impl<F: Flavor> fmt::Debug for Wait<'_, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("single_consumer_event::Wait").field("event", self.event).finish()
    }
}

impl<'a, F: Flavor> IntoAwaiter for &'a SingleConsumerEvent<F> {
    type Awaiter = Wait<'a, F>;
    /// `co_await!(&event)`: the same as `co_await!(event.wait())`.
    fn into_awaiter(self) -> Wait<'a, F> {
        self.wait()
    }
}
