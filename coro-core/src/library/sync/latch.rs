//! [`Latch`]: a single-use countdown that coroutines wait on (C++20
//! `std::latch`, folly's and libcoro's coroutine latches).

use core::fmt;

use super::flavor::{Flavor, Guarded, Local, ThreadSafe};
use super::ready;
use super::waiter::{abandon_wait, cancel_wait, wait_on, WaitList, WaitNode};
use crate::language::awaiter::{AwaitSuspend, Awaiter, CancelOutcome, IntoAwaiter};
use crate::language::handle::CoroutineHandle;

/// A countdown latch: created with a count, counted down by any number of
/// parties; coroutines waiting on it are resumed when the count reaches
/// zero, and later waits complete at once. It cannot be reset.
///
/// `co_await!(latch.wait())` (or `co_await!(&latch)`) waits;
/// `co_await!(latch.arrive_and_wait())` counts down by one and waits (C++
/// `arrive_and_wait`). The count down that reaches zero resumes the waiters
/// on its thread, in the order they started waiting, before it returns (see
/// the [module docs](super#waking)). Counting down past zero opens the
/// latch, resumes the waiters, then panics (see
/// [`count_down_by`](Self::count_down_by) for why).
///
/// Name it [`coro::sync::Latch`](super::Latch) or
/// [`coro::sync::local::Latch`](super::local::Latch).
///
/// ```
/// use std::sync::Arc;
/// use coro::{co_await, co_return, sync_wait, SendTask};
/// use coro::sync::Latch;
///
/// #[coro::coroutine]
/// fn all_done(latch: Arc<Latch>) -> SendTask<bool> {
///     co_await!(latch.wait());
///     co_return!(latch.is_ready())
/// }
///
/// let latch = Arc::new(Latch::new(3));
/// let workers: Vec<_> = (0..3)
///     .map(|_| {
///         let latch = latch.clone();
///         std::thread::spawn(move || latch.count_down())
///     })
///     .collect();
/// assert!(sync_wait(all_done(latch)));
/// for w in workers {
///     w.join().unwrap();
/// }
/// ```
pub struct Latch<F: Flavor = ThreadSafe> {
    state: Guarded<F::Lock, State>,
}

struct State {
    count: usize,
    /// Non-empty only while `count > 0`.
    waiters: WaitList,
}

// SAFETY: the waiter list is only followed under the lock; moving the latch
// moves no waiter (waiters borrow it).
unsafe impl<F: Flavor> Send for Latch<F> {}
// SAFETY: the state is only reached under a spin lock.
unsafe impl Sync for Latch<ThreadSafe> {}

impl Latch<ThreadSafe> {
    /// A thread-safe latch that opens after `count` count-downs (at once if
    /// `count` is 0).
    ///
    /// ```
    /// use coro::sync::Latch;
    ///
    /// static STARTED: Latch = Latch::new(2); // `const`: fine in a `static`
    /// STARTED.count_down();
    /// assert_eq!(STARTED.count(), 1);
    /// assert!(Latch::new(0).is_ready());
    /// ```
    pub const fn new(count: usize) -> Self {
        Latch { state: Guarded::new(State { count, waiters: WaitList::new() }) }
    }
}

impl Latch<Local> {
    /// A single-threaded latch that opens after `count` count-downs.
    ///
    /// ```
    /// let latch = coro::sync::local::Latch::new(3);
    /// assert_eq!(latch.count(), 3);
    /// ```
    pub const fn new(count: usize) -> Self {
        Latch { state: Guarded::new(State { count, waiters: WaitList::new() }) }
    }
}

impl<F: Flavor> Latch<F> {
    /// Decrements the count by one; see [`count_down_by`](Self::count_down_by).
    ///
    /// ```
    /// use std::{cell::Cell, rc::Rc};
    /// use coro::schedule::{spawn_detached, LocalScheduler};
    /// use coro::{co_await, co_return, Task};
    /// use coro::sync::local::Latch;
    ///
    /// #[coro::coroutine]
    /// fn waiter(latch: Rc<Latch>, opened: Rc<Cell<bool>>) -> Task<()> {
    ///     co_await!(latch.wait());
    ///     opened.set(true);
    ///     co_return!(())
    /// }
    ///
    /// let (latch, opened) = (Rc::new(Latch::new(2)), Rc::new(Cell::new(false)));
    /// let s = LocalScheduler::new();
    /// spawn_detached(waiter(latch.clone(), opened.clone()), &s);
    /// s.run_until_idle();
    /// latch.count_down();
    /// assert!(!opened.get());
    /// latch.count_down(); // reaches zero: resumes the waiter before returning
    /// assert!(opened.get());
    /// ```
    pub fn count_down(&self) {
        self.count_down_by(1)
    }

    /// Decrements the count by `n`. If it reaches zero, resumes every
    /// waiting coroutine on this thread before returning.
    ///
    /// # Panics
    /// If `n` is greater than the count (undefined behaviour for
    /// `std::latch`) — **after** opening the latch: the count is set to
    /// zero and the waiters are resumed, then this panics.
    ///
    /// Why both: counting down too far is a bug in the caller (more
    /// arrivals than the latch was made for), so it is reported rather than
    /// silently saturated; but every arrival the waiters were waiting for
    /// has happened (and more), so leaving them suspended forever — what
    /// the count left unchanged did — would turn one bug into a hang
    /// somewhere else.
    ///
    /// # Example
    ///
    /// ```
    /// let latch = coro::sync::local::Latch::new(5);
    /// latch.count_down_by(3);
    /// assert_eq!(latch.count(), 2);
    /// latch.count_down_by(2);
    /// assert!(latch.is_ready());
    ///
    /// let too_far = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| latch.count_down()));
    /// assert!(too_far.is_err());
    /// assert!(latch.is_ready()); // still open
    /// ```
    pub fn count_down_by(&self, n: usize) {
        let (woke, overdrawn) = self.state.with(|s| count_down(s, n));
        if woke {
            ready::run();
        }
        if let Some(count) = overdrawn {
            too_many(n, count);
        }
    }

    /// Whether the count has reached zero (C++ `try_wait`).
    ///
    /// ```
    /// let latch = coro::sync::local::Latch::new(1);
    /// assert!(!latch.is_ready());
    /// latch.count_down();
    /// assert!(latch.is_ready());
    /// ```
    pub fn is_ready(&self) -> bool {
        self.state.with(|s| s.count == 0)
    }

    /// The current count.
    ///
    /// ```
    /// let latch = coro::sync::local::Latch::new(2);
    /// latch.count_down();
    /// assert_eq!(latch.count(), 1);
    /// ```
    pub fn count(&self) -> usize {
        self.state.with(|s| s.count)
    }

    /// An awaiter that completes once the count is zero.
    ///
    /// An open latch does not suspend its waiters:
    /// ```
    /// use coro::{co_await, co_return, sync_wait, Task};
    /// use coro::sync::Latch;
    ///
    /// static DONE: Latch = Latch::new(1);
    ///
    /// #[coro::coroutine]
    /// fn after_done() -> Task<usize> {
    ///     co_await!(DONE.wait());
    ///     co_await!(&DONE); // the same
    ///     co_return!(DONE.count())
    /// }
    ///
    /// DONE.count_down();
    /// assert_eq!(sync_wait(after_done()), 0);
    /// ```
    pub fn wait(&self) -> Wait<'_, F> {
        Wait { latch: self, arrive: 0, node: WaitNode::new() }
    }

    /// An awaiter that decrements the count by one when awaited (resuming
    /// the others if that opens the latch), then waits for zero (C++
    /// `arrive_and_wait`).
    ///
    /// Three parties meet; the last to arrive resumes the other two:
    /// ```
    /// use std::{cell::RefCell, rc::Rc};
    /// use coro::schedule::{spawn_detached, LocalScheduler};
    /// use coro::{co_await, co_return, Task};
    /// use coro::sync::local::Latch;
    ///
    /// #[coro::coroutine]
    /// fn party(id: u32, latch: Rc<Latch>, log: Rc<RefCell<Vec<u32>>>) -> Task<()> {
    ///     co_await!(latch.arrive_and_wait());
    ///     log.borrow_mut().push(id);
    ///     co_return!(())
    /// }
    ///
    /// let (latch, log) = (Rc::new(Latch::new(3)), Rc::new(RefCell::new(Vec::new())));
    /// let s = LocalScheduler::new();
    /// for id in 1..=3 {
    ///     spawn_detached(party(id, latch.clone(), log.clone()), &s);
    /// }
    /// s.run_until_idle();
    /// assert_eq!(*log.borrow(), [1, 2, 3]); // all three went on
    /// ```
    pub fn arrive_and_wait(&self) -> Wait<'_, F> {
        Wait { latch: self, arrive: 1, node: WaitNode::new() }
    }
}

/// Decrements, stopping at zero; returns whether waiters were scheduled
/// and, if `n` was more than the count, the count it found (the caller
/// panics once the lock is released and the waiters have run).
fn count_down(s: &mut State, n: usize) -> (bool, Option<usize>) {
    let overdrawn = (n > s.count).then_some(s.count);
    s.count = s.count.saturating_sub(n);
    if s.count > 0 || s.waiters.is_empty() {
        return (false, overdrawn);
    }
    // SAFETY: called under the latch's lock, on its wait list.
    unsafe { ready::schedule_all(&mut s.waiters) };
    (true, overdrawn)
}

#[cold]
#[inline(never)]
fn too_many(n: usize, count: usize) -> ! {
    panic!("Latch counted down by {n} with a count of {count}")
}

impl<F: Flavor> fmt::Debug for Latch<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Latch").field("count", &self.count()).finish()
    }
}

/// The awaiter of [`Latch::wait`] and [`Latch::arrive_and_wait`]. Waiting
/// allocates nothing.
#[must_use = "an awaiter does nothing unless `co_await!`ed"]
pub struct Wait<'a, F: Flavor = ThreadSafe> {
    latch: &'a Latch<F>,
    /// How much to count down when awaited (0 or 1).
    arrive: usize,
    node: WaitNode,
}

// Left out of the "other types implement `Awaiter`" list of unrelated errors.
#[diagnostic::do_not_recommend]
impl<F: Flavor> Awaiter for Wait<'_, F> {
    type Output = ();

    fn await_ready(&mut self) -> bool {
        let arrive = core::mem::take(&mut self.arrive);
        let (woke, overdrawn, ready) = self.latch.state.with(|s| {
            let (woke, overdrawn) = if arrive > 0 { count_down(s, arrive) } else { (false, None) };
            (woke, overdrawn, s.count == 0)
        });
        if woke {
            ready::run();
        }
        if let Some(count) = overdrawn {
            // Arriving at an open latch: the others are released; this
            // coroutine's `co_await!` panics, as `count_down` would.
            too_many(arrive, count);
        }
        ready
    }

    unsafe fn await_suspend(&mut self, handle: CoroutineHandle) -> impl AwaitSuspend {
        // SAFETY: forwarded `await_suspend` contract; nothing touches `self`
        // once the node is registered (another thread may resume the
        // coroutine at once).
        unsafe {
            wait_on::<F, _, _>(&self.latch.state, &self.node, handle, |s| {
                if s.count == 0 {
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
        unsafe { cancel_wait(&self.latch.state, |s| &mut s.waiters, &self.node) }
    }

    fn await_resume(self) {
        self.node.finish();
    }
}

impl<F: Flavor> Drop for Wait<'_, F> {
    fn drop(&mut self) {
        // SAFETY: the node is this awaiter's, registered (if at all) with
        // this primitive's `waiters` list.
        // Nothing an event or latch grants needs handing on.
        unsafe { abandon_wait(&self.latch.state, |s| &mut s.waiters, &self.node) };
    }
}

impl<F: Flavor> fmt::Debug for Wait<'_, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("latch::Wait").field("latch", self.latch).field("arrive", &self.arrive).finish()
    }
}

impl<'a, F: Flavor> IntoAwaiter for &'a Latch<F> {
    type Awaiter = Wait<'a, F>;
    /// `co_await!(&latch)`: the same as `co_await!(latch.wait())`.
    fn into_awaiter(self) -> Wait<'a, F> {
        self.wait()
    }
}
