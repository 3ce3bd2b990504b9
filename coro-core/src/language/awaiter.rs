//! The awaiter protocol of C++ `co_await`: `await_ready`, `await_suspend`,
//! `await_resume`, and `operator co_await` as [`IntoAwaiter`].

use crate::language::handle::CoroutineHandle;

/// What [`Awaiter::await_cancel`] achieved.
///
/// ```
/// use coro::awaiter::CancelOutcome;
/// assert_ne!(CancelOutcome::Withdrawn, CancelOutcome::ResumeComing);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CancelOutcome {
    /// The registration is withdrawn: nothing will resume the coroutine
    /// for this suspension, so it may be destroyed at once.
    Withdrawn,
    /// A resumption was granted already (or cannot be withdrawn): the
    /// coroutine will be resumed, and its owner has it destroyed then,
    /// in place of running on.
    ResumeComing,
}

/// An awaiter: what `co_await!` drives (C++ [expr.await]).
///
/// `co_await!(e)` evaluates, in this order:
/// 1. `await_ready()`; if `true` the coroutine does not suspend;
/// 2. otherwise the coroutine is **suspended first**, and only then is
///    `await_suspend(handle)` called, whose result ([`AwaitSuspend`]) says
///    whether to stay suspended (`()` or `true`), resume at once (`false`), or
///    transfer control to another coroutine (a [`CoroutineHandle`]);
/// 3. `await_resume()`, whose result is the value of the `co_await!`.
///
/// The awaiter lives in the coroutine's frame for the whole expression, so
/// its address does not change between `await_suspend` and `await_resume`:
/// state an I/O operation needs can live inside it and costs no allocation.
///
/// # Handing the handle to someone else
///
/// `await_suspend` may give the handle to another thread, which may resume
/// (or destroy) the coroutine before `await_suspend` has returned. Exactly as
/// in C++, once the handle has been handed over `await_suspend` must not touch
/// `self` again: the awaiter may already have been resumed and dropped.
///
/// # Why `await_suspend` is an `unsafe fn`
///
/// An awaiter that keeps the handle (to resume it later) or links itself into
/// a list (an intrusive waiter queue) relies on two things only the coroutine
/// frame can promise: the handle is the suspended coroutine that awaits this
/// awaiter, and the awaiter stays where it is until `await_resume` or its
/// drop. Safe code calling `await_suspend` by hand with a handle made by
/// `CoroutineHandle::from_address`, then moving the awaiter, could make such
/// an awaiter resume a dangling frame. So the call is `unsafe` and the frame
/// is its only caller; implementing it is ordinary code, which may rely on
/// that contract.
///
/// ```
/// use coro::{AwaitSuspend, Awaiter, CoroutineHandle};
///
/// /// Resumes at once if `n` is even, else suspends (C++ `await_suspend -> bool`).
/// struct Parity(u32);
///
/// impl Awaiter for Parity {
///     type Output = u32;
///     fn await_ready(&mut self) -> bool { false }
///     unsafe fn await_suspend(&mut self, _h: CoroutineHandle) -> impl AwaitSuspend { self.0 % 2 == 1 }
///     fn await_resume(self) -> u32 { self.0 }
/// }
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be awaited: it is not an awaiter and has no `operator co_await`",
    label = "`co_await!` needs an awaiter here",
    note = "implement `coro::Awaiter` (await_ready / await_suspend / await_resume) for `{Self}`, \
            or `coro::IntoAwaiter` (C++ `operator co_await`) to turn it into one; \
            a `std::future::Future` can be awaited too"
)]
pub trait Awaiter {
    /// The type of the `co_await!` expression.
    type Output;

    /// `true` if the result is available without suspending.
    fn await_ready(&mut self) -> bool;

    /// Called after the coroutine has been suspended; see [`AwaitSuspend`]
    /// for what the return value means.
    ///
    /// Implement it with the trait's signature, `-> impl AwaitSuspend`,
    /// and return `()`, a `bool` or a [`CoroutineHandle`]: naming the
    /// concrete type instead (`-> bool`) compiles, but rustc warns
    /// (`refining_impl_trait`) that the impl promises more than the trait.
    ///
    /// # Safety
    /// Only the coroutine frame calls this, and it guarantees: `handle` is
    /// the coroutine awaiting this awaiter, suspended at this `co_await!`;
    /// `await_ready` returned `false` just before; and the awaiter is
    /// neither moved nor forgotten until `await_resume` is called on it or
    /// it is dropped (it lives in the frame).
    unsafe fn await_suspend(&mut self, handle: CoroutineHandle) -> impl AwaitSuspend;

    /// Produces the value of the `co_await!` expression.
    fn await_resume(self) -> Self::Output;

    /// The cancel step: the coroutine suspended on this awaiter is about to
    /// be destroyed by a party that is not the one this awaiter will
    /// resume it from (the owner of a [`SendTask`](crate::SendTask) that
    /// another thread may wake). Withdraw what `await_suspend` registered,
    /// if it has not been granted yet, and say which way it went (see
    /// [`CancelOutcome`]).
    ///
    /// A `SendTask`'s frame calls it when the task's owner goes away while
    /// the task is suspended here (`language/gate.rs`): on `Withdrawn` the
    /// frame is destroyed at once, on the owner's thread (the awaiter's
    /// `Drop` runs then, and finds nothing registered); on `ResumeComing`
    /// it is destroyed in place of the resumption already granted, on the
    /// resuming thread, and the awaiter's `Drop` hands on what it was
    /// granted. The frame guarantees that no resume races the call: a
    /// resumer arriving meanwhile leaves the frame to the canceller.
    ///
    /// Not a C++ rule: C++ has no way to cancel a suspended coroutine
    /// safely while another thread may resume it; the awaiter's destructor
    /// is its only cancel step, and it runs too late to refuse a resume
    /// already on its way. An awaiter that cannot withdraw, or registers
    /// nothing another thread can act on, needs nothing
    /// here: the default answers [`CancelOutcome::ResumeComing`], so the
    /// coroutine is destroyed at its next resumption instead of at once
    /// (the awaiter's `Drop` still runs then). An awaiter that wraps
    /// another must forward the call.
    ///
    /// The library's awaiters implement it: every `coro::sync` wait, the
    /// future awaiters, task, shared-task and pool-join waits, the
    /// combinators, cancellation tokens, `cancellable` (which also calls
    /// it, to cancel the awaiter it wraps when its token is cancelled).
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    /// use coro::awaiter::CancelOutcome;
    /// use coro::{AwaitSuspend, Awaiter, CoroutineHandle};
    ///
    /// /// A one-shot wake-up: `fire` resumes the coroutine waiting, if any.
    /// #[derive(Clone, Default)]
    /// struct Doorbell(Arc<Mutex<Option<CoroutineHandle>>>);
    ///
    /// impl Doorbell {
    ///     fn fire(&self) {
    ///         // Taken under the lock: either `fire` or `await_cancel` gets it.
    ///         let waiter = self.0.lock().unwrap().take();
    ///         // SAFETY: registered by a suspended coroutine, which nobody
    ///         // else resumes or destroys now that it is taken.
    ///         if let Some(h) = waiter { unsafe { h.resume() } }
    ///     }
    /// }
    ///
    /// struct Ring(Doorbell);
    ///
    /// impl Awaiter for Ring {
    ///     type Output = ();
    ///     fn await_ready(&mut self) -> bool { false }
    ///     unsafe fn await_suspend(&mut self, h: CoroutineHandle) -> impl AwaitSuspend {
    ///         *self.0 .0.lock().unwrap() = Some(h);
    ///     }
    ///     fn await_resume(self) {}
    ///     unsafe fn await_cancel(&mut self) -> CancelOutcome {
    ///         match self.0 .0.lock().unwrap().take() {
    ///             Some(_) => CancelOutcome::Withdrawn,   // `fire` will find nothing
    ///             None => CancelOutcome::ResumeComing,   // `fire` took it first
    ///         }
    ///     }
    /// }
    ///
    /// #[coro::coroutine]
    /// fn waits(bell: Doorbell, dropped: Arc<Mutex<bool>>) -> coro::SendTask<()> {
    ///     struct Flag(Arc<Mutex<bool>>);
    ///     impl Drop for Flag { fn drop(&mut self) { *self.0.lock().unwrap() = true; } }
    ///     let _flag = Flag(dropped);
    ///     coro::co_await!(Ring(bell));
    ///     coro::co_return!(())
    /// }
    ///
    /// use std::future::{Future, IntoFuture};
    /// use std::task::{Context, Waker};
    /// let (bell, dropped) = (Doorbell::default(), Arc::new(Mutex::new(false)));
    /// let mut fut = Box::pin(waits(bell.clone(), dropped.clone()).into_future());
    /// assert!(fut.as_mut().poll(&mut Context::from_waker(Waker::noop())).is_pending());
    /// drop(fut); // the owner goes away: the wait is withdrawn, the frame destroyed now
    /// assert!(*dropped.lock().unwrap());
    /// bell.fire(); // nobody to resume
    /// ```
    ///
    /// # Safety
    /// Only the frame calls this, at most once per suspension, and it
    /// guarantees: the coroutine is suspended at this `co_await!` (its
    /// `await_suspend` has returned and said "stay suspended", or
    /// transferred elsewhere), and nobody else touches the awaiter
    /// meanwhile except through what `await_suspend` registered.
    ///
    /// Implementations must answer [`CancelOutcome::Withdrawn`] only when
    /// nothing will resume (or has resumed) the coroutine for this
    /// suspension: the caller then frees the frame at once.
    unsafe fn await_cancel(&mut self) -> CancelOutcome {
        CancelOutcome::ResumeComing
    }

    /// Set to `true` only when `await_suspend` does nothing and returns `()`
    /// (like [`SuspendAlways`](crate::SuspendAlways) and a generator's yield).
    /// The frame then skips the call to `await_suspend` altogether, which
    /// saves an indirect call on every suspension.
    const SUSPEND_IS_NOOP: bool = false;

    /// Set to `true` by an awaiter that may be resumed before its result is
    /// there (a future's waker may fire spuriously or early). On every
    /// resume at this `co_await!` the frame then asks `await_ready()` again
    /// and, while it says `false`, suspends once more and calls
    /// `await_suspend` again, as a condition-variable wait loops. Not a C++
    /// rule: C++ calls `await_ready` once. The default, `false`, resumes
    /// straight into `await_resume`.
    const RECHECK_READY_ON_RESUME: bool = false;

    /// Set to `true` by an awaiter that can tell whether its result is
    /// ready only once it is pinned (a [`FutureAwaiter`] polls a future
    /// that may not move once polled): the frame then calls
    /// [`await_ready_pinned`](Self::await_ready_pinned) before suspending.
    /// The default, `false`, leaves the call out. Not a C++ rule.
    ///
    /// [`FutureAwaiter`]: crate::awaiter::FutureAwaiter
    #[doc(hidden)]
    const READY_WHEN_PINNED: bool = false;

    /// Asked, only when [`READY_WHEN_PINNED`](Self::READY_WHEN_PINNED) is
    /// set, after `await_ready` has returned `false` and the awaiter has
    /// been moved to its place in the coroutine's frame, but before the
    /// coroutine suspends: `true` completes the `co_await!` at once
    /// (`await_resume` follows, and the coroutine does not suspend),
    /// `false` suspends it (`await_suspend` follows). Unlike `await_ready`
    /// it may rely on the awaiter's address, and so poll a future that
    /// must not move.
    ///
    /// # Safety
    /// Only the coroutine frame calls this, once per `co_await!`, and it
    /// guarantees: `await_ready` returned `false` just before, and nothing
    /// else was called on the awaiter since; the awaiter is neither moved
    /// nor forgotten until `await_resume` is called on it or it is dropped;
    /// the coroutine is running, not yet suspended at this `co_await!`. If
    /// this returns `false`, `await_suspend` is called next, once the
    /// coroutine has suspended, unless the awaiter is dropped first (only
    /// if the coroutine unwinds before suspending).
    #[doc(hidden)]
    #[inline(always)]
    unsafe fn await_ready_pinned(&mut self) -> bool {
        false
    }

    /// `Some` only for this crate's awaiters that hold no state of their
    /// own: a copy is as good as the original, there is no drop glue,
    /// `await_ready` only reads the value, `await_suspend` does nothing
    /// ([`SUSPEND_IS_NOOP`](Self::SUSPEND_IS_NOOP)) and `await_resume`
    /// returns `()` ([`SuspendAlways`](crate::SuspendAlways),
    /// [`SuspendNever`](crate::SuspendNever), [`Suspend`](crate::awaiter::Suspend)).
    /// A `co_await!` of such an awaiter keeps no state in the frame: it
    /// learns from the resume loop whether it is being resumed. Its type,
    /// [`Stateless<Self>`], has no public constructor, so no other awaiter
    /// can claim it (not even by naming another type's constant). Not a
    /// public API.
    #[doc(hidden)]
    const STATELESS: Option<Stateless<Self>> = None;
}

/// The proof behind [`Awaiter::STATELESS`]; only this crate makes one. Not
/// a public API.
#[doc(hidden)]
#[allow(missing_debug_implementations)]
pub struct Stateless<A: ?Sized>(core::marker::PhantomData<*const A>);

impl<A: ?Sized> Stateless<A> {
    /// # Safety
    /// `A` keeps the promises listed at [`Awaiter::STATELESS`].
    pub(crate) const unsafe fn new() -> Self {
        Stateless(core::marker::PhantomData)
    }
}

/// C++ `operator co_await`: how a value becomes an [`Awaiter`].
///
/// Every awaiter is its own `IntoAwaiter`. Implement it for a type that is
/// not an awaiter itself but can be awaited (a task, a timer, ...).
///
/// ```
/// use coro::{IntoAwaiter, SuspendNever};
///
/// struct Ready;
/// impl IntoAwaiter for Ready {
///     type Awaiter = SuspendNever;
///     fn into_awaiter(self) -> SuspendNever { SuspendNever }
/// }
/// let _a: SuspendNever = Ready.into_awaiter();
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be awaited: it is not an awaiter and has no `operator co_await`",
    label = "`co_await!` needs an awaiter here",
    note = "implement `coro::Awaiter` (await_ready / await_suspend / await_resume) for `{Self}`, \
            or `coro::IntoAwaiter` (C++ `operator co_await`) to turn it into one; \
            a `std::future::Future` can be awaited too"
)]
pub trait IntoAwaiter {
    /// The awaiter this value turns into.
    type Awaiter: Awaiter;
    /// C++ `operator co_await`.
    fn into_awaiter(self) -> Self::Awaiter;
}

impl<A: Awaiter> IntoAwaiter for A {
    type Awaiter = A;
    #[inline(always)]
    fn into_awaiter(self) -> A {
        self
    }
}

/// What the frame does after `await_suspend` returns.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SuspendOutcome {
    /// Stay suspended: return to whoever resumed the coroutine.
    Suspend,
    /// Resume the coroutine at once.
    Resume,
    /// Symmetric transfer: resume this coroutine instead, as a tail call.
    Transfer(CoroutineHandle),
}

/// The three result types C++ allows for `await_suspend`.
///
/// - `()`: stay suspended;
/// - `bool`: `true` stays suspended, `false` resumes the coroutine at once;
/// - a [`CoroutineHandle`] (of any promise type): symmetric transfer — the
///   returned coroutine is resumed in place of this one, without growing the
///   stack. Returning [`noop_coroutine()`](crate::noop_coroutine) means "return
///   to whoever resumed me"; returning the coroutine's own handle resumes it.
///
/// ```
/// use coro::AwaitSuspend;
/// fn takes(_: impl AwaitSuspend) {}
/// takes(());
/// takes(false);
/// takes(coro::noop_coroutine());
/// ```
pub trait AwaitSuspend: sealed::Sealed {
    #[doc(hidden)]
    fn into_outcome(self) -> SuspendOutcome;
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for () {}
    impl Sealed for bool {}
    impl<P> Sealed for crate::language::handle::CoroutineHandle<P> {}
    impl Sealed for super::SuspendOutcome {}
}

/// The outcome itself, for the library's awaiters that choose between
/// the three at run time.
impl AwaitSuspend for SuspendOutcome {
    #[inline(always)]
    fn into_outcome(self) -> SuspendOutcome {
        self
    }
}

impl AwaitSuspend for () {
    #[inline(always)]
    fn into_outcome(self) -> SuspendOutcome {
        SuspendOutcome::Suspend
    }
}

impl AwaitSuspend for bool {
    #[inline(always)]
    fn into_outcome(self) -> SuspendOutcome {
        if self {
            SuspendOutcome::Suspend
        } else {
            SuspendOutcome::Resume
        }
    }
}

impl<P> AwaitSuspend for CoroutineHandle<P> {
    #[inline(always)]
    fn into_outcome(self) -> SuspendOutcome {
        SuspendOutcome::Transfer(self.erase())
    }
}
