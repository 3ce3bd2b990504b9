//! A coroutine for the loom models: a stand-in frame (a real [`Header`],
//! resumed through the real [`CoroutineHandle::resume`]) whose "body" is
//! one `co_await!` of a real awaiter. The models drive the library's
//! protocols with it where a coroutine would be, without the
//! `#[coro::coroutine]` lowering (which loom need not see: what races is
//! the awaiter and whoever resumes the handle it registered).
//!
//! The frame's memory is the awaiter, in a loom `UnsafeCell`: the frame's
//! own write before it suspends, the resume (`await_resume`, on whichever
//! thread resumes it) and the destruction (the awaiter's `Drop`) are
//! tracked accesses, so a resume that is not ordered after the suspension
//! (a handle published too early) or that can overlap the destruction (a
//! coroutine resumed after its awaiter was dropped) is a race loom reports,
//! and a second resume or a resume after the destruction panics.

use core::ptr::NonNull;

use loom::cell::UnsafeCell;

use crate::language::atomic::{AtomicUsize, Ordering};
use crate::language::awaiter::{AwaitSuspend, Awaiter, SuspendOutcome};
use crate::language::frame::{no_continuation, no_destroy, Header, VTable};
use crate::language::handle::CoroutineHandle;

/// See the module docs. Boxed: it stays in place while suspended.
#[repr(C)]
pub(crate) struct ProbeFrame<A: Awaiter> {
    /// First, so that the handle points at it.
    header: Header,
    /// The awaiter the coroutine is suspended on; `None` once resumed or
    /// destroyed.
    awaiter: UnsafeCell<Option<A>>,
    /// What `await_resume` returned, kept until the model takes it.
    output: UnsafeCell<Option<A::Output>>,
    resumes: AtomicUsize,
}

impl<A: Awaiter> ProbeFrame<A> {
    /// A `Task`'s kind of frame: not `Send`, so a release on another thread
    /// sends it home.
    const THREAD_BOUND: VTable =
        VTable { resume: probe_resume::<A>, destroy: no_destroy, continuation: no_continuation, thread_bound: true };
    /// A `SendTask`'s kind of frame: resumed wherever it is released.
    const SEND: VTable =
        VTable { resume: probe_resume::<A>, destroy: no_destroy, continuation: no_continuation, thread_bound: false };

    /// A coroutine about to `co_await!` `awaiter`, on this thread.
    pub(crate) fn new(awaiter: A, thread_bound: bool) -> Box<Self> {
        let vtable: &'static VTable = if thread_bound { &Self::THREAD_BOUND } else { &Self::SEND };
        Box::new(ProbeFrame {
            header: Header::stand_in(vtable),
            awaiter: UnsafeCell::new(Some(awaiter)),
            output: UnsafeCell::new(None),
            resumes: AtomicUsize::new(0),
        })
    }

    pub(crate) fn handle(&self) -> CoroutineHandle {
        CoroutineHandle::from_header(NonNull::from(&self.header))
    }

    /// The `co_await!`, as the resume loop runs it: `await_ready`, then,
    /// suspended first, `await_suspend` with this frame's handle. Returns
    /// `true` if the coroutine stays suspended (someone else resumes or
    /// destroys it), `false` if it went on past the `co_await!` here.
    ///
    /// # Safety
    /// Called once, and `self` stays in place until the coroutine is
    /// resumed or [`destroy`](Self::destroy)ed.
    pub(crate) unsafe fn co_await(&self) -> bool {
        // The frame's own write before it suspends (tracked); after it, the
        // awaiter is reached through a plain pointer, as a suspended frame
        // is: once registered, the handle is another thread's.
        let awaiter: *mut Option<A> = self.awaiter.with_mut(|a| a);
        // SAFETY: nothing else has the handle yet: this thread owns the
        // awaiter until `await_suspend` publishes it.
        let awaiter = unsafe { (*awaiter).as_mut() }.expect("a probe coroutine awaits once");
        if awaiter.await_ready() {
            self.run_on();
            return false;
        }
        // SAFETY: the coroutine is suspended on `awaiter` (this frame, in
        // place until resumed or destroyed: caller); nothing touches the
        // awaiter after this call.
        match unsafe { awaiter.await_suspend(self.handle()) }.into_outcome() {
            SuspendOutcome::Suspend => true,
            SuspendOutcome::Resume => {
                self.run_on();
                false
            }
            SuspendOutcome::Transfer(next) => {
                // SAFETY: the awaiter's contract for a returned handle.
                unsafe { next.resume() };
                true
            }
        }
    }

    /// The body after the `co_await!`: `await_resume`, keeping its value.
    fn run_on(&self) {
        let awaiter = self.awaiter.with_mut(|a| {
            // SAFETY: a tracked access (see the module docs).
            unsafe { (*a).take() }
        });
        let output = awaiter.expect("a probe coroutine resumed twice, or after it was destroyed").await_resume();
        // SAFETY: a tracked access, on the thread running the coroutine.
        self.output.with_mut(|o| unsafe { *o = Some(output) });
        self.resumes.fetch_add(1, Ordering::Relaxed);
    }

    /// Destroys the coroutine while it is suspended: drops its awaiter (its
    /// `Drop` runs) if it was not resumed. Returns whether it was there.
    pub(crate) fn destroy(&self) -> bool {
        // SAFETY: a tracked access (see the module docs).
        let awaiter = self.awaiter.with_mut(|a| unsafe { (*a).take() });
        let was_there = awaiter.is_some();
        drop(awaiter);
        was_there
    }

    /// How many times the coroutine went on past its `co_await!`.
    pub(crate) fn resumes(&self) -> usize {
        self.resumes.load(Ordering::Relaxed)
    }

    /// What its `await_resume` returned, if it was resumed.
    pub(crate) fn take_output(&self) -> Option<A::Output> {
        // SAFETY: a tracked access (see the module docs).
        self.output.with_mut(|o| unsafe { (*o).take() })
    }
}

/// The frame's resume entry point: the body runs on past its `co_await!`.
///
/// # Safety
/// `h` is the header of a live `ProbeFrame<A>`.
unsafe fn probe_resume<A: Awaiter>(h: NonNull<Header>) -> Option<NonNull<Header>> {
    // SAFETY: the header is the first field of a live `ProbeFrame<A>`
    // (`#[repr(C)]`; caller).
    let frame = unsafe { h.cast::<ProbeFrame<A>>().as_ref() };
    frame.run_on();
    None
}
