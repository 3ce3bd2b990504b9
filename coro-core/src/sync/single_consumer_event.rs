//! [`SingleConsumerEvent`]: a manual-reset event with at most one waiter at
//! a time (cppcoro's `single_consumer_event`).

use core::fmt;

use super::flavor::{Flavor, Guarded, Local, ThreadSafe};
use super::ready;
use super::waiter::{abandon_wait, WaitList, WaitNode};
use crate::awaiter::{AwaitSuspend, Awaiter, IntoAwaiter};
use crate::handle::CoroutineHandle;

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
    state: Guarded<F::Lock, State>,
}

struct State {
    set: bool,
    /// At most one node, and only while `!set`.
    waiter: WaitList,
}

// SAFETY: the waiter pointer is only followed under the lock; moving the
// event moves no waiter (a waiter borrows it).
unsafe impl<F: Flavor> Send for SingleConsumerEvent<F> {}
// SAFETY: the state is only reached under a spin lock.
unsafe impl Sync for SingleConsumerEvent<ThreadSafe> {}

impl SingleConsumerEvent<ThreadSafe> {
    /// A thread-safe event, not set.
    pub const fn new() -> Self {
        SingleConsumerEvent { state: Guarded::new(State { set: false, waiter: WaitList::new() }) }
    }
}

impl SingleConsumerEvent<Local> {
    /// A single-threaded event, not set.
    pub const fn new() -> Self {
        SingleConsumerEvent { state: Guarded::new(State { set: false, waiter: WaitList::new() }) }
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
    pub fn is_set(&self) -> bool {
        self.state.with(|s| s.set)
    }

    /// Sets the event; if a coroutine waits, resumes it on this thread
    /// before returning.
    pub fn set(&self) {
        let woke = self.state.with(|s| {
            s.set = true;
            match s.waiter.pop_front() {
                // SAFETY: just taken out of this event's list, under the lock.
                Some(node) => unsafe {
                    ready::schedule(node);
                    true
                },
                None => false,
            }
        });
        if woke {
            ready::run();
        }
    }

    /// Clears the event.
    pub fn reset(&self) {
        self.state.with(|s| s.set = false)
    }

    /// An awaiter that completes once the event is set.
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
        let node: *const WaitNode = &self.node;
        // SAFETY: our live coroutine; the node is not published yet.
        unsafe { (*node).arm_home::<F>(handle) };
        // Nothing after `with` returns touches `self`: the release of the
        // lock publishes the node, and another thread may resume the
        // coroutine at once.
        let registered = self.event.state.with(|s| {
            if s.set {
                return Some(false);
            }
            if !s.waiter.is_empty() {
                return None;
            }
            // SAFETY: the node is idle and stays in place in the suspended
            // frame until resumed or unlinked by `Drop`.
            unsafe {
                (*node).prepare(handle);
                s.waiter.push_back(node);
            }
            Some(true)
        });
        // Not registered, so `self` is still ours: the panic is rethrown
        // inside the coroutine at its `co_await!`.
        registered.expect("a SingleConsumerEvent was awaited by a second coroutine while one already waits on it")
    }

    fn await_resume(self) {
        self.node.finish();
    }
}

impl<F: Flavor> Drop for Wait<'_, F> {
    fn drop(&mut self) {
        // SAFETY: the node is this awaiter's, registered (if at all) with
        // this primitive's `waiter` list.
        // Nothing an event or latch grants needs handing on.
        unsafe { abandon_wait(&self.event.state, |s| &mut s.waiter, &self.node) };
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
