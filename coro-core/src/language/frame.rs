//! The coroutine frame (C++ "coroutine state") and its lifecycle.
//!
//! One allocation holds, in this `#[repr(C)]` order:
//!
//! | field | what |
//! | --- | --- |
//! | [`Header`] | the vtable (resume / destroy entry points) and the current suspension point |
//! | promise `P` | at a fixed offset, so `from_promise` is pointer arithmetic |
//! | [`AwaiterSlot`] | the initial or final awaiter while suspended there (no bytes when both are zero-sized) |
//! | body `F` | the compiler-lowered body (a private `async` block): parameters, locals, awaiters |
//!
//! The lifecycle is an explicit state machine driven by [`resume_frame`]:
//!
//! ```text
//! ramp ──▶ Initial(awaiter) ──▶ Body ──(poll)──▶ suspended at point k ──▶ Body ...
//!                                  └─(returns or panics)──▶ Final(awaiter) ──▶ destroyed
//! ```
//!
//! What the frame holds besides the promise follows from its vtable and its
//! point, so no lifecycle byte is stored: the body vtable at the initial
//! point holds the initial awaiter and an unstarted body (the parameters);
//! the body vtable elsewhere, a started body; each of the four final vtables
//! says whether the body started and whether the final awaiter is held.
//!
//! Invariants:
//! - The header's `point` is `RUNNING` exactly while someone is executing
//!   the coroutine, `UNSTARTED` while its ramp builds it, and otherwise the
//!   record of the point it is suspended at. It is written *before*
//!   `await_suspend` runs ("suspended first"), and after `await_suspend` has
//!   said "stay suspended" the resume loop touches nothing in the frame,
//!   because another thread may already own it — but for a gated frame
//!   ([`Promise::GATED`], a `SendTask`'s), whose gate word it updates once
//!   more: such a frame's memory is freed only once no thread is left
//!   between a body `await_suspend` and that update (`language/gate.rs`).
//! - Symmetric transfer is a return value of the resume entry point, never a
//!   nested call: [`run`] loops over it, so transfer chains take constant stack.
//! - At the final point a started body has finished (returned or unwound):
//!   like any completed `async` block it owns nothing, its captures and
//!   locals having been dropped as it completed. Destroying the frame there
//!   drops only the promise (and a held final awaiter), and only frees the
//!   frame when the promise has nothing to drop ([`Promise::drop_is_trivial`]).
//! - A point of a stateless awaiter ([`Awaiter::STATELESS`]) keeps no state:
//!   the resume loop's slot says whether a poll resumes it (`lowering.rs`).

use core::alloc::Layout;
use core::future::Future;
use core::marker::PhantomData;
use core::mem::{self, ManuallyDrop};
use core::pin::Pin;
use core::ptr::{self, addr_of_mut, NonNull};
use core::sync::atomic::{AtomicPtr, Ordering};
use core::task::{Context, Poll};
use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::language::awaiter::{AwaitSuspend, Awaiter, IntoAwaiter, SuspendOutcome};
use crate::language::gate::{AfterCancel, Entry, Gate, Parked};
use crate::language::handle::CoroutineHandle;
use crate::language::lowering::{Co, Slot};
use crate::language::point::{CoroutineInfo, Info, SuspendPoint, RUNNING, UNSTARTED};
use crate::language::promise::{FrameMemory, FromReturnObject, Payload, Promise};

/// The first bytes of every frame.
#[repr(C)]
pub(crate) struct Header {
    pub(crate) vtable: &'static VTable,
    /// The record of the point the coroutine is suspended at, or a sentinel;
    /// a final point's with [`FINAL_BIT`] set (see [`final_mark`]).
    pub(crate) point: AtomicPtr<SuspendPoint>,
}

/// A frame's two entry points, one static table per coroutine type.
pub(crate) struct VTable {
    /// Runs the coroutine until it suspends; returns the coroutine to
    /// transfer to, if any.
    pub(crate) resume: unsafe fn(NonNull<Header>) -> Option<NonNull<Header>>,
    pub(crate) destroy: unsafe fn(NonNull<Header>),
    /// The coroutine awaiting this one, as its promise reports it
    /// ([`Promise::continuation`]): the links of an async backtrace.
    pub(crate) continuation: unsafe fn(NonNull<Header>) -> Option<CoroutineHandle>,
    /// [`Promise::AFFINITY`]; `false` for stand-in frames.
    pub(crate) thread_bound: bool,
}

/// For stand-in frames that await nobody.
pub(crate) unsafe fn no_continuation(_: NonNull<Header>) -> Option<CoroutineHandle> {
    None
}

/// The `destroy` of a stand-in frame whose memory its owner frees: nothing
/// to do.
pub(crate) unsafe fn no_destroy(_: NonNull<Header>) {}

impl VTable {
    /// The table of a stand-in frame: a record that starts with a [`Header`]
    /// so that a coroutine can transfer to it, but awaits nobody and may be
    /// resumed on any thread.
    pub(crate) const fn stand_in(
        resume: unsafe fn(NonNull<Header>) -> Option<NonNull<Header>>,
        destroy: unsafe fn(NonNull<Header>),
    ) -> VTable {
        VTable { resume, destroy, continuation: no_continuation, thread_bound: false }
    }
}

impl Header {
    /// A stand-in frame's header: it is never suspended at a point of its
    /// own, so its point stays `RUNNING`.
    pub(crate) const fn stand_in(vtable: &'static VTable) -> Header {
        Header { vtable, point: AtomicPtr::new(RUNNING) }
    }
}

/// The handle of a stand-in frame `T` (a `#[repr(C)]` record whose first
/// field is its [`Header`]) kept in an `Arc`: the handle owns one strong
/// count, taken back by [`take_counted`] when the stand-in is resumed (or
/// by [`give_back_count`] if it never will be). Derived from the
/// `Arc`'s own pointer, so that the resume can rebuild the `Arc`.
pub(crate) fn counted_handle<T>(this: &std::sync::Arc<T>) -> CoroutineHandle {
    let raw = std::sync::Arc::into_raw(this.clone()) as *mut T;
    CoroutineHandle::from_header(NonNull::new(raw).expect("Arc is non-null").cast())
}

/// Takes back, without resuming the stand-in, the strong count a handle
/// from [`counted_handle`] (or [`Arc::as_ptr`] plus [`lend_count`]) owned:
/// the coroutine given that handle will never resume it.
///
/// # Safety
/// One such count of `this` is outstanding and nothing else takes it back.
pub(crate) unsafe fn give_back_count<T>(this: &std::sync::Arc<T>) {
    // SAFETY: the count was leaked for the handle (caller), so the pointer
    // comes from the `Arc` and the count is one the caller may drop.
    unsafe { std::sync::Arc::decrement_strong_count(std::sync::Arc::as_ptr(this)) }
}

/// Leaks one strong count of `this` for a handle that points into it by
/// `Arc::as_ptr` (a stub inside the shared block): taken back by the
/// stand-in's resume with `Arc::from_raw`, or by [`give_back_count`].
pub(crate) fn lend_count<T>(this: &std::sync::Arc<T>) {
    mem::forget(this.clone());
}

/// The strong count a [`counted_handle`] owned, as an `Arc`.
///
/// # Safety
/// `h` is the header of a handle [`counted_handle::<T>`] made, whose count
/// has not been taken back yet.
pub(crate) unsafe fn take_counted<T>(h: NonNull<Header>) -> std::sync::Arc<T> {
    // SAFETY: the pointer came from `Arc::into_raw` for a `T` (caller).
    unsafe { std::sync::Arc::from_raw(h.cast::<T>().as_ptr()) }
}

/// # Safety
/// `hdr` is a live, suspended frame whose promise type is `P`.
unsafe fn continuation_of<P: Promise>(hdr: NonNull<Header>) -> Option<CoroutineHandle> {
    // SAFETY: the caller guarantees a live, suspended frame with promise `P`.
    unsafe { (*hdr.cast::<Head<P>>().as_ptr()).promise.continuation() }
}

/// Header and promise: the part of the layout that does not depend on the
/// body, so the promise offset is the same for every coroutine with promise `P`.
#[repr(C)]
pub(crate) struct Head<P> {
    pub(crate) header: Header,
    pub(crate) promise: P,
}

#[repr(C)]
struct Frame<P: Promise, F> {
    head: Head<P>,
    stage: AwaiterSlot<P>,
    body: F,
}

/// The body of a frame: the lowered body `F` tagged with the type `I` that
/// names its coroutine's [`CoroutineInfo`], so that the frame knows its
/// initial and final suspend points at compile time instead of loading them.
#[doc(hidden)]
#[allow(missing_debug_implementations)]
#[repr(transparent)]
pub struct Framed<F, I> {
    body: F,
    _info: PhantomData<fn() -> I>,
}

impl<F: Future, I> Future for Framed<F, I> {
    type Output = F::Output;
    #[inline(always)]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        // SAFETY: structural pinning of the only field that is not a marker.
        unsafe { self.map_unchecked_mut(|f| &mut f.body) }.poll(cx)
    }
}

/// A frame's body with its coroutine's record known at compile time.
#[doc(hidden)]
pub trait FrameBody: Future<Output = ()> {
    /// The coroutine's record.
    const INFO: &'static CoroutineInfo;
}

impl<F: Future<Output = ()>, I: Info> FrameBody for Framed<F, I> {
    const INFO: &'static CoroutineInfo = I::INFO;
}

type InitialAwaiter<P> = <<P as Promise>::InitialSuspend as IntoAwaiter>::Awaiter;
type FinalAwaiter<P> = <<P as Promise>::FinalSuspend as IntoAwaiter>::Awaiter;

/// The initial awaiter while the coroutine is at its initial point, the
/// final awaiter while it is suspended at its final point, otherwise
/// nothing: which one is live follows from the header (see the module
/// documentation), so the slot has no tag of its own.
union AwaiterSlot<P: Promise> {
    _initial: ManuallyDrop<InitialAwaiter<P>>,
    _final: ManuallyDrop<FinalAwaiter<P>>,
}

impl<P: Promise> AwaiterSlot<P> {
    #[inline(always)]
    fn initial(slot: *mut Self) -> *mut InitialAwaiter<P> {
        slot.cast()
    }
    #[inline(always)]
    fn final_(slot: *mut Self) -> *mut FinalAwaiter<P> {
        slot.cast()
    }
}

/// What the awaiter slot holds when the frame is destroyed.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Held {
    Nothing,
    Initial,
    Final,
}

#[inline(always)]
const fn sentinel(p: &'static SuspendPoint) -> *mut SuspendPoint {
    p as *const SuspendPoint as *mut SuspendPoint
}

/// The value of the header's `point` at a final suspend point: the record's
/// address with its low bit set (records are aligned to more than one
/// byte), so that `done()` is one load and a bit test instead of a load of
/// the record's kind. Readers of the record clear the bit ([`point_record`]).
#[inline(always)]
pub(crate) fn final_mark(p: &'static SuspendPoint) -> *mut SuspendPoint {
    sentinel(p).map_addr(|a| a | FINAL_BIT)
}

/// The low bit of the header's `point` that marks a final suspend point.
pub(crate) const FINAL_BIT: usize = 1;
const _: () = assert!(mem::align_of::<SuspendPoint>() > FINAL_BIT);

/// The record a header's `point` designates, without the final bit.
#[inline(always)]
pub(crate) fn point_record(p: *mut SuspendPoint) -> *mut SuspendPoint {
    p.map_addr(|a| a & !FINAL_BIT)
}

/// Resumes `h` and every coroutine it transfers control to.
///
/// # Safety
/// `h` is a live frame that nobody else is resuming or destroying.
#[inline]
pub(crate) unsafe fn run(h: NonNull<Header>) {
    // The first resume is peeled out of the loop over transfers, which is
    // kept out of line: the caller's handle goes to the call as it is, and
    // a resume that does not transfer costs one test after the call.
    // SAFETY: `h` is live (caller's contract).
    if let Some(next) = unsafe { (h.as_ref().vtable.resume)(h) } {
        // SAFETY: the transferring awaiter's contract.
        unsafe { run_transfers(next) }
    }
}

/// The rest of [`run`]: resumes `h`, then every coroutine it transfers to.
///
/// # Safety
/// As for [`run`].
#[inline(never)]
unsafe fn run_transfers(mut h: NonNull<Header>) {
    loop {
        // SAFETY: `h` is live (the transferring awaiter's contract for
        // every handle it returns).
        match unsafe { (h.as_ref().vtable.resume)(h) } {
            Some(next) => h = next,
            None => return,
        }
    }
}

/// The vtables of coroutines with promise `P` and body `F`, one per stage.
///
/// The vtable a frame wears says whether it can be resumed, so the resume
/// path does not ask the point's record: `STARTING_VTABLE` while the ramp
/// builds it (resuming panics), [`VTABLE`](Self::VTABLE) from its initial
/// point on, and [`FINAL`](Self::FINAL) at its final point (resuming
/// panics). Destroy and continuation are the same in both of these.
pub(crate) struct VTableFor<P, F>(P, F);
impl<P: Promise, F: FrameBody> VTableFor<P, F> {
    const fn with_resume(resume: unsafe fn(NonNull<Header>) -> Option<NonNull<Header>>) -> VTable {
        VTable {
            resume,
            destroy: destroy_frame::<P, F>,
            continuation: continuation_of::<P>,
            thread_bound: P::AFFINITY.is_thread_bound(),
        }
    }
    /// From the initial suspend point on: a resume runs the coroutine.
    pub(crate) const VTABLE: VTable = Self::with_resume(resume_frame::<P, F, false>);
    /// The resume entry point for an owner that holds the frame exclusively
    /// and resumes it only through `&mut self` (a [`Generator`](crate::Generator)
    /// whose body cannot `co_await!`): it cannot be running when resumed, so
    /// the entry skips that check.
    pub(crate) const OWNED_RESUME: unsafe fn(NonNull<Header>) -> Option<NonNull<Header>> = resume_frame::<P, F, true>;
}

/// The vtables of a frame at its final suspend point: whether the body
/// started (`STARTED`; the destruction order depends on it) and whether the
/// slot holds the final awaiter (`HELD`). Resuming panics.
struct FinalVTable<P, F, const STARTED: bool, const HELD: bool>(P, F);
impl<P: Promise, F: FrameBody, const STARTED: bool, const HELD: bool> FinalVTable<P, F, STARTED, HELD> {
    const VTABLE: VTable = VTable {
        resume: resume_final,
        destroy: destroy_final::<P, F, STARTED, HELD>,
        continuation: continuation_of::<P>,
        thread_bound: P::AFFINITY.is_thread_bound(),
    };
}

/// The vtable a frame wears while its ramp cleans up after a panic: the
/// return object being dropped must not destroy the frame the ramp is about
/// to free.
static RAMP_CLEANUP_VTABLE: VTable =
    VTable { resume: resume_in_ramp, destroy: destroy_in_ramp, continuation: no_continuation, thread_bound: false };

unsafe fn resume_in_ramp(_: NonNull<Header>) -> Option<NonNull<Header>> {
    panic!("coroutine resumed while its ramp is unwinding from a panic")
}
unsafe fn destroy_in_ramp(_: NonNull<Header>) {}

/// The vtable a frame wears while its ramp builds it, until the initial
/// suspend point: the ramp owns the frame, so resuming it panics and
/// destroying it (a return object dropped while `get_return_object`, or its
/// conversion, unwinds) does nothing: the ramp frees it itself.
static STARTING_VTABLE: VTable =
    VTable { resume: resume_unstarted, destroy: destroy_in_ramp, continuation: no_continuation, thread_bound: false };

unsafe fn resume_unstarted(_: NonNull<Header>) -> Option<NonNull<Header>> {
    panic!("coroutine resumed before it reached its initial suspend point")
}

unsafe fn resume_final(_: NonNull<Header>) -> Option<NonNull<Header>> {
    panic!(
        "coroutine resumed at its final suspend point (undefined behaviour in C++): \
         a coroutine that is done() can only be destroyed"
    )
}

/// The resume entry point of a frame whose ramp has finished: runs the
/// coroutine until it suspends.
///
/// The vtable says the frame is past its ramp and not at its final point;
/// the point says whether it is at its initial point (a compile-time
/// constant, so one compare) or already running (a resume from inside it).
///
/// `#[inline(always)]` so that an owner holding this function as a constant
/// (a generator created and iterated in one place) can have it inlined.
///
/// With `OWNED`, the caller also guarantees that the coroutine is not
/// running (the frame's owner resumes it through `&mut self` and nobody else
/// can), so that no other thread writes its point: the `RUNNING` check is
/// left out and the point is read with a plain load.
///
/// # Safety
/// `hdr` is a live frame of this type, wearing its body vtable, not being
/// resumed or destroyed by another thread; with `OWNED`, not running.
#[inline(always)]
pub(crate) unsafe fn resume_frame<P: Promise, F: FrameBody, const OWNED: bool>(
    hdr: NonNull<Header>,
) -> Option<NonNull<Header>> {
    let frame = hdr.cast::<Frame<P, F>>().as_ptr();
    // SAFETY: the frame is alive (caller's contract).
    let header = unsafe { &(*frame).head.header };
    let at = if OWNED {
        // SAFETY: with `OWNED` every write to the point is made by the
        // owner's thread (the caller's contract), so this plain read races
        // with nothing but other reads; unlike an atomic load it may be
        // forwarded from the last store, or left out when unused.
        unsafe { *header.point.as_ptr() }
    } else {
        header.point.load(Ordering::Relaxed)
    };
    if !OWNED && at == RUNNING {
        cannot_resume_running();
    }
    // SAFETY: the frame is alive and idle; the promise may refuse the resume
    // (a thread-bound coroutine on a foreign thread) before anything moves.
    unsafe { (*frame).head.promise.before_resume() };
    if P::GATED {
        // SAFETY: as above.
        if let Some(gate) = unsafe { (*frame).head.promise.gate() } {
            match gate.resume() {
                Entry::Run => {}
                // The canceller owns the frame now.
                Entry::Leave => return None,
                // SAFETY: the frame is alive and idle, and this resumer
                // had the right to run it: nobody else uses it.
                Entry::Destroy => return unsafe { abandon::<P, F>(hdr) },
            }
        }
    }
    // SAFETY: as above.
    if unsafe { (*frame).head.promise.abandoned() } {
        // SAFETY: the frame is alive and idle, and this resumer had the
        // right to run it: nobody else uses it.
        return unsafe { abandon::<P, F>(hdr) };
    }
    let handle = CoroutineHandle::<()>::from_header(hdr);

    header.point.store(RUNNING, Ordering::Relaxed);
    // SAFETY: (for the whole block) the frame is alive and this thread is
    // its only user until an `await_suspend` hands it over; after that
    // nothing here touches it (`Suspend` and `Transfer` return at once). The
    // body lives in the heap frame and is dropped in place, never moved, so
    // pinning it is sound. The initial awaiter is read out of the slot only
    // at the initial point, which says the slot holds it.
    unsafe {
        let exit: Result<(), Payload> = 'body: {
            if ptr::eq(at, F::INFO.initial_point()) {
                // The slot holds the initial awaiter exactly at the initial
                // point; the point is `RUNNING` now, so it is ours to take.
                let awaiter = AwaiterSlot::initial(addr_of_mut!((*frame).stage)).read();
                // C++ sets initial-await-resume-called before await_resume:
                // a panic from here on belongs to unhandled_exception.
                if let Err(p) = catch_unwind(AssertUnwindSafe(|| awaiter.await_resume())) {
                    return final_before_body::<P, F>(frame, p);
                }
            }
            let mut slot = Slot::new();
            loop {
                slot.reset();
                let polled = {
                    let waker = slot.waker();
                    let mut cx = Context::from_waker(&waker);
                    let body = Pin::new_unchecked(&mut (*frame).body);
                    catch_unwind(AssertUnwindSafe(|| body.poll(&mut cx)))
                };
                match polled {
                    Ok(Poll::Ready(())) => break 'body Ok(()),
                    Err(p) => break 'body Err(p),
                    Ok(Poll::Pending) => {
                        // Suspended first: publish where, then run await_suspend.
                        header.point.store(slot.point(), Ordering::Release);
                        if P::GATED {
                            if let Some(gate) = (*frame).head.promise.gate() {
                                match gated_suspend::<P, F>(frame, gate, &mut slot, handle) {
                                    Some(next) => return next,
                                    None => {
                                        header.point.store(RUNNING, Ordering::Relaxed);
                                        continue;
                                    }
                                }
                            }
                        }
                        match slot.await_suspend(handle) {
                            SuspendOutcome::Suspend => return None,
                            SuspendOutcome::Resume => {
                                header.point.store(RUNNING, Ordering::Relaxed);
                                continue;
                            }
                            SuspendOutcome::Transfer(h) => return Some(h.header()),
                        }
                    }
                }
            }
        };
        final_path::<P, F, true>(frame, exit)
    }
}

/// `await_suspend` at a body point of a gated frame (see `language/gate.rs`):
/// registers as a parker with the awaiter's cancel hook, and after
/// `await_suspend` either leaves (the frame runs on: `None`) or marks the
/// frame parked, running the cancel procedure for a gone owner or freeing
/// a frame destroyed meanwhile if the gate says so (`Some(next)`: what the
/// resume loop returns).
///
/// # Safety
/// As in the resume loop: the frame is running on this thread, its body
/// just returned `Pending` with the awaiter recorded in `slot`, and its
/// point is published; `gate` is its promise's.
#[inline(never)]
unsafe fn gated_suspend<P: Promise, F: FrameBody>(
    frame: *mut Frame<P, F>,
    gate: *const Gate,
    slot: &mut Slot,
    handle: CoroutineHandle,
) -> Option<Option<NonNull<Header>>> {
    // SAFETY: the frame runs here; the hook stays valid while it is
    // suspended at this point (the awaiter lives in the pinned body).
    let epoch = unsafe { (*gate).park(slot.cancel_hook()) };
    // SAFETY: the slot's awaiter is parked in the body (caller).
    let next = match unsafe { slot.await_suspend(handle) } {
        SuspendOutcome::Resume => {
            // SAFETY: the frame is still ours: nothing was handed over.
            unsafe { (*gate).unpark() };
            return None;
        }
        SuspendOutcome::Suspend => None,
        SuspendOutcome::Transfer(h) => Some(h.header()),
    };
    // SAFETY: a parker is counted, so the frame's memory (and the gate in
    // it) outlives this call (`FREE_PENDING`).
    match unsafe { (*gate).parked(epoch) } {
        // The frame may be gone now: nothing here touches it.
        Parked::Stay => {}
        // SAFETY: destroyed by another thread while this parker was inside,
        // and this is the last parker: the memory is ours to free.
        Parked::Free => unsafe { free_memory::<P, F>(frame) },
        // SAFETY: this parker took `CANCELLING` for the gone owner; the
        // frame is suspended at this point.
        Parked::Cancel => unsafe { cancel_frame(&*gate, NonNull::new_unchecked(frame.cast())) },
    }
    Some(next)
}

/// Frees the memory of a destroyed frame (its contents already dropped).
///
/// # Safety
/// The frame was allocated by `P` with this layout, everything in it has
/// been dropped, and nothing uses it any more.
unsafe fn free_memory<P: Promise, F>(frame: *mut Frame<P, F>) {
    // SAFETY: forwarded contract.
    unsafe { P::deallocate_frame(NonNull::new_unchecked(frame.cast()), Layout::new::<Frame<P, F>>()) }
}

/// The cancel procedure of a gated frame, by the holder of `CANCELLING`:
/// the hook, then the destroy the gate asks for (see `language/gate.rs`).
/// A panic from the destruction (a local's drop) is dropped, as a detached
/// coroutine's is: neither an owner going away nor a parker may receive it.
///
/// # Safety
/// `gate` is the gate of the live frame `hdr`, suspended at a body point,
/// and the caller holds its `CANCELLING`.
pub(crate) unsafe fn cancel_frame(gate: &Gate, hdr: NonNull<Header>) {
    // SAFETY: forwarded contract.
    match unsafe { gate.cancel() } {
        // SAFETY: nothing will resume the frame: it is ours to destroy.
        AfterCancel::Destroy => unsafe { destroy_detached(hdr, false) },
        // SAFETY: the resumer left it to us: ours to destroy, and its
        // awaiter may find its node left `RESUMING` by that resumer.
        AfterCancel::DestroyAbandoning => unsafe { destroy_detached(hdr, true) },
        AfterCancel::Nothing => {}
    }
}

/// Destroys a frame that its owner gave up, through its vtable, dropping
/// a panic from its destruction; with `abandoning`, this thread is marked
/// as abandoning it ([`is_abandoning`]) meanwhile.
///
/// # Safety
/// As for the vtable's `destroy`: `hdr` is live, not running, and ours to
/// destroy.
unsafe fn destroy_detached(hdr: NonNull<Header>, abandoning: bool) {
    struct Mark(*const Header);
    impl Drop for Mark {
        fn drop(&mut self) {
            ABANDONING.with(|a| a.set(self.0));
        }
    }
    let _restore = abandoning.then(|| Mark(ABANDONING.with(|a| a.replace(hdr.as_ptr()))));
    // SAFETY: forwarded contract.
    let destroyed = catch_unwind(AssertUnwindSafe(|| unsafe { (hdr.as_ref().vtable.destroy)(hdr) }));
    if let Err(payload) = destroyed {
        crate::language::gate::drop_payload(payload);
    }
}

/// The initial awaiter's `await_resume` panicked: the final path of a body
/// that never started. Kept out of the resume path.
///
/// # Safety
/// As for [`final_path`].
#[cold]
#[inline(never)]
unsafe fn final_before_body<P: Promise, F: FrameBody>(
    frame: *mut Frame<P, F>,
    payload: Payload,
) -> Option<NonNull<Header>> {
    // SAFETY: forwarded contract.
    unsafe { final_path::<P, F, false>(frame, Err(payload)) }
}

/// The body has returned (`Ok`) or panicked: `unhandled_exception`, then the
/// final suspend point. `STARTED`: whether the body was ever polled (it was
/// not if the initial awaiter's `await_resume` panicked).
///
/// # Safety
/// The frame is alive, running on this thread, and its body has finished
/// (or, without `STARTED`, never started); the awaiter slot holds nothing.
#[inline]
unsafe fn final_path<P: Promise, F: FrameBody, const STARTED: bool>(
    frame: *mut Frame<P, F>,
    exit: Result<(), Payload>,
) -> Option<NonNull<Header>> {
    // SAFETY: (for the whole block) the frame is alive and running on this
    // thread (caller's contract), so it is ours until the final awaiter's
    // `await_suspend` hands it over; the body has finished, so the awaiter
    // slot is free for the final awaiter; after `destroy_in_place` or the
    // hand-over nothing here touches the frame.
    unsafe {
        let header = &(*frame).head.header;
        let hdr = NonNull::from(header);
        let handle = CoroutineHandle::<()>::from_header(hdr);
        let slot = AwaiterSlot::final_(addr_of_mut!((*frame).stage));
        let final_point = final_mark(F::INFO.final_point());
        let empty = &FinalVTable::<P, F, STARTED, false>::VTABLE;
        let promise = &mut (*frame).head.promise;
        if let Err(payload) = exit {
            unhandled::<P>(hdr, promise, payload, final_point, empty);
        }
        // Locals are gone (the body has returned or unwound); now the final
        // suspend point. It counts from before `final_suspend()` is called,
        // so a panic there also leaves the coroutine done().
        addr_of_mut!((*frame).head.header.vtable).write(empty);
        header.point.store(final_point, Ordering::Release);
        let mut awaiter = promise.final_suspend().into_awaiter();
        if awaiter.await_ready() {
            awaiter.await_resume();
            destroy_finished::<P, F, STARTED>(frame, Held::Nothing);
            return None;
        }
        slot.write(awaiter);
        // An awaiter without drop glue needs no vtable of its own: the
        // empty one's destroy, which does not drop it, is then exact.
        if mem::needs_drop::<FinalAwaiter<P>>() {
            addr_of_mut!((*frame).head.header.vtable).write(&FinalVTable::<P, F, STARTED, true>::VTABLE);
        }
        match (*slot).await_suspend(handle).into_outcome() {
            SuspendOutcome::Suspend => None,
            SuspendOutcome::Transfer(h) => Some(h.header()),
            SuspendOutcome::Resume => {
                if mem::needs_drop::<FinalAwaiter<P>>() {
                    addr_of_mut!((*frame).head.header.vtable).write(empty);
                }
                let awaiter = slot.read();
                awaiter.await_resume();
                destroy_finished::<P, F, STARTED>(frame, Held::Nothing);
                None
            }
        }
    }
}

/// Destroying a running coroutine; kept out of line.
///
/// A thread-bound coroutine can only be running on this very thread (it
/// destroys itself from inside): a panic, the frame untouched. A coroutine
/// that may run anywhere may be running on another thread (a hand-written
/// `any_thread` promise's coroutine destroyed through a raw handle; the
/// library's `SendTask` owners detach a started task instead of destroying
/// it): unwinding would go on to free the frames that one will transfer
/// to, so the process is aborted instead, as `coro::sync` does for the same
/// mistake.
#[cold]
#[inline(never)]
fn destroy_running(may_run_elsewhere: bool) -> ! {
    if may_run_elsewhere {
        eprintln!(
            "coro: a coroutine was destroyed while it is running, possibly on another thread \
             (it was destroyed through a handle while another thread resumed it); aborting"
        );
        std::process::abort();
    }
    panic!("coroutine destroyed while it is running (undefined behaviour in C++)");
}

/// A coroutine whose promise says it is [abandoned](Promise::abandoned):
/// destroyed in place of the resume, with this thread marked as the one
/// abandoning it ([`is_abandoning`]) so that the awaiter it was suspended
/// on knows that the resumption it granted is not going on elsewhere.
///
/// # Safety
/// As for [`destroy_frame`]; the caller had the right to resume it.
#[cold]
#[inline(never)]
unsafe fn abandon<P: Promise, F: FrameBody>(hdr: NonNull<Header>) -> Option<NonNull<Header>> {
    struct Mark(*const Header);
    impl Drop for Mark {
        fn drop(&mut self) {
            ABANDONING.with(|a| a.set(self.0));
        }
    }
    let _restore = Mark(ABANDONING.with(|a| a.replace(hdr.as_ptr())));
    // A panic from a destructor (a live local's) is dropped, as a detached
    // coroutine's panics are: the resumer is not its owner (it may be a
    // release of a primitive, a future's waker, a pool worker) and must not
    // receive it. (`destroy_in_place` still frees everything else.)
    // SAFETY: forwarded contract.
    if let Err(payload) = catch_unwind(AssertUnwindSafe(|| unsafe { destroy_frame::<P, F>(hdr) })) {
        crate::language::gate::drop_payload(payload);
    }
    None
}

std::thread_local! {
    /// The frame this thread is destroying in place of a resume (see
    /// [`abandon`]), or null.
    static ABANDONING: core::cell::Cell<*const Header> = const { core::cell::Cell::new(ptr::null()) };
}

/// Whether this thread is destroying `handle`'s coroutine in place of
/// resuming it (its promise said it was [abandoned](Promise::abandoned)):
/// the awaiter it was suspended on may then be dropped while its own state
/// says "being resumed".
pub(crate) fn is_abandoning(handle: CoroutineHandle) -> bool {
    ABANDONING.with(|a| ptr::eq(a.get(), handle.header().as_ptr()))
}

/// Runs `f` with this thread marked as abandoning `handle` (see
/// [`is_abandoning`]), then restores the mark it found. For a stand-in
/// that an awaiter resumed and that will never pass the resume on (a
/// `cancellable`'s, whose coroutine is destroyed instead): the awaiter,
/// dropped by `f`, then accepts a registration its resumer left behind.
pub(crate) fn abandoning<R>(handle: CoroutineHandle, f: impl FnOnce() -> R) -> R {
    struct Restore(*const Header);
    impl Drop for Restore {
        fn drop(&mut self) {
            ABANDONING.with(|a| a.set(self.0));
        }
    }
    let _restore = Restore(ABANDONING.with(|a| a.replace(handle.header().as_ptr())));
    f()
}

/// Resuming a coroutine from inside itself; kept out of line.
#[cold]
#[inline(never)]
fn cannot_resume_running() -> ! {
    panic!("coroutine resumed while it is running");
}

/// `promise.unhandled_exception(payload)`; kept out of the resume path.
/// If it rethrows, the coroutine counts as suspended at its final point
/// (wearing `vtable`) and the panic goes to the resumer.
///
/// # Safety
/// `hdr` is the header of the running frame whose promise is `promise`.
#[cold]
#[inline(never)]
unsafe fn unhandled<P: Promise>(
    hdr: NonNull<Header>,
    promise: &mut P,
    payload: Payload,
    final_point: *mut SuspendPoint,
    vtable: &'static VTable,
) {
    let mark = MarkFinalOnUnwind { header: hdr, final_point, vtable };
    promise.unhandled_exception(payload);
    mem::forget(mark);
}

struct MarkFinalOnUnwind {
    header: NonNull<Header>,
    final_point: *mut SuspendPoint,
    vtable: &'static VTable,
}
impl Drop for MarkFinalOnUnwind {
    fn drop(&mut self) {
        // SAFETY: the frame is alive and this thread is its only user (the
        // panic leaves it before any `await_suspend` could hand it over).
        unsafe {
            addr_of_mut!((*self.header.as_ptr()).vtable).write(self.vtable);
            self.header.as_ref().point.store(self.final_point, Ordering::Release);
        }
    }
}

/// The destroy entry point of the body vtable.
///
/// # Safety
/// `hdr` is a live frame of this type, not being resumed.
/// (While the ramp builds the frame it wears `STARTING_VTABLE`, whose
/// destroy does nothing.)
unsafe fn destroy_frame<P: Promise, F: FrameBody>(hdr: NonNull<Header>) {
    let frame = hdr.cast::<Frame<P, F>>().as_ptr();
    // SAFETY: the frame is alive (caller's contract).
    let at = unsafe { (*frame).head.header.point.load(Ordering::Relaxed) };
    if at == RUNNING {
        destroy_running(!P::AFFINITY.is_thread_bound());
    }
    // SAFETY: the frame is idle and ours to free. At the initial point the
    // slot holds the initial awaiter and the body has not started; at any
    // other point the body has started and the slot holds nothing.
    unsafe {
        if ptr::eq(at, F::INFO.initial_point()) {
            destroy_in_place::<P, F, false>(frame, Held::Initial)
        } else {
            destroy_in_place::<P, F, true>(frame, Held::Nothing)
        }
    }
}

/// The destroy entry point of the final vtables.
///
/// # Safety
/// `hdr` is a live frame of this type, wearing this vtable, not being resumed.
unsafe fn destroy_final<P: Promise, F, const STARTED: bool, const HELD: bool>(hdr: NonNull<Header>) {
    let held = if HELD { Held::Final } else { Held::Nothing };
    // SAFETY: the vtable says what the frame holds (caller's contract).
    unsafe { destroy_finished::<P, F, STARTED>(hdr.cast::<Frame<P, F>>().as_ptr(), held) }
}

/// [`destroy_in_place`] of a frame at its final point, whose body has
/// finished (`STARTED`: it returned or unwound, so, as any completed
/// `async` block, it owns nothing and its drop would do nothing) or never
/// started (it holds the parameters). When nothing else needs dropping
/// either (the promise says so at run time, the slot holds nothing) the
/// frame is only freed: no drop sequence, so no unwind guards, landing
/// pads or saved registers on that path.
///
/// # Safety
/// As for [`destroy_in_place`], and the frame is at its final point.
#[inline(always)]
unsafe fn destroy_finished<P: Promise, F, const STARTED: bool>(frame: *mut Frame<P, F>, held: Held) {
    // SAFETY: the promise is initialised (caller).
    if !P::GATED
        && held == Held::Nothing
        && (STARTED || !mem::needs_drop::<F>())
        && unsafe { (*frame).head.promise.drop_is_trivial() }
    {
        // SAFETY: allocated by this promise with this layout; nothing in it
        // has anything to drop, and nothing uses it any more (caller).
        return unsafe { free_memory::<P, F>(frame) };
    }
    // SAFETY: forwarded contract.
    unsafe { destroy_out_of_line::<P, F, STARTED>(frame, held) }
}

/// [`destroy_in_place`], kept out of the fast path of [`destroy_finished`].
///
/// # Safety
/// As for [`destroy_in_place`].
#[inline(never)]
unsafe fn destroy_out_of_line<P: Promise, F, const STARTED: bool>(frame: *mut Frame<P, F>, held: Held) {
    // SAFETY: forwarded contract.
    unsafe { destroy_in_place::<P, F, STARTED>(frame, held) }
}

/// Drops what the frame holds and frees it. Before the body has started it
/// holds only the parameters, and C++ destroys the promise before the
/// parameter copies; later the body's locals and parameters go first.
///
/// # Safety
/// The frame is fully built, idle, and never used again; `held` is what its
/// awaiter slot holds.
unsafe fn destroy_in_place<P: Promise, F, const STARTED: bool>(frame: *mut Frame<P, F>, held: Held) {
    // Guards, so that a panicking destructor still frees everything else.
    // A gated frame's memory waits for its parkers (`language/gate.rs`):
    // the gate has no drop glue, so it is still readable once the promise
    // holding it is dropped.
    struct Free<P: Promise, F>(*mut Frame<P, F>, *const Gate);
    impl<P: Promise, F> Drop for Free<P, F> {
        fn drop(&mut self) {
            // SAFETY: the gate, if any, is in this frame's memory, still
            // allocated.
            if P::GATED && !self.1.is_null() && !unsafe { (*self.1).free_or_defer() } {
                return;
            }
            // SAFETY: allocated by this promise with this layout; no parker
            // is inside.
            unsafe { free_memory::<P, F>(self.0) }
        }
    }
    struct DropPromise<P: Promise, F>(*mut Frame<P, F>);
    impl<P: Promise, F> Drop for DropPromise<P, F> {
        fn drop(&mut self) {
            // SAFETY: the promise is initialised and dropped once.
            unsafe { ptr::drop_in_place(addr_of_mut!((*self.0).head.promise)) }
        }
    }
    struct DropBody<P: Promise, F>(*mut Frame<P, F>);
    impl<P: Promise, F> Drop for DropBody<P, F> {
        fn drop(&mut self) {
            // SAFETY: the body is initialised and dropped once.
            unsafe { ptr::drop_in_place(addr_of_mut!((*self.0).body)) }
        }
    }
    const { assert!(!mem::needs_drop::<Gate>()) };
    let gate = if P::GATED {
        // SAFETY: the promise is initialised (caller).
        unsafe { (*frame).head.promise.gate() }.map_or(ptr::null(), |g| g as *const Gate)
    } else {
        ptr::null()
    };
    let _free = Free(frame, gate);
    // SAFETY: every field is initialised (the slot as `held` says); each is
    // dropped exactly once below.
    unsafe {
        let drop_held = || {
            let slot = addr_of_mut!((*frame).stage);
            match held {
                Held::Nothing => {}
                Held::Initial => ptr::drop_in_place(AwaiterSlot::initial(slot)),
                Held::Final => ptr::drop_in_place(AwaiterSlot::final_(slot)),
            }
        };
        if STARTED {
            let _promise = DropPromise(frame);
            let _body = DropBody(frame);
            drop_held();
        } else {
            let _body = DropBody(frame);
            let _promise = DropPromise(frame);
            drop_held();
        }
    }
}

/// What the ramp's `make` closure works with: allocation, then the promise.
#[doc(hidden)]
#[allow(missing_debug_implementations)]
pub struct RampCtx<P: Promise> {
    layout: Layout,
    frame: Option<NonNull<u8>>,
    promise_built: bool,
    /// Invariant in `P`: the promise is built here from the parameters
    /// (`FromParams`), and [`co`](Self::co) hands the body its `Co<P>`.
    _promise: core::marker::PhantomData<fn(P) -> P>,
}

impl<P: Promise> RampCtx<P> {
    /// Allocates the frame with `alloc`; `false` on allocation failure.
    #[doc(hidden)]
    pub fn allocate(&mut self, alloc: impl FnOnce(Layout) -> Option<FrameMemory>) -> bool {
        debug_assert!(self.frame.is_none());
        let Some(mem) = alloc(self.layout) else {
            return false;
        };
        let mem = mem.as_ptr();
        // `FrameMemory`'s contract (`from_raw` is `unsafe`; `global` asks
        // for this layout) guarantees the alignment: checked in debug builds
        // only, so that a misaligned pool is a clear panic there.
        debug_assert!(
            mem.as_ptr() as usize % self.layout.align() == 0,
            "the promise's allocation function returned memory not aligned to {} bytes",
            self.layout.align()
        );
        // Handles rebuilt from a promise's address (`from_promise`) need the
        // frame's provenance to be exposed.
        let _ = mem.as_ptr().expose_provenance();
        // SAFETY: fresh memory of the frame's layout, which starts with a Header.
        unsafe {
            mem.cast::<Header>().as_ptr().write(Header { vtable: &STARTING_VTABLE, point: AtomicPtr::new(UNSTARTED) })
        };
        self.frame = Some(mem);
        true
    }

    /// Constructs the promise with `make` and moves it into the frame.
    #[doc(hidden)]
    #[inline(always)]
    pub fn construct_promise(&mut self, make: impl FnOnce() -> P) {
        let frame = self.frame.expect("promise constructed before the frame was allocated");
        assert!(!self.promise_built, "promise constructed twice");
        let promise = make();
        // SAFETY: the frame is allocated; the promise slot is uninitialised.
        unsafe { addr_of_mut!((*frame.cast::<Head<P>>().as_ptr()).promise).write(promise) };
        self.promise_built = true;
    }

    /// `make` panicked: frees what it built. The parameters it held are
    /// already dropped (C++ order: parameter copies, then the frame).
    #[cold]
    fn unwind(self) {
        if let Some(frame) = self.frame {
            // SAFETY: we allocated it; the promise is initialised iff built.
            unsafe {
                if self.promise_built {
                    ptr::drop_in_place(addr_of_mut!((*frame.cast::<Head<P>>().as_ptr()).promise));
                }
                P::deallocate_frame(frame, self.layout);
            }
        }
    }

    /// The token the body reaches its promise through.
    #[doc(hidden)]
    pub fn co(&self) -> Co<P> {
        let frame = self.frame.expect("body built before the frame was allocated");
        assert!(self.promise_built, "body built before the promise");
        // SAFETY: the frame and its promise are initialised and outlive the body.
        unsafe { Co::new(frame.cast()) }
    }
}

// No `Drop`: `ramp` catches a panic out of `make` and calls `unwind`, so
// that the context is not handed by address to out-of-line drop glue and
// stays in registers.

/// The ramp of every `#[coro::coroutine]` (C++ [dcl.fct.def.coroutine]/5–11):
/// allocate the frame, construct the promise from the parameters, move the
/// parameters into the body, call `get_return_object`, then
/// `co_await initial_suspend()`. The return object is returned at the first
/// suspension (or when the coroutine finishes without suspending).
///
/// `make` allocates (through [`RampCtx::allocate`], which may see the
/// parameters), constructs the promise, and returns the body — or, if
/// allocation failed, the parameters, which outlive the fallback return
/// object's creation as they would in the caller.
///
/// The body is moved from `make`'s result into the frame by pointer, and
/// never returned by value, since in a debug build every such move is a
/// stack copy of the whole body: a call there needs about three times the
/// body's size of stack (see `build`), an optimised one none.
#[doc(hidden)]
pub fn ramp<P, C, F, A, R, I>(_info: I, make: C) -> R
where
    P: Promise,
    C: FnOnce(&mut RampCtx<P>) -> Result<F, A>,
    F: Future<Output = ()>,
    I: Info,
    R: FromReturnObject<P::ReturnObject, Framed<F, I>>,
{
    let layout = Layout::new::<Frame<P, Framed<F, I>>>();
    let mut ctx = RampCtx::<P> { layout, frame: None, promise_built: false, _promise: core::marker::PhantomData };
    // The body is written into the frame inside the closure: it does not
    // travel back by value through `catch_unwind`, which in a debug build
    // is one stack copy of the whole body per function it passes.
    let made = catch_unwind(AssertUnwindSafe(|| build::<P, C, F, A, R, I>(&mut ctx, make)));
    match made {
        Ok(None) => {}
        Ok(Some(fallback)) => return fallback,
        Err(payload) => {
            ctx.unwind();
            std::panic::resume_unwind(payload)
        }
    }
    debug_assert!(ctx.promise_built);
    // SAFETY: `build` returned `None` after asserting `promise_built`, which
    // `construct_promise` sets only once the frame is allocated.
    let frame = unsafe { ctx.frame.unwrap_unchecked() }.cast::<Frame<P, Framed<F, I>>>().as_ptr();

    // SAFETY: (for the whole block) `frame` is a fresh allocation of `Frame<P, F>`
    // with header and promise initialised; this ramp is its only user until
    // the initial `await_suspend` hands it over.
    unsafe {
        let hdr: *mut Header = addr_of_mut!((*frame).head.header);
        // From here a panic destroys the frame: the promise first, then the
        // body, which holds only the parameters (C++ order).
        let destroy = DestroyOnUnwind::<P, Framed<F, I>>(frame);
        let ro = R::from_return_object((*frame).head.promise.get_return_object());
        // Declared after `ro`, so dropped before it while unwinding: the
        // return object's drop must find a frame whose destroy does nothing.
        let quarantine = QuarantineOnUnwind(hdr);
        let mut awaiter = (*frame).head.promise.initial_suspend().into_awaiter();
        let ready = awaiter.await_ready();
        // From here the initial point says the slot holds the awaiter (and
        // `DestroyOnUnwind` drops it from there).
        let slot = AwaiterSlot::initial(addr_of_mut!((*frame).stage));
        slot.write(awaiter);
        addr_of_mut!((*hdr).vtable).write(&VTableFor::<P, Framed<F, I>>::VTABLE);
        // Relaxed: the frame itself reaches another thread only through
        // whatever synchronises the handle's hand-over; a concurrent `done()`
        // or `suspend_point()` reads only the `static` record.
        (*hdr).point.store(sentinel(I::INFO.initial_point()), Ordering::Relaxed);
        let outcome = if ready {
            SuspendOutcome::Resume
        } else {
            // Suspended first: the header already says where.
            (*slot).await_suspend(CoroutineHandle::<()>::from_header(NonNull::new_unchecked(hdr))).into_outcome()
        };
        mem::forget(quarantine);
        mem::forget(destroy);
        match outcome {
            SuspendOutcome::Suspend => {}
            SuspendOutcome::Resume => run(NonNull::new_unchecked(hdr)),
            SuspendOutcome::Transfer(h) => run(h.header()),
        }
        ro
    }
}

/// The ramp's `make`, then: the body written into the frame (`None`), or
/// on allocation failure the fallback return object, made while the
/// parameters are still alive (`Some`).
///
/// In a debug build every by-value move of the body is a copy of its whole
/// size on the stack, so the body is moved once, from `make`'s result
/// straight into the frame, and never returned. Three body-sized stack
/// slots remain there (a 1 MiB local needs 3,136 KiB of stack against
/// 11,328 KiB when the body was returned through `catch_unwind`): the
/// `async` block `make` builds before wrapping it in `Ok`, `made`, and the
/// move into `mem::forget` (a `ManuallyDrop` would cost two).
#[inline(always)]
fn build<P, C, F, A, R, I>(ctx: &mut RampCtx<P>, make: C) -> Option<R>
where
    P: Promise,
    C: FnOnce(&mut RampCtx<P>) -> Result<F, A>,
    F: Future<Output = ()>,
    I: Info,
    R: FromReturnObject<P::ReturnObject, Framed<F, I>>,
{
    let mut made = make(ctx);
    let params = match &mut made {
        Ok(body) => {
            // A panic here drops `made`, body and all.
            assert!(ctx.promise_built, "coroutine body built without a promise");
            // SAFETY: `construct_promise` sets `promise_built` only once the
            // frame is allocated; its body slot is uninitialised, and
            // `Framed<F, I>` is a transparent `F`. The body is moved out of
            // `made`, which is forgotten below.
            unsafe {
                let frame = ctx.frame.unwrap_unchecked().cast::<Frame<P, Framed<F, I>>>().as_ptr();
                ptr::copy_nonoverlapping(body, addr_of_mut!((*frame).body).cast::<F>(), 1);
            }
            None
        }
        // SAFETY: moved out once; `made` is forgotten below.
        Err(params) => Some(unsafe { ptr::read(params) }),
    };
    // Moved out by pointer above: the one by-value move of `made` left (a
    // `ManuallyDrop` would be two).
    mem::forget(made);
    // Allocation failed: the fallback return object, made while the
    // parameters are alive.
    let params = params?;
    let ro = P::get_return_object_on_allocation_failure().unwrap_or_else(|| std::alloc::handle_alloc_error(ctx.layout));
    let ro = R::from_return_object(ro);
    drop(params);
    Some(ro)
}

struct DestroyOnUnwind<P: Promise, F: FrameBody>(*mut Frame<P, F>);
impl<P: Promise, F: FrameBody> Drop for DestroyOnUnwind<P, F> {
    fn drop(&mut self) {
        // SAFETY: only reached while the ramp unwinds, before any handle
        // could have resumed or destroyed the frame (the quarantine vtable
        // turned destroy into a no-op); promise and body are initialised,
        // and the slot holds the initial awaiter once the header names the
        // initial point (only the initial `await_suspend` can panic then).
        unsafe {
            let at = (*self.0).head.header.point.load(Ordering::Relaxed);
            let held = if ptr::eq(at, F::INFO.initial_point()) { Held::Initial } else { Held::Nothing };
            destroy_in_place::<P, F, false>(self.0, held)
        }
    }
}

struct QuarantineOnUnwind(*mut Header);
impl Drop for QuarantineOnUnwind {
    fn drop(&mut self) {
        // SAFETY: the header is alive and only this ramp uses the frame; it
        // is about to be freed by `DestroyOnUnwind`, so a destroy through the
        // return object must do nothing.
        unsafe { addr_of_mut!((*self.0).vtable).write(&RAMP_CLEANUP_VTABLE) }
    }
}
