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

use core::ptr::NonNull;
use std::sync::{Arc, Weak};

use crate::frame::{no_destroy, Header, VTable};
use crate::handle::CoroutineHandle;
use crate::home::{HomeResume, Wakeup};

/// The stand-in continuation; see the module docs.
#[repr(C)]
pub(crate) struct HomeHop {
    /// First, so that a handle to the hop points at it.
    header: Header,
    /// The thread-bound coroutine awaiting the task, and the race between
    /// its wake-up and its awaiter's drop.
    parent: HomeResume,
    /// This hop's own `Arc`, to queue it from a raw handle.
    this: Weak<HomeHop>,
}

static HOME_HOP_VTABLE: VTable =
    VTable { resume: hop_resume, destroy: no_destroy, continuation: hop_continuation, thread_bound: false };

impl HomeHop {
    /// A hop for `parent`, made on its home thread (in its `await_suspend`).
    pub(crate) fn new(parent: CoroutineHandle) -> Arc<HomeHop> {
        Arc::new_cyclic(|this| HomeHop {
            header: Header::stand_in(&HOME_HOP_VTABLE),
            parent: HomeResume::new(parent),
            this: this.clone(),
        })
    }

    /// The handle to give the awaited task as its continuation. Valid while
    /// the `Arc` lives.
    pub(crate) fn handle(&self) -> CoroutineHandle {
        CoroutineHandle::from_header(NonNull::from(&self.header))
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
pub(crate) struct HopSlot(Option<Arc<HomeHop>>);

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
            self.0.insert(HomeHop::new(awaiting)).handle()
        } else {
            awaiting
        }
    }
}

impl Drop for HopSlot {
    fn drop(&mut self) {
        if let Some(hop) = &self.0 {
            hop.detach();
        }
    }
}

unsafe fn hop_resume(h: NonNull<Header>) -> Option<NonNull<Header>> {
    // SAFETY: only `HomeHop::handle` makes handles with this vtable; the
    // header is the first field of a `HomeHop` kept alive by the awaiter
    // that gave it to the task, until the task has transferred here.
    let hop = unsafe { &*h.cast::<HomeHop>().as_ptr() };
    if hop.parent.is_home_thread() {
        // Nothing was posted, so no wake-up will race the awaiter.
        return Some(hop.parent.handle().header());
    }
    // The task transfers here once, so this posts at most once.
    if let Some(this) = hop.this.upgrade() {
        hop.parent.post(this);
    }
    None
}

unsafe fn hop_continuation(h: NonNull<Header>) -> Option<CoroutineHandle> {
    // SAFETY: as in `hop_resume`; an async backtrace walks live chains only.
    Some(unsafe { (*h.cast::<HomeHop>().as_ptr()).parent.handle() })
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
