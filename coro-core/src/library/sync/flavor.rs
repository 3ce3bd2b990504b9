//! The two flavours of every primitive, and the lock that protects a
//! primitive's state in each.
//!
//! A primitive's state (its flag or counter and its intrusive waiter lists)
//! lives in a [`Guarded`], reached only through [`Guarded::with`], which runs
//! a short closure with exclusive access. The closures link and unlink
//! nodes, move values and flip flags: they never call user code, never
//! resume a coroutine and never block, so the critical sections are a few
//! dozen instructions.
//!
//! - [`ThreadSafe`] guards the state with a spin lock ([`SpinLock`]). Not
//!   `std::sync::Mutex`: releasing the lock is how an awaiter publishes its
//!   handle, and another thread may resume the coroutine, let it finish and
//!   free the primitive as soon as the lock is released. A spin lock's
//!   release is one atomic store, after which the releasing thread touches
//!   nothing; a futex mutex may still call `futex_wake` on the freed word.
//! - [`Local`] has no lock at all: a `Cell<bool>` only checks that no
//!   critical section is re-entered, which makes the `unsafe` access to the
//!   state sound without relying on every caller.
//!
//! Under `--cfg loom` the spin lock's word is loom's and each critical
//! section is checked to be ordered after the previous one (see
//! [`SpinLock`]); every model of `waiter.rs` takes it.

use core::cell::{Cell, UnsafeCell};
use core::fmt;

use crate::language::atomic::{spin_loop, yield_now, ConstAtomicBool, Ordering};

/// Marker for the thread-safe flavour of a primitive: `Send + Sync`, its
/// state behind a spin lock held for a few instructions at a time. This is
/// the default flavour, and the one `coro::sync::{Mutex, Event, ...}` name.
///
/// ```
/// use coro::sync::{mutex::Mutex, ThreadSafe};
///
/// let m: Mutex<u8, ThreadSafe> = coro::sync::Mutex::new(1); // the same type
/// fn shareable<T: Send + Sync>(_: &T) {}
/// shareable(&m);
/// assert_eq!(m.into_inner(), 1);
/// ```
#[derive(Debug)]
pub enum ThreadSafe {}

/// Marker for the single-threaded flavour of a primitive: not `Sync` (it can
/// be moved to another thread while nobody waits on it, never shared), no
/// atomic operations. `coro::sync::local::{Mutex, Event, ...}` name it.
///
/// ```
/// use coro::sync::{event::Event, Local};
///
/// let ev: Event<Local> = coro::sync::local::Event::new(); // the same type
/// ev.set();
/// assert!(ev.is_set());
/// ```
#[derive(Debug)]
pub enum Local {}

/// Which flavour a primitive is: [`ThreadSafe`] or [`Local`]. Sealed.
///
/// Code generic over the flavour:
/// ```
/// use coro::sync::{latch::Latch, Flavor};
///
/// fn remaining<F: Flavor>(latch: &Latch<F>) -> usize { latch.count() }
///
/// assert_eq!(remaining(&coro::sync::Latch::new(2)), 2);
/// assert_eq!(remaining(&coro::sync::local::Latch::new(3)), 3);
/// ```
pub trait Flavor: sealed::Sealed + 'static {
    #[doc(hidden)]
    type Lock: RawLock;
    /// Whether another thread may release a waiter: only then may a
    /// thread-bound coroutine's wake-up have to be handed back to its own
    /// thread (see `ready.rs`), which costs an allocation per wait.
    #[doc(hidden)]
    const THREAD_SAFE: bool;
}

impl Flavor for ThreadSafe {
    type Lock = SpinLock;
    const THREAD_SAFE: bool = true;
}
impl Flavor for Local {
    type Lock = LocalLock;
    const THREAD_SAFE: bool = false;
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for super::ThreadSafe {}
    impl Sealed for super::Local {}
}

/// A lock around a primitive's state.
///
/// # Safety
/// Between `lock` returning and the matching `unlock`, no other `lock` call
/// on the same lock returns (on any thread), and `unlock` publishes every
/// write made under the lock to whoever locks next.
pub unsafe trait RawLock {
    /// An unlocked lock.
    const NEW: Self;
    /// Takes the lock.
    fn lock(&self);
    /// Releases the lock.
    fn unlock(&self);
}

/// A test-and-test-and-set spin lock that yields the thread after a short
/// spin. Held only for the few instructions of a critical section.
///
/// Under `--cfg loom` the lock word is loom's, and each critical section
/// also writes a loom cell of the lock's at its start and its end: a lock
/// that failed to order one holder's section before the next one's would
/// be a race loom reports (the `RawLock` contract, checked by every model
/// that takes the lock).
#[derive(Debug)]
pub struct SpinLock {
    locked: ConstAtomicBool,
    #[cfg(loom)]
    sections: std::sync::OnceLock<loom::cell::UnsafeCell<()>>,
}

// SAFETY: the compare-exchange from `false` to `true` succeeds for one
// thread at a time; `unlock`'s Release store pairs with the Acquire of the
// next successful `lock`.
unsafe impl RawLock for SpinLock {
    const NEW: Self = SpinLock {
        locked: ConstAtomicBool::new(false),
        #[cfg(loom)]
        sections: std::sync::OnceLock::new(),
    };

    #[inline]
    fn lock(&self) {
        if self.locked.compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed).is_err() {
            self.lock_contended();
        }
        #[cfg(loom)]
        self.section_edge();
    }

    #[inline]
    fn unlock(&self) {
        #[cfg(loom)]
        self.section_edge();
        // The last access to the lock, so the last access to the primitive
        // from a critical section: after this store another thread may free
        // the primitive (see the module docs).
        self.locked.store(false, Ordering::Release);
    }
}

impl SpinLock {
    #[cold]
    fn lock_contended(&self) {
        let mut spins = 0u32;
        loop {
            // Wait for the lock to look free with plain loads, so that
            // waiting threads do not bounce the cache line with writes.
            while self.locked.load(Ordering::Relaxed) {
                if spins < 100 {
                    spins += 1;
                    spin_loop();
                } else {
                    // The holder was preempted mid critical section: let it run.
                    yield_now();
                }
            }
            if self.locked.compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed).is_ok() {
                return;
            }
        }
    }

    /// A write to the lock's loom cell, held: see the type's docs.
    #[cfg(loom)]
    fn section_edge(&self) {
        self.sections.get_or_init(|| loom::cell::UnsafeCell::new(())).with_mut(|_| ());
    }
}

/// The [`Local`] flavour's "lock": only checks that a critical section is
/// not re-entered (which the primitives never do).
#[derive(Debug)]
pub struct LocalLock {
    busy: Cell<bool>,
}

// SAFETY: `LocalLock` is not `Sync` (a `Cell`), so every call is on one
// thread; `lock` panics instead of returning twice without an `unlock`.
unsafe impl RawLock for LocalLock {
    const NEW: Self = LocalLock { busy: Cell::new(false) };

    #[inline]
    fn lock(&self) {
        if self.busy.replace(true) {
            reentered()
        }
    }

    #[inline]
    fn unlock(&self) {
        self.busy.set(false);
    }
}

#[cold]
#[inline(never)]
fn reentered() -> ! {
    panic!("coro::sync: a primitive's critical section was re-entered (a bug in coro)")
}

/// State `S` that is only reached under the lock `L`.
pub(crate) struct Guarded<L, S> {
    lock: L,
    state: UnsafeCell<S>,
}

impl<L: RawLock, S> Guarded<L, S> {
    /// Wraps `state` with an unlocked lock.
    pub(crate) const fn new(state: S) -> Self {
        Guarded { lock: L::NEW, state: UnsafeCell::new(state) }
    }

    /// Runs `f` with exclusive access to the state. `f` must be short and
    /// must not call user code or resume coroutines.
    ///
    /// When the lock is released at the end, the primitive may be freed by
    /// another thread before this function has returned (an awaiter's
    /// registration is published by that release); like `Arc::drop`, nothing
    /// here touches `self` after the release.
    #[inline]
    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut S) -> R) -> R {
        struct Unlock<'a, L: RawLock>(&'a L);
        impl<L: RawLock> Drop for Unlock<'_, L> {
            #[inline]
            fn drop(&mut self) {
                self.0.unlock();
            }
        }
        self.lock.lock();
        let _unlock = Unlock(&self.lock);
        // SAFETY: the lock is held until `_unlock` is dropped, after `f`
        // returns or unwinds, so this is the only reference to the state.
        f(unsafe { &mut *self.state.get() })
    }

    /// The state.
    #[inline]
    pub(crate) fn into_inner(self) -> S {
        self.state.into_inner()
    }
}

impl<L, S> fmt::Debug for Guarded<L, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Guarded")
    }
}
