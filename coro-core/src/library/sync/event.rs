//! [`Event`]: a manual-reset event any number of coroutines can wait on
//! (cppcoro's `async_manual_reset_event`).

use core::fmt;

use super::flavor::{Flavor, Guarded, Local, ThreadSafe};
use super::ready;
use super::waiter::{abandon_wait, cancel_wait, wait_on, WaitList, WaitNode};
use crate::language::awaiter::{AwaitSuspend, Awaiter, CancelOutcome, IntoAwaiter};
use crate::language::handle::CoroutineHandle;

/// A manual-reset event (cppcoro's `async_manual_reset_event`): once
/// [`set`](Self::set), every coroutine waiting on it is resumed and later
/// waits complete at once, until [`reset`](Self::reset).
///
/// `co_await!(event.wait())` (or `co_await!(&event)`) suspends until the
/// event is set. `set` resumes the waiters on the calling thread, in the
/// order they started waiting, before it returns (see the
/// [module docs](super#waking) for how nesting is bounded).
///
/// Name it [`coro::sync::Event`](super::Event) (thread-safe) or
/// [`coro::sync::local::Event`](super::local::Event) (single-threaded).
///
/// ```
/// use std::sync::Arc;
/// use coro::{co_await, co_return, sync_wait, SendTask};
/// use coro::sync::Event;
///
/// #[coro::coroutine]
/// fn wait_then_read(ready: Arc<Event>, data: Arc<std::sync::OnceLock<u32>>) -> SendTask<u32> {
///     co_await!(ready.wait());
///     co_return!(*data.get().unwrap())
/// }
///
/// let ready = Arc::new(Event::new());
/// let data = Arc::new(std::sync::OnceLock::new());
/// let producer = std::thread::spawn({
///     let (ready, data) = (ready.clone(), data.clone());
///     move || {
///         data.set(42).unwrap();
///         ready.set(); // resumes the waiting task on this thread, if it waits
///     }
/// });
/// assert_eq!(sync_wait(wait_then_read(ready, data)), 42);
/// producer.join().unwrap();
/// ```
pub struct Event<F: Flavor = ThreadSafe> {
    state: Guarded<F::Lock, State>,
}

struct State {
    set: bool,
    /// Non-empty only while `!set`.
    waiters: WaitList,
}

// SAFETY: the waiter list's pointers are only followed under the lock (see
// `waiter.rs`); moving an event moves no waiter (waiters borrow it).
unsafe impl<F: Flavor> Send for Event<F> {}
// SAFETY: the state is only reached under a spin lock.
unsafe impl Sync for Event<ThreadSafe> {}

impl Event<ThreadSafe> {
    /// A thread-safe event, not set.
    ///
    /// `const`, so it can live in a `static`:
    /// ```
    /// use coro::sync::Event;
    ///
    /// static READY: Event = Event::new();
    /// assert!(!READY.is_set());
    /// READY.set();
    /// assert!(READY.is_set());
    /// ```
    pub const fn new() -> Self {
        Event { state: Guarded::new(State { set: false, waiters: WaitList::new() }) }
    }

    /// A thread-safe event that starts set (cppcoro's
    /// `async_manual_reset_event(true)`): waits complete at once until the
    /// first [`reset`](Event::reset).
    ///
    /// **Why a second constructor rather than `new(set: bool)`:** `new()`
    /// is already the unset event, and a bare `true` at the call site does
    /// not say what it means; `Event::new_set()` does. For a flag computed
    /// at run time, write `if set { Event::new_set() } else { Event::new() }`.
    ///
    /// `const`, like `new`:
    /// ```
    /// use coro::sync::Event;
    ///
    /// static OPEN: Event = Event::new_set();
    /// assert!(OPEN.is_set());
    /// OPEN.reset();
    /// assert!(!OPEN.is_set());
    /// ```
    pub const fn new_set() -> Self {
        Event { state: Guarded::new(State { set: true, waiters: WaitList::new() }) }
    }
}

impl Event<Local> {
    /// A single-threaded event, not set.
    ///
    /// ```
    /// use coro::sync::local::Event;
    ///
    /// let ev = Event::new();
    /// assert!(!ev.is_set());
    /// ```
    pub const fn new() -> Self {
        Event { state: Guarded::new(State { set: false, waiters: WaitList::new() }) }
    }

    /// A single-threaded event that starts set (a constructor of its own,
    /// not a `bool` argument to `new`: see the thread-safe `new_set`).
    ///
    /// ```
    /// use std::rc::Rc;
    /// use coro::{co_await, co_return, sync_wait, Task};
    /// use coro::sync::local::Event;
    ///
    /// #[coro::coroutine]
    /// fn pass(ev: Rc<Event>) -> Task<bool> {
    ///     co_await!(ev.wait()); // set from the start: no suspension
    ///     co_return!(true)
    /// }
    ///
    /// assert!(sync_wait(pass(Rc::new(Event::new_set()))));
    /// ```
    pub const fn new_set() -> Self {
        Event { state: Guarded::new(State { set: true, waiters: WaitList::new() }) }
    }
}

impl Default for Event<ThreadSafe> {
    fn default() -> Self {
        Self::new()
    }
}

impl Default for Event<Local> {
    fn default() -> Self {
        Self::new()
    }
}

impl<F: Flavor> Event<F> {
    /// Whether the event is set.
    ///
    /// ```
    /// let ev = coro::sync::local::Event::new();
    /// ev.set();
    /// assert!(ev.is_set());
    /// ```
    pub fn is_set(&self) -> bool {
        self.state.with(|s| s.set)
    }

    /// Sets the event and resumes every waiting coroutine, on this thread,
    /// in the order they started waiting. Does nothing if already set.
    ///
    /// A panic escaping a resumed coroutine (one whose promise rethrows)
    /// does not keep the others from being resumed; the first such panic
    /// propagates from here.
    ///
    /// ```
    /// use std::{cell::Cell, rc::Rc};
    /// use coro::schedule::{spawn_detached, LocalScheduler};
    /// use coro::{co_await, co_return, Task};
    /// use coro::sync::local::Event;
    ///
    /// #[coro::coroutine]
    /// fn waiter(ev: Rc<Event>, woken: Rc<Cell<bool>>) -> Task<()> {
    ///     co_await!(ev.wait());
    ///     woken.set(true);
    ///     co_return!(())
    /// }
    ///
    /// let (ev, woken) = (Rc::new(Event::new()), Rc::new(Cell::new(false)));
    /// let s = LocalScheduler::new();
    /// spawn_detached(waiter(ev.clone(), woken.clone()), &s);
    /// s.run_until_idle();
    /// assert!(!woken.get()); // suspended in `wait()`
    /// ev.set();              // resumes it before returning
    /// assert!(woken.get());
    /// ```
    pub fn set(&self) {
        let woke = self.state.with(|s| {
            if s.set {
                return false;
            }
            s.set = true;
            let woke = !s.waiters.is_empty();
            // SAFETY: under the lock, on this event's wait list.
            unsafe { ready::schedule_all(&mut s.waiters) };
            woke
        });
        if woke {
            ready::run();
        }
    }

    /// Clears the event: later waits suspend until the next [`set`](Self::set).
    ///
    /// ```
    /// let ev = coro::sync::Event::new();
    /// ev.set();
    /// ev.reset();
    /// assert!(!ev.is_set());
    /// ```
    pub fn reset(&self) {
        self.state.with(|s| s.set = false)
    }

    /// An awaiter that completes once the event is set.
    ///
    /// A set event does not suspend its waiters:
    /// ```
    /// use coro::{co_await, co_return, sync_wait, Task};
    /// use coro::sync::Event;
    ///
    /// static EV: Event = Event::new();
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

    /// The body of an awaiter's `await_suspend` (this module's and
    /// [`SingleConsumerEvent`](super::single_consumer_event::SingleConsumerEvent)'s,
    /// and the pool's join handle's):
    /// registers `node` for `handle` unless the event is set. `Some(true)`:
    /// registered, stay suspended; `Some(false)`: set, resume at once;
    /// `None` (only if `exclusive`): another coroutine already waits, and
    /// nothing was registered.
    ///
    /// # Safety
    /// `node` is the idle node of the awaiter whose `await_suspend(handle)`
    /// is running; that awaiter stays in place in the suspended frame until
    /// it is resumed or dropped (its `Drop` calling [`abandon`](Self::abandon)),
    /// and is not touched after this returns `Some(true)`.
    #[inline]
    pub(crate) unsafe fn register(
        &self,
        node: *const WaitNode,
        handle: CoroutineHandle,
        exclusive: bool,
    ) -> Option<bool> {
        // SAFETY: forwarded contract.
        let joined = unsafe {
            wait_on::<F, _, _>(&self.state, node, handle, |s| {
                if s.set {
                    Err(Some(false))
                } else if exclusive && !s.waiters.is_empty() {
                    Err(None)
                } else {
                    Ok(&mut s.waiters)
                }
            })
        };
        match joined {
            Ok(()) => Some(true),
            Err(not_registered) => not_registered,
        }
    }

    /// The body of an awaiter's `await_cancel`: withdraws `node` if it is
    /// still queued (see [`cancel_wait`]).
    ///
    /// # Safety
    /// `node` is the awaiter's, registered with this event by
    /// [`register`](Self::register); its coroutine is suspended on it.
    #[inline]
    pub(crate) unsafe fn cancel(&self, node: &WaitNode) -> CancelOutcome {
        // SAFETY: registered, if at all, with this event's `waiters` (caller).
        unsafe { cancel_wait(&self.state, |s| &mut s.waiters, node) }
    }

    /// The body of an awaiter's `Drop`: takes `node` out of the wait list
    /// if it is still there. Nothing an event grants needs handing on.
    ///
    /// # Safety
    /// `node` is the dropped awaiter's, registered (if at all) with this
    /// event by [`register`](Self::register).
    #[inline]
    pub(crate) unsafe fn abandon(&self, node: &WaitNode) {
        // SAFETY: registered, if at all, with this event's `waiters` (caller).
        unsafe { abandon_wait(&self.state, |s| &mut s.waiters, node) };
    }
}

impl<F: Flavor> fmt::Debug for Event<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Event").field("set", &self.is_set()).finish()
    }
}

/// The awaiter of [`Event::wait`]. Waiting allocates nothing: the awaiter,
/// in the waiting coroutine's frame, is the list node.
#[must_use = "an awaiter does nothing unless `co_await!`ed"]
pub struct Wait<'a, F: Flavor = ThreadSafe> {
    event: &'a Event<F>,
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
        // afterwards. Not exclusive, so never `None`.
        unsafe { self.event.register(&self.node, handle, false) }.unwrap_or(true)
    }

    unsafe fn await_cancel(&mut self) -> CancelOutcome {
        // SAFETY: the node is this awaiter's, registered with this
        // primitive's `waiters` list; the coroutine is suspended on it.
        unsafe { self.event.cancel(&self.node) }
    }

    fn await_resume(self) {
        self.node.finish();
    }
}

impl<F: Flavor> Drop for Wait<'_, F> {
    fn drop(&mut self) {
        // SAFETY: the node is this awaiter's, registered (if at all) with
        // this event.
        unsafe { self.event.abandon(&self.node) };
    }
}

impl<F: Flavor> fmt::Debug for Wait<'_, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("event::Wait").field("event", self.event).finish()
    }
}

impl<'a, F: Flavor> IntoAwaiter for &'a Event<F> {
    type Awaiter = Wait<'a, F>;
    /// `co_await!(&event)`: the same as `co_await!(event.wait())`.
    fn into_awaiter(self) -> Wait<'a, F> {
        self.wait()
    }
}
