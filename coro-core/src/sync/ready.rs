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

use core::cell::Cell;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};

use super::waiter::{WaitList, WaitNode, IDLE, READY};
use crate::handle::CoroutineHandle;

/// How many [`run`] loops may be nested on one thread's stack.
pub(crate) const MAX_NESTING: u32 = 16;

struct ReadyQueue {
    list: Cell<WaitList>,
    nesting: Cell<u32>,
}

thread_local! {
    static READY_QUEUE: ReadyQueue = const {
        ReadyQueue { list: Cell::new(WaitList::new()), nesting: Cell::new(0) }
    };
}

/// Moves a granted waiter to this thread's ready queue; call [`run`] once
/// the primitive's lock is released.
///
/// # Safety
/// `node` has just been taken out of its primitive's wait list, under the
/// primitive's lock, and is alive (its coroutine is suspended on it).
#[inline]
pub(crate) unsafe fn schedule(node: *const WaitNode) {
    READY_QUEUE.with(|q| {
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
        let nesting = q.nesting.get();
        if nesting >= MAX_NESTING || q.list.get().is_empty() {
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
        let mut first_panic = None;
        loop {
            let mut list = q.list.get();
            let Some(node) = list.pop_front() else { break };
            q.list.set(list);
            // SAFETY: a node in the ready queue is alive (its coroutine is
            // suspended on it) and belongs to this thread, which alone may
            // resume it; once `IDLE`, nothing refers to it any more.
            let handle = unsafe {
                let handle = (*node).handle();
                (*node).set_state(IDLE);
                handle
            };
            // SAFETY: the primitive granted this waiter and took it out of
            // its wait list, so nobody else resumes it; it is suspended (the
            // awaiter registered it from `await_suspend`) and alive (its
            // awaiter's `Drop` would have cancelled it).
            if let Err(p) = catch_unwind(AssertUnwindSafe(|| unsafe { handle.resume() })) {
                first_panic.get_or_insert(p);
            }
        }
        if let Some(p) = first_panic {
            // A release made while a panic unwinds (a guard dropped during
            // unwinding) cannot rethrow without aborting: the panic already
            // on its way wins, and this payload is dropped.
            if !std::thread::panicking() {
                resume_unwind(p);
            }
        }
    })
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
            (*node).set_state(IDLE);
        }
        q.list.set(list);
        true
    });
    if !found {
        eprintln!(
            "coro::sync: a coroutine was destroyed while another thread was resuming it \
             (its owner must not destroy it while a primitive may wake it); aborting"
        );
        std::process::abort();
    }
}
