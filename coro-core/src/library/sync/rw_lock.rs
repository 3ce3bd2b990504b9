//! [`RwLock`]: an async reader-writer lock (libcoro's `shared_mutex`),
//! with a value inside like `std::sync::RwLock`.

use core::cell::UnsafeCell;
use core::fmt;
use core::ops::{Deref, DerefMut};

use super::flavor::{Flavor, Guarded, Local, ThreadSafe};
use super::ready;
use super::waiter::{abandon_wait, cancel_wait, wait_on, WaitList, WaitNode};
use crate::language::awaiter::{AwaitSuspend, Awaiter, CancelOutcome};
use crate::language::handle::CoroutineHandle;

/// An async reader-writer lock holding a `T`: any number of readers
/// ([`read`](Self::read)) or one writer ([`write`](Self::write)) at a time,
/// the others suspended.
///
/// **Fairness: writers first, readers in batches.** A read arriving while
/// a writer holds the lock *or waits for it* queues, so a stream of
/// readers cannot starve a writer. When a writer unlocks, every reader
/// queued by then is let in together (the batch), and the next writer
/// waits for that batch; with no reader queued, the next writer gets the
/// lock. So neither side starves: a writer waits for at most the readers
/// ahead of it, a reader for at most one writer. Locks are handed over,
/// never raced for: a newcomer cannot overtake queued coroutines. Released
/// coroutines are resumed on the releasing thread (see the
/// [module docs](super#waking)).
///
/// **Destroyed waiters.** A waiter destroyed while queued leaves its
/// queue (if it was the last writer waiting, readers queued behind it are
/// let in); one granted the lock but destroyed before it ran unlocks it
/// again, handing it on.
///
/// Name it [`coro::sync::RwLock`](super::RwLock) or
/// [`coro::sync::local::RwLock`](super::local::RwLock).
///
/// ```
/// use std::rc::Rc;
/// use coro::{co_await, co_return, sync_wait, Task};
/// use coro::sync::local::RwLock;
///
/// #[coro::coroutine]
/// fn bump(config: Rc<RwLock<u32>>) -> Task<u32> {
///     *co_await!(config.write()) += 1;
///     let a = co_await!(config.read());
///     let b = config.try_read().unwrap(); // readers share the lock
///     co_return!(*a + *b)
/// }
///
/// let config = Rc::new(RwLock::new(1));
/// assert_eq!(sync_wait(bump(config)), 4);
/// ```
pub struct RwLock<T, F: Flavor = ThreadSafe> {
    state: Guarded<F::Lock, State>,
    value: UnsafeCell<T>,
}

struct State {
    /// Readers holding the lock (granted ones included).
    readers: usize,
    /// Whether a writer holds the lock (or has been granted it).
    writer: bool,
    /// Non-empty only while a writer holds the lock or waits for it.
    read_waiters: WaitList,
    /// Non-empty only while the lock is held.
    write_waiters: WaitList,
}

impl State {
    const fn new() -> Self {
        State { readers: 0, writer: false, read_waiters: WaitList::new(), write_waiters: WaitList::new() }
    }

    fn try_read(&mut self) -> bool {
        let ok = !self.writer && self.write_waiters.is_empty();
        if ok {
            self.readers += 1;
        }
        ok
    }

    fn try_write(&mut self) -> bool {
        let ok = !self.writer && self.readers == 0;
        if ok {
            self.writer = true;
        }
        ok
    }

    /// Lets in every queued reader; returns whether there were any.
    fn admit_readers(&mut self) -> bool {
        let mut woke = false;
        while let Some(node) = self.read_waiters.pop_front() {
            // SAFETY: just taken out of this lock's reader list, under its lock.
            unsafe { ready::schedule(node) };
            self.readers += 1;
            woke = true;
        }
        woke
    }

    /// Hands the lock to the first queued writer, if any.
    fn admit_writer(&mut self) -> bool {
        let Some(node) = self.write_waiters.pop_front() else { return false };
        self.writer = true;
        // SAFETY: just taken out of this lock's writer list, under its lock.
        unsafe { ready::schedule(node) };
        true
    }

    /// Restores "readers wait only behind a writer" once no writer holds
    /// or waits (the last queued writer was destroyed).
    fn readers_behind_nobody(&mut self) -> bool {
        !self.writer && self.write_waiters.is_empty() && self.admit_readers()
    }
}

// SAFETY: the waiter lists are only followed under the lock; moving the
// lock moves no waiter or guard (both borrow it). The value moves with it.
unsafe impl<T: Send, F: Flavor> Send for RwLock<T, F> {}
// SAFETY: the state is only reached under a spin lock; readers on several
// threads share `&T` (so `T: Sync`), a writer may be on any thread (so
// `T: Send`).
unsafe impl<T: Send + Sync> Sync for RwLock<T, ThreadSafe> {}

impl<T> RwLock<T, ThreadSafe> {
    /// A thread-safe reader-writer lock, unlocked, holding `value`.
    ///
    /// ```
    /// use coro::sync::RwLock;
    ///
    /// static CONFIG: RwLock<u32> = RwLock::new(7); // `const`: fine in a `static`
    /// assert_eq!(*CONFIG.try_read().unwrap(), 7);
    /// ```
    pub const fn new(value: T) -> Self {
        RwLock { state: Guarded::new(State::new()), value: UnsafeCell::new(value) }
    }
}

impl<T> RwLock<T, Local> {
    /// A single-threaded reader-writer lock, unlocked, holding `value`.
    ///
    /// ```
    /// let l = coro::sync::local::RwLock::new(String::from("a"));
    /// assert_eq!(l.into_inner(), "a");
    /// ```
    pub const fn new(value: T) -> Self {
        RwLock { state: Guarded::new(State::new()), value: UnsafeCell::new(value) }
    }
}

impl<T, F: Flavor> RwLock<T, F> {
    /// An awaiter that completes with a read guard once this coroutine may
    /// read: at once if no writer holds or waits for the lock.
    ///
    /// ```
    /// use coro::{co_await, co_return, sync_wait, Task};
    /// use coro::sync::RwLock;
    ///
    /// static NAMES: RwLock<Vec<&str>> = RwLock::new(Vec::new());
    ///
    /// #[coro::coroutine]
    /// fn count() -> Task<usize> {
    ///     let names = co_await!(NAMES.read()); // unlocked when `names` drops
    ///     co_return!(names.len())
    /// }
    ///
    /// NAMES.try_write().unwrap().push("a");
    /// assert_eq!(sync_wait(count()), 1);
    /// ```
    pub fn read(&self) -> Read<'_, T, F> {
        Read { lock: self, node: WaitNode::new() }
    }

    /// An awaiter that completes with the write guard once this coroutine
    /// owns the lock alone.
    ///
    /// ```
    /// use coro::{co_await, co_return, sync_wait, Task};
    /// use coro::sync::RwLock;
    ///
    /// static TOTAL: RwLock<u64> = RwLock::new(0);
    ///
    /// #[coro::coroutine]
    /// fn add(n: u64) -> Task<()> {
    ///     *co_await!(TOTAL.write()) += n;
    ///     co_return!(())
    /// }
    ///
    /// sync_wait(add(2));
    /// assert_eq!(*TOTAL.try_read().unwrap(), 2);
    /// ```
    pub fn write(&self) -> Write<'_, T, F> {
        Write { lock: self, node: WaitNode::new() }
    }

    /// A read guard, if no writer holds or waits for the lock.
    ///
    /// ```
    /// let l = coro::sync::local::RwLock::new(1);
    /// let a = l.try_read().unwrap();
    /// let b = l.try_read().unwrap(); // shared
    /// assert!(l.try_write().is_none());
    /// assert_eq!(*a + *b, 2);
    /// ```
    pub fn try_read(&self) -> Option<RwLockReadGuard<'_, T, F>> {
        self.state.with(State::try_read).then(|| RwLockReadGuard { lock: self })
    }

    /// The write guard, if nobody holds the lock.
    ///
    /// ```
    /// let l = coro::sync::local::RwLock::new(1);
    /// *l.try_write().unwrap() += 1;
    /// assert_eq!(*l.try_read().unwrap(), 2);
    /// ```
    pub fn try_write(&self) -> Option<RwLockWriteGuard<'_, T, F>> {
        self.state.with(State::try_write).then(|| RwLockWriteGuard { lock: self })
    }

    /// The value, through exclusive access to the lock.
    ///
    /// ```
    /// let mut l = coro::sync::local::RwLock::new(1);
    /// *l.get_mut() = 5;
    /// assert_eq!(*l.try_read().unwrap(), 5);
    /// ```
    pub fn get_mut(&mut self) -> &mut T {
        self.value.get_mut()
    }

    /// The value.
    ///
    /// ```
    /// let l = coro::sync::RwLock::new(vec![1]);
    /// l.try_write().unwrap().push(2);
    /// assert_eq!(l.into_inner(), [1, 2]);
    /// ```
    pub fn into_inner(self) -> T {
        self.value.into_inner()
    }

    /// Releases one read hold: the last one hands the lock to the first
    /// queued writer.
    fn read_unlock(&self) {
        let woke = self.state.with(|s| {
            s.readers -= 1;
            s.readers == 0 && s.admit_writer()
        });
        if woke {
            ready::run();
        }
    }

    /// Releases the write hold: to every queued reader (a batch), else to
    /// the first queued writer, else free.
    fn write_unlock(&self) {
        let woke = self.state.with(|s| {
            s.writer = false;
            s.admit_readers() || s.admit_writer()
        });
        if woke {
            ready::run();
        }
    }
}

impl<T, F: Flavor> fmt::Debug for RwLock<T, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (readers, writer) = self.state.with(|s| (s.readers, s.writer));
        f.debug_struct("RwLock").field("readers", &readers).field("writer", &writer).finish_non_exhaustive()
    }
}

/// A shared hold on an [`RwLock`], giving `&T`; released when dropped.
///
/// ```
/// let l = coro::sync::RwLock::new(3);
/// let guard = l.try_read().unwrap();
/// assert_eq!(*guard, 3);
/// ```
#[must_use = "dropping the guard unlocks at once"]
pub struct RwLockReadGuard<'a, T, F: Flavor = ThreadSafe> {
    lock: &'a RwLock<T, F>,
}

impl<T, F: Flavor> Deref for RwLockReadGuard<'_, T, F> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: a read hold: no writer holds the lock, so no `&mut T` exists.
        unsafe { &*self.lock.value.get() }
    }
}

impl<T, F: Flavor> Drop for RwLockReadGuard<'_, T, F> {
    fn drop(&mut self) {
        self.lock.read_unlock();
    }
}

impl<T: fmt::Debug, F: Flavor> fmt::Debug for RwLockReadGuard<'_, T, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("RwLockReadGuard").field(&**self).finish()
    }
}

/// The exclusive hold on an [`RwLock`], giving `&mut T`; released when
/// dropped.
///
/// ```
/// let l = coro::sync::RwLock::new(vec![1]);
/// l.try_write().unwrap().push(2);
/// assert_eq!(*l.try_read().unwrap(), [1, 2]);
/// ```
#[must_use = "dropping the guard unlocks at once"]
pub struct RwLockWriteGuard<'a, T, F: Flavor = ThreadSafe> {
    lock: &'a RwLock<T, F>,
}

impl<T, F: Flavor> Deref for RwLockWriteGuard<'_, T, F> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the write hold is exclusive.
        unsafe { &*self.lock.value.get() }
    }
}

impl<T, F: Flavor> DerefMut for RwLockWriteGuard<'_, T, F> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the write hold is exclusive, and the guard borrowed mutably.
        unsafe { &mut *self.lock.value.get() }
    }
}

impl<T, F: Flavor> Drop for RwLockWriteGuard<'_, T, F> {
    fn drop(&mut self) {
        self.lock.write_unlock();
    }
}

impl<T: fmt::Debug, F: Flavor> fmt::Debug for RwLockWriteGuard<'_, T, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("RwLockWriteGuard").field(&**self).finish()
    }
}

/// The awaiter of [`RwLock::read`]. Waiting allocates nothing.
#[must_use = "an awaiter does nothing unless `co_await!`ed"]
pub struct Read<'a, T, F: Flavor = ThreadSafe> {
    lock: &'a RwLock<T, F>,
    node: WaitNode,
}

// Left out of the "other types implement `Awaiter`" list of unrelated errors.
#[diagnostic::do_not_recommend]
impl<'a, T, F: Flavor> Awaiter for Read<'a, T, F> {
    type Output = RwLockReadGuard<'a, T, F>;

    fn await_ready(&mut self) -> bool {
        self.lock.state.with(State::try_read)
    }

    unsafe fn await_suspend(&mut self, handle: CoroutineHandle) -> impl AwaitSuspend {
        // SAFETY: forwarded `await_suspend` contract; nothing touches `self`
        // once the node is registered.
        unsafe {
            wait_on::<F, _, _>(&self.lock.state, &self.node, handle, |s| {
                if s.try_read() {
                    return Err(());
                }
                Ok(&mut s.read_waiters)
            })
        }
        .is_ok()
    }

    unsafe fn await_cancel(&mut self) -> CancelOutcome {
        // SAFETY: the node is this awaiter's, registered with this
        // primitive's `read_waiters` list; the coroutine is suspended on it.
        unsafe { cancel_wait(&self.lock.state, |s| &mut s.read_waiters, &self.node) }
    }

    fn await_resume(self) -> RwLockReadGuard<'a, T, F> {
        // Taken by `await_ready`/`await_suspend`, or granted by an unlock.
        self.node.finish();
        RwLockReadGuard { lock: self.lock }
    }
}

impl<T, F: Flavor> Drop for Read<'_, T, F> {
    fn drop(&mut self) {
        // SAFETY: the node is this awaiter's, registered (if at all) with
        // this lock's `read_waiters` list.
        if unsafe { abandon_wait(&self.lock.state, |s| &mut s.read_waiters, &self.node) } {
            // Granted a read hold, destroyed before it ran: release it.
            self.lock.read_unlock();
        }
    }
}

impl<T, F: Flavor> fmt::Debug for Read<'_, T, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("rw_lock::Read").field("lock", self.lock).finish()
    }
}

/// The awaiter of [`RwLock::write`]. Waiting allocates nothing.
#[must_use = "an awaiter does nothing unless `co_await!`ed"]
pub struct Write<'a, T, F: Flavor = ThreadSafe> {
    lock: &'a RwLock<T, F>,
    node: WaitNode,
}

// Left out of the "other types implement `Awaiter`" list of unrelated errors.
#[diagnostic::do_not_recommend]
impl<'a, T, F: Flavor> Awaiter for Write<'a, T, F> {
    type Output = RwLockWriteGuard<'a, T, F>;

    fn await_ready(&mut self) -> bool {
        self.lock.state.with(State::try_write)
    }

    unsafe fn await_suspend(&mut self, handle: CoroutineHandle) -> impl AwaitSuspend {
        // SAFETY: forwarded `await_suspend` contract; nothing touches `self`
        // once the node is registered.
        unsafe {
            wait_on::<F, _, _>(&self.lock.state, &self.node, handle, |s| {
                if s.try_write() {
                    return Err(());
                }
                Ok(&mut s.write_waiters)
            })
        }
        .is_ok()
    }

    unsafe fn await_cancel(&mut self) -> CancelOutcome {
        // SAFETY: the node is this awaiter's, registered with this lock's
        // `write_waiters` list; the coroutine is suspended on it.
        let outcome = unsafe { cancel_wait(&self.lock.state, |s| &mut s.write_waiters, &self.node) };
        if outcome == CancelOutcome::Withdrawn && self.lock.state.with(State::readers_behind_nobody) {
            // As in `Drop`: the last queued writer left while readers held
            // the lock; the readers queued behind it go on.
            ready::run();
        }
        outcome
    }

    fn await_resume(self) -> RwLockWriteGuard<'a, T, F> {
        self.node.finish();
        RwLockWriteGuard { lock: self.lock }
    }
}

impl<T, F: Flavor> Drop for Write<'_, T, F> {
    fn drop(&mut self) {
        if self.node.is_idle() {
            // Never registered, or resumed: nothing to undo (the common case).
            return;
        }
        // SAFETY: the node is this awaiter's, registered with this lock's
        // `write_waiters` list.
        if unsafe { abandon_wait(&self.lock.state, |s| &mut s.write_waiters, &self.node) } {
            // Granted the lock, destroyed before it ran: hand it on.
            self.lock.write_unlock();
        } else if self.lock.state.with(State::readers_behind_nobody) {
            // The last queued writer left while readers held the lock:
            // the readers queued behind it need not wait any longer.
            ready::run();
        }
    }
}

impl<T, F: Flavor> fmt::Debug for Write<'_, T, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("rw_lock::Write").field("lock", self.lock).finish()
    }
}
