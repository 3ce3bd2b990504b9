//! `co_await!` of a `std::future::Future`: the coroutine is resumed by the
//! future's waker.
//!
//! The future is first polled before the coroutine suspends, whatever its
//! type: a future that is ready at once completes there, and the coroutine
//! goes on without suspending. Where that first poll runs depends on
//! whether the future may move once polled; the lowering picks the awaiter
//! at compile time, from the operand's type:
//! - an [`Unpin`] future (`std::future::ready`, a `futures` channel, a
//!   `Pin<Box<dyn Future>>`, most hand-written futures) gets an
//!   [`UnpinFutureAwaiter`], which polls it in
//!   [`await_ready`](Awaiter::await_ready): a ready one costs what a ready
//!   awaiter costs (`co_await!(std::future::ready(i))`: 11 instructions,
//!   see BENCHMARKS.md). `await_ready` runs while the awaiter is still a
//!   local of the body, which moves it into the frame only if it suspends:
//!   that move is why only an `Unpin` future may be polled there;
//! - any other future (an `async` block or `async fn`'s future, which may
//!   borrow from itself) gets a [`FutureAwaiter`], which first polls it
//!   once the awaiter has been moved to its place in the frame, where it
//!   stays pinned, but before the coroutine suspends: the `co_await!`'s
//!   point asks the awaiter's hidden `await_ready_pinned` hook (see
//!   `Awaiter::READY_WHEN_PINNED`) before it parks. A ready one costs the
//!   move and the poll (`co_await!(async move { i })`: 48 instructions,
//!   where a first poll in `await_suspend`, after a suspension, cost 93).
//!
//! A future still pending after that first poll is handled alike by both:
//! the coroutine suspends, and `await_suspend` does not poll it again
//! unless a wake-up came since.
//!
//! The awaiter is made before `await_transform` is asked: a promise with an
//! [`await_transform`](crate::promise::AwaitTransform) receives a `co_await!`ed
//! future as a `FutureAwaiter<F>` or an `UnpinFutureAwaiter<F>`, depending
//! on `F`, and needs an implementation for each it accepts.
//!
//! A future still pending after a poll keeps the coroutine suspended until
//! its waker fires; the waker later resumes the coroutine, which asks
//! [`await_ready`](Awaiter::await_ready) again (the awaiters set
//! [`Awaiter::RECHECK_READY_ON_RESUME`]) and, the output not being there
//! yet, suspends once more and re-polls. So a spurious or early wake-up
//! costs one extra poll, never a wrong result. A wake-up that comes before
//! the coroutine has suspended — during a poll, or, after the first poll,
//! from another thread before `await_suspend` has run — is recorded in the
//! waker state (`NOTIFIED`), never acted on: `await_suspend` finds it and
//! polls again instead of suspending, so it is not lost, and the coroutine
//! is not resumed by it. Until the coroutine has suspended for the first
//! time, a waker does not even know the coroutine's handle (the route,
//! which also says which thread's queue a thread-bound coroutine's
//! wake-ups go to, is set at that first suspension).
//!
//! A panic from the future's `poll` reaches the coroutine at its
//! `co_await!` wherever the poll ran: unwinding from the first poll goes
//! straight through the body, a later one's is caught in `await_suspend`
//! and rethrown in the body when it is resumed. The waker state is
//! detached first, so the awaiter's drop, during that unwinding, finds
//! nothing to wait for.
//!
//! Where the coroutine is resumed: never inside `wake()` itself when a
//! driver runs it. Rust futures call `wake()` wherever they like, often
//! under a lock their own `poll` takes (`futures::lock::Mutex` does), so
//! running the coroutine there could deadlock. A wake-up instead queues the
//! coroutine where it will be resumed:
//! - a thread-bound coroutine (a [`Task`](crate::Task)) on its own thread's
//!   queue, run by [`resume_woken`](crate::resume_woken), which
//!   [`sync_wait`](crate::sync_wait), a `Task` polled as a future and
//!   [`LocalScheduler`](crate::schedule::LocalScheduler) call;
//! - a `Send` coroutine (a [`SendTask`](crate::SendTask)) on the queue of
//!   the driver that was running it when it suspended: `sync_wait`'s
//!   thread, the `SendTask` future's own queue (drained wherever the
//!   executor polls it next), a [`ThreadPool`](crate::ThreadPool) (any
//!   worker);
//! - only a `Send` coroutine resumed by hand, outside any driver, is resumed
//!   by the waker itself, on the waking thread, as a C++ awaiter would.
//!
//! The waker's state lives in a small reference-counted block, made only if
//! the future keeps a waker (or wakes the one it is lent during its first
//! poll): the first poll lends it a waker on the stack whose `clone` makes
//! the block. So a future that completes at once costs no allocation, and
//! one that waits costs one per `co_await!` (reused across wake-ups).
//! Wakers kept by the future after the coroutine moved on, or was
//! destroyed, only reach that block, never the frame.

use crate::library::combinators::FutureChild;
use core::cell::UnsafeCell;
use core::fmt;
use core::future::{Future, IntoFuture};
use core::mem::ManuallyDrop;
use core::pin::Pin;
use core::sync::atomic::AtomicBool;
use core::sync::atomic::{AtomicU8, Ordering};
use core::task::{Context, Poll, RawWaker, RawWakerVTable, Waker};
use std::sync::{Arc, OnceLock};
use std::task::Wake;

use crate::home::{current_driver, WakeQueue, WakeTarget, Wakeup};
use crate::language::awaiter::{AwaitSuspend, Awaiter, CancelOutcome};
use crate::language::handle::CoroutineHandle;
use crate::language::lowering::AwaitProbe;

/// Being polled, or pending and not yet suspended (after the first poll,
/// which runs before the coroutine suspends).
const POLLING: u8 = 0;
/// Woken while being polled, or before the coroutine suspended: poll again
/// before suspending.
const NOTIFIED: u8 = 1;
/// Suspended, waiting for a wake-up.
const IDLE: u8 = 2;
/// A waker has taken the right to resume the coroutine and is doing so.
const WOKEN: u8 = 3;
/// A waker on another thread has queued the coroutine for its home thread.
const QUEUED: u8 = 4;
/// The future finished, or the awaiter is gone: wake-ups do nothing.
const DETACHED: u8 = 5;

/// The awaiter of `co_await!(future)` for a future that may not move once
/// polled (an `async` block or `async fn`): any [`IntoFuture`] that is not
/// itself awaitable becomes one, unless it is [`Unpin`] (then the lowering
/// picks an [`UnpinFutureAwaiter`]; it picks an [`IntoAwaiter`]
/// implementation before either). Its output is the future's.
///
/// Made by `co_await!` itself; build one by hand only to return it from an
/// [`await_transform`](crate::promise::AwaitTransform) or an
/// [`IntoAwaiter`](crate::IntoAwaiter) implementation.
///
/// The future is first polled once the awaiter has been moved to its place
/// in the coroutine's frame, where it stays pinned, but before the
/// coroutine suspends: a future that is ready at once completes there and
/// the coroutine goes on without suspending (it costs a little more than
/// with an [`UnpinFutureAwaiter`], which polls before the move). A future
/// still pending then is not polled again when the coroutine suspends,
/// unless it was woken since. It is polled only on the thread running the
/// coroutine, and it is dropped in place (pinned, as `Pin` requires) as
/// soon as it completes or the coroutine is destroyed.
///
/// ```
/// use coro::{co_await, co_return, sync_wait, Task};
/// use std::future::ready;
///
/// async fn double(x: u32) -> u32 {
///     x * 2
/// }
///
/// #[coro::coroutine]
/// fn twice() -> Task<u32> {
///     let a = co_await!(double(10)); // an `async fn`'s future: a `FutureAwaiter`
///     let b = co_await!(ready(1)); // an `Unpin` future: an `UnpinFutureAwaiter`
///     co_return!(a + b)
/// }
/// assert_eq!(sync_wait(twice()), 21);
/// ```
///
/// [`IntoAwaiter`]: crate::IntoAwaiter
pub struct FutureAwaiter<F: Future> {
    core: Core<F>,
}

impl<F: Future> FutureAwaiter<F> {
    /// Wraps a future (or anything [`IntoFuture`]).
    ///
    /// ```
    /// use coro::awaiter::FutureAwaiter;
    /// use coro::{co_await, co_return, sync_wait, Task};
    ///
    /// #[coro::coroutine]
    /// fn five() -> Task<u32> {
    ///     let awaiter = FutureAwaiter::new(async { 5 }); // what `co_await!(async { 5 })` makes
    ///     co_return!(co_await!(awaiter))
    /// }
    ///
    /// assert_eq!(sync_wait(five()), 5);
    /// ```
    pub fn new(future: impl IntoFuture<IntoFuture = F>) -> Self {
        FutureAwaiter { core: Core::new(future.into_future()) }
    }
}

impl<F: Future> fmt::Debug for FutureAwaiter<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.core.debug("FutureAwaiter", f)
    }
}

/// The awaiter of `co_await!(future)` for an [`Unpin`] future
/// (`std::future::ready`, a `futures` channel, a `Pin<Box<dyn Future>>`,
/// most hand-written futures): the lowering picks it over a
/// [`FutureAwaiter`] whenever the future's type is known to be `Unpin`.
///
/// It polls the future once in [`await_ready`](Awaiter::await_ready),
/// before the coroutine suspends: a future that is ready at once completes
/// there, and the coroutine goes on without suspending, for the cost of the
/// poll. This is sound only because the future is `Unpin`: `co_await!` asks
/// `await_ready` of the awaiter while it is a local of the body, and moves
/// it into the frame only if it suspends.
///
/// A future still pending after that poll is handled as by a
/// [`FutureAwaiter`]: the coroutine suspends, and a wake-up that fired
/// before it did (inside the poll, or from another thread since) makes
/// `await_suspend` poll again at once rather than be lost; later wake-ups
/// are queued for the coroutine's driver.
///
/// ```
/// use coro::awaiter::UnpinFutureAwaiter;
/// use coro::{co_await, co_return, sync_wait, Task};
///
/// #[coro::coroutine]
/// fn add() -> Task<u32> {
///     let a = co_await!(std::future::ready(1)); // an `UnpinFutureAwaiter`: no suspension
///     let b = co_await!(UnpinFutureAwaiter::new(std::future::ready(2))); // the same, by hand
///     co_return!(a + b)
/// }
/// assert_eq!(sync_wait(add()), 3);
/// ```
pub struct UnpinFutureAwaiter<F: Future + Unpin> {
    core: Core<F>,
}

impl<F: Future + Unpin> UnpinFutureAwaiter<F> {
    /// Wraps an `Unpin` future (or anything [`IntoFuture`] into one).
    ///
    /// A type made awaitable through a future:
    /// ```
    /// use std::future::{ready, Ready};
    /// use coro::awaiter::UnpinFutureAwaiter;
    /// use coro::{co_await, co_return, sync_wait, IntoAwaiter, Task};
    ///
    /// struct Answer;
    /// impl IntoAwaiter for Answer {
    ///     type Awaiter = UnpinFutureAwaiter<Ready<u32>>;
    ///     fn into_awaiter(self) -> Self::Awaiter { UnpinFutureAwaiter::new(ready(42)) }
    /// }
    ///
    /// #[coro::coroutine]
    /// fn ask() -> Task<u32> { co_return!(co_await!(Answer)) }
    ///
    /// assert_eq!(sync_wait(ask()), 42);
    /// ```
    pub fn new(future: impl IntoFuture<IntoFuture = F>) -> Self {
        UnpinFutureAwaiter { core: Core::new(future.into_future()) }
    }
}

impl<F: Future + Unpin> fmt::Debug for UnpinFutureAwaiter<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.core.debug("UnpinFutureAwaiter", f)
    }
}

/// What both awaiters hold: the future, its output, and the waker state.
struct Core<F: Future> {
    /// `None` once it has completed (dropped in place then).
    future: Option<F>,
    output: Option<F::Output>,
    /// Made once the future keeps a waker (or wakes during its first poll).
    wake: Option<(Arc<FutureWake>, Waker)>,
    /// The first poll ran before the coroutine suspended (in
    /// `UnpinFutureAwaiter::await_ready` or
    /// `FutureAwaiter::await_ready_pinned`) and left the future pending:
    /// the next `await_suspend` need not poll again, unless it was woken
    /// since.
    polled_early: bool,
}

/// Where a wake-up sends this coroutine (see [`Route`]). Asked on the
/// thread running the coroutine, and only once the future has kept a
/// waker: a future that completes at once pays for no lookup.
///
/// # Safety
/// `handle` is the live, suspended coroutine awaiting the future.
unsafe fn route(handle: CoroutineHandle) -> Route {
    // SAFETY: live (caller).
    if unsafe { handle.is_thread_bound() } {
        Route { handle, target: Some(WakeQueue::current() as Arc<dyn WakeTarget>), thread_bound: true }
    } else {
        Route { handle, target: current_driver(), thread_bound: false }
    }
}

/// After a lazy poll that left the future pending: the waker state to keep,
/// if the future kept a waker (`shared`) or woke the lent one (`woken`).
/// Out of line: a future that completes at once never gets here.
#[inline(never)]
fn keep_waker(shared: Option<Arc<FutureWake>>, woken: bool) -> Option<(Arc<FutureWake>, Waker)> {
    let wake = match shared {
        Some(wake) => {
            // Woken through the borrowed waker before the clone: the state
            // is still `POLLING` (wake-ups through the clone only ever make
            // it `NOTIFIED`).
            if woken {
                wake.state.store(NOTIFIED, Ordering::Release);
            }
            wake
        }
        // Woken through the borrowed waker but no clone kept: poll again,
        // now with a waker of its own.
        None if woken => FutureWake::new(NOTIFIED),
        // Pending without keeping a waker nor waking: nothing can ever wake
        // it (a broken future, or `std::future::pending`).
        None => return None,
    };
    let waker = Waker::from(wake.clone());
    Some((wake, waker))
}

impl<F: Future> Core<F> {
    #[inline]
    fn new(future: F) -> Self {
        Core { future: Some(future), output: None, wake: None, polled_early: false }
    }

    fn debug(&self, name: &str, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct(name).field("pending", &self.future.is_some()).field("ready", &self.output.is_some()).finish()
    }

    /// A poll with a waker borrowed from this stack, made before the future
    /// has kept a waker: the shared waker state is allocated only if the
    /// future keeps one (clones it), so a future that completes at once
    /// costs no allocation. Returns `true` if the future completed.
    ///
    /// If it is pending, the waker state (if the future kept a waker, or
    /// woke the borrowed one) is left `POLLING` (`NOTIFIED` if woken): the
    /// coroutine is not suspended yet, so a wake-up from now on only marks
    /// it `NOTIFIED`, and [`suspend`](Self::suspend) polls again rather than
    /// suspend.
    ///
    /// # Safety
    /// The future is pinned, as [`poll_in_place`] requires.
    #[inline(always)]
    unsafe fn lazy_poll(&mut self) -> bool {
        let lazy = LazyWake { shared: OnceLock::new(), woken: AtomicBool::new(false) };
        let raw = RawWaker::new(&lazy as *const LazyWake as *const (), &LAZY_WAKER_VTABLE);
        // SAFETY: the vtable's functions uphold `RawWaker`'s contract for as
        // long as `lazy` lives (see them); the waker is only lent to the one
        // `poll` below (a `&Waker`), so no copy of it outlives `lazy`: a
        // future that keeps a waker keeps a clone, which is an `Arc` waker.
        let waker = ManuallyDrop::new(unsafe { Waker::from_raw(raw) });
        let mut cx = Context::from_waker(&waker);
        let completed = {
            let guard = DetachLazyOnUnwind(&lazy);
            // SAFETY: forwarded contract.
            let completed = unsafe { poll_in_place(&mut self.future, &mut self.output, &mut cx) };
            core::mem::forget(guard);
            completed
        };
        let woken = lazy.woken.load(Ordering::Acquire);
        let shared = lazy.shared.into_inner();
        if completed {
            if let Some(wake) = shared {
                wake.state.store(DETACHED, Ordering::Release);
            }
            return true;
        }
        self.wake = keep_waker(shared, woken);
        false
    }

    /// The first poll, before the coroutine suspends at this `co_await!`
    /// (from `UnpinFutureAwaiter::await_ready`, or
    /// `FutureAwaiter::await_ready_pinned`): `true` if the future has
    /// completed. Polls only once: asked again (on a resume), it answers
    /// from the output, and the later polls are `await_suspend`'s.
    ///
    /// If the future is pending, the state it leaves is the one
    /// `await_suspend` expects after a poll (see [`lazy_poll`](Self::lazy_poll)):
    /// `polled_early` is set, so `await_suspend` does not poll again unless
    /// a wake-up came since (`NOTIFIED`), and sets the route at the first
    /// suspension; no waker knows the coroutine before that.
    ///
    /// # Safety
    /// The future is pinned, as [`poll_in_place`] requires.
    #[inline(always)]
    unsafe fn poll_early(&mut self) -> bool {
        if self.output.is_some() {
            return true;
        }
        if self.polled_early || self.wake.is_some() {
            return false;
        }
        // SAFETY: forwarded contract; not polled yet.
        unsafe { self.first_poll() }
    }

    /// [`poll_early`](Self::poll_early) when the future has not been polled
    /// yet (so neither its output nor a waker state is there).
    ///
    /// # Safety
    /// As `poll_early`; and the future has not been polled yet: no
    /// `await_suspend` ran, so no waker state exists that a waker could
    /// use to resume the coroutine (replacing it would lose track of it).
    #[inline(always)]
    unsafe fn first_poll(&mut self) -> bool {
        debug_assert!(self.output.is_none() && self.wake.is_none() && !self.polled_early);
        // SAFETY: forwarded contract.
        if unsafe { self.lazy_poll() } {
            return true;
        }
        self.polled_early = true;
        false
    }

    /// `await_suspend`: polls the future unless `polled_early` (the last
    /// poll, in [`poll_early`](Self::poll_early), left it pending and the
    /// coroutine has not suspended since); returns `false` (resume at once)
    /// if it completed, `true` (stay suspended until the waker fires) if it
    /// is pending.
    ///
    /// # Safety
    /// As `await_suspend`: `handle` is the coroutine, suspended at this
    /// `co_await!`, and this core lives in its frame until `await_resume`
    /// or its drop; the future is pinned, as [`poll_in_place`] requires.
    /// Once this returns `true`, the core must not be touched (a waker may
    /// resume the coroutine, or its owner destroy it, at any time).
    #[inline]
    unsafe fn await_suspend(&mut self, handle: CoroutineHandle) -> bool {
        let just_polled = if core::mem::take(&mut self.polled_early) {
            true
        } else if self.wake.is_none() {
            // No waker kept yet: the first poll (or a coroutine resumed by
            // hand while its future keeps no waker).
            // SAFETY: forwarded contract.
            if unsafe { self.lazy_poll() } {
                return false;
            }
            true
        } else {
            false
        };
        // SAFETY: forwarded contract.
        unsafe { self.suspend(handle, just_polled) }
    }

    /// Suspends the coroutine until the waker fires, after the poll that
    /// left the future pending if `just_polled` (unless a wake-up came
    /// since), else after polling it. Returns `false` if the future
    /// completed, `true` to stay suspended.
    ///
    /// # Safety
    /// As [`await_suspend`](Self::await_suspend).
    unsafe fn suspend(&mut self, handle: CoroutineHandle, just_polled: bool) -> bool {
        // Pending without keeping a waker nor waking: nothing can ever wake
        // it; stay suspended.
        let Some((wake, waker)) = &self.wake else { return true };
        // The route, before the state can first become `IDLE`: a wake-up
        // reads it once it finds the coroutine `IDLE`.
        // SAFETY: the owner side of `FutureWake::route`'s protocol: this
        // thread runs the coroutine, and the state has not been `IDLE` yet
        // when the route is unset (a wake-up reads it only after finding
        // the state `IDLE`, or `QUEUED` after it), so nothing reads it now;
        // the compare-exchange below, or the one ending the poll loop,
        // publishes it (release) before any wake-up can read it. The
        // handle is live and suspended (forwarded contract).
        unsafe {
            if !wake.routed() {
                *wake.route.get() = Some(route(handle));
            }
        }
        // Unless woken during or since that poll (`NOTIFIED`: poll again).
        if just_polled && wake.state.compare_exchange(POLLING, IDLE, Ordering::AcqRel, Ordering::Acquire).is_ok() {
            // From here a waker may resume (or its owner destroy) the
            // coroutine: `self` must not be touched again.
            return true;
        }
        // Resumed by a waker (`WOKEN`), by hand, or woken since the last
        // poll (`NOTIFIED`): poll now. A read-modify-write that acquires: a
        // wake-up that found the state `WOKEN` (or `QUEUED`, `NOTIFIED`) and
        // left it so released what its future had written before it (see
        // `wake_by_ref`), and this poll must see it.
        wake.state.swap(POLLING, Ordering::Acquire);
        let mut cx = Context::from_waker(waker);
        let guard = DetachOnUnwind(wake);
        loop {
            // SAFETY: forwarded contract.
            if unsafe { poll_in_place(&mut self.future, &mut self.output, &mut cx) } {
                guard.0.state.store(DETACHED, Ordering::Release);
                core::mem::forget(guard);
                return false;
            }
            match guard.0.state.compare_exchange(POLLING, IDLE, Ordering::AcqRel, Ordering::Acquire) {
                // From here a waker may resume (or its owner destroy) the
                // coroutine: `self` must not be touched again.
                Ok(_) => {
                    core::mem::forget(guard);
                    return true;
                }
                // Woken during the poll: poll again (acquiring, as above,
                // from every wake-up since).
                Err(_) => {
                    guard.0.state.swap(POLLING, Ordering::Acquire);
                }
            }
        }
    }

    /// The cancel step: a coroutine suspended on a future that keeps no
    /// waker can never be woken (`Withdrawn`); one whose waker has not
    /// fired is detached from it (`IDLE -> DETACHED`: later wake-ups do
    /// nothing, `Withdrawn`); one a wake-up has already claimed (`WOKEN`,
    /// `QUEUED`) will be resumed (`ResumeComing`).
    ///
    /// # Safety
    /// As `Awaiter::await_cancel`: the coroutine is suspended on this core.
    unsafe fn cancel(&mut self) -> CancelOutcome {
        let Some((wake, _)) = &self.wake else { return CancelOutcome::Withdrawn };
        // `Acquire`: pairs with the suspension's release of `IDLE`.
        match wake.state.compare_exchange(IDLE, DETACHED, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => CancelOutcome::Withdrawn,
            Err(_) => CancelOutcome::ResumeComing,
        }
    }

    #[inline]
    fn take_output(&mut self) -> F::Output {
        self.output.take().expect("co_await of a future resumed before the future completed")
    }
}

/// Polls the awaiter's future once; if it completes, drops it in place and
/// stores its output, and returns `true`.
///
/// # Safety
/// `future` and `output` are the fields of a [`Core`] whose future is
/// pinned: either `F: Unpin`, or the core lives in a suspended frame (an
/// awaiter's `await_suspend` is running) and is neither moved nor forgotten
/// until `await_resume` or its drop (the `await_suspend` contract), and the
/// future is dropped in place here before `await_resume` can move it.
#[inline]
unsafe fn poll_in_place<F: Future>(
    future: &mut Option<F>,
    output: &mut Option<F::Output>,
    cx: &mut Context<'_>,
) -> bool {
    let Some(pending) = future.as_mut() else { unreachable!("a finished future was polled") };
    // SAFETY: pinned in place until dropped (caller).
    match unsafe { Pin::new_unchecked(pending) }.poll(cx) {
        Poll::Ready(value) => {
            *future = None;
            *output = Some(value);
            true
        }
        Poll::Pending => false,
    }
}

/// The lazy poll's waker state, on `lazy_poll`'s stack.
struct LazyWake {
    /// Made by the first clone of the borrowed waker (possibly on another
    /// thread, inside the poll: hence the lock).
    shared: OnceLock<Arc<FutureWake>>,
    /// The borrowed waker was woken (by reference) during the poll.
    woken: AtomicBool,
}

impl LazyWake {
    fn shared(&self) -> &Arc<FutureWake> {
        self.shared.get_or_init(|| FutureWake::new(POLLING))
    }
}

static LAZY_WAKER_VTABLE: RawWakerVTable = RawWakerVTable::new(lazy_clone, lazy_wake, lazy_wake, lazy_drop);

// The four functions below receive the `LazyWake` pointer of a borrowed
// waker, only during the lazy poll (the waker is lent, never given): the
// `LazyWake` is alive. They only use its thread-safe parts.

unsafe fn lazy_clone(data: *const ()) -> RawWaker {
    // SAFETY: see above.
    let lazy = unsafe { &*(data as *const LazyWake) };
    let waker = ManuallyDrop::new(Waker::from(lazy.shared().clone()));
    // The clone is the shared state's own (`Arc`) waker; ownership of the
    // reference count passes to the returned `RawWaker`.
    RawWaker::new(waker.data(), waker.vtable())
}

unsafe fn lazy_wake(data: *const ()) {
    // SAFETY: see above.
    let lazy = unsafe { &*(data as *const LazyWake) };
    match lazy.shared.get() {
        // A clone exists: wake through the shared state (`NOTIFIED`).
        Some(wake) => wake.wake_by_ref(),
        None => lazy.woken.store(true, Ordering::Release),
    }
}

unsafe fn lazy_drop(_: *const ()) {}

/// Detaches the shared state, if a clone made one, when the lazy poll
/// panics (as [`DetachOnUnwind`] does for later polls).
struct DetachLazyOnUnwind<'a>(&'a LazyWake);

impl Drop for DetachLazyOnUnwind<'_> {
    fn drop(&mut self) {
        if let Some(wake) = self.0.shared.get() {
            wake.state.store(DETACHED, Ordering::Release);
        }
    }
}

impl<F: Future> Awaiter for FutureAwaiter<F> {
    type Output = F::Output;

    /// `true` once the future has produced its output; asked again on every
    /// resume. Never polls: the awaiter may still move.
    #[inline]
    fn await_ready(&mut self) -> bool {
        self.core.output.is_some()
    }

    /// Polls the future, unless `await_ready_pinned` just did and nothing
    /// woke it since; returns `false` (resume at once) if it completed,
    /// `true` (stay suspended until the waker fires) if it is pending.
    unsafe fn await_suspend(&mut self, handle: CoroutineHandle) -> impl AwaitSuspend {
        // SAFETY: forwarded contract; the awaiter lives in the suspended
        // frame, so the future is pinned.
        unsafe { self.core.await_suspend(handle) }
    }

    fn await_resume(mut self) -> F::Output {
        self.core.take_output()
    }

    /// Withdraws from the waker unless a wake-up has already claimed the
    /// coroutine.
    unsafe fn await_cancel(&mut self) -> CancelOutcome {
        // SAFETY: forwarded contract.
        unsafe { self.core.cancel() }
    }

    const RECHECK_READY_ON_RESUME: bool = true;

    const READY_WHEN_PINNED: bool = true;

    /// The first poll, once the awaiter is pinned in the frame and before
    /// the coroutine suspends: `true` if the future completed (the
    /// coroutine goes on without suspending).
    #[inline(always)]
    unsafe fn await_ready_pinned(&mut self) -> bool {
        // SAFETY: the awaiter stays where it is until `await_resume` or its
        // drop (the caller's contract), and the future is dropped in place
        // as soon as it completes (`poll_in_place`), before `await_resume`
        // moves the awaiter: the future is pinned. Only the frame calls
        // this, once per `co_await!`, just after `await_ready` (which never
        // polls) returned `false`, and before any `await_suspend` (the
        // same contract): the future has not been polled yet.
        unsafe { self.core.first_poll() }
    }
}

impl<F: Future + Unpin> Awaiter for UnpinFutureAwaiter<F> {
    type Output = F::Output;

    /// The first time: polls the future, `true` if it completed. Then (on
    /// every resume): `true` once the future has produced its output; the
    /// later polls are `await_suspend`'s.
    #[inline(always)]
    fn await_ready(&mut self) -> bool {
        // SAFETY: `F: Unpin`: the future may move after this poll.
        unsafe { self.core.poll_early() }
    }

    /// Polls the future, unless `await_ready` just did and nothing woke it
    /// since; returns `false` (resume at once) if it completed, `true`
    /// (stay suspended until the waker fires) if it is pending.
    unsafe fn await_suspend(&mut self, handle: CoroutineHandle) -> impl AwaitSuspend {
        // SAFETY: forwarded contract; `F: Unpin`.
        unsafe { self.core.await_suspend(handle) }
    }

    fn await_resume(mut self) -> F::Output {
        self.core.take_output()
    }

    /// Withdraws from the waker unless a wake-up has already claimed the
    /// coroutine.
    unsafe fn await_cancel(&mut self) -> CancelOutcome {
        // SAFETY: forwarded contract.
        unsafe { self.core.cancel() }
    }

    const RECHECK_READY_ON_RESUME: bool = true;
}

impl<F: Future> Drop for Core<F> {
    fn drop(&mut self) {
        if let Some((wake, _)) = &self.wake {
            // SAFETY: this thread owns the coroutine (it is dropping its
            // awaiter), so it is the route's only writer.
            let routed = unsafe { wake.routed() };
            match wake.state.swap(DETACHED, Ordering::AcqRel) {
                // `WOKEN` by this very thread, which destroys the coroutine
                // in place of resuming it (an abandoned `SendTask`), is fine:
                // nothing else will use the frame.
                WOKEN if routed && crate::language::frame::is_abandoning(wake.route().handle) => {}
                // Another thread is resuming or polling the coroutine that is
                // being destroyed here: its owner destroyed it while a waker
                // could still resume it. Continuing would free the frame
                // under that thread. (Only once the coroutine has suspended
                // on this future, which sets the route first: before that, a
                // future polled before the suspension leaves the state
                // `POLLING` or `NOTIFIED`, and no waker can resume the
                // coroutine. So an awaiter dropped between that first poll
                // and `await_suspend` (driven by hand, or in a coroutine
                // that unwinds before suspending) is detached quietly.)
                WOKEN | POLLING | NOTIFIED if routed => {
                    eprintln!(
                        "coro: a coroutine awaiting a future was destroyed while another thread was resuming it \
                         (its owner must not destroy it while the future's waker may resume it); aborting"
                    );
                    std::process::abort();
                }
                // Queued for this (home) thread: the queue entry will find it
                // detached and do nothing.
                _ => {}
            }
        }
    }
}

/// Marks the waker state detached if the future's `poll` panics (the panic
/// reaches the coroutine at its `co_await!`, and the awaiter is dropped
/// normally afterwards).
struct DetachOnUnwind<'a>(&'a Arc<FutureWake>);

impl Drop for DetachOnUnwind<'_> {
    fn drop(&mut self) {
        self.0.state.store(DETACHED, Ordering::Release);
    }
}

/// What the future's waker points to: the suspended coroutine, and how to
/// get it resumed.
struct FutureWake {
    state: AtomicU8,
    /// Set by the thread running the coroutine when it first suspends on
    /// the future, before the state first becomes `IDLE` (a waker cloned
    /// during the first poll, before the coroutine suspended, cannot know
    /// it; nor can one cloned on another thread).
    ///
    /// Written once, by the thread running the coroutine, before the state
    /// first becomes `IDLE` (whose releasing compare-exchange publishes
    /// it); read by a wake-up only once it has found the state `IDLE` (or
    /// `QUEUED`, which only follows `IDLE`) with an acquiring operation. So
    /// the write happens before every read, and is never concurrent with
    /// one: an `UnsafeCell` rather than a `OnceLock`, whose lock a wake-up
    /// would pay for.
    route: UnsafeCell<Option<Route>>,
}

// SAFETY: `route` is written and read only as its documentation says: one
// write, which happens before every read (through `state`); everything
// else is `Sync` (`Route`'s handle and target are `Send + Sync`).
unsafe impl Sync for FutureWake {}

/// The coroutine, and where a wake-up sends it to be resumed.
struct Route {
    /// Only resumed after winning `IDLE -> WOKEN` (or `QUEUED -> WOKEN` in
    /// the target's drain), which the awaiter's drop excludes.
    handle: CoroutineHandle,
    /// Its home thread's queue if it is thread-bound, else the queue of the
    /// driver that was running it (`sync_wait`, a task polled as a future, a
    /// pool worker). `None` only for a `Send` coroutine resumed by hand,
    /// outside any driver: the waker then resumes it itself.
    target: Option<Arc<dyn WakeTarget>>,
    /// The coroutine may only run on its home thread: if its queue refuses
    /// the wake-up (the thread has exited), nothing can resume it.
    thread_bound: bool,
}

impl FutureWake {
    /// In `state` (`POLLING`, or `NOTIFIED` if woken already).
    fn new(state: u8) -> Arc<FutureWake> {
        Arc::new(FutureWake { state: AtomicU8::new(state), route: UnsafeCell::new(None) })
    }

    /// Whether the route is set.
    ///
    /// # Safety
    /// Called by the thread running (or dropping) the coroutine: the only
    /// writer of the route.
    unsafe fn routed(&self) -> bool {
        // SAFETY: no write can be concurrent with this read (caller).
        unsafe { (*self.route.get()).is_some() }
    }

    /// Only once this thread has found the state `IDLE` (or `QUEUED`)
    /// with an acquiring operation: see `route`.
    fn route(&self) -> &Route {
        // SAFETY: every caller has found the state `IDLE` or `QUEUED` (see
        // them), so the route's one write happens before this read, and no
        // write follows it.
        unsafe { (*self.route.get()).as_ref() }.expect("a future's waker state became IDLE before its route was set")
    }

    fn resume(&self) {
        // SAFETY: this thread won the transition to `WOKEN`, so the
        // coroutine is suspended at this `co_await!` and its awaiter is
        // alive (its drop would have moved the state to `DETACHED` first,
        // or aborted); the coroutine may run on this thread (a thread-bound
        // one is only ever resumed by its home thread's drain, a `Send` one
        // anywhere).
        unsafe { self.route().handle.resume() }
    }
}

impl Wake for FutureWake {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref()
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let mut state = self.state.load(Ordering::Acquire);
        let next = loop {
            let next = match state {
                POLLING => NOTIFIED,
                IDLE if self.route().target.is_some() => QUEUED,
                IDLE => WOKEN,
                // Already notified, woken or queued: the coroutine will poll again,
                // but only after this wake-up if it is ordered before that
                // poll. Leaving the state as it is with a releasing
                // read-modify-write does that (or, if the poll has begun,
                // fails and makes it `NOTIFIED`); a plain load would let the
                // poll miss what the future wrote before calling `wake`.
                NOTIFIED | WOKEN | QUEUED => state,
                // Detached: nothing to do.
                _ => return,
            };
            match self.state.compare_exchange_weak(state, next, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => break next,
                Err(now) => state = now,
            }
        };
        if next == state {
            return;
        }
        match next {
            WOKEN => self.resume(),
            QUEUED => {
                let route = self.route();
                let target = route.target.as_ref().expect("only coroutines with a target are queued");
                if let Err(refused) = target.post(self.clone()) {
                    // The driver is gone (a `SendTask` future finished or
                    // dropped, a pool stopping, a thread exited): nobody
                    // will drain that queue. A `Send` coroutine is resumed
                    // here rather than never; a thread-bound one cannot be.
                    if !route.thread_bound {
                        refused.run();
                    }
                }
            }
            _ => {}
        }
    }
}

impl Wakeup for FutureWake {
    fn run(self: Arc<Self>) {
        if self.state.compare_exchange(QUEUED, WOKEN, Ordering::AcqRel, Ordering::Acquire).is_ok() {
            self.resume();
        }
    }
}

// The lowering's choice of `operator co_await` for a future (see
// `AwaitProbe` in the language layer, which knows nothing of futures): the
// second and third steps of its method lookup live here, beside the
// awaiters they pick, and reach generated code through `coro::__private`.

/// The operand is a future that may not move once polled: it is awaited
/// through a [`FutureAwaiter`].
#[derive(Clone, Copy, Debug)]
pub struct AsFuture;

impl AsFuture {
    /// Wraps the future.
    #[inline(always)]
    pub fn wrap<E: IntoFuture>(self, operand: E) -> FutureAwaiter<E::IntoFuture> {
        FutureAwaiter::new(operand)
    }
}

/// The operand is an `Unpin` future: it is awaited through an
/// [`UnpinFutureAwaiter`].
#[derive(Clone, Copy, Debug)]
pub struct AsUnpinFuture;

impl AsUnpinFuture {
    /// Wraps the future.
    #[inline(always)]
    pub fn wrap<E: IntoFuture>(self, operand: E) -> UnpinFutureAwaiter<E::IntoFuture>
    where
        E::IntoFuture: Unpin,
    {
        UnpinFutureAwaiter::new(operand)
    }
}

/// Second choice, the operand is an `Unpin` future (implemented for
/// `&AwaitProbe`); third, any other future (for `AwaitProbe`).
pub trait ViaFuture {
    /// [`AsUnpinFuture`] or [`AsFuture`].
    type Kind;
    /// The probe's verdict.
    fn __coro_await_kind(self) -> Self::Kind;
}
impl<E: IntoFuture> ViaFuture for &AwaitProbe<E>
where
    E::IntoFuture: Unpin,
{
    type Kind = AsUnpinFuture;
    #[inline(always)]
    fn __coro_await_kind(self) -> AsUnpinFuture {
        AsUnpinFuture
    }
}
impl<E: IntoFuture> ViaFuture for AwaitProbe<E> {
    type Kind = AsFuture;
    #[inline(always)]
    fn __coro_await_kind(self) -> AsFuture {
        AsFuture
    }
}

/// `coro::combinators::future(f)` awaits `f` in a [`FutureAwaiter`], as
/// `co_await!(f)` does for a future that may not be `Unpin`.
impl<E: IntoFuture> FutureChild for E
where
    E::IntoFuture: 'static,
{
    type Awaiter = FutureAwaiter<E::IntoFuture>;
    fn into_child_awaiter(self) -> FutureAwaiter<E::IntoFuture> {
        FutureAwaiter::new(self)
    }
}
