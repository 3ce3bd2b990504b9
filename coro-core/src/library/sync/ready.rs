//! Resuming woken waiters: a per-thread ready queue with bounded nesting.
//!
//! A primitive that grants waiters what they waited for (an unlock, a
//! `set`, a send, ...) moves their nodes, under its lock, from its wait list
//! to the ready queue of the *releasing* thread ([`schedule`]), releases its
//! lock, then calls [`run`], which resumes the queued coroutines in FIFO
//! order before returning — inline, as cppcoro does.
//!
//! A resumed coroutine often releases something in turn (a mutex chain: each
//! waiter takes the lock, works, unlocks, which resumes the next). Resuming
//! inline all the way down would nest one stack level per waiter. So `run`
//! nests at most [`MAX_NESTING`] times on a thread: a release deeper than
//! that only queues its waiters, and the innermost running `run` loop
//! resumes them when the coroutine it is resuming suspends. Chains of any
//! length therefore run in bounded stack.
//!
//! The queue is intrusive (it links the waiters' own nodes), so waking
//! allocates nothing. A node in the queue has been granted its resource but
//! not yet resumed; if its coroutine is destroyed meanwhile (by a coroutine
//! resumed before it), its awaiter's `Drop` takes it out with [`cancel`]
//! and hands the resource on.
//!
//! # Thread-bound coroutines released on another thread
//!
//! A coroutine whose frame is not `Send` (a `Task`, an `AsyncGenerator`)
//! must only run on its own thread. When it waits on a thread-safe
//! primitive, its awaiter makes a [`HomeWake`] (one small allocation,
//! before registering: `WaitNode::arm_home`), shared between the node and,
//! later, the home thread's wake-up queue. A release on another thread does
//! not put such a node in its ready queue: under the primitive's lock it
//! marks the node `HOME` (the grant is the coroutine's from then on) and
//! puts a clone of the `Arc` in this thread's *outbox*; [`run`], called
//! once the lock is released, posts the outbox to the home threads'
//! [`WakeQueue`]s, whose [`resume_woken`](crate::resume_woken) resumes the
//! coroutines there. A release on the coroutine's own thread resumes it
//! inline as usual.
//!
//! The wake-up never points into the frame unguarded: it holds the handle,
//! and only resumes it after winning `WAITING -> RESUMED` on its state. An
//! awaiter destroyed before that (its coroutine destroyed on its own thread
//! before the wake-up ran) swaps the state to `DETACHED`, hands the grant
//! on, and the stale wake-up, whenever it runs, does nothing. The
//! releasing thread, once the primitive's lock is released, only touches
//! its own `Arc`. The wake-up refers to the home queue weakly, so a
//! wake-up still queued when its home thread exits is freed with the queue
//! instead of keeping it alive.
//!
//! # Destroyed while another thread resumes it
//!
//! Taking a node out of the ready queue, the resuming thread marks it
//! `RESUMING` (not `IDLE`) and records the coroutine as the one it is
//! resuming (a thread-local, saved and restored around each resume, so
//! nested loops are fine). The resumed coroutine's `await_resume` marks the
//! node `IDLE`, and its awaiter's `Drop` then has nothing to check. An
//! awaiter's `Drop` that finds `RESUMING` is legitimate only inside that
//! very resume (a wrapping awaiter that drops the inner one without calling
//! its `await_resume`, or an abandoned `SendTask` destroyed in place of the
//! resume): the coroutine is the one this thread is resuming, and the grant
//! is handed on.
//! (A `SendTask` whose cancel a resumer found under way is destroyed by its
//! canceller after that resumer left: the canceller marks itself as
//! abandoning the frame, `frame::is_abandoning`, and the node it finds
//! `RESUMING` is accepted the same way.)
//! Anywhere else — another thread, or this thread before the resume — it is
//! destroying a coroutine that another thread has the right to resume: its
//! owner dropped it while a release could still resume it. Like a `READY`
//! node found in another thread's ready queue ([`cancel`]), that aborts
//! before the frame is freed, rather than letting the resume run in freed
//! memory. On the path that resumes this costs a store of `RESUMING`
//! instead of `IDLE`, the thread-local swap around the resume, and one
//! relaxed store in `await_resume`.
//!
//! What remains undetected is the frame-level race this cannot see: the
//! destroying thread may drop other locals of the frame before it reaches
//! the awaiter (the abort comes at the awaiter's `Drop`), and a promise
//! whose `before_resume` refuses the resume leaves the node `RESUMING`, so
//! destroying that coroutine later aborts too.
//!
//! # Model checking
//!
//! The ready queue and the outbox are thread-locals touched by their own
//! thread only (`language::atomic::thread_local!`: one per modelled thread
//! under loom). What crosses threads — a release elsewhere marking a node
//! `HOME` and posting its `HomeWake`, racing the awaiter's `Drop` — is
//! model-checked by the `loom_tests` of `waiter.rs`.

use core::cell::Cell;
use core::ptr;
use core::sync::atomic::{AtomicPtr, Ordering};
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::Arc;

use super::waiter::{destroyed_while_resumed, WaitList, WaitNode, READY, RESUMING};
use crate::home::{HomeResume, Wakeup};
use crate::language::atomic::thread_local;
use crate::language::handle::CoroutineHandle;

/// How many [`run`] loops may be nested on one thread's stack.
pub(crate) const MAX_NESTING: u32 = 16;

struct ReadyQueue {
    list: Cell<WaitList>,
    nesting: Cell<u32>,
    /// Wake-ups of thread-bound coroutines of other threads granted here,
    /// to post to their home threads once the primitive's lock is released.
    ///
    /// A FIFO linked through [`HomeWake::next`], each entry an `Arc` turned
    /// into a raw pointer: pushing allocates nothing (it happens under the
    /// primitive's lock), and the thread-local keeps having no destructor,
    /// so primitives stay usable from other thread-locals' destructors. It
    /// is empty whenever no release is under way: every release that fills
    /// it calls [`run`] next.
    outbox: Cell<(*const HomeWake, *const HomeWake)>,
    /// The coroutine the innermost `run` loop on this thread is resuming.
    resuming: Cell<Option<CoroutineHandle>>,
}

thread_local! {
    static READY_QUEUE: ReadyQueue = const {
        ReadyQueue {
            list: Cell::new(WaitList::new()),
            nesting: Cell::new(0),
            outbox: Cell::new((ptr::null(), ptr::null())),
            resuming: Cell::new(None),
        }
    };
}

/// How a thread-bound coroutine granted on another thread gets back to its
/// own thread: shared by its wait node and, once posted, its home thread's
/// wake-up queue (see the module docs).
pub(crate) struct HomeWake {
    /// The coroutine, its home, and the race between the wake-up and the
    /// awaiter's `Drop`.
    home: HomeResume,
    /// The next entry of the releasing thread's outbox (a HomeWake is put
    /// in an outbox at most once: it is granted once). Only that thread
    /// touches it; atomic only to keep the block `Sync` without unsafe.
    next: AtomicPtr<HomeWake>,
}

impl HomeWake {
    /// The hand-off of `handle`, a thread-bound coroutine suspended on this
    /// thread, its home.
    pub(crate) fn new(handle: CoroutineHandle) -> Arc<HomeWake> {
        Arc::new(HomeWake { home: HomeResume::new(handle), next: AtomicPtr::new(ptr::null_mut()) })
    }

    /// Whether this is the coroutine's home thread.
    #[inline]
    pub(crate) fn is_home_thread(&self) -> bool {
        self.home.is_home_thread()
    }

    /// The awaiter's side: a wake-up that has not run never will
    /// ([`HomeResume::detach`]).
    pub(crate) fn detach(&self) -> bool {
        self.home.detach()
    }

    /// Posts the wake-up to the home thread (from [`run`], or a
    /// `SendSharedTask` finishing, on the releasing thread, no lock held).
    /// Nothing to do if that thread has exited. May wake a waker that
    /// [`notify_when_woken`](crate::schedule::notify_when_woken) registered: user code.
    pub(crate) fn post(self: Arc<Self>) {
        self.home.post(self.clone());
    }
}

impl Wakeup for HomeWake {
    fn run(self: Arc<Self>) {
        // SAFETY: the release granted the coroutine and handed it here (its
        // node is `HOME`, out of every list), so nobody else resumes it; its
        // awaiter detaches before going away; wake-up queues are only run
        // by their own thread.
        unsafe { self.home.run() }
    }
}

/// Moves a granted waiter to this thread's ready queue; call [`run`] once
/// the primitive's lock is released.
///
/// # Safety
/// `node` has just been taken out of its primitive's wait list, under the
/// primitive's lock, and is alive (its coroutine is suspended on it).
#[inline]
pub(crate) unsafe fn schedule(node: *const WaitNode) {
    // SAFETY: alive (caller); granted, so no longer a wait (a local node is
    // taken out on the thread that registered it: local primitives are
    // released on their own thread).
    unsafe { (*node).unregister_local() };
    READY_QUEUE.with(|q| {
        // SAFETY: alive, registered, just unlinked under the lock (caller).
        if let Some(home) = unsafe { (*node).hand_home() } {
            // A thread-bound coroutine of another thread: it goes home.
            // From `HOME` on the node is in no list and this thread keeps
            // only its own `Arc`, in its outbox.
            push_outbox(q, home);
            return;
        }
        let mut list = q.list.get();
        // SAFETY: `node` is alive and in no list (caller); it stays in
        // place until `run` resumes it or its awaiter's `Drop` cancels it.
        unsafe {
            (*node).set_state(READY);
            list.push_back(node);
        }
        q.list.set(list);
    })
}

fn push_outbox(q: &ReadyQueue, home: Arc<HomeWake>) {
    let raw = Arc::into_raw(home);
    let (head, tail) = q.outbox.get();
    if tail.is_null() {
        q.outbox.set((raw, raw));
    } else {
        // SAFETY: `tail` is an entry of this thread's outbox, whose `Arc`
        // the outbox owns, so alive.
        unsafe { (*tail).next.store(raw.cast_mut(), Ordering::Relaxed) };
        q.outbox.set((head, raw));
    }
}

fn pop_outbox(q: &ReadyQueue) -> Option<Arc<HomeWake>> {
    let (head, tail) = q.outbox.get();
    if head.is_null() {
        return None;
    }
    // SAFETY: `head` came from `Arc::into_raw` in `push_outbox` and is
    // taken out of the outbox here, once: this gives back that `Arc`.
    let home = unsafe { Arc::from_raw(head) };
    let next = home.next.swap(ptr::null_mut(), Ordering::Relaxed);
    q.outbox.set(if head == tail { (ptr::null(), ptr::null()) } else { (next, tail) });
    Some(home)
}

/// Moves every waiter of `waiters` to this thread's ready queue.
///
/// # Safety
/// `waiters` is a primitive's wait list, accessed under its lock.
#[inline]
pub(crate) unsafe fn schedule_all(waiters: &mut WaitList) {
    while let Some(node) = waiters.pop_front() {
        // SAFETY: just taken out of the wait list, under its lock (caller).
        unsafe { schedule(node) }
    }
}

/// For an `await_suspend` that completed its operation (so will not wait)
/// but released other waiters on the way: queues this coroutine behind
/// them, resumes the queue, and returns `true` ("stay suspended").
///
/// Resuming the released coroutines from inside `await_suspend` and then
/// returning `false` would be unsound: one of them may own this coroutine
/// and destroy it — it is suspended — and the frame would then continue
/// after its `await_suspend` in freed memory. Queued like any released
/// waiter, this coroutine is resumed by the queue once they have run
/// (possibly before this returns, which the frame allows), or cancelled
/// from the queue by its awaiter's `Drop` if one of them destroys it.
///
/// # Safety
/// `node` is the idle node of the awaiter whose `await_suspend(handle)` is
/// running; that awaiter is not touched after this call.
pub(crate) unsafe fn park_behind_released(node: *const WaitNode, handle: CoroutineHandle) -> bool {
    // SAFETY: the node is idle and in no list (caller); it stays in place
    // in the suspended frame until resumed or cancelled.
    unsafe {
        (*node).prepare(handle);
        schedule(node);
    }
    run();
    true
}

/// Resumes the coroutines in this thread's ready queue, in FIFO order,
/// unless [`MAX_NESTING`] loops are already running on this thread (the
/// innermost of them will resume them).
///
/// A panic escaping a resumed coroutine does not stop the others: the first
/// one is rethrown once the queue is empty.
pub(crate) fn run() {
    READY_QUEUE.with(|q| {
        // First the hand-offs: posting one may wake a waker (user code),
        // never resumes anything on this thread.
        let mut first_panic = None;
        while let Some(home) = pop_outbox(q) {
            if let Err(p) = catch_unwind(AssertUnwindSafe(|| home.post())) {
                first_panic.get_or_insert(p);
            }
        }
        let nesting = q.nesting.get();
        if nesting >= MAX_NESTING || q.list.get().is_empty() {
            rethrow(first_panic);
            return;
        }
        q.nesting.set(nesting + 1);
        struct Leave<'a>(&'a Cell<u32>, u32);
        impl Drop for Leave<'_> {
            fn drop(&mut self) {
                self.0.set(self.1);
            }
        }
        let _leave = Leave(&q.nesting, nesting);
        loop {
            let mut list = q.list.get();
            let Some(node) = list.pop_front() else { break };
            q.list.set(list);
            // SAFETY: a node in the ready queue is alive (its coroutine is
            // suspended on it) and belongs to this thread, which alone may
            // resume it. `RESUMING` until the coroutine's `await_resume`
            // marks it `IDLE`: an awaiter's `Drop` seeing it meanwhile,
            // other than from inside the resume below (`resuming`), is a
            // destroy racing with this resume, and aborts (module docs).
            let handle = unsafe {
                let handle = (*node).handle();
                (*node).set_state(RESUMING);
                handle
            };
            let outer = q.resuming.replace(Some(handle));
            // SAFETY: the primitive granted this waiter and took it out of
            // its wait list, so nobody else resumes it; it is suspended (the
            // awaiter registered it from `await_suspend`) and alive (its
            // awaiter's `Drop` would have cancelled it, or aborted).
            let resumed = catch_unwind(AssertUnwindSafe(|| unsafe { handle.resume() }));
            q.resuming.set(outer);
            if let Err(p) = resumed {
                first_panic.get_or_insert(p);
            }
        }
        rethrow(first_panic);
    })
}

fn rethrow(first_panic: Option<Box<dyn core::any::Any + Send>>) {
    if let Some(p) = first_panic {
        // A release made while a panic unwinds (a guard dropped during
        // unwinding) cannot rethrow without aborting: the panic already
        // on its way wins, and this payload is dropped.
        if !std::thread::panicking() {
            resume_unwind(p);
        }
    }
}

/// Whether this thread's ready queue and outbox are empty (no granted
/// waiter left to resume here).
pub(crate) fn is_idle() -> bool {
    READY_QUEUE.try_with(|q| q.list.get().is_empty() && q.outbox.get().0.is_null()).unwrap_or(false)
}

/// Whether `handle` is the coroutine that the innermost [`run`] loop of
/// this thread is resuming: the only one whose awaiter may legitimately be
/// dropped while its node is `RESUMING` (from inside that resume, after the
/// `co_await!` completed).
pub(crate) fn is_resuming_here(handle: CoroutineHandle) -> bool {
    READY_QUEUE.with(|q| q.resuming.get() == Some(handle))
}

/// Takes `node`, which is `READY`, out of this thread's ready queue: its
/// coroutine is being destroyed before it could be resumed. The caller
/// then hands on whatever the primitive had granted it.
///
/// If the node is not in this thread's queue, another thread is about to
/// resume the coroutine being destroyed: the frame would be used after it
/// is freed, so the process is aborted.
pub(crate) fn cancel(node: *const WaitNode) {
    let found = READY_QUEUE.with(|q| {
        let mut list = q.list.get();
        if !list.contains(node) {
            return false;
        }
        // SAFETY: `node` is in this list.
        unsafe {
            list.remove(node);
            (*node).finish();
        }
        q.list.set(list);
        true
    });
    if !found {
        destroyed_while_resumed();
    }
}
