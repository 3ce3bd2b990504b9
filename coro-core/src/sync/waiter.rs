//! Intrusive waiter lists: the node every waiting awaiter carries inside
//! itself (so inside the waiting coroutine's frame), and the doubly linked
//! FIFO list the nodes are threaded on.
//!
//! A node is in at most one list at a time: its primitive's wait list while
//! it waits ([`QUEUED`]), then, once the primitive has granted it what it
//! waited for, the ready queue of the thread that will resume it
//! ([`READY`], see `ready.rs`). Both lists use the same two links.
//!
//! Invariants:
//! - a node in a list is alive and does not move: it lives in an awaiter
//!   parked in a suspended coroutine's frame, and that awaiter's `Drop`
//!   takes it out of whichever list it is in before the memory goes;
//! - the links of a node in a primitive's list are read and written only
//!   under that primitive's lock; those of a node in a ready queue only by
//!   the thread owning the queue;
//! - `state` changes `IDLE -> QUEUED` (the awaiter, under the lock),
//!   `QUEUED -> IDLE` (the awaiter's `Drop`, under the lock),
//!   `QUEUED -> READY` (a release, under the lock, moving the node to the
//!   releasing thread's ready queue), `READY -> IDLE` (that thread, just
//!   before resuming the coroutine, or the awaiter's `Drop` on that thread).

use core::cell::Cell;
use core::ptr;
use core::sync::atomic::{AtomicU8, Ordering};

use super::flavor::{Guarded, RawLock};
use crate::handle::CoroutineHandle;

/// Not in any list: never registered, or already resumed.
pub(crate) const IDLE: u8 = 0;
/// In its primitive's wait list.
pub(crate) const QUEUED: u8 = 1;
/// Granted, in the ready queue of the thread that will resume it.
pub(crate) const READY: u8 = 2;

/// The part of a waiting awaiter that the lists link together.
pub(crate) struct WaitNode {
    prev: Cell<*const WaitNode>,
    next: Cell<*const WaitNode>,
    handle: Cell<Option<CoroutineHandle>>,
    /// `IDLE`, `QUEUED` or `READY`. Atomic only so that a misuse (a waiter
    /// destroyed while another thread resumes it) is a detected error
    /// rather than a data race; every legitimate access is ordered by a
    /// primitive's lock or happens on one thread.
    state: AtomicU8,
}

// SAFETY: the `Cell`s are only accessed under the lock of the list holding
// the node, or by the single thread owning the ready queue holding it (see
// the module invariants); an unlinked node is only touched by its awaiter.
unsafe impl Send for WaitNode {}
// SAFETY: as above.
unsafe impl Sync for WaitNode {}

impl WaitNode {
    pub(crate) const fn new() -> Self {
        WaitNode {
            prev: Cell::new(ptr::null()),
            next: Cell::new(ptr::null()),
            handle: Cell::new(None),
            state: AtomicU8::new(IDLE),
        }
    }

    #[inline]
    pub(crate) fn state(&self) -> u8 {
        self.state.load(Ordering::Relaxed)
    }

    #[inline]
    pub(crate) fn set_state(&self, s: u8) {
        self.state.store(s, Ordering::Relaxed);
    }

    /// `true` if the node is in no list: its awaiter's `Drop` has nothing
    /// to undo.
    #[inline]
    pub(crate) fn is_idle(&self) -> bool {
        self.state() == IDLE
    }

    /// Records the coroutine to resume and marks the node `QUEUED`; the
    /// caller then links it into its primitive's list, under the lock.
    #[inline]
    pub(crate) fn prepare(&self, handle: CoroutineHandle) {
        debug_assert!(self.is_idle(), "an awaiter was registered twice");
        self.handle.set(Some(handle));
        self.set_state(QUEUED);
    }

    /// The coroutine waiting on this node.
    #[inline]
    pub(crate) fn handle(&self) -> CoroutineHandle {
        self.handle.get().expect("a queued node without a coroutine handle")
    }
}

/// A FIFO list of [`WaitNode`]s, linked through the nodes themselves.
/// `Copy` so that a thread-local queue can live in a `Cell`.
#[derive(Clone, Copy)]
pub(crate) struct WaitList {
    head: *const WaitNode,
    tail: *const WaitNode,
}

impl WaitList {
    pub(crate) const fn new() -> Self {
        WaitList { head: ptr::null(), tail: ptr::null() }
    }

    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.head.is_null()
    }

    /// Appends `node`.
    ///
    /// # Safety
    /// `node` is alive, in no list, and stays alive and in place until it
    /// is removed (module invariants).
    #[inline]
    pub(crate) unsafe fn push_back(&mut self, node: *const WaitNode) {
        // SAFETY: `node` is alive (caller); `tail`, if any, is a node of
        // this list, alive by the list invariant.
        unsafe {
            (*node).prev.set(self.tail);
            (*node).next.set(ptr::null());
            match self.tail.as_ref() {
                Some(tail) => tail.next.set(node),
                None => self.head = node,
            }
        }
        self.tail = node;
    }

    /// Removes and returns the first node.
    #[inline]
    pub(crate) fn pop_front(&mut self) -> Option<*const WaitNode> {
        if self.head.is_null() {
            return None;
        }
        let node = self.head;
        // SAFETY: `node` is in this list, so alive; it is its first node.
        unsafe { self.remove(node) };
        Some(node)
    }

    /// Unlinks `node`.
    ///
    /// # Safety
    /// `node` is in this list.
    #[inline]
    pub(crate) unsafe fn remove(&mut self, node: *const WaitNode) {
        // SAFETY: `node` and its neighbours are in this list, so alive.
        unsafe {
            let (prev, next) = ((*node).prev.get(), (*node).next.get());
            match prev.as_ref() {
                Some(p) => p.next.set(next),
                None => self.head = next,
            }
            match next.as_ref() {
                Some(n) => n.prev.set(prev),
                None => self.tail = prev,
            }
            (*node).prev.set(ptr::null());
            (*node).next.set(ptr::null());
        }
    }

    /// The cancellation step of an awaiter's `Drop`: if `node` is `QUEUED`
    /// (so in this list), unlinks it, marks it `IDLE` and returns `false`;
    /// returns `true` if it is `READY` (granted, in a ready queue), and
    /// `false` if it is `IDLE`.
    ///
    /// # Safety
    /// `node` is alive; this is the wait list of the primitive it was
    /// registered with, accessed under that primitive's lock.
    pub(crate) unsafe fn unlink_if_queued(&mut self, node: *const WaitNode) -> bool {
        // SAFETY: alive (caller); a `QUEUED` node is in this list, and its
        // state cannot change while the lock is held.
        unsafe {
            match (*node).state() {
                QUEUED => {
                    self.remove(node);
                    (*node).set_state(IDLE);
                    false
                }
                READY => true,
                _ => false,
            }
        }
    }

    /// Whether `node` is in this list (a walk: for rare paths only).
    pub(crate) fn contains(&self, node: *const WaitNode) -> bool {
        let mut at = self.head;
        while !at.is_null() {
            if at == node {
                return true;
            }
            // SAFETY: `at` is a node of this list, so alive.
            at = unsafe { (*at).next.get() };
        }
        false
    }
}

/// What every waiting awaiter's `Drop` does when its coroutine is destroyed
/// while it waits: a node still queued is unlinked (under the primitive's
/// lock, from the list `list` selects); a node already granted something and
/// queued to run is taken out of the ready queue. Returns `true` in that
/// last case, so the caller can hand the grant on (a mutex's lock, a
/// semaphore's permit); `false` if the node was idle or merely queued.
///
/// # Safety
/// `node` is alive and was registered, if at all, with the primitive whose
/// state is `state`, in the list `list` returns.
pub(crate) unsafe fn abandon_wait<L: RawLock, S>(
    state: &Guarded<L, S>,
    list: impl FnOnce(&mut S) -> &mut WaitList,
    node: *const WaitNode,
) -> bool {
    // SAFETY: alive (caller).
    if unsafe { (*node).is_idle() } {
        return false;
    }
    // SAFETY: the node belongs to this list (caller); the lock is held.
    let was_ready = state.with(|s| unsafe { list(s).unlink_if_queued(node) });
    if was_ready {
        super::ready::cancel(node);
    }
    was_ready
}
