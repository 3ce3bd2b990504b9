//! [`AutoResetEvent`]: an event whose `set` lets exactly one waiter through
//! (cppcoro's `async_auto_reset_event`).

use core::fmt;

use super::flavor::{Flavor, Guarded, Local, ThreadSafe};
use super::ready;
use super::waiter::{abandon_wait, cancel_wait, wait_on, WaitList, WaitNode};
use crate::language::awaiter::{AwaitSuspend, Awaiter, CancelOutcome, IntoAwaiter};
use crate::language::handle::CoroutineHandle;

/// An auto-reset event (cppcoro's `async_auto_reset_event`): each
/// [`set`](Self::set) lets exactly one coroutine through. With coroutines
/// waiting, `set` resumes the longest waiter and the event stays unset;
/// with none, the event becomes set, and the next wait consumes it and
/// completes at once. Setting a set event does nothing: sets do not add
/// up (a [`Semaphore`](super::semaphore::Semaphore) counts them).
///
/// `co_await!(event.wait())` (or `co_await!(&event)`) suspends until a
/// `set` is for this waiter. `set` resumes the released waiter on the
/// calling thread before it returns (see the [module docs](super#waking)).
///
/// **Fair (FIFO).** While coroutines wait the event is never set, so a
/// newcomer ([`try_wait`](Self::try_wait), a `wait()` arriving just after a
/// `set`) cannot take a `set` meant for a waiter.
///
/// **Destroyed waiters.** A waiter destroyed while it waits leaves the
/// queue. One that a `set` had already released, destroyed before it ran,
/// passes the `set` on: to the next waiter, or to the event (left set).
///
/// Name it [`coro::sync::AutoResetEvent`](super::AutoResetEvent) or
/// [`coro::sync::local::AutoResetEvent`](super::local::AutoResetEvent).
///
/// ```
/// use std::{cell::RefCell, rc::Rc};
/// use coro::schedule::{spawn_detached, LocalScheduler};
/// use coro::{co_await, co_return, Task};
/// use coro::sync::local::AutoResetEvent;
///
/// #[coro::coroutine]
/// fn worker(id: u32, go: Rc<AutoResetEvent>, log: Rc<RefCell<Vec<u32>>>) -> Task<()> {
///     co_await!(go.wait());
///     log.borrow_mut().push(id);
///     co_return!(())
/// }
///
/// let (go, log) = (Rc::new(AutoResetEvent::new()), Rc::new(RefCell::new(Vec::new())));
/// let s = LocalScheduler::new();
/// for id in 1..=3 {
///     spawn_detached(worker(id, go.clone(), log.clone()), &s);
/// }
/// s.run_until_idle();
/// go.set(); // one worker goes, in the order they waited
/// assert_eq!(*log.borrow(), [1]);
/// go.set();
/// assert_eq!(*log.borrow(), [1, 2]);
/// assert!(!go.is_set()); // each set was used by a waiter
/// ```
pub struct AutoResetEvent<F: Flavor = ThreadSafe> {
    state: Guarded<F::Lock, State>,
}

struct State {
    set: bool,
    /// Non-empty only while `!set`.
    waiters: WaitList,
}

// SAFETY: the waiter list's pointers are only followed under the lock (see
// `waiter.rs`); moving an event moves no waiter (waiters borrow it).
unsafe impl<F: Flavor> Send for AutoResetEvent<F> {}
// SAFETY: the state is only reached under a spin lock.
unsafe impl Sync for AutoResetEvent<ThreadSafe> {}

impl AutoResetEvent<ThreadSafe> {
    /// A thread-safe auto-reset event, not set.
    ///
    /// `const`, so it can live in a `static`:
    /// ```
    /// use coro::sync::AutoResetEvent;
    ///
    /// static WAKE: AutoResetEvent = AutoResetEvent::new();
    /// assert!(!WAKE.is_set());
    /// ```
    pub const fn new() -> Self {
        AutoResetEvent { state: Guarded::new(State { set: false, waiters: WaitList::new() }) }
    }

    /// A thread-safe auto-reset event that starts set (cppcoro's
    /// `async_auto_reset_event(true)`): the first wait completes at once.
    /// A named constructor rather than a `bool` argument to `new`, as for
    /// [`Event`](super::event::Event)'s `new_set`.
    ///
    /// ```
    /// use coro::sync::AutoResetEvent;
    ///
    /// let ev = AutoResetEvent::new_set();
    /// assert!(ev.try_wait());  // consumes the set
    /// assert!(!ev.try_wait());
    /// ```
    pub const fn new_set() -> Self {
        AutoResetEvent { state: Guarded::new(State { set: true, waiters: WaitList::new() }) }
    }
}

impl AutoResetEvent<Local> {
    /// A single-threaded auto-reset event, not set.
    ///
    /// ```
    /// let ev = coro::sync::local::AutoResetEvent::new();
    /// assert!(!ev.is_set());
    /// ```
    pub const fn new() -> Self {
        AutoResetEvent { state: Guarded::new(State { set: false, waiters: WaitList::new() }) }
    }

    /// A single-threaded auto-reset event that starts set.
    ///
    /// ```
    /// let ev = coro::sync::local::AutoResetEvent::new_set();
    /// assert!(ev.is_set());
    /// ```
    pub const fn new_set() -> Self {
        AutoResetEvent { state: Guarded::new(State { set: true, waiters: WaitList::new() }) }
    }
}

impl Default for AutoResetEvent<ThreadSafe> {
    fn default() -> Self {
        Self::new()
    }
}

impl Default for AutoResetEvent<Local> {
    fn default() -> Self {
        Self::new()
    }
}

impl<F: Flavor> AutoResetEvent<F> {
    /// Whether the event is set (no waiter has consumed the last `set`).
    ///
    /// ```
    /// let ev = coro::sync::local::AutoResetEvent::new();
    /// ev.set();
    /// assert!(ev.is_set());
    /// ```
    pub fn is_set(&self) -> bool {
        self.state.with(|s| s.set)
    }

    /// Releases the longest waiter, resumed on this thread before this
    /// returns; with nobody waiting, sets the event (already set: nothing
    /// changes).
    ///
    /// ```
    /// let ev = coro::sync::AutoResetEvent::new();
    /// ev.set();
    /// ev.set(); // sets do not add up
    /// assert!(ev.try_wait());
    /// assert!(!ev.try_wait());
    /// ```
    pub fn set(&self) {
        if self.state.with(set) {
            ready::run();
        }
    }

    /// Clears the event; waiters are unaffected (they only wait while it is
    /// clear).
    ///
    /// ```
    /// let ev = coro::sync::local::AutoResetEvent::new_set();
    /// ev.reset();
    /// assert!(!ev.is_set());
    /// ```
    pub fn reset(&self) {
        self.state.with(|s| s.set = false)
    }

    /// Consumes the event if it is set, without waiting: `true` if it was
    /// (and is now clear).
    ///
    /// ```
    /// let ev = coro::sync::local::AutoResetEvent::new();
    /// assert!(!ev.try_wait());
    /// ev.set();
    /// assert!(ev.try_wait());
    /// assert!(!ev.is_set());
    /// ```
    pub fn try_wait(&self) -> bool {
        self.state.with(|s| core::mem::take(&mut s.set))
    }

    /// An awaiter that completes once a `set` is for this waiter: at once
    /// (consuming it) if the event is set, else when a later `set` reaches
    /// it in FIFO order.
    ///
    /// ```
    /// use coro::{co_await, co_return, sync_wait, Task};
    /// use coro::sync::AutoResetEvent;
    ///
    /// static EV: AutoResetEvent = AutoResetEvent::new();
    ///
    /// #[coro::coroutine]
    /// fn after_set() -> Task<bool> {
    ///     co_await!(EV.wait()); // or co_await!(&EV)
    ///     co_return!(EV.is_set())
    /// }
    ///
    /// EV.set();
    /// assert!(!sync_wait(after_set())); // the wait consumed the set
    /// ```
    pub fn wait(&self) -> Wait<'_, F> {
        Wait { event: self, node: WaitNode::new() }
    }
}

/// `set` under the lock: hands the set to the first waiter (scheduled;
/// `true`, so the caller runs the ready queue) or leaves the event set.
fn set(s: &mut State) -> bool {
    match s.waiters.pop_front() {
        Some(node) => {
            // SAFETY: just taken out of this event's list, under its lock.
            unsafe { ready::schedule(node) };
            true
        }
        None => {
            s.set = true;
            false
        }
    }
}

impl<F: Flavor> fmt::Debug for AutoResetEvent<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AutoResetEvent").field("set", &self.is_set()).finish()
    }
}

/// The awaiter of [`AutoResetEvent::wait`]. Waiting allocates nothing.
#[must_use = "an awaiter does nothing unless `co_await!`ed"]
pub struct Wait<'a, F: Flavor = ThreadSafe> {
    event: &'a AutoResetEvent<F>,
    node: WaitNode,
}

// Left out of the "other types implement `Awaiter`" list of unrelated errors.
#[diagnostic::do_not_recommend]
impl<F: Flavor> Awaiter for Wait<'_, F> {
    type Output = ();

    fn await_ready(&mut self) -> bool {
        self.event.try_wait()
    }

    unsafe fn await_suspend(&mut self, handle: CoroutineHandle) -> impl AwaitSuspend {
        // SAFETY: forwarded `await_suspend` contract; nothing touches `self`
        // once the node is registered (another thread may resume the
        // coroutine at once).
        unsafe {
            wait_on::<F, _, _>(&self.event.state, &self.node, handle, |s| {
                if core::mem::take(&mut s.set) {
                    return Err(());
                }
                Ok(&mut s.waiters)
            })
        }
        .is_ok()
    }

    unsafe fn await_cancel(&mut self) -> CancelOutcome {
        // SAFETY: the node is this awaiter's, registered with this
        // primitive's `waiters` list; the coroutine is suspended on it.
        unsafe { cancel_wait(&self.event.state, |s| &mut s.waiters, &self.node) }
    }

    fn await_resume(self) {
        self.node.finish();
    }
}

impl<F: Flavor> Drop for Wait<'_, F> {
    fn drop(&mut self) {
        // SAFETY: the node is this awaiter's, registered (if at all) with
        // this event's `waiters` list.
        if unsafe { abandon_wait(&self.event.state, |s| &mut s.waiters, &self.node) } {
            // Released by a `set`, destroyed before it ran: the `set` goes on.
            self.event.set();
        }
    }
}

impl<F: Flavor> fmt::Debug for Wait<'_, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("auto_reset_event::Wait").field("event", self.event).finish()
    }
}

impl<'a, F: Flavor> IntoAwaiter for &'a AutoResetEvent<F> {
    type Awaiter = Wait<'a, F>;
    /// `co_await!(&event)`: the same as `co_await!(event.wait())`.
    fn into_awaiter(self) -> Wait<'a, F> {
        self.wait()
    }
}
