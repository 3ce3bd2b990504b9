//! [`Condvar`]: a condition variable for coroutines, used with a
//! [`Mutex`](super::mutex::Mutex).
//!
//! Notifying does not resume a waiter: it moves the waiter's node, under
//! the condition variable's lock and then the mutex's (always in that
//! order), from the condition variable's list to the mutex — granting it
//! the lock if the mutex is free, else queueing it behind the mutex's
//! waiters ("wait morphing"). The waiter is resumed once it owns the lock,
//! so `await_resume` only builds the guard.
//!
//! The waiter registers on the condition variable before it releases the
//! guard it was given, so a notify made by whoever takes the lock next
//! always finds it: no wake-up is lost between the unlock and the wait.
//!
//! The node sits first in a `#[repr(C)]` `CvNode` that also records the
//! waiter's mutex (the condition variable does not know `T`); `in_mutex`
//! is set by the notify that moves it, under the condition variable's
//! lock, so an awaiter's `Drop` taking that lock knows which list the node
//! is in (once moved, it never goes back).

use core::fmt;
use core::sync::atomic::{AtomicBool, Ordering};

use super::flavor::{Flavor, Guarded, Local, ThreadSafe};
use super::mutex::{self, Mutex, MutexGuard};
use super::ready;
use super::waiter::{abandon_wait_with, cancel_wait_with, wait_on, WaitList, WaitNode};
use crate::language::awaiter::{AwaitSuspend, Awaiter, CancelOutcome};
use crate::language::handle::CoroutineHandle;

/// A condition variable for coroutines: `co_await!(cv.wait(guard))`
/// releases a [`Mutex`] guard, suspends until [`notify_one`](Self::notify_one)
/// or [`notify_all`](Self::notify_all), re-acquires the lock and gives the
/// guard back.
///
/// As with `std::sync::Condvar`, check the condition in a loop: a notified
/// waiter competes for the lock with everyone else (FIFO), and the state
/// may have changed again when it gets it. A notify with nobody waiting
/// does nothing. There are no spurious wake-ups.
///
/// **No lost wake-ups.** The waiter is registered before the guard is
/// released, so a notify made by whoever takes the lock next wakes it.
///
/// **Destroyed while waiting.** A waiter whose coroutine is destroyed is
/// taken off the condition variable (a notify it missed is not handed to
/// anyone else, as with `std`), or, if it had already been moved to the
/// mutex and granted the lock, unlocks it for the next waiter.
///
/// Name it [`coro::sync::Condvar`](super::Condvar) (thread-safe) or
/// [`coro::sync::local::Condvar`](super::local::Condvar) (single-threaded).
///
/// ```
/// use std::rc::Rc;
/// use coro::{co_await, co_return, sync_wait, when_all, Task};
/// use coro::sync::local::{Condvar, Mutex};
///
/// #[coro::coroutine]
/// fn consumer(queue: Rc<(Mutex<Vec<u32>>, Condvar)>) -> Task<u32> {
///     let (m, cv) = &*queue;
///     let mut items = co_await!(m.lock());
///     while items.is_empty() {
///         items = co_await!(cv.wait(items));
///     }
///     co_return!(items.pop().unwrap())
/// }
///
/// #[coro::coroutine]
/// fn producer(queue: Rc<(Mutex<Vec<u32>>, Condvar)>) -> Task<()> {
///     let (m, cv) = &*queue;
///     co_await!(m.lock()).push(7);
///     cv.notify_one();
///     co_return!(())
/// }
///
/// let queue = Rc::new((Mutex::new(Vec::new()), Condvar::new()));
/// let (got, ()) = sync_wait(when_all((consumer(queue.clone()), producer(queue))));
/// assert_eq!(got, 7);
/// ```
pub struct Condvar<F: Flavor = ThreadSafe> {
    state: Guarded<F::Lock, State>,
}

struct State {
    waiters: WaitList,
}

// SAFETY: the waiter list is only followed under the lock; moving the
// condition variable moves no waiter (they borrow it).
unsafe impl<F: Flavor> Send for Condvar<F> {}
// SAFETY: the state is only reached under a spin lock.
unsafe impl Sync for Condvar<ThreadSafe> {}

impl Condvar<ThreadSafe> {
    /// A thread-safe condition variable.
    ///
    /// ```
    /// static CV: coro::sync::Condvar = coro::sync::Condvar::new(); // `const`
    /// CV.notify_all(); // nobody waits: nothing happens
    /// ```
    pub const fn new() -> Self {
        Condvar { state: Guarded::new(State { waiters: WaitList::new() }) }
    }
}

impl Condvar<Local> {
    /// A single-threaded condition variable.
    ///
    /// ```
    /// let cv = coro::sync::local::Condvar::new();
    /// cv.notify_one();
    /// ```
    pub const fn new() -> Self {
        Condvar { state: Guarded::new(State { waiters: WaitList::new() }) }
    }
}

impl Default for Condvar<ThreadSafe> {
    fn default() -> Self {
        Self::new()
    }
}

impl Default for Condvar<Local> {
    fn default() -> Self {
        Self::new()
    }
}

impl<F: Flavor> Condvar<F> {
    /// An awaiter that releases `guard`, suspends until notified, and
    /// completes with the guard once this coroutine owns the lock again.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use coro::{co_await, co_return, sync_wait, SendTask};
    /// use coro::sync::{Condvar, Mutex};
    ///
    /// #[coro::coroutine]
    /// fn wait_ready(state: Arc<(Mutex<bool>, Condvar)>) -> SendTask<bool> {
    ///     let (m, cv) = &*state;
    ///     let mut ready = co_await!(m.lock());
    ///     while !*ready {
    ///         ready = co_await!(cv.wait(ready));
    ///     }
    ///     co_return!(*ready)
    /// }
    ///
    /// let state = Arc::new((Mutex::new(false), Condvar::new()));
    /// let setter = {
    ///     let state = state.clone();
    ///     std::thread::spawn(move || {
    ///         *state.0.try_lock().unwrap() = true; // nobody else holds it yet
    ///         state.1.notify_all();
    ///     })
    /// };
    /// setter.join().unwrap();
    /// assert!(sync_wait(wait_ready(state)));
    /// ```
    pub fn wait<'a, T>(&'a self, guard: MutexGuard<'a, T, F>) -> Wait<'a, T, F> {
        let mutex = guard.mutex;
        Wait {
            cv: CvNode { node: WaitNode::new(), mutex: &mutex.state, in_mutex: AtomicBool::new(false) },
            condvar: self,
            mutex,
            guard: Some(guard),
        }
    }

    /// Wakes the longest-waiting coroutine, if any: it queues for the lock
    /// and is resumed once it owns it.
    ///
    /// ```
    /// let cv = coro::sync::Condvar::new();
    /// cv.notify_one(); // nobody waits: nothing happens (not remembered)
    /// ```
    pub fn notify_one(&self) {
        self.notify(false)
    }

    /// Wakes every waiting coroutine: they queue for the lock in the order
    /// they waited, and each is resumed once it owns it.
    ///
    /// ```
    /// let cv = coro::sync::local::Condvar::new();
    /// cv.notify_all(); // nobody waits: nothing happens (not remembered)
    /// ```
    pub fn notify_all(&self) {
        self.notify(true)
    }

    fn notify(&self, all: bool) {
        let woke = self.state.with(|s| {
            let mut woke = false;
            while let Some(node) = s.waiters.pop_front() {
                // SAFETY: a node in this list is the first field of a live,
                // `#[repr(C)]` `CvNode` (only `Wait` registers here), whose
                // mutex outlives it.
                let cv = unsafe { &*node.cast::<CvNode<'_, F>>() };
                cv.in_mutex.store(true, Ordering::Relaxed);
                // SAFETY: under both locks (this one, then the mutex's: the
                // only order they are taken in together); the node was just
                // taken out of this list and stays in place (its awaiter's
                // `Drop` unlinks it from the mutex's list, see `in_mutex`).
                let granted = cv.mutex.with(|m| unsafe { m.take_waiter(node) });
                if granted {
                    // SAFETY: out of every wait list, under a lock of a
                    // primitive it waited on; alive.
                    unsafe { ready::schedule(node) };
                    woke = true;
                }
                if !all {
                    break;
                }
            }
            woke
        });
        if woke {
            ready::run();
        }
    }
}

impl<F: Flavor> fmt::Debug for Condvar<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Condvar").finish_non_exhaustive()
    }
}

/// The node of a waiter, and what a notify needs to move it to its mutex.
#[repr(C)]
struct CvNode<'a, F: Flavor> {
    /// First: the list holds pointers to it, cast back to the `CvNode`.
    node: WaitNode,
    mutex: &'a Guarded<F::Lock, mutex::State>,
    /// Set (under the condition variable's lock) by the notify that moved
    /// the node to the mutex; never cleared.
    in_mutex: AtomicBool,
}

/// The awaiter of [`Condvar::wait`]. Waiting allocates nothing (but for a
/// thread-bound coroutine on a thread-safe condition variable: see the
/// [module docs](super#waking)).
#[must_use = "an awaiter does nothing unless `co_await!`ed (dropping it unlocks the mutex)"]
pub struct Wait<'a, T, F: Flavor = ThreadSafe> {
    cv: CvNode<'a, F>,
    condvar: &'a Condvar<F>,
    mutex: &'a Mutex<T, F>,
    /// Until `await_suspend` releases it.
    guard: Option<MutexGuard<'a, T, F>>,
}

// SAFETY: what a `MutexGuard` may do on another thread (`T: Send`), plus
// references to thread-safe primitives' states, only reached under their
// spin locks.
unsafe impl<T: Send> Send for Wait<'_, T, ThreadSafe> {}
// SAFETY: `&Wait` gives access to nothing (no method takes `&self`).
unsafe impl<T: Sync> Sync for Wait<'_, T, ThreadSafe> {}

// Left out of the "other types implement `Awaiter`" list of unrelated errors.
#[diagnostic::do_not_recommend]
impl<'a, T, F: Flavor> Awaiter for Wait<'a, T, F> {
    type Output = MutexGuard<'a, T, F>;

    fn await_ready(&mut self) -> bool {
        false
    }

    unsafe fn await_suspend(&mut self, handle: CoroutineHandle) -> impl AwaitSuspend {
        let guard = self.guard.take().expect("a condition variable's wait without its guard");
        // SAFETY: forwarded `await_suspend` contract; the node is idle and
        // stays in place until resumed or dropped (`Drop` unlinks it).
        let joined = unsafe {
            wait_on::<F, _, core::convert::Infallible>(&self.condvar.state, &self.cv.node, handle, |s| {
                Ok(&mut s.waiters)
            })
        };
        let Ok(()) = joined;
        // Registered first, released second: a notify by the next owner of
        // the lock finds this waiter. The unlock may resume this very
        // coroutine (a notify moved it to the mutex meanwhile) before it
        // returns; `self` is not touched any more, and the guard is on this
        // stack.
        drop(guard);
        true
    }

    unsafe fn await_cancel(&mut self) -> CancelOutcome {
        // SAFETY: the node is alive, registered on the condition variable
        // (or moved to its mutex); `unlink` takes it out of whichever list
        // it is queued in, under that list's lock.
        unsafe { cancel_wait_with(&self.cv.node, || self.unlink()) }
    }

    fn await_resume(mut self) -> MutexGuard<'a, T, F> {
        // Resumed only once a notify moved it to the mutex and the mutex
        // granted it the lock.
        self.cv.node.finish();
        self.guard.take();
        MutexGuard { mutex: self.mutex }
    }
}

impl<T, F: Flavor> Wait<'_, T, F> {
    /// Takes the node out of whichever list it is queued in (the condition
    /// variable's, or its mutex's once a notify moved it), under that
    /// list's lock; the state it found.
    fn unlink(&self) -> u8 {
        let (condvar, cv) = (self.condvar, &self.cv);
        let node: *const WaitNode = &cv.node;
        // SAFETY: the node was registered (if at all) on this condition
        // variable's list, or moved by a notify to its mutex's list
        // (`in_mutex`, read under the lock that the notify set it under).
        let here = condvar
            .state
            .with(|s| (!cv.in_mutex.load(Ordering::Relaxed)).then(|| unsafe { s.waiters.unlink_if_queued(node) }));
        // SAFETY: as above: moved to the mutex for good.
        here.unwrap_or_else(|| cv.mutex.with(|m| unsafe { m.waiters().unlink_if_queued(node) }))
    }
}

impl<T, F: Flavor> Drop for Wait<'_, T, F> {
    fn drop(&mut self) {
        let node: *const WaitNode = &self.cv.node;
        // SAFETY: the node is alive; `unlink` unlinks it from the list it is
        // in, under that list's lock.
        let granted = unsafe { abandon_wait_with(node, || self.unlink()) };
        if granted {
            // Moved to the mutex and granted the lock, but destroyed before
            // it ran: hand the lock on.
            self.mutex.unlock();
        }
        // A guard never released (the awaiter dropped before suspending)
        // unlocks as it drops.
    }
}

impl<T, F: Flavor> fmt::Debug for Wait<'_, T, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("condvar::Wait").field("mutex", self.mutex).finish_non_exhaustive()
    }
}
