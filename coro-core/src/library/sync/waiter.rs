//! Intrusive waiter lists: the node every waiting awaiter carries inside
//! itself (so inside the waiting coroutine's frame), and the doubly linked
//! FIFO list the nodes are threaded on.
//!
//! A node is in at most one list at a time: its primitive's wait list while
//! it waits ([`QUEUED`]), then, once the primitive has granted it what it
//! waited for, the ready queue of the thread that will resume it
//! ([`READY`], see `ready.rs`). Both lists use the same two links. A
//! thread-bound coroutine granted by another thread is in no list: it is
//! [`HOME`], handed back to its own thread through a reference-counted
//! [`HomeWake`] that the node shares with that thread's wake-up queue.
//!
//! `SendSharedTask` reuses the node, the list (behind its own mutex) and the
//! `HOME` hand-off ([`WaitNode::hand_home`], [`abandon_wait_with`]); its
//! nodes are never in a ready queue.
//!
//! Invariants:
//! - a node in a list is alive and does not move: it lives in an awaiter
//!   parked in a suspended coroutine's frame, and that awaiter's `Drop`
//!   takes it out of whichever list it is in before the memory goes;
//! - the links of a node in a primitive's list are read and written only
//!   under that primitive's lock; those of a node in a ready queue only by
//!   the thread owning the queue;
//! - `home` is written only by the awaiter, before the node is published
//!   (so before the primitive's lock is taken to register it), and is only
//!   read afterwards;
//! - `state` changes
//!   `IDLE -> QUEUED` (the awaiter, under the lock),
//!   `QUEUED -> IDLE` (the awaiter's `Drop`, under the lock),
//!   `QUEUED -> READY` (a release, under the lock, moving the node to the
//!   releasing thread's ready queue),
//!   `QUEUED -> HOME` (a release on a thread other than the home thread of
//!   a thread-bound coroutine, under the lock; the node stays `HOME` until
//!   it is resumed or dropped),
//!   `READY -> RESUMING` (the thread owning the ready queue, just before it
//!   resumes the coroutine),
//!   `READY -> IDLE` (the awaiter's `Drop`, on the thread owning the ready
//!   queue, taking the node out of it),
//!   `RESUMING | HOME -> IDLE` (`await_resume`, in the resumed coroutine:
//!   from then on nothing refers to the node).
//!
//! An awaiter's `Drop` that finds its node `READY` in another thread's ready
//! queue, or `RESUMING` while this thread is not the one resuming it (nor
//! destroying the coroutine for a resumer that left it to this thread: see
//! `frame::is_abandoning`), is destroying a coroutine that another thread
//! is about to resume: that aborts the process (see [`abandon_wait`]). No
//! owner can do that from safe code: a `SendTask`'s owner cancels it
//! through the awaiter's [`cancel_wait`] first (`language/gate.rs`), and
//! destroys it only if its registration was withdrawn; only raw handle
//! misuse reaches the abort.
//!
//! Model-checked (`loom_tests` at the end of this file, `.ci/loom`): a
//! release on another thread (`QUEUED -> HOME` or `READY`) racing the
//! registration or the awaiter's `Drop`, through a real thread-safe
//! semaphore: the grant ends with the resumed coroutine or is handed on,
//! exactly once, and a node unlinked or detached by its `Drop` is never
//! resumed. `state` is a `ConstAtomicU8` from `language::atomic` for that.

use core::cell::{Cell, UnsafeCell};
use core::ptr;
use std::sync::Arc;

use super::flavor::{Flavor, Guarded, RawLock};
use super::ready::{self, HomeWake};
use crate::language::atomic::{thread_local, ConstAtomicU8, Ordering};
use crate::language::awaiter::CancelOutcome;
use crate::language::frame::is_abandoning;
use crate::language::handle::CoroutineHandle;

/// Not in any list: never registered, or already resumed.
pub(crate) const IDLE: u8 = 0;
/// In its primitive's wait list.
pub(crate) const QUEUED: u8 = 1;
/// Granted, in the ready queue of the thread that will resume it.
pub(crate) const READY: u8 = 2;
/// Taken out of a ready queue by the thread resuming it; `await_resume`
/// has not run yet.
pub(crate) const RESUMING: u8 = 3;
/// Granted on another thread than the (thread-bound) coroutine's own, and
/// handed to its home thread's wake-up queue through the node's `home`.
pub(crate) const HOME: u8 = 4;

/// The part of a waiting awaiter that the lists link together.
pub(crate) struct WaitNode {
    prev: Cell<*const WaitNode>,
    next: Cell<*const WaitNode>,
    handle: Cell<Option<CoroutineHandle>>,
    /// One of the states above. Atomic so that a misuse (a waiter destroyed
    /// while another thread resumes it) is a detected error rather than a
    /// data race, and so that `HOME` can be read without the lock; every
    /// other legitimate access is ordered by a primitive's lock or happens
    /// on one thread.
    state: ConstAtomicU8,
    /// For a thread-bound coroutine waiting on a thread-safe primitive: how
    /// a release on another thread hands it back to its own thread. `None`
    /// otherwise (the local flavour, `SendTask`s, ...), which keeps waiting
    /// allocation-free for them.
    home: UnsafeCell<Option<Arc<HomeWake>>>,
    /// The link of this thread's registry of waits on [`Local`](super::Local)
    /// primitives (see [`local_deadlock`]), and whether the node is in it.
    /// Only the thread that registered the node touches them: a local
    /// primitive's awaiter borrows a primitive that is not `Sync`, so it
    /// never leaves that thread. (One link, not two: every waiting awaiter
    /// carries a node.)
    local_next: Cell<*const WaitNode>,
    in_local: Cell<bool>,
}

// SAFETY: the `Cell`s are only accessed under the lock of the list holding
// the node, or by the single thread owning the ready queue holding it (see
// the module invariants); an unlinked node is only touched by its awaiter.
// `home` is written before the node is published and only read after.
unsafe impl Send for WaitNode {}
// SAFETY: as above.
unsafe impl Sync for WaitNode {}

impl WaitNode {
    pub(crate) const fn new() -> Self {
        WaitNode {
            prev: Cell::new(ptr::null()),
            next: Cell::new(ptr::null()),
            handle: Cell::new(None),
            state: ConstAtomicU8::new(IDLE),
            home: UnsafeCell::new(None),
            local_next: Cell::new(ptr::null()),
            in_local: Cell::new(false),
        }
    }

    /// Called right after [`prepare`](Self::prepare) by the awaiter of a
    /// [`Local`](super::Local) primitive (nothing for a thread-safe one):
    /// adds the node to this thread's registry of local waits, which
    /// [`local_deadlock`] reads. It leaves the registry when it leaves the
    /// wait list (`ready::schedule`, `unlink_if_queued`) or is dropped.
    #[inline]
    pub(crate) fn register_local<F: Flavor>(&self) {
        if F::THREAD_SAFE || self.in_local.get() {
            return;
        }
        self.local_next.set(ptr::null());
        LOCAL_WAITS.with(|list| {
            let (head, tail) = list.get();
            // SAFETY: `tail`, if any, is a registered node of this thread,
            // alive (a node leaves the registry before its memory goes).
            match unsafe { tail.as_ref() } {
                Some(t) => t.local_next.set(self),
                None => list.set((self, self)),
            }
            if !head.is_null() {
                list.set((head, self));
            }
        });
        self.in_local.set(true);
    }

    /// Takes the node out of this thread's registry of local waits, if it
    /// is in it: when it leaves its wait list (granted, or unlinked), or is
    /// dropped. Never later: `await_resume` moves the awaiter, and with it
    /// the node, out of the frame.
    ///
    /// A walk from the first node: registered in FIFO order, nodes are
    /// mostly granted in that order too, so this is usually the first.
    #[inline]
    pub(crate) fn unregister_local(&self) {
        if !self.in_local.replace(false) {
            return;
        }
        let next = self.local_next.replace(ptr::null());
        // At thread exit the registry may be gone: then so is every other
        // node of it.
        let _ = LOCAL_WAITS.try_with(|list| {
            let (head, tail) = list.get();
            let me: *const WaitNode = self;
            let mut prev: *const WaitNode = ptr::null();
            let mut at = head;
            while !at.is_null() && !ptr::eq(at, me) {
                prev = at;
                // SAFETY: a registered node of this thread, alive.
                at = unsafe { (*at).local_next.get() };
            }
            if at.is_null() {
                return; // not found: cannot happen (registered here)
            }
            // SAFETY: `prev`, if any, is a registered node, alive.
            match unsafe { prev.as_ref() } {
                Some(p) => p.local_next.set(next),
                None => list.set((next, tail)),
            }
            if ptr::eq(tail, me) {
                let (head, _) = list.get();
                list.set((head, if head.is_null() { ptr::null() } else { prev }));
            }
        });
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

    /// Called by an awaiter's `await_suspend` before it takes its
    /// primitive's lock to register: if the primitive is thread-safe and
    /// the waiting coroutine is thread-bound, makes the [`HomeWake`] a
    /// release on another thread will hand it home with (one allocation;
    /// none in every other case).
    ///
    /// # Safety
    /// `handle` is the live coroutine suspended on this node's awaiter, and
    /// the node is not published yet.
    #[inline]
    pub(crate) unsafe fn arm_home<F: Flavor>(&self, handle: CoroutineHandle) {
        // SAFETY: the frame is alive (caller).
        if F::THREAD_SAFE && unsafe { handle.is_thread_bound() } {
            // SAFETY: not published yet, so nobody else reads `home`.
            let home = unsafe { &mut *self.home.get() };
            if home.is_none() {
                *home = Some(HomeWake::new(handle));
            }
        }
    }

    /// The hand-off of a thread-bound coroutine whose home is not this
    /// thread; `None` if it may be resumed here.
    ///
    /// # Safety
    /// The node is registered (`home` is no longer written) and alive.
    #[inline]
    pub(crate) unsafe fn foreign_home(&self) -> Option<&Arc<HomeWake>> {
        // SAFETY: `home` is only written before the node is published (caller).
        unsafe { (*self.home.get()).as_ref() }.filter(|h| !h.is_home_thread())
    }

    /// Marks the node handed home (`QUEUED -> HOME`, under the lock). The
    /// `Release` pairs with the `Acquire` in [`abandon_wait`], which reads
    /// `HOME` without the lock and then reads what the release granted (a
    /// channel value in the slot beside the node).
    #[inline]
    pub(crate) fn set_home(&self) {
        self.state.store(HOME, Ordering::Release);
    }

    /// The release step for a node just taken out of its wait list: if its
    /// coroutine is thread-bound and this is not its home thread, marks the
    /// node `HOME` and returns the wake-up to post to that thread
    /// ([`HomeWake::post`], once the lock is released); `None` if the
    /// coroutine may be resumed here (the node is left as it was).
    ///
    /// # Safety
    /// The node is alive, registered, and has just been taken out of its
    /// primitive's wait list under that primitive's lock, still held.
    #[inline]
    pub(crate) unsafe fn hand_home(&self) -> Option<Arc<HomeWake>> {
        // SAFETY: alive and registered (caller).
        let home = unsafe { self.foreign_home() }?.clone();
        self.set_home();
        Some(home)
    }

    /// Records the coroutine to resume and marks the node `QUEUED`; the
    /// caller then links it into its primitive's list, under the lock.
    #[inline]
    pub(crate) fn prepare(&self, handle: CoroutineHandle) {
        debug_assert!(self.is_idle(), "an awaiter was registered twice");
        self.handle.set(Some(handle));
        self.set_state(QUEUED);
    }

    /// Called by `await_resume`: the coroutine has been resumed, so nothing
    /// refers to the node any more and its awaiter's `Drop` has nothing to
    /// undo (and need not check anything: this only makes it cheaper).
    #[inline]
    pub(crate) fn finish(&self) {
        self.set_state(IDLE);
    }

    /// The coroutine waiting on this node.
    #[inline]
    pub(crate) fn handle(&self) -> CoroutineHandle {
        self.handle.get().expect("a queued node without a coroutine handle")
    }

    /// The `HOME` case of an awaiter's `Drop`: a release on another thread
    /// granted the coroutine something and posted its wake-up home, and the
    /// awaiter goes away without its `await_resume` having taken the grant
    /// (which would have marked the node `IDLE`). Either the wake-up has not
    /// run (the coroutine is destroyed first: the wake-up is detached and
    /// will do nothing), or it has and a wrapping awaiter dropped this one
    /// without forwarding `await_resume`. In both cases the grant was never
    /// taken: `true`, so the caller hands it on.
    ///
    /// # Safety
    /// The node is `HOME` and alive.
    unsafe fn detach_home(&self) -> bool {
        // SAFETY: a `HOME` node has its `home`, no longer written (caller).
        let home = unsafe { (*self.home.get()).as_ref() }.expect("a node handed home without its wake-up");
        home.detach();
        true
    }
}

impl Drop for WaitNode {
    fn drop(&mut self) {
        self.unregister_local();
    }
}

thread_local! {
    /// The first and last nodes of this thread's registry of waits on
    /// local primitives (linked through `local_next`).
    static LOCAL_WAITS: Cell<(*const WaitNode, *const WaitNode)> = const { Cell::new((ptr::null(), ptr::null())) };
}

/// Deadlock detection for `sync_wait`: if a coroutine of this thread is
/// queued on a [`Local`](super::Local) primitive and the chain of
/// coroutines awaiting it (each one reported by its awaited coroutine's
/// promise, all of them thread-bound) reaches `root`, returns the leaf's
/// handle. The caller decides whether anything else could still run on
/// this thread.
///
/// # Safety
/// Called on a thread blocked in `sync_wait` of `root` (a thread-bound
/// coroutine it owns, suspended): no coroutine of this thread is running
/// below it except those up the stack (`RUNNING`, where a walk stops).
pub(crate) unsafe fn local_deadlock(root: CoroutineHandle) -> Option<CoroutineHandle> {
    let mut at = LOCAL_WAITS.try_with(|list| list.get().0).ok()?;
    while !at.is_null() {
        // SAFETY: a registered node is alive (it leaves the registry
        // before its memory goes) and belongs to this thread.
        let node = unsafe { &*at };
        if node.state() == QUEUED {
            let leaf = node.handle();
            let mut cur = Some(leaf);
            while let Some(h) = cur {
                // SAFETY: `h` is the leaf (suspended on the queued node, so
                // alive) or a coroutine its chain reported as awaiting it,
                // suspended on it (caller: nothing of this thread runs).
                let bound = unsafe { h.is_thread_bound() };
                // SAFETY: as above.
                if !bound || unsafe { h.suspend_point() }.is_none() {
                    break;
                }
                if h.address() == root.address() {
                    return Some(leaf);
                }
                // SAFETY: as above; the vtable belongs to `h`'s frame.
                cur = unsafe { (h.header().as_ref().vtable.continuation)(h.header()) };
            }
        }
        at = node.local_next.get();
    }
    None
}

/// The misuse [`abandon_wait`] detects: freeing a frame that another thread
/// is resuming, or is about to.
#[cold]
#[inline(never)]
pub(crate) fn destroyed_while_resumed() -> ! {
    eprintln!(
        "coro::sync: a coroutine was destroyed while another thread was resuming it \
         (its owner must not destroy it while a primitive may wake it); aborting"
    );
    std::process::abort();
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
    /// (so in this list), unlinks it, marks it `IDLE` and returns `QUEUED`;
    /// otherwise returns the state it found (`READY`: granted, in a ready
    /// queue; `HOME`: granted, handed home; `RESUMING`; `IDLE`).
    ///
    /// # Safety
    /// `node` is alive; this is the wait list of the primitive it was
    /// registered with, accessed under that primitive's lock.
    pub(crate) unsafe fn unlink_if_queued(&mut self, node: *const WaitNode) -> u8 {
        // SAFETY: alive (caller); a `QUEUED` node is in this list, and only
        // a holder of the lock moves it out of `QUEUED`.
        unsafe {
            let state = (*node).state();
            if state == QUEUED {
                (*node).unregister_local();
                self.remove(node);
                (*node).set_state(IDLE);
            }
            state
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

/// What every waiting awaiter's `await_suspend` does: arms `node`'s home
/// wake-up (a thread-bound coroutine on a thread-safe primitive), then,
/// under the primitive's lock, `join` either names the wait list to join
/// (`Ok`: `node` is queued there and this returns `Ok(())`, stay
/// suspended) or ends the wait at once (`Err(r)`, returned as is; nothing
/// is registered). Releasing the lock publishes the node: from then on
/// another thread may resume the coroutine and drop the awaiter, so
/// nothing after this returns `Ok` may touch it.
///
/// # Safety
/// `node` is the idle node of the awaiter whose `await_suspend(handle)` is
/// running, and the awaiter stays in place in the suspended frame until it
/// is resumed or dropped (its `Drop` unlinking the node from the list
/// `join` named, see [`abandon_wait`]).
#[inline]
pub(crate) unsafe fn wait_on<F: Flavor, S, R>(
    state: &Guarded<F::Lock, S>,
    node: *const WaitNode,
    handle: CoroutineHandle,
    join: impl FnOnce(&mut S) -> Result<&mut WaitList, R>,
) -> Result<(), R> {
    // SAFETY: alive; our live coroutine; the node is not published yet
    // (caller).
    unsafe { (*node).arm_home::<F>(handle) };
    // A raw pointer, not a reference: the node may be freed by another
    // thread as soon as `with` releases the lock, before this returns.
    state.with(|s| {
        let list = join(s)?;
        // SAFETY: the node is idle, and stays in place until resumed or
        // unlinked by its awaiter's `Drop` (caller).
        unsafe {
            (*node).prepare(handle);
            list.push_back(node);
            (*node).register_local::<F>();
        }
        Ok(())
    })
}

/// What every waiting awaiter's `Drop` does when its coroutine is destroyed
/// while it waits: a node still queued is unlinked (under the primitive's
/// lock, from the list `list` selects); a node already granted something and
/// queued to run is taken out of the ready queue; a node granted and handed
/// to its home thread has its wake-up detached. Returns `true` in those last
/// two cases, so the caller can hand the grant on (a mutex's lock, a
/// semaphore's permit, a channel value); `false` if the node was idle (never
/// registered, or already resumed) or merely queued.
///
/// Aborts the process if another thread has the right to resume the
/// coroutine (see [`destroyed_while_resumed`]): its frame is about to be
/// freed under that thread.
///
/// # Safety
/// `node` is alive and was registered, if at all, with the primitive whose
/// state is `state`, in the list `list` returns.
pub(crate) unsafe fn abandon_wait<L: RawLock, S>(
    state: &Guarded<L, S>,
    list: impl FnOnce(&mut S) -> &mut WaitList,
    node: *const WaitNode,
) -> bool {
    // SAFETY: the node belongs to this list (caller); the lock is held.
    let unlink = || state.with(|s| unsafe { list(s).unlink_if_queued(node) });
    // SAFETY: alive (caller).
    unsafe { abandon_wait_with(node, unlink) }
}

/// [`abandon_wait`] for a wait list behind any lock: `unlink` takes the
/// lock and calls [`WaitList::unlink_if_queued`] on the node's list (it is
/// only called if the node may still be queued).
///
/// # Safety
/// `node` is alive; `unlink` does what is said above, on the list the node
/// was registered with, if at all.
pub(crate) unsafe fn abandon_wait_with(node: *const WaitNode, unlink: impl FnOnce() -> u8) -> bool {
    // SAFETY: alive (caller).
    let node = unsafe { &*node };
    node.unregister_local();
    // `Acquire`: a `HOME` read here is final (nothing leaves `HOME` but
    // `await_resume`) and makes the grant visible (see `set_home`).
    let seen = match node.state.load(Ordering::Acquire) {
        // The common case: `await_resume` ran (or the awaiter never
        // waited). No lock taken.
        IDLE => return false,
        HOME => HOME,
        RESUMING => RESUMING,
        _ => unlink(),
    };
    match seen {
        READY => {
            ready::cancel(node);
            true
        }
        // SAFETY: `HOME`, alive.
        HOME => unsafe { node.detach_home() },
        RESUMING => {
            // The awaiter of the coroutine this thread is resuming, dropped
            // before its `await_resume` took the grant: the coroutine was
            // destroyed in place of the resume (an abandoned `SendTask`), or
            // a wrapping awaiter did not forward `await_resume`. The grant
            // is handed on. Any other `RESUMING` node belongs to a coroutine
            // that another thread is about to resume.
            // A gated frame's canceller that a resumer left the frame to
            // (it found the frame being cancelled) destroys it marked as
            // abandoning it: that resumer is gone.
            if !ready::is_resuming_here(node.handle()) && !is_abandoning(node.handle()) {
                destroyed_while_resumed();
            }
            true
        }
        _ => false,
    }
}

/// What every waiting awaiter's `await_cancel` does: under the primitive's
/// lock, a node still `QUEUED` is unlinked from the list `list` selects
/// (`Withdrawn`: nothing will resume the coroutine for this wait, and the
/// awaiter's `Drop` then finds the node idle); a node already granted
/// (`READY`, `RESUMING`, `HOME`) answers `ResumeComing`: the resumption
/// destroys the coroutine, and the awaiter's `Drop` hands the grant on.
///
/// # Safety
/// As for [`abandon_wait`]; the coroutine is suspended on the awaiter.
pub(crate) unsafe fn cancel_wait<L: RawLock, S>(
    state: &Guarded<L, S>,
    list: impl FnOnce(&mut S) -> &mut WaitList,
    node: *const WaitNode,
) -> CancelOutcome {
    // SAFETY: the node belongs to this list (caller); the lock is held.
    let unlink = || state.with(|s| unsafe { list(s).unlink_if_queued(node) });
    // SAFETY: alive (caller).
    unsafe { cancel_wait_with(node, unlink) }
}

/// [`cancel_wait`] for a wait list behind any lock: `unlink` takes the lock
/// and calls [`WaitList::unlink_if_queued`] on the node's list (only called
/// if the node may still be queued).
///
/// # Safety
/// As for [`abandon_wait_with`].
pub(crate) unsafe fn cancel_wait_with(node: *const WaitNode, unlink: impl FnOnce() -> u8) -> CancelOutcome {
    // SAFETY: alive (caller).
    let node = unsafe { &*node };
    // Only the awaiter makes a node `QUEUED`: one that is not `QUEUED` now
    // was granted already (or never registered) and stays so.
    if node.state() == QUEUED && unlink() == QUEUED {
        CancelOutcome::Withdrawn
    } else {
        CancelOutcome::ResumeComing
    }
}

/// Models of the node state machine (`.ci/loom`; what they cover is in the
/// "Model checking" section of docs/soundness.md): a real thread-safe
/// [`Semaphore`](super::semaphore::Semaphore) (its spin lock, wait list,
/// `wait_on`, `abandon_wait`, the ready queues and the `HOME` hand-off
/// through `HomeWake`), waited on by [`ProbeFrame`] coroutines and released
/// on another modelled thread. A permit is the grant: it must end up
/// either with the coroutine that was resumed or back in the semaphore,
/// once.
///
/// [`ProbeFrame`]: crate::language::atomic::probe::ProbeFrame
#[cfg(all(test, loom))]
mod loom_tests {
    use loom::thread::{self, JoinHandle};

    use crate::home::resume_woken;
    use crate::language::atomic::probe::ProbeFrame;
    use crate::language::atomic::Arc;
    use crate::library::sync::semaphore::Semaphore;
    use crate::library::sync::ThreadSafe;

    /// Made, and its lock taken once, on this thread: under loom the lock
    /// word is made on first use (`ConstAtomicBool`), which must happen
    /// before another thread can see the semaphore, as `new` would have.
    fn empty_semaphore() -> Arc<Semaphore<ThreadSafe>> {
        let sem = Arc::new(Semaphore::<ThreadSafe>::new(0));
        assert_eq!(sem.available_permits(), 0);
        sem
    }

    fn release_one_on_another_thread(sem: &Arc<Semaphore<ThreadSafe>>) -> JoinHandle<()> {
        let sem = sem.clone();
        thread::spawn(move || sem.release(1))
    }

    #[test]
    fn loom_a_release_on_another_thread_racing_the_waiters_destruction_gives_the_permit_back_once() {
        loom::model(|| {
            let sem = empty_semaphore();
            // A `Task`: thread-bound, so a release elsewhere sends it home.
            let waiter = ProbeFrame::new(sem.acquire(), true);
            // SAFETY: the frame stays in place until the model ends.
            assert!(unsafe { waiter.co_await() }, "no permit yet: it waits");
            let releaser = release_one_on_another_thread(&sem);
            // Destroyed on its own thread while it waits: the awaiter's drop
            // unlinks the node, or finds it `HOME` and passes the permit on.
            assert!(waiter.destroy());
            resume_woken();
            releaser.join().unwrap();
            // A wake-up posted before or after the drop does nothing.
            resume_woken();
            assert_eq!(waiter.resumes(), 0, "a destroyed coroutine was resumed");
            assert_eq!(sem.available_permits(), 1, "the permit was lost or handed on twice");
        });
    }

    #[test]
    fn loom_a_release_on_another_thread_resumes_the_waiter_at_home_or_its_destruction_gives_the_permit_back() {
        loom::model(|| {
            let sem = empty_semaphore();
            let waiter = ProbeFrame::new(sem.acquire(), true);
            // SAFETY: the frame stays in place until the model ends.
            assert!(unsafe { waiter.co_await() });
            let releaser = release_one_on_another_thread(&sem);
            // The home thread runs its wake-ups; if the coroutine was not
            // resumed by then, it is destroyed.
            resume_woken();
            if waiter.resumes() == 0 {
                assert!(waiter.destroy());
            }
            releaser.join().unwrap();
            resume_woken();
            let resumed = waiter.resumes();
            if let Some(permit) = waiter.take_output() {
                permit.forget();
            }
            assert_eq!(resumed + sem.available_permits(), 1, "the permit was lost or granted twice");
        });
    }

    #[test]
    fn loom_a_release_racing_the_registration_resumes_a_send_waiter_once_where_the_permit_reaches_it() {
        loom::model(|| {
            let sem = empty_semaphore();
            // A `SendTask`: resumed on the thread whose release grants it.
            let waiter = ProbeFrame::new(sem.acquire(), false);
            let releaser = release_one_on_another_thread(&sem);
            // SAFETY: the frame stays in place until the model ends.
            let suspended = unsafe { waiter.co_await() };
            releaser.join().unwrap();
            // Whether it waited or found the permit, it went on exactly once
            // (the probe's memory checks that a resume on the releasing
            // thread comes after the registration, not during it).
            assert_eq!(waiter.resumes(), 1, "suspended: {suspended}");
            waiter.take_output().expect("resumed with its permit").forget();
            assert_eq!(sem.available_permits(), 0);
        });
    }

    #[test]
    fn loom_a_permit_granted_to_a_waiter_destroyed_at_home_goes_to_the_next_waiter_once() {
        loom::model(|| {
            let sem = empty_semaphore();
            let first = ProbeFrame::new(sem.acquire(), true);
            let second = ProbeFrame::new(sem.acquire(), false);
            // SAFETY: both frames stay in place until the model ends.
            assert!(unsafe { first.co_await() });
            // SAFETY: as above.
            assert!(unsafe { second.co_await() });
            let releaser = release_one_on_another_thread(&sem);
            // The first is destroyed: unlinked before the release (which
            // then grants the second on the releasing thread), or granted and
            // handed home first (its drop passes the permit to the second,
            // resumed here).
            assert!(first.destroy());
            releaser.join().unwrap();
            resume_woken();
            assert_eq!(first.resumes(), 0);
            assert_eq!(second.resumes(), 1, "the permit did not reach the next waiter exactly once");
            second.take_output().expect("resumed with its permit").forget();
            assert_eq!(sem.available_permits(), 0);
        });
    }
}
