//! Bringing a thread-bound coroutine home when a `SendTask` it awaits
//! finishes on another thread.
//!
//! A `SendTask` may move (`co_await!(pool.schedule())`) and finish on a
//! worker. Its final awaiter transfers to its continuation, the awaiting
//! coroutine; if that is a `Task`, it must not run on the worker. So a
//! thread-bound coroutine awaiting a `SendTask` does not make itself the
//! continuation: a [`HomeHop`], a small stand-in frame, is. Resumed on the
//! home thread, the hop transfers straight to the awaiting coroutine (a
//! symmetric transfer, as without it); resumed anywhere else, it queues the
//! coroutine on its home thread's wake-up queue
//! ([`resume_woken`](crate::resume_woken)) and returns.
//!
//! If the awaiting coroutine is destroyed while queued, its awaiter detaches
//! the hop and the queued wake-up does nothing.
//!
//! The hop is shared by the awaiter and the task(s): the handle given as
//! the continuation owns one strong count of its `Arc`, taken back by the
//! hop's resume, or by the awaiter ([`HopSlot::retract`]) when the tasks
//! will never transfer to it (they were detached or destroyed). So the hop
//! outlives a task that finishes on another thread while the awaiting
//! coroutine is destroyed.

use core::ptr::NonNull;
use std::sync::Arc;

use crate::home::{HomeResume, Wakeup};
use crate::language::frame::{counted_handle, give_back_count, no_destroy, take_counted, Header, VTable};
use crate::language::handle::CoroutineHandle;

/// The stand-in continuation; see the module docs.
#[repr(C)]
pub(crate) struct HomeHop {
    /// First, so that a handle to the hop points at it.
    header: Header,
    /// The thread-bound coroutine awaiting the task, and the race between
    /// its wake-up and its awaiter's drop.
    parent: HomeResume,
}

/// No continuation for async backtraces: the hop stands between a task
/// that may run on another thread and a coroutine that may be destroyed on
/// its own meanwhile.
static HOME_HOP_VTABLE: VTable = VTable::stand_in(hop_resume, no_destroy);

impl HomeHop {
    /// A hop for `parent`, made on its home thread (in its `await_suspend`).
    pub(crate) fn new(parent: CoroutineHandle) -> Arc<HomeHop> {
        Arc::new(HomeHop { header: Header::stand_in(&HOME_HOP_VTABLE), parent: HomeResume::new(parent) })
    }

    /// The awaiting coroutine is being destroyed (its awaiter is dropped):
    /// a wake-up still queued must not resume it.
    pub(crate) fn detach(&self) {
        self.parent.detach();
    }
}

/// An awaiter's way home: the hop it gave the awaited task(s), if one was
/// needed, detached when the awaiter is dropped (its coroutine resumed or
/// destroyed). Used by every awaiter whose tasks may finish on another
/// thread: `TaskAwaiter`, `when_all`, `when_any`.
#[derive(Default)]
pub(crate) struct HopSlot {
    /// The hop, whose handle given as the continuation owns one more strong
    /// count (until `hop_resume` or `retract` takes it back).
    hop: Option<Arc<HomeHop>>,
}

impl HopSlot {
    /// The continuation to give tasks that may finish on another thread:
    /// `awaiting` itself, or, when it is thread-bound and
    /// `may_finish_elsewhere`, a hop that brings it home.
    ///
    /// # Safety
    /// `awaiting` is live: the frame's own handle, in `await_suspend`.
    pub(crate) unsafe fn continuation(
        &mut self,
        awaiting: CoroutineHandle,
        may_finish_elsewhere: bool,
    ) -> CoroutineHandle {
        // SAFETY: live (caller).
        if may_finish_elsewhere && unsafe { awaiting.is_thread_bound() } {
            counted_handle(self.hop.insert(HomeHop::new(awaiting)))
        } else {
            awaiting
        }
    }

    /// The continuation given by [`continuation`](Self::continuation) will
    /// never be resumed (the tasks were detached or destroyed): takes back
    /// the strong count it owned. Does nothing if no hop was made.
    /// The hop is dropped too: never resumed, it needs no detaching.
    pub(crate) fn retract(&mut self) {
        if let Some(hop) = self.hop.take() {
            // SAFETY: `counted_handle` leaked one strong count for the
            // continuation, which nothing will take back now.
            unsafe { give_back_count(&hop) };
        }
    }
}

impl Drop for HopSlot {
    fn drop(&mut self) {
        if let Some(hop) = &self.hop {
            hop.detach();
        }
    }
}

unsafe fn hop_resume(h: NonNull<Header>) -> Option<NonNull<Header>> {
    // SAFETY: only `HomeHop::counted_handle` makes handles with this
    // vtable, each owning one strong count, taken back here: the task
    // transfers here once (and its owner then does not retract it).
    let hop: Arc<HomeHop> = unsafe { take_counted(h) };
    if hop.parent.is_home_thread() {
        // Nothing was posted, so no wake-up will race the awaiter, which
        // keeps the coroutine alive until it is resumed.
        return Some(hop.parent.handle().header());
    }
    // The task transfers here once, so this posts at most once.
    hop.parent.post(hop.clone());
    None
}

impl Wakeup for HomeHop {
    fn run(self: Arc<Self>) {
        // SAFETY: the coroutine is suspended awaiting the finished task,
        // which transferred to this hop (so resumes nothing else); its
        // awaiter detaches the hop before it can be destroyed; this is its
        // home thread (`resume_woken` runs only there).
        unsafe { self.parent.run() }
    }
}
