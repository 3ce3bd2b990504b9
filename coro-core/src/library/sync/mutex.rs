//! [`Mutex`]: an async mutex with FIFO hand-off (cppcoro's `async_mutex`,
//! with a value inside like `std::sync::Mutex`).

use core::cell::UnsafeCell;
use core::fmt;
use core::ops::{Deref, DerefMut};

use super::flavor::{Flavor, Guarded, Local, ThreadSafe};
use super::ready;
use super::waiter::{abandon_wait, cancel_wait, wait_on, WaitList, WaitNode};
use crate::language::awaiter::{AwaitSuspend, Awaiter, CancelOutcome};
use crate::language::handle::CoroutineHandle;

/// A mutual-exclusion lock for coroutines, protecting a `T`: waiting for it
/// suspends the coroutine instead of blocking the thread.
///
/// `co_await!(mutex.lock())` gives a [`MutexGuard`]; the lock is released
/// when the guard is dropped — also when the coroutine holding it across a
/// suspension point is destroyed.
///
/// **Fair (FIFO).** Waiters get the lock in the order they asked for it.
/// Unlocking with waiters queued hands the lock straight to the first one
/// (the mutex never appears unlocked in between), so a coroutine that
/// unlocks and immediately locks again queues behind them instead of
/// barging in; [`try_lock`](Self::try_lock) fails while anyone waits.
///
/// **Waking.** The guard's drop resumes the next owner on the dropping
/// thread before it returns; a chain of waiters that each lock, work and
/// unlock runs in bounded stack (see the [module docs](super#waking)).
///
/// Name it [`coro::sync::Mutex`](super::Mutex) (thread-safe) or
/// [`coro::sync::local::Mutex`](super::local::Mutex) (single-threaded).
///
/// ```
/// use std::sync::Arc;
/// use coro::{co_await, co_return, sync_wait, SendTask};
/// use coro::sync::Mutex;
///
/// #[coro::coroutine]
/// fn add(total: Arc<Mutex<u64>>, n: u64) -> SendTask<()> {
///     for _ in 0..n {
///         let mut t = co_await!(total.lock());
///         *t += 1;
///     }
///     co_return!(())
/// }
///
/// let total = Arc::new(Mutex::new(0));
/// let threads: Vec<_> = (0..4)
///     .map(|_| {
///         let total = total.clone();
///         std::thread::spawn(move || sync_wait(add(total, 1000)))
///     })
///     .collect();
/// for t in threads {
///     t.join().unwrap();
/// }
/// assert_eq!(*total.try_lock().unwrap(), 4000);
/// ```
pub struct Mutex<T, F: Flavor = ThreadSafe> {
    pub(super) state: Guarded<F::Lock, State>,
    value: UnsafeCell<T>,
}

pub(super) struct State {
    locked: bool,
    /// Non-empty only while `locked`.
    waiters: WaitList,
}

// SAFETY: the waiter list is only followed under the lock; moving the mutex
// moves no waiter or guard (both borrow it). The value moves with it.
unsafe impl<T: Send, F: Flavor> Send for Mutex<T, F> {}
// SAFETY: the state is only reached under a spin lock, and the value only
// through the single guard, which may be on any thread (so `T: Send`).
unsafe impl<T: Send> Sync for Mutex<T, ThreadSafe> {}

impl<T> Mutex<T, ThreadSafe> {
    /// A thread-safe mutex, unlocked, holding `value`.
    ///
    /// ```
    /// use coro::sync::Mutex;
    ///
    /// static COUNTER: Mutex<u64> = Mutex::new(0); // `const`: fine in a `static`
    /// *COUNTER.try_lock().unwrap() += 1;
    /// assert_eq!(*COUNTER.try_lock().unwrap(), 1);
    /// ```
    pub const fn new(value: T) -> Self {
        Mutex { state: Guarded::new(State { locked: false, waiters: WaitList::new() }), value: UnsafeCell::new(value) }
    }
}

impl<T> Mutex<T, Local> {
    /// A single-threaded mutex, unlocked, holding `value`.
    ///
    /// ```
    /// let m = coro::sync::local::Mutex::new(vec![1, 2]);
    /// assert_eq!(m.into_inner(), [1, 2]);
    /// ```
    pub const fn new(value: T) -> Self {
        Mutex { state: Guarded::new(State { locked: false, waiters: WaitList::new() }), value: UnsafeCell::new(value) }
    }
}

impl<T: Default> Default for Mutex<T, ThreadSafe> {
    fn default() -> Self {
        Self::new(T::default())
    }
}

impl<T: Default> Default for Mutex<T, Local> {
    fn default() -> Self {
        Self::new(T::default())
    }
}

impl<T, F: Flavor> Mutex<T, F> {
    /// An awaiter that completes with the guard once this coroutine owns
    /// the lock (at once if it is free and nobody waits).
    ///
    /// ```
    /// use coro::{co_await, co_return, sync_wait, Task};
    /// use coro::sync::Mutex;
    ///
    /// static LOG: Mutex<Vec<&str>> = Mutex::new(Vec::new());
    ///
    /// #[coro::coroutine]
    /// fn append(s: &'static str) -> Task<usize> {
    ///     let mut log = co_await!(LOG.lock()); // unlocked when `log` drops
    ///     log.push(s);
    ///     co_return!(log.len())
    /// }
    ///
    /// assert_eq!(sync_wait(append("a")), 1);
    /// assert_eq!(sync_wait(append("b")), 2);
    /// ```
    pub fn lock(&self) -> Lock<'_, T, F> {
        Lock { mutex: self, node: WaitNode::new() }
    }

    /// The lock, if it is free and nobody waits for it.
    ///
    /// ```
    /// let m = coro::sync::local::Mutex::new(0);
    /// let guard = m.try_lock().unwrap();
    /// assert!(m.try_lock().is_none());
    /// drop(guard);
    /// assert!(m.try_lock().is_some());
    /// ```
    pub fn try_lock(&self) -> Option<MutexGuard<'_, T, F>> {
        self.state.with(|s| !core::mem::replace(&mut s.locked, true)).then(|| MutexGuard { mutex: self })
    }

    /// Whether the lock is held.
    ///
    /// ```
    /// let m = coro::sync::local::Mutex::new(());
    /// let guard = m.try_lock();
    /// assert!(m.is_locked());
    /// drop(guard);
    /// assert!(!m.is_locked());
    /// ```
    pub fn is_locked(&self) -> bool {
        self.state.with(|s| s.locked)
    }

    /// The value, through exclusive access to the mutex (no locking needed).
    ///
    /// ```
    /// let mut m = coro::sync::local::Mutex::new(1);
    /// *m.get_mut() += 1;
    /// assert_eq!(*m.try_lock().unwrap(), 2);
    /// ```
    pub fn get_mut(&mut self) -> &mut T {
        self.value.get_mut()
    }

    /// The value.
    ///
    /// ```
    /// let m = coro::sync::Mutex::new(String::from("x"));
    /// m.try_lock().unwrap().push('y');
    /// assert_eq!(m.into_inner(), "xy");
    /// ```
    pub fn into_inner(self) -> T {
        self.value.into_inner()
    }

    /// Releases the lock: hands it to the first waiter and resumes it, or
    /// marks it free.
    pub(super) fn unlock(&self) {
        let woke = self.state.with(|s| match s.waiters.pop_front() {
            // The lock stays held: it now belongs to the woken waiter.
            // SAFETY: just taken out of this mutex's list, under the lock.
            Some(node) => unsafe {
                ready::schedule(node);
                true
            },
            None => {
                s.locked = false;
                false
            }
        });
        if woke {
            ready::run();
        }
    }
}

impl State {
    /// A condition variable's notify moving `node` to this mutex: grants it
    /// the lock if it is free (`true`: the caller schedules the node), else
    /// queues it behind the other waiters (`false`).
    ///
    /// # Safety
    /// Under this mutex's lock; `node` is alive, `QUEUED`, just taken out
    /// of its condition variable's list under that one's lock (still held),
    /// and stays in place until resumed or unlinked by its awaiter's `Drop`.
    pub(super) unsafe fn take_waiter(&mut self, node: *const WaitNode) -> bool {
        if !self.locked {
            self.locked = true;
            return true;
        }
        // SAFETY: alive, in no list (caller).
        unsafe { self.waiters.push_back(node) };
        false
    }

    /// The mutex's wait list.
    pub(super) fn waiters(&mut self) -> &mut WaitList {
        &mut self.waiters
    }
}

impl<T, F: Flavor> fmt::Debug for Mutex<T, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mutex").field("locked", &self.is_locked()).finish_non_exhaustive()
    }
}

/// Proof of owning a [`Mutex`]'s lock, giving access to its value; unlocks
/// when dropped.
///
/// ```
/// let m = coro::sync::Mutex::new(vec![1]);
/// {
///     let mut guard = m.try_lock().unwrap(); // a `coro::sync::MutexGuard<'_, Vec<i32>>`
///     guard.push(2);                         // `DerefMut` to the value
/// }                                          // unlocked here
/// assert_eq!(*m.try_lock().unwrap(), [1, 2]);
/// ```
#[must_use = "dropping the guard unlocks the mutex at once"]
pub struct MutexGuard<'a, T, F: Flavor = ThreadSafe> {
    pub(super) mutex: &'a Mutex<T, F>,
}

// SAFETY: a guard may be dropped on another thread than the one that
// locked (the spin lock has no owner thread); it gives `&mut T` there.
unsafe impl<T: Send> Send for MutexGuard<'_, T, ThreadSafe> {}
// SAFETY: `&MutexGuard` only gives `&T`.
unsafe impl<T: Sync, F: Flavor> Sync for MutexGuard<'_, T, F> {}

impl<T, F: Flavor> Deref for MutexGuard<'_, T, F> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the guard owns the lock, so no `&mut T` exists elsewhere.
        unsafe { &*self.mutex.value.get() }
    }
}

impl<T, F: Flavor> DerefMut for MutexGuard<'_, T, F> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the guard owns the lock and is borrowed mutably.
        unsafe { &mut *self.mutex.value.get() }
    }
}

impl<T, F: Flavor> Drop for MutexGuard<'_, T, F> {
    fn drop(&mut self) {
        self.mutex.unlock();
    }
}

impl<T: fmt::Debug, F: Flavor> fmt::Debug for MutexGuard<'_, T, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("MutexGuard").field(&**self).finish()
    }
}

/// The awaiter of [`Mutex::lock`]. Waiting allocates nothing: the awaiter,
/// in the waiting coroutine's frame, is the queue node.
#[must_use = "an awaiter does nothing unless `co_await!`ed"]
pub struct Lock<'a, T, F: Flavor = ThreadSafe> {
    mutex: &'a Mutex<T, F>,
    node: WaitNode,
}

// Left out of the "other types implement `Awaiter`" list of unrelated errors.
#[diagnostic::do_not_recommend]
impl<'a, T, F: Flavor> Awaiter for Lock<'a, T, F> {
    type Output = MutexGuard<'a, T, F>;

    fn await_ready(&mut self) -> bool {
        self.mutex.state.with(|s| !core::mem::replace(&mut s.locked, true))
    }

    unsafe fn await_suspend(&mut self, handle: CoroutineHandle) -> impl AwaitSuspend {
        // SAFETY: forwarded `await_suspend` contract; nothing touches `self`
        // once the node is registered (another thread may resume the
        // coroutine at once).
        unsafe {
            wait_on::<F, _, _>(&self.mutex.state, &self.node, handle, |s| {
                if !s.locked {
                    s.locked = true;
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
        unsafe { cancel_wait(&self.mutex.state, |s| &mut s.waiters, &self.node) }
    }

    fn await_resume(self) -> MutexGuard<'a, T, F> {
        // Either `await_ready`/`await_suspend` took the lock, or an unlock
        // handed it to this waiter before resuming it.
        self.node.finish();
        MutexGuard { mutex: self.mutex }
    }
}

impl<T, F: Flavor> Drop for Lock<'_, T, F> {
    fn drop(&mut self) {
        // SAFETY: the node is this awaiter's, registered (if at all) with
        // this primitive's `waiters` list.
        let granted = unsafe { abandon_wait(&self.mutex.state, |s| &mut s.waiters, &self.node) };
        if granted {
            // Granted to a coroutine destroyed before it ran: hand it on.
            self.mutex.unlock();
        }
    }
}

impl<T, F: Flavor> fmt::Debug for Lock<'_, T, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("mutex::Lock").field("mutex", self.mutex).finish()
    }
}
