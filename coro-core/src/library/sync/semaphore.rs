//! [`Semaphore`]: a counting semaphore with FIFO hand-off (libcoro's and
//! folly's coroutine semaphores; the permit guard as in tokio).

use core::fmt;

use super::flavor::{Flavor, Guarded, Local, ThreadSafe};
use super::ready;
use super::waiter::{abandon_wait, cancel_wait, wait_on, WaitList, WaitNode};
use crate::language::awaiter::{AwaitSuspend, Awaiter, CancelOutcome};
use crate::language::handle::CoroutineHandle;

/// A counting semaphore for coroutines: at most `permits` holders at a time,
/// the others suspended until a permit is released.
///
/// `co_await!(sem.acquire())` gives a [`SemaphorePermit`], which releases
/// its permit when dropped (or keeps it consumed with
/// [`forget`](SemaphorePermit::forget)); [`release`](Self::release) adds
/// permits, for a semaphore used as a plain counter of available resources.
///
/// **Bounded or not.** [`new`](Semaphore::<ThreadSafe>::new) makes an
/// unbounded semaphore (as before: `release` only panics if the count
/// would overflow `usize`); [`with_max`](Semaphore::<ThreadSafe>::with_max)
/// one whose available count may never exceed a maximum, as C++
/// `std::counting_semaphore<max>`: [`try_release`](Self::try_release)
/// past it is an error ([`TooManyPermits`]) and changes nothing, and
/// [`release`](Self::release) past it panics, like `RefCell::borrow_mut`
/// on a bug rather than a silent over-grant.
///
/// **Fair (FIFO).** A released permit goes straight to the longest waiter,
/// so while anyone waits no permit is available
/// ([`try_acquire`](Self::try_acquire) fails). The release resumes the
/// waiter on the releasing thread (see the [module docs](super#waking)).
///
/// Name it [`coro::sync::Semaphore`](super::Semaphore) or
/// [`coro::sync::local::Semaphore`](super::local::Semaphore).
///
/// ```
/// use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
/// use std::sync::Arc;
/// use coro::{co_await, co_return, sync_wait, SendTask};
/// use coro::sync::Semaphore;
///
/// /// At most two of these run their critical part at the same time.
/// #[coro::coroutine]
/// fn limited(sem: Arc<Semaphore>, inside: Arc<AtomicUsize>) -> SendTask<usize> {
///     let _permit = co_await!(sem.acquire());
///     let now = inside.fetch_add(1, SeqCst) + 1;
///     std::thread::yield_now();
///     inside.fetch_sub(1, SeqCst);
///     co_return!(now)
/// }
///
/// let sem = Arc::new(Semaphore::new(2));
/// let inside = Arc::new(AtomicUsize::new(0));
/// let threads: Vec<_> = (0..4)
///     .map(|_| {
///         let (sem, inside) = (sem.clone(), inside.clone());
///         std::thread::spawn(move || sync_wait(limited(sem, inside)))
///     })
///     .collect();
/// for t in threads {
///     assert!(t.join().unwrap() <= 2);
/// }
/// assert_eq!(sem.available_permits(), 2);
/// ```
pub struct Semaphore<F: Flavor = ThreadSafe> {
    state: Guarded<F::Lock, State>,
}

struct State {
    permits: usize,
    /// The most `permits` may be (`usize::MAX`: unbounded).
    max: usize,
    /// Non-empty only while `permits == 0`.
    waiters: WaitList,
}

// SAFETY: the waiter list is only followed under the lock; moving the
// semaphore moves no waiter or permit (both borrow it).
unsafe impl<F: Flavor> Send for Semaphore<F> {}
// SAFETY: the state is only reached under a spin lock.
unsafe impl Sync for Semaphore<ThreadSafe> {}

impl Semaphore<ThreadSafe> {
    /// A thread-safe semaphore with `permits` permits available.
    ///
    /// ```
    /// use coro::sync::Semaphore;
    ///
    /// static CONNECTIONS: Semaphore = Semaphore::new(4); // `const`: fine in a `static`
    /// assert_eq!(CONNECTIONS.available_permits(), 4);
    /// ```
    pub const fn new(permits: usize) -> Self {
        Semaphore { state: Guarded::new(State { permits, max: usize::MAX, waiters: WaitList::new() }) }
    }

    /// A thread-safe semaphore with `permits` permits available, and at most
    /// `max` available at any time: releasing past `max` is an error (see
    /// [`try_release`](Semaphore::try_release)).
    ///
    /// # Panics
    /// If `permits > max`.
    ///
    /// # Example
    ///
    /// ```
    /// use coro::sync::Semaphore;
    ///
    /// static POOL: Semaphore = Semaphore::with_max(2, 2); // `const` too
    /// let p = POOL.try_acquire().unwrap();
    /// assert_eq!(POOL.try_release(2).unwrap_err().max, 2); // 1 + 2 > 2: refused, nothing changes
    /// drop(p);                                             // the permit comes back: 2 of 2
    /// assert_eq!(POOL.available_permits(), 2);
    /// ```
    pub const fn with_max(permits: usize, max: usize) -> Self {
        assert!(permits <= max, "Semaphore::with_max: more permits than the maximum");
        Semaphore { state: Guarded::new(State { permits, max, waiters: WaitList::new() }) }
    }
}

impl Semaphore<Local> {
    /// A single-threaded semaphore with `permits` permits available.
    ///
    /// ```
    /// let sem = coro::sync::local::Semaphore::new(2);
    /// assert_eq!(sem.available_permits(), 2);
    /// ```
    pub const fn new(permits: usize) -> Self {
        Semaphore { state: Guarded::new(State { permits, max: usize::MAX, waiters: WaitList::new() }) }
    }

    /// A single-threaded semaphore with `permits` permits available, and at most
    /// `max` available at any time: releasing past `max` is an error (see
    /// [`try_release`](Semaphore::try_release)).
    ///
    /// # Panics
    /// If `permits > max`.
    ///
    /// # Example
    ///
    /// ```
    /// let sem = coro::sync::local::Semaphore::with_max(0, 1); // a binary semaphore, started empty
    /// sem.release(1);
    /// assert!(sem.try_release(1).is_err());
    /// assert_eq!(sem.available_permits(), 1);
    /// ```
    pub const fn with_max(permits: usize, max: usize) -> Self {
        assert!(permits <= max, "Semaphore::with_max: more permits than the maximum");
        Semaphore { state: Guarded::new(State { permits, max, waiters: WaitList::new() }) }
    }
}

impl<F: Flavor> Semaphore<F> {
    /// An awaiter that completes with a permit (at once if one is
    /// available and nobody waits).
    ///
    /// ```
    /// use coro::{co_await, co_return, sync_wait, Task};
    /// use coro::sync::Semaphore;
    ///
    /// static SEM: Semaphore = Semaphore::new(2);
    ///
    /// #[coro::coroutine]
    /// fn with_permit() -> Task<usize> {
    ///     let _permit = co_await!(SEM.acquire());
    ///     co_return!(SEM.available_permits())
    /// }
    ///
    /// assert_eq!(sync_wait(with_permit()), 1);
    /// assert_eq!(SEM.available_permits(), 2); // released by the permit's drop
    /// ```
    pub fn acquire(&self) -> Acquire<'_, F> {
        Acquire { semaphore: self, node: WaitNode::new() }
    }

    /// A permit, if one is available.
    ///
    /// ```
    /// let sem = coro::sync::local::Semaphore::new(1);
    /// let permit = sem.try_acquire().unwrap();
    /// assert!(sem.try_acquire().is_none());
    /// drop(permit);
    /// assert!(sem.try_acquire().is_some());
    /// ```
    pub fn try_acquire(&self) -> Option<SemaphorePermit<'_, F>> {
        self.state.with(take_permit).then(|| SemaphorePermit { semaphore: self })
    }

    /// How many permits are available now.
    ///
    /// ```
    /// let sem = coro::sync::local::Semaphore::new(3);
    /// let _p = sem.try_acquire();
    /// assert_eq!(sem.available_permits(), 2);
    /// ```
    pub fn available_permits(&self) -> usize {
        self.state.with(|s| s.permits)
    }

    /// The most permits that may be available at once (`usize::MAX` for a
    /// semaphore made by `new`).
    ///
    /// ```
    /// use coro::sync::Semaphore;
    ///
    /// assert_eq!(Semaphore::with_max(1, 4).max_permits(), 4);
    /// assert_eq!(Semaphore::new(1).max_permits(), usize::MAX);
    /// ```
    pub fn max_permits(&self) -> usize {
        self.state.with(|s| s.max)
    }

    /// Adds `n` permits: each goes to the longest waiter, if any (which is
    /// resumed on this thread before this returns), else to the count.
    ///
    /// # Panics
    /// If the available count plus `n` would exceed the maximum
    /// ([`with_max`](Semaphore::<ThreadSafe>::with_max); `usize::MAX` for
    /// [`new`](Semaphore::<ThreadSafe>::new)), before anything changes. Use
    /// [`try_release`](Self::try_release) to get an error instead.
    ///
    /// # Example
    ///
    /// A semaphore as a counter of items, started empty:
    /// ```
    /// use std::{cell::Cell, rc::Rc};
    /// use coro::schedule::{spawn_detached, LocalScheduler};
    /// use coro::{co_await, co_return, Task};
    /// use coro::sync::local::Semaphore;
    ///
    /// #[coro::coroutine]
    /// fn consume(items: Rc<Semaphore>, taken: Rc<Cell<u32>>) -> Task<()> {
    ///     co_await!(items.acquire()).forget(); // an item is used up, not given back
    ///     taken.set(taken.get() + 1);
    ///     co_return!(())
    /// }
    ///
    /// let (items, taken) = (Rc::new(Semaphore::new(0)), Rc::new(Cell::new(0)));
    /// let s = LocalScheduler::new();
    /// for _ in 0..2 {
    ///     spawn_detached(consume(items.clone(), taken.clone()), &s);
    /// }
    /// s.run_until_idle();
    /// items.release(3); // two go to the waiters, resumed before this returns
    /// assert_eq!((taken.get(), items.available_permits()), (2, 1));
    /// ```
    pub fn release(&self, n: usize) {
        if let Err(e) = self.try_release(n) {
            too_many_permits(e);
        }
    }

    /// Adds `n` permits, as [`release`](Self::release), unless the available
    /// count plus `n` would exceed the maximum: then nothing changes and the
    /// error says by how much.
    ///
    /// The check is C++ `std::counting_semaphore::release`'s precondition
    /// (`n <= max - available`), made before any permit goes to a waiter:
    /// while coroutines wait no permit is available, so up to `max` may be
    /// released at once.
    ///
    /// ```
    /// use coro::sync::{local::Semaphore, TooManyPermits};
    ///
    /// let sem = Semaphore::with_max(1, 3);
    /// assert_eq!(sem.try_release(2), Ok(()));
    /// assert_eq!(sem.try_release(1), Err(TooManyPermits { released: 1, available: 3, max: 3 }));
    /// assert_eq!(sem.available_permits(), 3);
    /// ```
    pub fn try_release(&self, n: usize) -> Result<(), TooManyPermits> {
        let woke = self.state.with(|s| {
            // Checked before anything changes.
            if s.permits.checked_add(n).is_none_or(|total| total > s.max) {
                return Err(TooManyPermits { released: n, available: s.permits, max: s.max });
            }
            let mut n = n;
            let mut woke = false;
            while n > 0 {
                let Some(node) = s.waiters.pop_front() else { break };
                // SAFETY: just taken out of this semaphore's list, under its lock.
                unsafe { ready::schedule(node) };
                woke = true;
                n -= 1;
            }
            s.permits += n;
            Ok(woke)
        })?;
        if woke {
            ready::run();
        }
        Ok(())
    }
}

impl<F: Flavor> Semaphore<F> {
    /// Releases a permit that was held (a dropped permit, or one granted to
    /// a waiter destroyed before it ran). Past the maximum only if someone
    /// released permits they did not hold: panics like `release`, except
    /// during an unwinding (a second panic would abort), where the permit
    /// is dropped instead.
    fn give_back_one(&self) {
        if let Err(e) = self.try_release(1) {
            if !std::thread::panicking() {
                too_many_permits(e);
            }
        }
    }
}

fn take_permit(s: &mut State) -> bool {
    if s.permits > 0 {
        s.permits -= 1;
        true
    } else {
        false
    }
}

#[cold]
#[inline(never)]
#[track_caller]
fn too_many_permits(e: TooManyPermits) -> ! {
    panic!("Semaphore::release: {e}")
}

/// The error of [`Semaphore::try_release`]: the release would have made
/// more than the maximum available. Nothing was released.
///
/// ```
/// use coro::sync::{Semaphore, TooManyPermits};
///
/// let sem = Semaphore::with_max(2, 2);
/// let err: TooManyPermits = sem.try_release(1).unwrap_err();
/// assert_eq!(err.to_string(), "releasing 1 permit(s) with 2 available would exceed the maximum of 2");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooManyPermits {
    /// How many permits the call tried to release.
    pub released: usize,
    /// How many were available.
    pub available: usize,
    /// The semaphore's maximum.
    pub max: usize,
}

impl fmt::Display for TooManyPermits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "releasing {} permit(s) with {} available would exceed the maximum of {}",
            self.released, self.available, self.max
        )
    }
}

impl std::error::Error for TooManyPermits {}

impl<F: Flavor> fmt::Debug for Semaphore<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Semaphore").field("permits", &self.available_permits()).finish()
    }
}

/// One permit of a [`Semaphore`]; released when dropped.
///
/// ```
/// let sem = coro::sync::Semaphore::new(1);
/// {
///     let _permit = sem.try_acquire().unwrap();
///     assert_eq!(sem.available_permits(), 0);
/// }
/// assert_eq!(sem.available_permits(), 1);
/// ```
#[must_use = "dropping the permit releases it at once"]
pub struct SemaphorePermit<'a, F: Flavor = ThreadSafe> {
    semaphore: &'a Semaphore<F>,
}

impl<F: Flavor> SemaphorePermit<'_, F> {
    /// Keeps the permit consumed: the semaphore has one permit fewer until
    /// someone calls [`release`](Semaphore::release).
    ///
    /// ```
    /// let sem = coro::sync::local::Semaphore::new(2);
    /// sem.try_acquire().unwrap().forget();
    /// assert_eq!(sem.available_permits(), 1);
    /// sem.release(1);
    /// assert_eq!(sem.available_permits(), 2);
    /// ```
    pub fn forget(self) {
        core::mem::forget(self);
    }
}

impl<F: Flavor> Drop for SemaphorePermit<'_, F> {
    /// Releases the permit. With a maximum, this can only exceed it if
    /// someone [`release`](Semaphore::release)d permits they did not hold;
    /// that panics as `release` does (unless this drop is part of an
    /// unwinding, where a second panic would abort: the permit is then
    /// dropped and the count stays at the maximum).
    fn drop(&mut self) {
        self.semaphore.give_back_one();
    }
}

impl<F: Flavor> fmt::Debug for SemaphorePermit<'_, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SemaphorePermit").field("semaphore", self.semaphore).finish()
    }
}

/// The awaiter of [`Semaphore::acquire`]. Waiting allocates nothing.
#[must_use = "an awaiter does nothing unless `co_await!`ed"]
pub struct Acquire<'a, F: Flavor = ThreadSafe> {
    semaphore: &'a Semaphore<F>,
    node: WaitNode,
}

// Left out of the "other types implement `Awaiter`" list of unrelated errors.
#[diagnostic::do_not_recommend]
impl<'a, F: Flavor> Awaiter for Acquire<'a, F> {
    type Output = SemaphorePermit<'a, F>;

    fn await_ready(&mut self) -> bool {
        self.semaphore.state.with(take_permit)
    }

    unsafe fn await_suspend(&mut self, handle: CoroutineHandle) -> impl AwaitSuspend {
        // SAFETY: forwarded `await_suspend` contract; nothing touches `self`
        // once the node is registered (another thread may resume the
        // coroutine at once).
        unsafe {
            wait_on::<F, _, _>(&self.semaphore.state, &self.node, handle, |s| {
                if take_permit(s) {
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
        unsafe { cancel_wait(&self.semaphore.state, |s| &mut s.waiters, &self.node) }
    }

    fn await_resume(self) -> SemaphorePermit<'a, F> {
        // Taken by `await_ready`/`await_suspend`, or handed over by a release.
        self.node.finish();
        SemaphorePermit { semaphore: self.semaphore }
    }
}

impl<F: Flavor> Drop for Acquire<'_, F> {
    fn drop(&mut self) {
        // SAFETY: the node is this awaiter's, registered (if at all) with
        // this semaphore's `waiters` list.
        if unsafe { abandon_wait(&self.semaphore.state, |s| &mut s.waiters, &self.node) } {
            // A permit was handed to this waiter, destroyed before it ran:
            // pass the permit on.
            self.semaphore.give_back_one();
        }
    }
}

impl<F: Flavor> fmt::Debug for Acquire<'_, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("semaphore::Acquire").field("semaphore", self.semaphore).finish()
    }
}
