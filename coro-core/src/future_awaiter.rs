//! `co_await!` of a `std::future::Future`: the coroutine is resumed by the
//! future's waker.
//!
//! [`FutureAwaiter`] polls the future in `await_suspend`, after the
//! coroutine is parked (so a waker that fires at once, on any thread, finds
//! it suspended). If the future is pending, the waker later resumes the
//! coroutine, which asks [`await_ready`](Awaiter::await_ready) again (the
//! awaiter sets [`Awaiter::RECHECK_READY_ON_RESUME`]) and, the output not
//! being there yet, suspends once more and re-polls. So a spurious or early
//! wake-up costs one extra poll, never a wrong result.
//!
//! Where the coroutine is resumed: never inside `wake()` itself when a
//! driver runs it. Rust futures call `wake()` wherever they like, often
//! under a lock their own `poll` takes (`futures::lock::Mutex` does), so
//! running the coroutine there could deadlock. A wake-up instead queues the
//! coroutine where it will be resumed:
//! - a thread-bound coroutine (a [`Task`](crate::Task)) on its own thread's
//!   queue, run by [`resume_woken`](crate::resume_woken), which
//!   [`sync_wait`](crate::sync_wait), a `Task` polled as a future and
//!   [`LocalScheduler`](crate::LocalScheduler) call;
//! - a `Send` coroutine (a [`SendTask`](crate::SendTask)) on the queue of
//!   the driver that was running it when it suspended: `sync_wait`'s
//!   thread, the `SendTask` future's own queue (drained wherever the
//!   executor polls it next), a [`ThreadPool`](crate::ThreadPool) (any
//!   worker);
//! - only a `Send` coroutine resumed by hand, outside any driver, is resumed
//!   by the waker itself, on the waking thread, as a C++ awaiter would.
//!
//! The waker's state lives in a small reference-counted block, made only if
//! the future keeps a waker: the first poll lends it a waker on the stack
//! whose `clone` makes the block. So a future that completes at once costs
//! no allocation, and one that waits costs one per `co_await!` (reused
//! across wake-ups). Wakers kept by the future after the coroutine moved
//! on, or was destroyed, only reach that block, never the frame.

use core::fmt;
use core::future::{Future, IntoFuture};
use core::mem::ManuallyDrop;
use core::pin::Pin;
use core::sync::atomic::AtomicBool;
use core::sync::atomic::{AtomicU8, Ordering};
use core::task::{Context, Poll, RawWaker, RawWakerVTable, Waker};
use std::sync::{Arc, OnceLock};
use std::task::Wake;

use crate::awaiter::{AwaitSuspend, Awaiter};
use crate::handle::CoroutineHandle;
use crate::home::{current_driver, WakeQueue, WakeTarget, Wakeup};

/// Being polled (by the coroutine, in `await_suspend`).
const POLLING: u8 = 0;
/// Woken while being polled: poll again before suspending.
const NOTIFIED: u8 = 1;
/// Suspended, waiting for a wake-up.
const IDLE: u8 = 2;
/// A waker has taken the right to resume the coroutine and is doing so.
const WOKEN: u8 = 3;
/// A waker on another thread has queued the coroutine for its home thread.
const QUEUED: u8 = 4;
/// The future finished, or the awaiter is gone: wake-ups do nothing.
const DETACHED: u8 = 5;

/// The awaiter of `co_await!(future)`: any [`IntoFuture`] that is not
/// itself awaitable becomes one (the lowering picks an [`IntoAwaiter`]
/// implementation first, then a future). Its output is the future's.
///
/// Made by `co_await!` itself; build one by hand only to return it from an
/// [`await_transform`](crate::AwaitTransform) or an
/// [`IntoAwaiter`](crate::IntoAwaiter) implementation.
///
/// The future is polled only on the thread running the coroutine, and it is
/// dropped in place (pinned, as `Pin` requires) as soon as it completes or
/// the coroutine is destroyed.
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
///     let a = co_await!(double(10)); // an `async fn`'s future
///     let b = co_await!(ready(1)); // any `Future`
///     co_return!(a + b)
/// }
/// assert_eq!(sync_wait(twice()), 21);
/// ```
///
/// [`IntoAwaiter`]: crate::IntoAwaiter
pub struct FutureAwaiter<F: Future> {
    /// `None` once it has completed (dropped in place then).
    future: Option<F>,
    output: Option<F::Output>,
    /// Made at the first suspension.
    wake: Option<(Arc<FutureWake>, Waker)>,
}

impl<F: Future> FutureAwaiter<F> {
    /// Wraps a future (or anything [`IntoFuture`]).
    pub fn new(future: impl IntoFuture<IntoFuture = F>) -> Self {
        FutureAwaiter { future: Some(future.into_future()), output: None, wake: None }
    }
}

impl<F: Future> fmt::Debug for FutureAwaiter<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FutureAwaiter")
            .field("pending", &self.future.is_some())
            .field("ready", &self.output.is_some())
            .finish()
    }
}

/// What the first poll of a `co_await!`ed future ended with.
enum FirstPoll {
    /// The future completed: its output is stored.
    Ready,
    /// Pending, and its waker is armed: stay suspended.
    Suspend,
    /// Pending, but woken during the poll: poll again with the shared state.
    PollAgain,
}

impl<F: Future> FutureAwaiter<F> {
    /// Where a wake-up sends this coroutine (see [`Route`]). Asked on the
    /// thread running the coroutine, and only once the future has kept a
    /// waker: a future that completes at once pays for no lookup.
    ///
    /// # Safety
    /// `handle` is the live, suspended coroutine awaiting this awaiter.
    unsafe fn route(handle: CoroutineHandle) -> Route {
        // SAFETY: live (caller).
        if unsafe { handle.is_thread_bound() } {
            Route { target: Some(WakeQueue::current() as Arc<dyn WakeTarget>), thread_bound: true }
        } else {
            Route { target: current_driver(), thread_bound: false }
        }
    }

    /// The first poll, with a waker borrowed from this stack: the shared
    /// waker state is allocated only if the future keeps a waker (clones
    /// it), so a future that completes at once costs no allocation.
    ///
    /// # Safety
    /// As `await_suspend`.
    unsafe fn first_poll(&mut self, handle: CoroutineHandle) -> FirstPoll {
        let lazy = LazyWake { handle, shared: OnceLock::new(), woken: AtomicBool::new(false) };
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
            return FirstPoll::Ready;
        }
        let wake = match shared {
            Some(wake) => wake,
            // Woken through the borrowed waker but no clone kept: poll
            // again, now with a waker of its own.
            None if woken => FutureWake::new(handle),
            // Pending without keeping a waker nor waking: nothing can ever
            // wake it (a broken future); stay suspended.
            None => return FirstPoll::Suspend,
        };
        // Before the state can leave `POLLING`: a wake-up reads it once it
        // finds the coroutine `IDLE`.
        // SAFETY: forwarded contract.
        let _ = wake.route.set(unsafe { Self::route(handle) });
        let waker = Waker::from(wake.clone());
        let (wake, _) = self.wake.insert((wake, waker));
        if woken {
            return FirstPoll::PollAgain;
        }
        match wake.state.compare_exchange(POLLING, IDLE, Ordering::AcqRel, Ordering::Acquire) {
            // From here a waker may resume (or its owner destroy) the
            // coroutine: `self` must not be touched again.
            Ok(_) => FirstPoll::Suspend,
            Err(_) => FirstPoll::PollAgain,
        }
    }
}

/// Polls the awaiter's future once; if it completes, drops it in place and
/// stores its output, and returns `true`.
///
/// # Safety
/// `future` and `output` are the fields of a [`FutureAwaiter`] whose
/// `await_suspend` is running: the awaiter lives in the suspended frame and
/// is neither moved nor forgotten until `await_resume` or its drop (the
/// `await_suspend` contract), and the future is dropped in place here
/// before `await_resume` can move the awaiter.
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

/// The first poll's waker state, on `first_poll`'s stack.
struct LazyWake {
    handle: CoroutineHandle,
    /// Made by the first clone of the borrowed waker (possibly on another
    /// thread, inside the poll: hence the lock).
    shared: OnceLock<Arc<FutureWake>>,
    /// The borrowed waker was woken (by reference) during the poll.
    woken: AtomicBool,
}

impl LazyWake {
    fn shared(&self) -> &Arc<FutureWake> {
        self.shared.get_or_init(|| FutureWake::new(self.handle))
    }
}

static LAZY_WAKER_VTABLE: RawWakerVTable = RawWakerVTable::new(lazy_clone, lazy_wake, lazy_wake, lazy_drop);

// The four functions below receive the `LazyWake` pointer of a borrowed
// waker, only during the first poll (the waker is lent, never given): the
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

/// Detaches the shared state, if a clone made one, when the first poll
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
    /// resume.
    #[inline]
    fn await_ready(&mut self) -> bool {
        self.output.is_some()
    }

    /// Polls the future; returns `false` (resume at once) if it completed,
    /// `true` (stay suspended until the waker fires) if it is pending.
    unsafe fn await_suspend(&mut self, handle: CoroutineHandle) -> impl AwaitSuspend {
        if self.wake.is_none() {
            // SAFETY: forwarded contract.
            match unsafe { self.first_poll(handle) } {
                FirstPoll::Ready => return false,
                FirstPoll::Suspend => return true,
                FirstPoll::PollAgain => {}
            }
        }
        let Some((wake, waker)) = &self.wake else { unreachable!("the first poll made the waker state") };
        // Resumed by a waker (`WOKEN`) or first time (`POLLING`): poll now.
        // A read-modify-write that acquires: a wake-up that found the state
        // `WOKEN` (or `QUEUED`) and left it so released what its future had
        // written before it (see `wake_by_ref`), and this poll must see it.
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

    fn await_resume(mut self) -> F::Output {
        self.output.take().expect("co_await of a future resumed before the future completed")
    }

    const RECHECK_READY_ON_RESUME: bool = true;
}

impl<F: Future> Drop for FutureAwaiter<F> {
    fn drop(&mut self) {
        if let Some((wake, _)) = &self.wake {
            match wake.state.swap(DETACHED, Ordering::AcqRel) {
                // Another thread is resuming or polling the coroutine that is
                // being destroyed here: its owner destroyed it while a waker
                // could still resume it. Continuing would free the frame
                // under that thread.
                WOKEN | POLLING | NOTIFIED => {
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
    /// Only resumed after winning `IDLE -> WOKEN` (or `QUEUED -> WOKEN` in
    /// the target's drain), which the awaiter's drop excludes.
    handle: CoroutineHandle,
    /// Set by the thread running the coroutine after the first poll, before
    /// the state first leaves `POLLING` (a waker cloned on another thread
    /// during that poll cannot know it).
    route: OnceLock<Route>,
}

/// Where a wake-up sends the coroutine to be resumed.
struct Route {
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
    fn new(handle: CoroutineHandle) -> Arc<FutureWake> {
        Arc::new(FutureWake { state: AtomicU8::new(POLLING), handle, route: OnceLock::new() })
    }

    /// Only once the state has been `IDLE`: see `route`.
    fn route(&self) -> &Route {
        self.route.get().expect("a future's waker state left POLLING before its route was set")
    }

    fn resume(&self) {
        // SAFETY: this thread won the transition to `WOKEN`, so the
        // coroutine is suspended at this `co_await!` and its awaiter is
        // alive (its drop would have moved the state to `DETACHED` first,
        // or aborted); the coroutine may run on this thread (a thread-bound
        // one is only ever resumed by its home thread's drain, a `Send` one
        // anywhere).
        unsafe { self.handle.resume() }
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
