//! `InlineGenerator<T>`: a [`Generator`](super::Generator) whose frame lives
//! in the caller (C++: a coroutine whose allocation the compiler elided,
//! "HALO"), so that a generator created and consumed in one function
//! compiles to what a hand-written iterator compiles to.
//!
//! # The frame
//!
//! An [`InlineGenerator<T, G>`] *is* the frame: the promise (a
//! [`GeneratorPromise<T>`]), the body (the compiler-lowered `async` block,
//! holding the parameters and locals) and one state byte, by value. `G` is
//! the body's type, which only the compiler knows (`#[coro::coroutine]`
//! names it as `impl GeneratorBody<T>`), so the caller holds the whole
//! frame and every resume is a direct call LLVM can inline. It is
//! `!Unpin`: it is resumed only through `Pin<&mut InlineGenerator>`
//! (`std::pin::pin!` on the stack, `Box::pin` on the heap), which is what
//! implements [`Iterator`].
//!
//! The frame holds no pointer to itself, so LLVM can keep it in registers
//! (a pointer stored into the frame would make its memory "escape", and
//! every `black_box` in the consumer would then force it to be reloaded).
//! That is why the body does not reach its promise through the heap
//! frame's `Co` token: the body of an inline generator is the heap
//! generator's, to the token, lowered with a stand-in promise,
//! [`InlineGeneratorPromise<T>`], which has no state. Its `yield_value(v)`
//! returns an awaiter that carries `v` ([`InlineYield<T>`]); when the body
//! parks at that `co_yield!`, the resume loop takes `v` from the parked
//! awaiter and hands it to the real promise's `yield_value`. The body's
//! `Co` points at a static stand-in frame, never written.
//!
//! # Lifecycle (the heap frame's, step for step)
//!
//! | C++ | here |
//! | --- | --- |
//! | frame allocation | none: the caller's place |
//! | promise constructed | `GeneratorPromise::default()`, in the ramp |
//! | `get_return_object()` | the `InlineGenerator` value itself |
//! | `co_await initial_suspend()` | in the ramp: `SuspendAlways`, so suspended |
//! | `co_yield v` | suspended at the yield point, then `yield_value(v)` (the resume loop calls it, once the body is parked) |
//! | falling off the end / `co_return;` | `return_void()`, once the body has returned (`GeneratorPromise`'s does nothing, so the order with the locals' drops is not observable) |
//! | a panic escaping the body | `unhandled_exception(payload)` (rethrows) |
//! | `co_await final_suspend()` | `SuspendAlways`: done |
//! | destroy | `Drop`: the body's live locals and parameters, then the promise; before the first resume, the promise, then the parameters |
//!
//! # Why no handle can escape
//!
//! The frame has no [`CoroutineHandle`](crate::CoroutineHandle): nothing
//! hands one out, and nothing needs one. A generator's body cannot
//! `co_await!` (as in C++23; `#[coro::coroutine]` rejects it in an inline
//! generator's body), so the only suspension points are `co_yield!`s,
//! whose awaiter ([`InlineYield`]) has an `await_suspend` that does nothing
//! and is never called; the initial and final awaiters are
//! [`SuspendAlways`]. A frame in the caller can therefore never be resumed
//! or destroyed by anyone but its owner, through `Pin<&mut _>`.
//!
//! # Why the parked awaiter is an `InlineYield<T>`
//!
//! `next()` reads the awaiter its body parked as an `InlineYield<T>`. That
//! holds by construction, not by trusting trait impls: a `co_yield!(v)` of
//! an inline generator is lowered to [`inline_yield_point`], which takes a
//! `T` and builds the `InlineYield<T>` itself. It does not go through
//! `YieldValue`/`AwaitTransform`, which a user may implement for
//! `InlineGeneratorPromise<T>` (the orphan rule allows it for a local
//! argument type): such an impl changes nothing here
//! (`tests/ui/inline_generator_yields_only_its_element_type.rs`).
#![allow(clippy::type_complexity)]

use core::cell::UnsafeCell;
use core::fmt;
use core::future::Future;
use core::iter::FusedIterator;
use core::marker::{PhantomData, PhantomPinned};
use core::mem::{self, ManuallyDrop, MaybeUninit};
use core::pin::Pin;
use core::ptr::NonNull;
use core::task::{Context, Poll};
use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::language::awaiter::{AwaitSuspend, Awaiter};
use crate::language::frame::Head;
use crate::language::handle::{CoroutineHandle, UniqueCoroutineHandle};
use crate::language::lowering::{AwaitPoint, Co, Record, Slot};
use crate::language::promise::{
    AwaitTransformed, CoroutineTraits, Payload, Promise, ReturnVoid, ReturnsVoid, YieldValue,
};
use crate::language::suspend::SuspendAlways;
use crate::library::generator::GeneratorPromise;

/// The body of an [`InlineGenerator<T>`]: what `#[coro::coroutine]` emits
/// for a function returning `InlineGenerator<T>` (the compiler-lowered
/// body, holding the parameters and the locals).
///
/// It appears in signatures as `impl GeneratorBody<T>`; it is implemented
/// for the closures the macro emits and has no use of its own.
///
/// ```
/// use coro::co_yield;
/// use coro::generator::{GeneratorBody, InlineGenerator};
///
/// #[coro::coroutine]
/// fn two() -> InlineGenerator<u8> {
///     co_yield!(1);
///     co_yield!(2);
/// }
///
/// fn takes<G: GeneratorBody<u8>>(g: InlineGenerator<u8, G>) -> u8 {
///     std::pin::pin!(g).sum()
/// }
/// assert_eq!(takes(two()), 3);
/// ```
pub trait GeneratorBody<T> {
    /// Runs the body to its next suspension.
    #[doc(hidden)]
    fn resume_body(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()>;
}

impl<T, F: Future<Output = ()>> GeneratorBody<T> for F {
    #[inline(always)]
    fn resume_body(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.poll(cx)
    }
}

/// What an inline generator's body borrows: a marker bound on the body type
/// in the signatures `#[coro::coroutine]` writes
/// (`InlineGenerator<char, impl GeneratorBody<char> + Borrows<&'a str>>`
/// for a function declared `-> InlineGenerator<char, &'a str>`), so that the
/// generator cannot outlive what its parameters borrow. Implemented for
/// every type.
///
/// ```
/// use coro::co_yield;
/// use coro::generator::InlineGenerator;
///
/// #[coro::coroutine]
/// fn chars<'a>(s: &'a str) -> InlineGenerator<char, &'a str> {
///     for c in s.chars() { co_yield!(c); }
/// }
///
/// let text = String::from("abc");
/// assert_eq!(std::pin::pin!(chars(&text)).collect::<String>(), "abc");
/// ```
pub trait Borrows<B: ?Sized> {}
impl<B: ?Sized, X: ?Sized> Borrows<B> for X {}

/// The promise an inline generator's *body* is lowered with: a stand-in
/// with no state, so that the body holds no pointer into its frame (see
/// the module docs). Its `yield_value(v)` returns an [`InlineYield`]
/// carrying `v`, which the resume loop hands to the frame's real
/// [`GeneratorPromise<T>`]. It has no `await_transform` (a generator body
/// cannot `co_await!`), and its other members are never called.
pub struct InlineGeneratorPromise<T> {
    /// Invariant in `T`, as `Co<GeneratorPromise<T>>` is: a yielded
    /// reference keeps exactly the lifetime the signature gives it.
    _yields: PhantomData<fn(T) -> T>,
}

impl<T> Default for InlineGeneratorPromise<T> {
    fn default() -> Self {
        InlineGeneratorPromise { _yields: PhantomData }
    }
}

impl<T> fmt::Debug for InlineGeneratorPromise<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("InlineGeneratorPromise")
    }
}

impl<T> Promise for InlineGeneratorPromise<T> {
    type ReturnObject = UniqueCoroutineHandle<InlineGeneratorPromise<T>>;
    type InitialSuspend = SuspendAlways;
    type FinalSuspend = SuspendAlways;
    type Return = ReturnsVoid;
    type Await = AwaitTransformed;

    /// Never called: no heap frame is ever made with this promise (the
    /// lowering of an inline generator calls no ramp).
    unsafe fn get_return_object(&mut self) -> Self::ReturnObject {
        unreachable!("an inline generator's body promise has no frame of its own")
    }
    fn initial_suspend(&mut self) -> SuspendAlways {
        SuspendAlways
    }
    fn final_suspend(&mut self) -> SuspendAlways {
        SuspendAlways
    }
    fn unhandled_exception(&mut self, payload: Payload) {
        std::panic::resume_unwind(payload)
    }
}

/// `return_void()` runs on the frame's real promise once the body has
/// returned; the body's own call does nothing.
impl<T> ReturnVoid for InlineGeneratorPromise<T> {
    #[inline(always)]
    fn return_void(&mut self) {}
}

impl<T> YieldValue<T> for InlineGeneratorPromise<T> {
    type Awaitable = InlineYield<T>;
    #[inline(always)]
    fn yield_value(&mut self, value: T) -> InlineYield<T> {
        InlineYield { value: Some(value) }
    }
}

/// What an inline generator's `co_yield!(v)` becomes (generated code
/// only): the point parks an [`InlineYield<T>`] carrying `v`, built here
/// rather than by a `yield_value` that a user's `impl YieldValue<U> for
/// InlineGeneratorPromise<T>` could replace, because the frame's resume
/// reads the parked awaiter as an `InlineYield<T>`. `v` must be a `T`.
#[doc(hidden)]
#[inline(always)]
pub fn inline_yield_point<T, R: Record>(
    // First, so that `T` is the generator's before `value` is checked: a
    // value of another type is a plain "expected `T`" error.
    _co: Co<InlineGeneratorPromise<T>>,
    value: T,
    _record: R,
) -> AwaitPoint<InlineYield<T>, R> {
    AwaitPoint::new(InlineYield { value: Some(value) })
}

/// What the body of an inline generator awaits at a `co_yield!(v)`: `v`,
/// until the resume loop takes it to the frame's promise. It suspends
/// (`await_ready` is `false`) and its `await_suspend` does nothing; it says
/// it is not trivial (`SUSPEND_IS_NOOP` is `false`) only so that the
/// suspension records where it is parked.
pub struct InlineYield<T> {
    value: Option<T>,
}

impl<T> fmt::Debug for InlineYield<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InlineYield").field("has_value", &self.value.is_some()).finish()
    }
}

impl<T> Awaiter for InlineYield<T> {
    type Output = ();
    const SUSPEND_IS_NOOP: bool = false;
    #[inline(always)]
    fn await_ready(&mut self) -> bool {
        false
    }
    /// Never called by the inline frame, whose resume loop takes the value
    /// instead; does nothing.
    unsafe fn await_suspend(&mut self, _: CoroutineHandle) -> impl AwaitSuspend {}
    #[inline(always)]
    fn await_resume(self) {}
}

/// The type the lowering of an inline generator's body names as its
/// return type: its promise is [`InlineGeneratorPromise<T>`].
#[doc(hidden)]
#[allow(missing_debug_implementations)]
pub struct InlineFrame<T>(PhantomData<fn(T) -> T>);

impl<T> CoroutineTraits for InlineFrame<T> {
    type Promise = InlineGeneratorPromise<T>;
}

/// What the body's `Co` points at: a frame header's worth of bytes that is
/// never read or written (the stand-in promise is zero-sized and sits at
/// its end), shared by every inline generator. Not the inline frame
/// itself: a pointer to the frame stored in the frame would keep it out of
/// registers.
struct CoTarget(UnsafeCell<MaybeUninit<[usize; 2]>>);
// SAFETY: nothing reads or writes its bytes; only zero-sized references to
// the stand-in promise at its end are made from it.
unsafe impl Sync for CoTarget {}
static CO_TARGET: CoTarget = CoTarget(UnsafeCell::new(MaybeUninit::uninit()));

/// The body's token: its promise is the zero-sized stand-in at the end of
/// [`CO_TARGET`].
#[inline(always)]
fn stand_in_co<T>() -> Co<InlineGeneratorPromise<T>> {
    const {
        assert!(mem::size_of::<InlineGeneratorPromise<T>>() == 0);
        assert!(mem::size_of::<Head<InlineGeneratorPromise<T>>>() <= mem::size_of::<CoTarget>());
        assert!(mem::align_of::<Head<InlineGeneratorPromise<T>>>() <= mem::align_of::<CoTarget>());
    }
    // SAFETY: the target is a live, suitably sized and aligned static (the
    // assertions above), and the promise in it is zero-sized: every access
    // through the token is a zero-sized one, valid on it from any thread.
    unsafe { Co::new(NonNull::new_unchecked(CO_TARGET.0.get()).cast()) }
}

/// Where the coroutine is.
#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    /// Suspended at the initial point: the body holds only the parameters.
    Initial,
    /// Suspended at a `co_yield!`.
    Suspended,
    /// At the final point (the body returned or panicked).
    Done,
}

/// A [`Generator`](super::Generator) whose frame is in the caller: no
/// allocation, and a resume LLVM can inline (C++: a coroutine whose heap
/// allocation the compiler elided, "HALO"; the name says where the frame
/// is).
///
/// Declare the function `-> InlineGenerator<T>` (or
/// `-> InlineGenerator<T, &'a Borrowed>`, as for `Generator`); the macro
/// makes it return `InlineGenerator<T, impl GeneratorBody<T>>`, the frame by
/// value. Pin it to iterate it: `std::pin::pin!(g)` on the stack, or
/// `Box::pin(g)` to keep it (one allocation, the heap frame's cost);
/// `Pin<&mut InlineGenerator>` and `Pin<Box<InlineGenerator>>` are
/// [`Iterator`]s. The body is a generator body (it may `co_yield!` and
/// `co_return!()`, not `co_await!`), and the promise is
/// [`GeneratorPromise<T>`]: its hooks run as for a heap [`Generator`](super::Generator)
/// (see the module docs for the lifecycle).
///
/// ```
/// use std::pin::pin;
/// use coro::co_yield;
/// use coro::generator::InlineGenerator;
///
/// #[coro::coroutine]
/// fn fibonacci(n: usize) -> InlineGenerator<u64> {
///     let (mut a, mut b) = (0u64, 1u64);
///     for _ in 0..n {
///         co_yield!(a);
///         (a, b) = (b, a.wrapping_add(b));
///     }
/// }
///
/// // On the stack: no allocation; the loop compiles like a hand-written iterator's.
/// let mut sum = 0;
/// for x in pin!(fibonacci(10)) {
///     sum += x;
/// }
/// assert_eq!(sum, 88);
///
/// // Kept for later: boxed (one allocation, as a heap `Generator`).
/// let kept = Box::pin(fibonacci(3));
/// assert_eq!(kept.collect::<Vec<_>>(), [0, 1, 1]);
/// ```
pub struct InlineGenerator<T, G: GeneratorBody<T>> {
    promise: ManuallyDrop<GeneratorPromise<T>>,
    body: ManuallyDrop<G>,
    state: State,
    /// The body is an `async` block, which may borrow its own locals across
    /// a `co_yield!`: the frame must not move once started.
    _pinned: PhantomPinned,
}

/// The ramp of an inline generator (`#[coro::coroutine]` calls it through
/// `coro::__private`): the promise is constructed, the return object is the
/// frame itself, and the coroutine suspends at its initial point, with the
/// parameters moved into the (not yet started) body.
#[doc(hidden)]
#[inline(always)]
pub fn inline_ramp<T, G, C>(body: C) -> InlineGenerator<T, G>
where
    G: GeneratorBody<T>,
    C: FnOnce(Co<InlineGeneratorPromise<T>>) -> G,
{
    let mut promise = GeneratorPromise::<T>::default();
    // `get_return_object()`: the frame itself, below.
    let mut initial: SuspendAlways = promise.initial_suspend();
    let ready = initial.await_ready();
    debug_assert!(!ready);
    InlineGenerator {
        promise: ManuallyDrop::new(promise),
        body: ManuallyDrop::new(body(stand_in_co())),
        state: State::Initial,
        _pinned: PhantomPinned,
    }
}

impl<T, G: GeneratorBody<T>> InlineGenerator<T, G> {
    /// `true` once the body has finished (returned or panicked).
    ///
    /// ```
    /// use std::pin::pin;
    /// use coro::co_yield;
    /// use coro::generator::InlineGenerator;
    ///
    /// #[coro::coroutine]
    /// fn one() -> InlineGenerator<u8> { co_yield!(1); }
    ///
    /// let mut g = pin!(one());
    /// assert_eq!((g.next(), g.done()), (Some(1), false));
    /// assert_eq!((g.next(), g.done()), (None, true));
    /// ```
    pub fn done(&self) -> bool {
        self.state == State::Done
    }

    /// Resumes the coroutine to its next `co_yield!` (or its end).
    #[inline(always)]
    fn resume(self: Pin<&mut Self>) -> Option<T> {
        // SAFETY: nothing is moved out of the frame; the body is pinned
        // below, in place.
        let this = unsafe { self.get_unchecked_mut() };
        match this.state {
            State::Suspended => {}
            State::Done => return None,
            // The initial awaiter (`SuspendAlways`) has nothing to resume with.
            State::Initial => SuspendAlways.await_resume(),
        }
        let mut slot = Slot::new();
        let polled = {
            let waker = slot.waker();
            let mut cx = Context::from_waker(&waker);
            // SAFETY: the body lives in the pinned frame and is dropped in
            // place, never moved.
            let body = unsafe { Pin::new_unchecked(&mut *this.body) };
            catch_unwind(AssertUnwindSafe(|| body.resume_body(&mut cx)))
        };
        match polled {
            Ok(Poll::Pending) => match slot.parked_awaiter() {
                // Parked at a `co_yield!`: the only awaiter the body of an
                // inline generator parks (its `co_yield!`s are lowered to
                // `inline_yield_point`, which builds the awaiter itself,
                // and a `co_await!` is a compile error) is its
                // `InlineYield<T>`, whose
                // `await_suspend` has nothing to do: the coroutine stays
                // suspended, and the value goes to the promise.
                Some(awaiter) => {
                    // SAFETY: the awaiter is an `InlineYield<T>` (above:
                    // the body was built by `inline_ramp` from a closure
                    // given a `Co<InlineGeneratorPromise<T>>`, its only
                    // suspension points are `inline_yield_point`s, typed by
                    // that `T`, `.await` is rejected in a body, and no
                    // promise member a user can implement is consulted;
                    // only a hand-written call of `coro::__private` could
                    // park another awaiter here), parked in the body,
                    // which nothing has touched since the poll returned.
                    let value = unsafe { (*awaiter.cast::<InlineYield<T>>()).value.take() };
                    this.state = State::Suspended;
                    let value = value?;
                    let mut suspend: SuspendAlways = this.promise.yield_value(value);
                    let ready = suspend.await_ready();
                    debug_assert!(!ready);
                    this.promise.value.take()
                }
                // Pending without a `co_yield!` (a future `.await`ed by a
                // macro's expansion): as for the heap generator, the
                // sequence ends there.
                None => {
                    this.finish();
                    None
                }
            },
            Ok(Poll::Ready(())) => {
                // Fell off the end or `co_return!()`: the body's locals are
                // dropped; C++ calls `return_void` before that, which only
                // matters for a promise whose `return_void` does something.
                this.promise.return_void();
                this.finish();
                None
            }
            // Written out here rather than in a method of the frame: the
            // frame's address must not reach a call LLVM does not inline,
            // or the whole frame stays in memory (the landing pad is cold,
            // but it is in the same function).
            Err(payload) => {
                this.state = State::Done;
                // A generator's promise rethrows: the consumer gets the
                // panic, the coroutine is at its final point.
                this.promise.unhandled_exception(payload);
                this.finish();
                None
            }
        }
    }

    /// `co_await final_suspend()` (`SuspendAlways`): the frame is done.
    #[inline(always)]
    fn finish(&mut self) {
        self.state = State::Done;
        let mut last: SuspendAlways = self.promise.final_suspend();
        let ready = last.await_ready();
        debug_assert!(!ready);
    }
}

impl<T, G: GeneratorBody<T>> Drop for InlineGenerator<T, G> {
    /// Destroys the frame: a started body's live locals and its parameters,
    /// then the promise; at the initial point (C++ order), the promise, then
    /// the parameter copies. A panicking destructor still drops the rest.
    fn drop(&mut self) {
        struct DropIt<'a, X>(&'a mut ManuallyDrop<X>);
        impl<X> Drop for DropIt<'_, X> {
            fn drop(&mut self) {
                // SAFETY: dropped once, here, as the frame goes away; the
                // body is dropped in place (it is pinned).
                unsafe { ManuallyDrop::drop(self.0) }
            }
        }
        if self.state == State::Initial {
            let _params = DropIt(&mut self.body);
            let _promise = DropIt(&mut self.promise);
        } else {
            let _promise = DropIt(&mut self.promise);
            let _body = DropIt(&mut self.body);
        }
    }
}

impl<T, G: GeneratorBody<T>> Iterator for Pin<&mut InlineGenerator<T, G>> {
    type Item = T;

    #[inline(always)]
    fn next(&mut self) -> Option<T> {
        self.as_mut().resume()
    }
}

impl<T, G: GeneratorBody<T>> FusedIterator for Pin<&mut InlineGenerator<T, G>> {}

/// The heap fallback: `Box::pin(gen(..))` is an iterator that can be kept,
/// returned (as `impl Iterator<Item = T>`) and stored.
impl<T, G: GeneratorBody<T>> Iterator for Pin<Box<InlineGenerator<T, G>>> {
    type Item = T;

    #[inline]
    fn next(&mut self) -> Option<T> {
        self.as_mut().resume()
    }
}

impl<T, G: GeneratorBody<T>> FusedIterator for Pin<Box<InlineGenerator<T, G>>> {}

impl<T, G: GeneratorBody<T>> fmt::Debug for InlineGenerator<T, G> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let stage = match self.state {
            State::Initial => "initial",
            State::Suspended => "suspended",
            State::Done => "done",
        };
        f.debug_struct("InlineGenerator").field("stage", &stage).finish()
    }
}
