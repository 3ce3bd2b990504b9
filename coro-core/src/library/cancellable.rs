//! Cancelling any awaitable with a [`CancellationToken`]: [`cancellable`].
//!
//! `co_await!(cancellable(&token, x))` awaits `x` and gives
//! `Ok(its value)`, or `Err(OperationCancelled)` if cancellation was
//! requested before `x` resumed the coroutine: `x`'s registration is
//! withdrawn through its cancel step ([`Awaiter::await_cancel`]), at once
//! when it can be. One mechanism for every awaiter that has a cancel
//! step: the `coro::sync` waits, futures (through their awaiter), tasks,
//! the combinators, `coro-io`'s timers.
//!
//! # How it works
//!
//! A token that [can never be cancelled](CancellationToken::can_be_cancelled)
//! changes nothing: the inner awaiter is driven as is, with the
//! coroutine's own handle (no allocation, no atomic operation). Otherwise
//! the first suspension allocates a **block**, shared (an `Arc`) by the
//! awaiter, the token's callback, the handles given to the inner awaiter
//! and wake-ups posted for it:
//!
//! - a **stand-in frame** (a [`Header`] with its own vtable): the inner
//!   awaiter's `await_suspend` is given the stand-in's handle, not the
//!   coroutine's. Each handle given owns one strong count of the block,
//!   taken back by the stand-in's resume, or by whoever learns that it
//!   will never be resumed. The stand-in reports the coroutine's thread
//!   affinity, so that a thread-safe primitive, a future, a `SendTask`
//!   awaited by a thread-bound coroutine hand the stand-in to the
//!   coroutine's home thread as they would the coroutine (`HomeWake`,
//!   `HomeHop`, its home `WakeQueue`); it also carries the coroutine's
//!   suspension point, for messages naming the `co_await!`'s line;
//! - one atomic word (below), which decides who resumes the coroutine;
//! - where a cancel is carried out: a thread-bound coroutine's home
//!   thread (its `WakeQueue`: the cancel step of an awaiter that is not
//!   `Send` must run there), the driver a `Send` coroutine suspended under
//!   (a pool, a `sync_wait`, a `coro-io` loop, a task future's queue), or,
//!   for a `Send` coroutine resumed by hand, the thread requesting
//!   cancellation. The token's callback ([`CancellationToken::register`],
//!   made before the inner `await_suspend` runs, dropped with the awaiter)
//!   posts the cancel there as a wake-up, or runs it itself.
//!
//! # The word
//!
//! | bits | field | meaning |
//! | --- | --- | --- |
//! | 0–2 | phase | `IDLE` (not suspended on the inner awaiter), `SUSPENDING` (the inner `await_suspend` is running), `WAITING` (it registered the stand-in), `CANCELLING` (one thread is calling the inner `await_cancel`), `RESUMED` (the stand-in's resume came and was passed on to the coroutine), `CANCELLED` (the inner registration was withdrawn; the coroutine resumes), `ABANDONED` (the stand-in's resume came during the owner's cancel and was kept: the coroutine is destroyed), `DROPPED` (the awaiter is being dropped) |
//! | 3 | `REQUESTED` | the token's callback ran (sticky) |
//! | 4 | `ASKED` | the inner `await_cancel` was called (sticky): the `co_await!` gives `Err`, and the inner awaiter is never asked again nor `await_resume`d, only dropped |
//! | 5 | `RESUME_PENDING` | the stand-in's resume came during `CANCELLING` and left the coroutine to the canceller |
//!
//! `ASKED` is what the cancel step's contract requires: an awaiter may give
//! its work up before it answers `ResumeComing` (a task awaiter releases
//! its task, a combinator its children), expecting to be dropped, not
//! resumed. So once asked, the `co_await!` gives `Err` whichever way the
//! inner awaiter answered; what it was granted meanwhile (a permit, a
//! lock, a channel value) is handed on by its drop.
//!
//! # Transitions
//!
//! - **Suspend** (the coroutine's thread, [`Awaiter::await_suspend`]): the
//!   phase becomes `SUSPENDING`, the inner `await_suspend` runs with a
//!   fresh stand-in handle; then the **tail**, which touches only the block
//!   (through a local `Arc`), never the awaiter: the inner said "resume
//!   now": `IDLE`, the handle's count is taken back; otherwise
//!   `SUSPENDING -> WAITING`, or, with `REQUESTED`, `-> CANCELLING` and the
//!   cancel, here; already `RESUMED` (the stand-in was resumed meanwhile,
//!   on another thread or from inside the inner `await_suspend`): nothing,
//!   the coroutine is someone else's.
//! - **Callback** (the requesting thread): sets `REQUESTED`. In `WAITING`
//!   without `ASKED` it posts the cancel where it is carried out (above),
//!   or carries it out itself; in any other phase that is all (in
//!   `SUSPENDING` the tail acts; in `RESUMED` between two suspensions of
//!   an awaiter that re-suspends, the next tail does).
//! - **Cancel** (a posted wake-up, the callback, the tail, or the owner's
//!   [`await_cancel`](Awaiter::await_cancel)): `WAITING` without `ASKED`
//!   `-> CANCELLING`, then the inner `await_cancel`, then `ASKED` and:
//!   `Withdrawn`: the handle's count is taken back, `-> CANCELLED`, and the
//!   canceller resumes the coroutine (the tail: by not suspending);
//!   `ResumeComing` with `RESUME_PENDING` (the resume came and left):
//!   `-> RESUMED`, and the canceller resumes the coroutine; `ResumeComing`
//!   alone: back to `WAITING`, and the coming resume passes on. Each time
//!   the coroutine finds `Err`. The owner's cancel (a `SendTask` given up)
//!   resumes nothing: withdrawn, it answers `Withdrawn` (the frame is
//!   destroyed at once); a pending resume it keeps (`-> ABANDONED`) and
//!   answers `Withdrawn`; otherwise `ResumeComing`, as it does in any phase
//!   but `WAITING` without `ASKED`: a canceller or the stand-in's resume
//!   will resume the coroutine (and the gate destroys it then).
//! - **Stand-in resume** (whoever the inner awaiter resumes it from):
//!   takes back its count; `SUSPENDING`/`WAITING -> RESUMED` and transfers
//!   to the coroutine (a symmetric transfer), which finds `Ok` unless
//!   `ASKED`; in `CANCELLING` sets `RESUME_PENDING` and leaves; after
//!   `DROPPED` does nothing.
//! - **Drop** (the awaiter's, on the coroutine's thread): waits while
//!   `CANCELLING` (a cancel is short: the inner `await_cancel`), sets
//!   `DROPPED`, drops the registration (which waits for a running
//!   callback), then drops the inner awaiter in place: after `RESUMED` or
//!   `ABANDONED` (its registration was granted and its resumer has left:
//!   the `co_await!` gave `Err`, or the coroutine is destroyed in place of
//!   running) marked as abandoning the stand-in (`frame::abandoning`), so
//!   that it hands its grant on; after `WAITING` it is dropped as the
//!   coroutine's would be (it unlinks or detaches: the stand-in will never
//!   be resumed) and the handle's count is taken back.
//!
//! # Orderings
//!
//! Every update of the word is a read-modify-write, `AcqRel` (`Acquire`
//! when it fails): the thread that takes `CANCELLING` sees everything the
//! suspension wrote before `WAITING`; the coroutine resumed by a canceller
//! or through the stand-in sees the phase and `ASKED` that resumer wrote
//! (the resume itself hands the coroutine over, as any resume does); the
//! drop's `DROPPED` comes after the last cancel in the word's order, so no
//! cancel touches the inner awaiter after it.
//!
//! # Invariants
//!
//! - The coroutine is resumed at most once per suspension, by exactly one
//!   of: the stand-in's resume (`-> RESUMED`), the canceller that took a
//!   pending resume (`-> RESUMED`) or a withdrawal (`-> CANCELLED`), the
//!   tail (by not suspending). Its owner destroys it instead only through
//!   the cancel step (a gated `SendTask`, which answers from the word) or
//!   on its own thread (a thread-bound coroutine, whose cancels and
//!   resumes run there too).
//! - The inner `await_cancel` is called at most once, only by the holder
//!   of `CANCELLING`, only after the inner `await_suspend` returned, and
//!   only on a thread allowed to touch the inner awaiter (a thread-bound
//!   coroutine's home; any thread for a `Send` coroutine, whose frame, and
//!   so the inner awaiter, is `Send`); after it, the inner awaiter is only
//!   dropped.
//! - Every handle given to the inner awaiter has its count taken back
//!   once: by the stand-in's resume, or, when it is known never to come,
//!   by the tail ("resume now"), the canceller (`Withdrawn`) or the drop
//!   (`WAITING`). So the block outlives every resume of the stand-in.
//! - Nothing runs the cancel after the drop has set `DROPPED`, and the
//!   callback never runs after the registration's drop has returned.
//!
//! The `loom` unit tests below drive the real awaiter, the real token and a
//! real thread-safe semaphore under every interleaving (see
//! docs/soundness.md, "Model checking").

use core::fmt;
use core::mem;
use core::ptr::NonNull;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use crate::home::{current_driver, WakeQueue, WakeTarget, Wakeup};
use crate::language::atomic::{yield_now, AtomicU32, Ordering};
use crate::language::awaiter::{AwaitSuspend, Awaiter, CancelOutcome, IntoAwaiter, SuspendOutcome};
use crate::language::frame::{
    abandoning, counted_handle, give_back_count, no_continuation, no_destroy, take_counted, Header, VTable,
};
use crate::language::gate::drop_payload;
use crate::language::handle::CoroutineHandle;
use crate::library::cancellation::{CancellationRegistration, CancellationToken, OperationCancelled};
use crate::library::combinators::{JoinSet, WhenAll, WhenAllReady, WhenAny};
use crate::library::task::TaskKind;

const PHASE: u32 = 0b111;
/// Not suspended on the inner awaiter (the block is new, or the inner
/// `await_suspend` said "resume now").
const IDLE: u32 = 0;
/// The inner `await_suspend` is running.
const SUSPENDING: u32 = 1;
/// The inner awaiter registered the stand-in.
const WAITING: u32 = 2;
/// One thread is calling the inner `await_cancel`.
const CANCELLING: u32 = 3;
/// The stand-in's resume (or a canceller that took it) resumed the coroutine.
const RESUMED: u32 = 4;
/// The inner registration was withdrawn: the coroutine resumes with `Err`.
const CANCELLED: u32 = 5;
/// The stand-in's resume came during the owner's cancel, which kept it:
/// the coroutine is destroyed instead of resumed.
const ABANDONED: u32 = 6;
/// The awaiter is being dropped.
const DROPPED: u32 = 7;
/// The token's callback ran.
const REQUESTED: u32 = 1 << 3;
/// The inner `await_cancel` was called: the `co_await!` gives `Err`, and
/// the inner awaiter is only dropped from now on (never asked again, never
/// `await_resume`d).
const ASKED: u32 = 1 << 4;
/// The stand-in's resume came during `CANCELLING`.
const RESUME_PENDING: u32 = 1 << 5;

/// The stand-in's table for a coroutine that may run on any thread.
static STAND_IN: VTable =
    VTable { resume: stand_in_resume, destroy: no_destroy, continuation: no_continuation, thread_bound: false };
/// The stand-in's table for a thread-bound coroutine: it reports the
/// coroutine's affinity, so that the inner awaiter sends it home.
static STAND_IN_THREAD_BOUND: VTable =
    VTable { resume: stand_in_resume, destroy: no_destroy, continuation: no_continuation, thread_bound: true };

/// What the awaiter shares with the token's callback, the stand-in's
/// handles and the posted cancels (see the module docs).
#[repr(C)]
struct Block {
    /// First, so that a handle to the stand-in points at the block.
    header: Header,
    word: AtomicU32,
    /// The awaiting coroutine.
    real: CoroutineHandle,
    /// The inner awaiter, in the awaiting coroutine's frame (it does not
    /// move while the coroutine is suspended at the `co_await!`), reached
    /// only by the holder of `CANCELLING`, through `cancel`.
    inner: *mut (),
    /// Its `await_cancel`.
    cancel: unsafe fn(*mut ()) -> CancelOutcome,
    /// Where a cancel is carried out: the home queue of a thread-bound
    /// coroutine, the driver of a `Send` one; `None`: the callback's thread.
    target: Option<Arc<dyn WakeTarget>>,
    thread_bound: bool,
}

// SAFETY: the word is atomic; `header`, `real`, `cancel`, `target` and
// `thread_bound` are written once, before the block is shared. `inner` is
// dereferenced only by the holder of `CANCELLING`, on a thread allowed to
// touch the inner awaiter: a thread-bound coroutine's home thread (its
// cancels are posted there), or any thread for a coroutine that may run
// on any thread, whose frame, and so the awaiter, is `Send`
// (`ThreadAffinity::any_thread`'s contract).
unsafe impl Send for Block {}
// SAFETY: as above.
unsafe impl Sync for Block {}

/// What the holder of `CANCELLING` ended with.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Settled {
    /// Withdrawn (`CANCELLED`): resume the coroutine, which finds `Err`.
    Cancelled,
    /// The stand-in's resume came meanwhile and was taken: resume the
    /// coroutine, which finds `Err` (or keep it: `ABANDONED`).
    Delivered,
    /// The resume is coming (and the coroutine will find `Err`); nothing
    /// to do.
    Coming,
}

impl Block {
    /// Updates the word with `f` (`None`: leaves it); returns the value it
    /// found.
    fn update(&self, mut f: impl FnMut(u32) -> Option<u32>) -> u32 {
        match self.word.fetch_update(Ordering::AcqRel, Ordering::Acquire, &mut f) {
            Ok(w) | Err(w) => w,
        }
    }

    /// `WAITING` without `ASKED` `-> CANCELLING`: whether the caller now
    /// holds it.
    fn enter_cancelling(&self) -> bool {
        let before = self.update(|w| (w & PHASE == WAITING && w & ASKED == 0).then_some((w & !PHASE) | CANCELLING));
        before & PHASE == WAITING && before & ASKED == 0
    }

    /// Whether the inner `await_cancel` was called (the outcome is `Err`).
    fn asked(&self) -> bool {
        self.word.load(Ordering::Acquire) & ASKED != 0
    }

    /// The holder of `CANCELLING`: calls the inner `await_cancel` and
    /// settles the word (see the module docs); a delivered resume leaves
    /// the phase `delivered` (`RESUMED`, or `ABANDONED` for the owner). A
    /// panic from `await_cancel` counts as `ResumeComing` and is dropped,
    /// as the gate does: none of the callers may receive it.
    ///
    /// # Safety
    /// The caller holds `CANCELLING`, on a thread allowed to touch the
    /// inner awaiter (see `Block`'s `Send`).
    unsafe fn cancel_now(self: &Arc<Self>, delivered: u32) -> Settled {
        // SAFETY: `CANCELLING` means the coroutine is suspended on the inner
        // awaiter, whose `await_suspend` has returned (the tail's
        // `SUSPENDING -> WAITING` or `-> CANCELLING` came after it), that
        // nobody else calls `await_cancel` (`ASKED`, set below), and
        // that the awaiter is not dropped meanwhile (the drop waits); the
        // caller's thread may touch it.
        let outcome = match catch_unwind(AssertUnwindSafe(|| unsafe { (self.cancel)(self.inner) })) {
            Ok(outcome) => outcome,
            Err(payload) => {
                drop_payload(payload);
                CancelOutcome::ResumeComing
            }
        };
        let mut settled = Settled::Coming;
        self.update(|w| {
            let flags = (w & REQUESTED) | ASKED;
            Some(if w & RESUME_PENDING != 0 {
                // Came and left (whatever the answer: a withdrawal with a
                // resume already delivered would be the inner awaiter's
                // error; the stand-in took its count back).
                settled = Settled::Delivered;
                flags | delivered
            } else if outcome == CancelOutcome::Withdrawn {
                settled = Settled::Cancelled;
                flags | CANCELLED
            } else {
                settled = Settled::Coming;
                flags | WAITING
            })
        });
        if settled == Settled::Cancelled {
            // SAFETY: withdrawn: nothing will resume the stand-in handle
            // given in this suspension, whose count is ours to take back.
            unsafe { give_back_count(self) };
        }
        settled
    }

    /// A cancel posted here, or run by the callback itself: takes
    /// `CANCELLING` if the coroutine still waits, cancels, and resumes the
    /// coroutine if that is now this thread's to do.
    ///
    /// # Safety
    /// This thread may touch the inner awaiter and resume the coroutine:
    /// its home thread if it is thread-bound.
    unsafe fn cancel_and_resume(self: &Arc<Self>) {
        if !self.enter_cancelling() {
            return;
        }
        // SAFETY: we hold `CANCELLING` (caller: on a thread allowed to).
        match unsafe { self.cancel_now(RESUMED) } {
            // SAFETY: `CANCELLED` or `RESUMED` by us: nobody else resumes
            // the suspended coroutine, nor destroys it (its owner would go
            // through `await_cancel`, which now answers `ResumeComing`, or
            // is on this thread); this thread may run it (caller).
            Settled::Cancelled | Settled::Delivered => unsafe { self.real.resume() },
            Settled::Coming => {}
        }
    }

    /// The token's callback.
    fn requested(self: &Arc<Self>) {
        let before = self.word.fetch_or(REQUESTED, Ordering::AcqRel);
        if before & PHASE != WAITING || before & ASKED != 0 {
            // Suspending (the tail cancels), between two suspensions (the
            // next tail does), or settled.
            return;
        }
        if let Some(target) = &self.target {
            let Err(_refused) = target.post(self.clone()) else { return };
            if self.thread_bound {
                // The home thread is gone: nothing can run the coroutine.
                return;
            }
            // A `Send` coroutine's driver is gone: cancel here.
        }
        // SAFETY: the coroutine is not thread-bound (a thread-bound one
        // always has a target), so its inner awaiter is `Send` and it may
        // be resumed on this thread.
        unsafe { self.cancel_and_resume() }
    }
}

impl Wakeup for Block {
    /// A posted cancel, on the thread-bound coroutine's home thread or the
    /// `Send` coroutine's driver.
    fn run(self: Arc<Self>) {
        // SAFETY: run by the home thread's `resume_woken` (thread-bound), or
        // by a driver of a `Send` coroutine, which may touch its awaiter
        // and resume it.
        unsafe { self.cancel_and_resume() }
    }
}

/// The stand-in's resume: the inner awaiter's resumption (see the module
/// docs).
///
/// # Safety
/// `h` is a handle [`counted_handle`] made for a `Block`, resumed once.
unsafe fn stand_in_resume(h: NonNull<Header>) -> Option<NonNull<Header>> {
    // SAFETY: only `Cancellable::await_suspend` makes handles with this
    // vtable, each owning one strong count, taken back here once.
    let block: Arc<Block> = unsafe { take_counted(h) };
    let before = block.update(|w| match w & PHASE {
        SUSPENDING | WAITING => Some((w & !PHASE) | RESUMED),
        CANCELLING => Some(w | RESUME_PENDING),
        // `DROPPED`: the coroutine is gone (a resume after the inner
        // awaiter's drop, which a wrapping awaiter cannot rule out);
        // anything else: a second resume for one suspension.
        _ => None,
    });
    match before & PHASE {
        // The coroutine is ours to resume: a symmetric transfer to it.
        SUSPENDING | WAITING => Some(block.real.header()),
        _ => None,
    }
}

/// The type-erased `await_cancel` of the inner awaiter `A`.
///
/// # Safety
/// `inner` points at a live `A`, and the caller may call `await_cancel` on
/// it (it holds `CANCELLING`).
unsafe fn cancel_inner<A: Awaiter>(inner: *mut ()) -> CancelOutcome {
    // SAFETY: forwarded contract; the frame's guarantees for the cancel
    // step hold for the inner awaiter (see `Block::cancel_now`).
    unsafe { (*inner.cast::<A>()).await_cancel() }
}

/// On unwinding out of the inner `await_suspend`: whatever it registered,
/// nothing may resume the coroutine or cancel through the block any more
/// (the handle's count is leaked: the inner awaiter may still hold it).
struct DropOnUnwind<'a>(&'a Block);

impl Drop for DropOnUnwind<'_> {
    fn drop(&mut self) {
        self.0.update(|w| Some((w & !PHASE) | DROPPED));
    }
}

/// The awaiter of [`cancellable`]: awaits the inner awaiter `A`, or ends
/// with [`OperationCancelled`] when cancellation is requested on the token
/// before `A` resumed the coroutine, withdrawing `A`'s registration (see
/// [`cancellable`]).
///
/// ```
/// use coro::cancellation::{cancellable, CancellationSource, Cancellable};
/// use coro::sync::{event::Wait, Event};
///
/// let (source, event) = (CancellationSource::new(), Event::new());
/// let token = source.token();
/// let _awaiter: Cancellable<'_, Wait<'_>> = cancellable(&token, event.wait());
/// ```
#[must_use = "an awaiter does nothing unless `co_await!`ed"]
pub struct Cancellable<'a, A: Awaiter> {
    token: &'a CancellationToken,
    /// `None` once `await_resume` has taken it.
    inner: Option<A>,
    /// Made at the first suspension, unless the token can never be
    /// cancelled (then the inner awaiter is driven as is).
    block: Option<Arc<Block>>,
    registration: Option<CancellationRegistration>,
    /// Cancellation was requested before the inner awaiter suspended.
    cancelled: bool,
    /// `await_suspend` has been called.
    suspended: bool,
}

/// `co_await!(cancellable(&token, x))`: awaits `x` (anything
/// [`IntoAwaiter`]: a `coro::sync` wait, a task, a combinator, a timer, a
/// future through its [`FutureAwaiter`](crate::awaiter::FutureAwaiter))
/// and gives `Ok(its value)`, or `Err(OperationCancelled)` if cancellation
/// is requested on `token` before or while it waits (cppcoro's operations
/// taking a `cancellation_token`).
///
/// - Requested before the `co_await!`: `Err` at once; `x` is dropped
///   without being awaited (its `await_ready` is not asked).
/// - Requested while it waits: `x`'s registration is withdrawn through its
///   cancel step ([`Awaiter::await_cancel`]) and the coroutine resumes
///   with `Err`; `x` is dropped without `await_resume` (a combinator's
///   children are given up, an awaited `SendTask` is destroyed). If `x`
///   cannot withdraw (its resumption was already granted, or it has no
///   cancel step), the coroutine waits for that resumption and still gets
///   `Err`: once asked to cancel, `x` is only dropped (the cancel step may
///   have given its work up), and its drop hands on what it was granted (a
///   permit, a lock, a channel value). Only a resumption that came before
///   the cancel ran gives `Ok`.
/// - A thread-bound coroutine (a `Task`) is cancelled and resumed on its
///   own thread, by its driver's [`resume_woken`](crate::resume_woken)
///   (`sync_wait`, a `LocalScheduler`, a `coro-io` loop, a `Task` polled
///   as a future). A `Send` coroutine is cancelled by the driver it
///   suspended under (a pool, `sync_wait`, a loop), or, when it has none,
///   on the thread requesting cancellation, before
///   [`request_cancellation`](crate::cancellation::CancellationSource::request_cancellation)
///   returns; it goes on there.
/// - A token that [can never be cancelled](CancellationToken::none) costs
///   nothing: `x` is awaited as is (no allocation, no atomic operation).
///   Otherwise the first suspension allocates one small block.
///
/// ```
/// use coro::cancellation::{cancellable, CancellationSource, CancellationToken, OperationCancelled};
/// use coro::schedule::{spawn_detached, LocalScheduler};
/// use coro::sync::local::Event;
/// use coro::{co_await, co_return, Task};
/// use std::{cell::Cell, rc::Rc};
///
/// #[coro::coroutine]
/// fn wait(token: CancellationToken, event: Rc<Event>, out: Rc<Cell<Option<Result<(), OperationCancelled>>>>) -> Task<()> {
///     out.set(Some(co_await!(cancellable(&token, event.wait()))));
///     co_return!(())
/// }
///
/// let (source, event, out) = (CancellationSource::new(), Rc::new(Event::new()), Rc::new(Cell::new(None)));
/// let scheduler = LocalScheduler::new();
/// spawn_detached(wait(source.token(), event.clone(), out.clone()), &scheduler);
/// scheduler.run_until_idle(); // it waits on the event
/// source.request_cancellation();
/// scheduler.run_until_idle(); // its thread runs the cancel: the wait is withdrawn
/// assert_eq!(out.get(), Some(Err(OperationCancelled)));
/// ```
pub fn cancellable<X: IntoAwaiter>(token: &CancellationToken, x: X) -> Cancellable<'_, X::Awaiter> {
    Cancellable {
        token,
        inner: Some(x.into_awaiter()),
        block: None,
        registration: None,
        cancelled: false,
        suspended: false,
    }
}

impl<A: Awaiter> Cancellable<'_, A> {
    fn inner(&mut self) -> &mut A {
        self.inner.as_mut().expect("a cancellable awaiter used after its `await_resume`")
    }

    /// Whether the `co_await!` ends with `Err`.
    fn is_cancelled(&self) -> bool {
        self.cancelled || self.block.as_ref().is_some_and(|b| b.asked())
    }

    /// Makes the block at the first suspension of `real`, and registers the
    /// token's callback on it.
    ///
    /// # Safety
    /// `real` is the live coroutine suspended on this awaiter, which stays
    /// in place until `await_resume` or its drop.
    unsafe fn make_block(&mut self, real: CoroutineHandle) -> Arc<Block> {
        // SAFETY: live (caller).
        let thread_bound = unsafe { real.is_thread_bound() };
        let target = if thread_bound { Some(WakeQueue::current() as Arc<dyn WakeTarget>) } else { current_driver() };
        let block = Arc::new(Block {
            header: Header::stand_in(if thread_bound { &STAND_IN_THREAD_BOUND } else { &STAND_IN }),
            // A callback that runs at once (cancellation requested since
            // `await_ready`) only records the request: the tail acts on it.
            word: AtomicU32::new(SUSPENDING),
            real,
            inner: (self.inner() as *mut A).cast(),
            cancel: cancel_inner::<A>,
            target,
            thread_bound,
        });
        let shared = block.clone();
        self.registration = Some(self.token.register(move || shared.requested()));
        self.block = Some(block.clone());
        block
    }
}

#[diagnostic::do_not_recommend]
impl<A: Awaiter> Awaiter for Cancellable<'_, A> {
    type Output = Result<A::Output, OperationCancelled>;

    /// Before the first suspension: `true` if cancellation was requested
    /// (`Err`), else the inner `await_ready`. Asked again on a resume (an
    /// inner awaiter that re-checks): `true` once cancelled, else the
    /// inner `await_ready`.
    fn await_ready(&mut self) -> bool {
        if !self.suspended {
            if self.token.is_cancellation_requested() {
                self.cancelled = true;
                return true;
            }
        } else if self.is_cancelled() {
            return true;
        }
        self.inner().await_ready()
    }

    unsafe fn await_suspend(&mut self, h: CoroutineHandle) -> impl AwaitSuspend {
        let first = !mem::replace(&mut self.suspended, true);
        let block = match &self.block {
            Some(block) => block.clone(),
            None => {
                if !self.token.can_be_cancelled() {
                    // SAFETY: forwarded contract: nothing stands between.
                    return unsafe { self.inner().await_suspend(h) }.into_outcome();
                }
                if first && self.token.is_cancellation_requested() {
                    // Requested since `await_ready`: the inner awaiter is
                    // not started.
                    self.cancelled = true;
                    return SuspendOutcome::Resume;
                }
                // SAFETY: our own live handle; we stay in place (contract).
                unsafe { self.make_block(h) }
            }
        };
        block.update(|w| Some((w & (REQUESTED | ASKED)) | SUSPENDING));
        // The `co_await!`'s record, for messages about the stand-in.
        // SAFETY: our own live handle (contract).
        let point = unsafe { h.header().as_ref() }.point.load(core::sync::atomic::Ordering::Relaxed);
        block.header.point.store(point, core::sync::atomic::Ordering::Relaxed);
        let stand_in = counted_handle(&block);
        let unwinding = DropOnUnwind(&block);
        // SAFETY: the stand-in stands for this suspended coroutine: it
        // resumes it at most once (the word) and lives as long as a handle
        // to it does (its count); the inner awaiter stays in place with us.
        let outcome = unsafe { self.inner().await_suspend(stand_in) }.into_outcome();
        mem::forget(unwinding);
        // From here another thread may have resumed the coroutine through
        // the stand-in and dropped this awaiter: only `block` is touched.
        // SAFETY: right after the inner `await_suspend`, on the coroutine's
        // thread.
        unsafe { tail(&block, outcome) }
    }

    fn await_resume(mut self) -> Result<A::Output, OperationCancelled> {
        if self.is_cancelled() {
            // The drop drops the inner awaiter: withdrawn, granted (what it
            // was granted is handed on), or never started.
            return Err(OperationCancelled);
        }
        let inner = self.inner.take().expect("a cancellable awaiter resumed twice");
        Ok(inner.await_resume())
    }

    /// The owner gives the coroutine up (a `SendTask`'s owner goes away):
    /// withdraws the inner registration if it still waits (`Withdrawn`,
    /// also when its resume came during this cancel and is kept);
    /// otherwise a cancel or a resume is under way: `ResumeComing`.
    unsafe fn await_cancel(&mut self) -> CancelOutcome {
        let Some(block) = &self.block else {
            // Not cancellable: the inner awaiter, driven as is.
            // SAFETY: forwarded contract.
            return unsafe { self.inner().await_cancel() };
        };
        if !block.enter_cancelling() {
            return CancelOutcome::ResumeComing;
        }
        // SAFETY: we hold `CANCELLING`; the frame calls this on a `Send`
        // coroutine (gated), or at least on a thread that may touch us.
        match unsafe { block.cancel_now(ABANDONED) } {
            Settled::Cancelled | Settled::Delivered => CancelOutcome::Withdrawn,
            Settled::Coming => CancelOutcome::ResumeComing,
        }
    }

    const RECHECK_READY_ON_RESUME: bool = A::RECHECK_READY_ON_RESUME;

    const READY_WHEN_PINNED: bool = A::READY_WHEN_PINNED;

    unsafe fn await_ready_pinned(&mut self) -> bool {
        // SAFETY: forwarded contract: our `await_ready` said `false` only
        // as the inner one did, just before.
        unsafe { self.inner().await_ready_pinned() }
    }
}

/// The tail of `await_suspend` (see the module docs): touches only the
/// block.
///
/// # Safety
/// Called on the coroutine's thread right after the inner `await_suspend`
/// returned `outcome`, given the stand-in handle of this suspension.
unsafe fn tail(block: &Arc<Block>, outcome: SuspendOutcome) -> SuspendOutcome {
    if outcome == SuspendOutcome::Resume {
        // Not registered: nothing will resume the stand-in.
        // SAFETY: the count of this suspension's handle, unused.
        unsafe { give_back_count(block) };
        block.update(|w| Some((w & !PHASE) | IDLE));
        return SuspendOutcome::Resume;
    }
    let before = block.update(|w| match w & PHASE {
        SUSPENDING if w & REQUESTED != 0 => Some((w & !PHASE) | CANCELLING),
        SUSPENDING => Some((w & !PHASE) | WAITING),
        // `RESUMED`: already resumed through the stand-in.
        _ => None,
    });
    if before & PHASE != SUSPENDING || before & REQUESTED == 0 {
        return outcome;
    }
    // SAFETY: we hold `CANCELLING`, on the coroutine's own thread.
    match unsafe { block.cancel_now(RESUMED) } {
        Settled::Cancelled | Settled::Delivered => {
            if let SuspendOutcome::Transfer(next) = outcome {
                // What the inner awaiter asked to run next still runs (a
                // task given up this way destroys itself when resumed).
                // SAFETY: the inner awaiter's contract for a returned handle.
                unsafe { next.resume() };
            }
            SuspendOutcome::Resume
        }
        Settled::Coming => outcome,
    }
}

impl<A: Awaiter> Drop for Cancellable<'_, A> {
    fn drop(&mut self) {
        let Some(block) = self.block.take() else { return };
        // No cancel runs from here: wait out one under way (it is short).
        let before = loop {
            let before = block.update(|w| (w & PHASE != CANCELLING).then_some((w & !PHASE) | DROPPED));
            if before & PHASE != CANCELLING {
                break before;
            }
            yield_now();
        };
        // No callback runs after this.
        drop(self.registration.take());
        if self.inner.is_none() {
            return; // taken by `await_resume`
        }
        // The inner awaiter is dropped in place (`= None`), never moved
        // first: a registered one is linked by its address.
        match before & PHASE {
            // Granted, and its resumer has left; never `await_resume`d: the
            // `co_await!` gave `Err` (`ASKED`), or the coroutine is
            // destroyed in place of running.
            RESUMED | ABANDONED => {
                abandoning(CoroutineHandle::from_header(NonNull::from(&block.header)), || self.inner = None)
            }
            WAITING => {
                // Destroyed while it waits (on its own thread): the inner
                // awaiter unlinks or detaches, so the stand-in will never
                // be resumed.
                self.inner = None;
                // SAFETY: this suspension's handle's count, which no resume
                // will take back.
                unsafe { give_back_count(&block) };
            }
            _ => self.inner = None,
        }
    }
}

impl<A: Awaiter> fmt::Debug for Cancellable<'_, A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cancellable").field("token", self.token).finish_non_exhaustive()
    }
}

impl<S: JoinSet> WhenAll<S> {
    /// [`cancellable`]`(token, self)`: the `co_await!` gives
    /// `Ok(results)`, or `Err(OperationCancelled)` if cancellation is
    /// requested first (the children still running are given up).
    ///
    /// ```
    /// use coro::cancellation::{CancellationSource, OperationCancelled};
    /// use coro::{co_await, co_return, sync_wait, when_all, Task};
    ///
    /// #[coro::coroutine]
    /// fn num(n: u32) -> Task<u32> { co_return!(n) }
    ///
    /// #[coro::coroutine]
    /// fn both(source: CancellationSource) -> Task<Result<(u32, u32), OperationCancelled>> {
    ///     let token = source.token();
    ///     let first = co_await!(when_all((num(1), num(2))).with_cancellation(&token));
    ///     source.request_cancellation();
    ///     let second = co_await!(when_all((num(3), num(4))).with_cancellation(&token));
    ///     assert_eq!(second, Err(OperationCancelled));
    ///     co_return!(first)
    /// }
    ///
    /// assert_eq!(sync_wait(both(CancellationSource::new())), Ok((1, 2)));
    /// ```
    pub fn with_cancellation(self, token: &CancellationToken) -> Cancellable<'_, Self> {
        cancellable(token, self)
    }
}

impl<S: JoinSet> WhenAllReady<S> {
    /// [`cancellable`]`(token, self)` (see [`WhenAll::with_cancellation`]).
    ///
    /// ```
    /// use coro::cancellation::CancellationToken;
    /// use coro::{co_await, co_return, sync_wait, when_all_ready, Task};
    ///
    /// #[coro::coroutine]
    /// fn num(n: u32) -> Task<u32> { co_return!(n) }
    ///
    /// #[coro::coroutine]
    /// fn run() -> Task<u32> {
    ///     let token = CancellationToken::none(); // never cancelled: awaited as is
    ///     let (a,) = co_await!(when_all_ready((num(5),)).with_cancellation(&token)).unwrap();
    ///     co_return!(a.unwrap())
    /// }
    ///
    /// assert_eq!(sync_wait(run()), 5);
    /// ```
    pub fn with_cancellation(self, token: &CancellationToken) -> Cancellable<'_, Self> {
        cancellable(token, self)
    }
}

impl<T, K: TaskKind> WhenAny<T, K> {
    /// [`cancellable`]`(token, self)`: the first result, or
    /// `Err(OperationCancelled)` if cancellation is requested before any
    /// child finishes (every child still running is given up). Compare
    /// [`cancel_on_completion`](Self::cancel_on_completion), which
    /// *requests* cancellation once a child has won.
    ///
    /// ```
    /// use coro::cancellation::{CancellationSource, OperationCancelled};
    /// use coro::{co_await, co_return, sync_wait, when_any, Task};
    ///
    /// #[coro::coroutine]
    /// fn num(n: u32) -> Task<u32> { co_return!(n) }
    ///
    /// #[coro::coroutine]
    /// fn race(source: CancellationSource) -> Task<Result<(usize, u32), OperationCancelled>> {
    ///     let token = source.token();
    ///     co_return!(co_await!(when_any(vec![num(1), num(2)]).with_cancellation(&token)))
    /// }
    ///
    /// assert_eq!(sync_wait(race(CancellationSource::new())), Ok((0, 1)));
    /// ```
    pub fn with_cancellation(self, token: &CancellationToken) -> Cancellable<'_, Self> {
        cancellable(token, self)
    }
}

/// Models of the word (`.ci/loom`; see docs/soundness.md, "Model
/// checking"): the real awaiter, over a real thread-safe semaphore's
/// `acquire`, awaited by a [`ProbeFrame`] coroutine, with the real
/// token: cancellation requested on one modelled thread while the
/// semaphore is released on another. The permit is the grant: it ends up
/// with the coroutine, resumed once with `Ok`, or back in the semaphore,
/// the coroutine resumed once with `Err` (or destroyed).
///
/// [`ProbeFrame`]: crate::language::atomic::probe::ProbeFrame
#[cfg(all(test, loom))]
mod loom_tests {
    use loom::thread::{self, JoinHandle};

    use super::*;
    use crate::home::resume_woken;
    use crate::language::atomic::probe::ProbeFrame;
    use crate::language::atomic::AtomicUsize;
    use crate::language::gate::{AfterCancel, Entry, Gate, Parked as GateParked, Release};
    use crate::library::cancellation::CancellationSource;
    use crate::library::sync::semaphore::Semaphore;
    use crate::library::sync::ThreadSafe;

    /// Made, and its lock taken once, on this thread (see the models of
    /// `waiter.rs`).
    fn empty_semaphore() -> Arc<Semaphore<ThreadSafe>> {
        let sem = Arc::new(Semaphore::<ThreadSafe>::new(0));
        assert_eq!(sem.available_permits(), 0);
        sem
    }

    fn release_one_on_another_thread(sem: &Arc<Semaphore<ThreadSafe>>) -> JoinHandle<()> {
        let sem = sem.clone();
        thread::spawn(move || sem.release(1))
    }

    /// `Ok`: the permit is the coroutine's (forgotten here), none is left;
    /// `Err`: the permit was handed on, back to the semaphore.
    fn permit_accounted(
        out: Result<crate::library::sync::semaphore::SemaphorePermit<'_, ThreadSafe>, OperationCancelled>,
        sem: &Semaphore<ThreadSafe>,
    ) {
        match out {
            Ok(permit) => {
                permit.forget();
                assert_eq!(sem.available_permits(), 0, "a permit was granted twice");
            }
            Err(OperationCancelled) => assert_eq!(sem.available_permits(), 1, "the permit was not handed on"),
        }
    }

    fn request_on_another_thread(source: CancellationSource) -> JoinHandle<()> {
        thread::spawn(move || source.request_cancellation())
    }

    /// A `SendTask`'s frame, reduced to what its owner's cancel step
    /// needs: the real gate word (`language/gate.rs`), its real park /
    /// resume / release / cancel functions, in front of a probe coroutine
    /// whose body is one `co_await!` of `A` (its awaiter and output are
    /// loom cells: a resume or destroy that is not ordered after the
    /// suspension, or overlaps another, is reported).
    #[repr(C)]
    struct Gated<A: Awaiter> {
        header: Header,
        gate: Gate,
        awaiter: loom::cell::UnsafeCell<Option<A>>,
        output: loom::cell::UnsafeCell<Option<A::Output>>,
        resumes: AtomicUsize,
        destroyed: AtomicUsize,
    }

    impl<A: Awaiter> Gated<A> {
        const VTABLE: VTable = VTable {
            resume: gated_resume::<A>,
            destroy: no_destroy,
            continuation: no_continuation,
            thread_bound: false,
        };

        /// Started by an owner that may go away (`AWAITED`).
        fn new(awaiter: A) -> Box<Self> {
            let f = Box::new(Gated {
                header: Header::stand_in(&Self::VTABLE),
                gate: Gate::new(),
                awaiter: loom::cell::UnsafeCell::new(Some(awaiter)),
                output: loom::cell::UnsafeCell::new(None),
                resumes: AtomicUsize::new(0),
                destroyed: AtomicUsize::new(0),
            });
            // SAFETY: fresh, used by this thread only.
            unsafe { f.gate.start_awaited() };
            f
        }

        fn handle(&self) -> CoroutineHandle {
            CoroutineHandle::from_header(NonNull::from(&self.header))
        }

        /// The `co_await!` as a gated frame runs it (`frame::gated_suspend`):
        /// park with the cancel hook, `await_suspend`, then the parker's
        /// word update. Whether it stays suspended.
        ///
        /// # Safety
        /// Called once; `self` stays in place until the model ends.
        unsafe fn co_await(&self) -> bool {
            let awaiter: *mut Option<A> = self.awaiter.with_mut(|a| a);
            // SAFETY: nobody else has the handle yet.
            let awaiter = unsafe { (*awaiter).as_mut() }.expect("awaits once");
            if awaiter.await_ready() {
                self.run_on();
                return false;
            }
            unsafe fn hook<A: Awaiter>(a: *mut ()) -> CancelOutcome {
                // SAFETY: the gate calls it while the frame is suspended on
                // the awaiter, from the one thread holding `CANCELLING`.
                unsafe { (*a.cast::<A>()).await_cancel() }
            }
            // SAFETY: the frame runs here; the hook stays valid while it is
            // suspended (the awaiter is in place).
            let epoch = unsafe { self.gate.park(Some((hook::<A>, (awaiter as *mut A).cast()))) };
            // SAFETY: suspended on the awaiter, which stays in place.
            match unsafe { awaiter.await_suspend(self.handle()) }.into_outcome() {
                SuspendOutcome::Resume => {
                    self.gate.unpark();
                    self.run_on();
                    false
                }
                _ => {
                    match self.gate.parked(epoch) {
                        GateParked::Stay => {}
                        GateParked::Cancel => self.cancel(),
                        GateParked::Free => unreachable!("nothing frees the model's frame"),
                    }
                    true
                }
            }
        }

        /// The body after the `co_await!`, then its end (the final claim:
        /// an orphaned frame destroys itself there).
        fn run_on(&self) {
            let awaiter = self.awaiter.with_mut(|a| {
                // SAFETY: a tracked access.
                unsafe { (*a).take() }
            });
            let output = awaiter.expect("resumed twice, or after it was destroyed").await_resume();
            // SAFETY: a tracked access.
            self.output.with_mut(|o| unsafe { *o = Some(output) });
            self.resumes.fetch_add(1, Ordering::Relaxed);
            if self.gate.finish() {
                self.destroy(false);
            }
        }

        /// The frame's destroy: its awaiter (if still there) and its output
        /// dropped; marked as abandoning it when the gate says so.
        fn destroy(&self, marked: bool) {
            let drop_contents = || {
                // SAFETY: tracked accesses.
                let awaiter = self.awaiter.with_mut(|a| unsafe { (*a).take() });
                drop(awaiter);
                // SAFETY: as above.
                let output = self.output.with_mut(|o| unsafe { (*o).take() });
                drop(output);
            };
            if marked {
                abandoning(self.handle(), drop_contents);
            } else {
                drop_contents();
            }
            assert_eq!(self.destroyed.fetch_add(1, Ordering::Relaxed), 0, "destroyed twice");
        }

        /// The holder of `CANCELLING`: the hook, then the destroy the gate
        /// asks for.
        fn cancel(&self) {
            // SAFETY: the caller holds `CANCELLING`.
            match unsafe { self.gate.cancel() } {
                AfterCancel::Destroy => self.destroy(false),
                AfterCancel::DestroyAbandoning => self.destroy(true),
                AfterCancel::Nothing => {}
            }
        }

        /// The owner goes away.
        fn release(&self) {
            match self.gate.release() {
                Release::Free => self.destroy(false),
                Release::Cancel => self.cancel(),
                Release::Detached => {}
            }
        }
    }

    /// The gated frame's resume entry point.
    ///
    /// # Safety
    /// `h` is the header of a live `Gated<A>`.
    unsafe fn gated_resume<A: Awaiter>(h: NonNull<Header>) -> Option<NonNull<Header>> {
        // SAFETY: the header is the first field (`repr(C)`; caller).
        let frame = unsafe { h.cast::<Gated<A>>().as_ref() };
        match frame.gate.resume() {
            Entry::Run => frame.run_on(),
            Entry::Leave => {}
            Entry::Destroy => frame.destroy(true),
        }
        None
    }

    /// A `SendTask` given up by its owner (the gate calls `await_cancel`)
    /// while cancellation is requested on one thread and the semaphore
    /// released on another: destroyed exactly once, resumed at most once
    /// (before the owner went away), the permit back in the semaphore
    /// whichever way (handed on by the inner awaiter's drop, marked as
    /// abandoning the stand-in when its resume came and was kept, or
    /// dropped with the output).
    #[test]
    fn loom_cancellable_an_owner_going_away_races_the_request_and_the_release() {
        loom::model(|| {
            let sem = empty_semaphore();
            let source = CancellationSource::new();
            let token = source.token();
            let frame = Gated::new(cancellable(&token, sem.acquire()));
            // SAFETY: the frame stays in place until the model ends.
            assert!(unsafe { frame.co_await() });
            let canceller = request_on_another_thread(source);
            let releaser = release_one_on_another_thread(&sem);
            frame.release();
            canceller.join().unwrap();
            releaser.join().unwrap();
            assert_eq!(frame.destroyed.load(Ordering::Relaxed), 1, "destroyed exactly once");
            assert!(frame.resumes.load(Ordering::Relaxed) <= 1);
            assert_eq!(sem.available_permits(), 1, "the permit was lost or handed on twice");
        });
    }

    /// A `Send` coroutine with no driver: the requesting thread cancels it
    /// and resumes it, racing the releasing thread, which resumes the
    /// stand-in from its ready queue.
    #[test]
    fn loom_cancellable_a_request_racing_a_release_resumes_a_send_waiter_once_with_the_permit_or_err() {
        loom::model(|| {
            let sem = empty_semaphore();
            let source = CancellationSource::new();
            let token = source.token();
            let waiter = ProbeFrame::new(cancellable(&token, sem.acquire()), false);
            // SAFETY: the frame stays in place until the model ends.
            assert!(unsafe { waiter.co_await() }, "no permit yet: it waits");
            let canceller = request_on_another_thread(source);
            let releaser = release_one_on_another_thread(&sem);
            canceller.join().unwrap();
            releaser.join().unwrap();
            assert_eq!(waiter.resumes(), 1, "resumed exactly once");
            let out = waiter.take_output().expect("resumed");
            permit_accounted(out, &sem);
        });
    }

    /// The request comes while the coroutine is still inside the inner
    /// `await_suspend` (`SUSPENDING`), or later: the tail or the
    /// requesting thread carries the cancel out, and the permit released
    /// on a third thread goes where the outcome says.
    #[test]
    fn loom_cancellable_a_request_during_the_suspension_is_carried_out_once() {
        loom::model(|| {
            let sem = empty_semaphore();
            let source = CancellationSource::new();
            let token = source.token();
            let waiter = ProbeFrame::new(cancellable(&token, sem.acquire()), false);
            let canceller = request_on_another_thread(source);
            let releaser = release_one_on_another_thread(&sem);
            // SAFETY: the frame stays in place until the model ends.
            unsafe { waiter.co_await() };
            canceller.join().unwrap();
            releaser.join().unwrap();
            assert_eq!(waiter.resumes(), 1, "it went on exactly once");
            let out = waiter.take_output().expect("resumed");
            permit_accounted(out, &sem);
        });
    }

    /// A thread-bound coroutine: the request (on one thread) posts the
    /// cancel home, the release (on another) hands the stand-in home; the
    /// home thread runs both, in whichever order they came.
    #[test]
    fn loom_cancellable_a_thread_bound_waiter_is_cancelled_and_resumed_at_home_once() {
        loom::model(|| {
            let sem = empty_semaphore();
            let source = CancellationSource::new();
            let token = source.token();
            let waiter = ProbeFrame::new(cancellable(&token, sem.acquire()), true);
            // SAFETY: the frame stays in place until the model ends.
            assert!(unsafe { waiter.co_await() });
            let canceller = request_on_another_thread(source);
            let releaser = release_one_on_another_thread(&sem);
            canceller.join().unwrap();
            releaser.join().unwrap();
            assert_eq!(waiter.resumes(), 0, "nothing runs it away from home");
            resume_woken();
            resume_woken();
            assert_eq!(waiter.resumes(), 1, "resumed at home exactly once");
            let out = waiter.take_output().expect("resumed");
            permit_accounted(out, &sem);
        });
    }

    /// As above, with the home thread draining its queue while the two
    /// posts arrive: a cancel run before the grant came withdraws the wait
    /// (`Err`, the permit stays or goes back), one run after it finds the
    /// grant (`Err` once the wake-up comes, the permit handed on), or the
    /// wake-up runs first (`Ok`).
    #[test]
    fn loom_cancellable_a_thread_bound_waiter_draining_its_queue_meanwhile_is_resumed_once() {
        loom::model(|| {
            let sem = empty_semaphore();
            let source = CancellationSource::new();
            let token = source.token();
            let waiter = ProbeFrame::new(cancellable(&token, sem.acquire()), true);
            // SAFETY: the frame stays in place until the model ends.
            assert!(unsafe { waiter.co_await() });
            let canceller = request_on_another_thread(source);
            let releaser = release_one_on_another_thread(&sem);
            resume_woken();
            canceller.join().unwrap();
            releaser.join().unwrap();
            resume_woken();
            resume_woken();
            assert_eq!(waiter.resumes(), 1, "resumed at home exactly once");
            let out = waiter.take_output().expect("resumed");
            permit_accounted(out, &sem);
        });
    }

    /// A thread-bound coroutine destroyed at home while the request and
    /// the release race on two other threads: never resumed, the permit
    /// back once, the block freed (its posted cancel runs and does
    /// nothing).
    #[test]
    fn loom_cancellable_a_thread_bound_waiter_destroyed_at_home_is_never_resumed_and_gives_the_permit_back() {
        loom::model(|| {
            let sem = empty_semaphore();
            let source = CancellationSource::new();
            let token = source.token();
            let waiter = ProbeFrame::new(cancellable(&token, sem.acquire()), true);
            // SAFETY: the frame stays in place until the model ends.
            assert!(unsafe { waiter.co_await() });
            let canceller = request_on_another_thread(source);
            let releaser = release_one_on_another_thread(&sem);
            assert!(waiter.destroy());
            canceller.join().unwrap();
            releaser.join().unwrap();
            resume_woken();
            assert_eq!(waiter.resumes(), 0, "a destroyed coroutine was resumed");
            assert_eq!(sem.available_permits(), 1, "the permit was lost or handed on twice");
        });
    }
}
