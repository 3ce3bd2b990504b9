//! `TryAsyncGenerator<T, E>`: an [`AsyncGenerator`](crate::AsyncGenerator)
//! whose body may fail; `?` ends the stream with the error as its last
//! item (async-stream's `try_stream!`).
//!
//! Its promise keeps the same consumer state as `AsyncGenerator`'s (an
//! `AsyncGenState<Result<T, E>>`): `co_yield!(v)` stores `Ok(v)`, and
//! `return_value(Err(e))` (a `?`, or `co_return!(Err(e))`) stores `Err(e)`
//! just before the final awaiter transfers to the consumer, which takes it
//! as the last element. Everything else (`next()`, polling) is
//! `AsyncGenCore`'s, shared with `AsyncGenerator`.

use core::fmt;
use core::marker::PhantomData;
use core::task::{Context, Poll};

use crate::language::awaiter::{AwaitSuspend, Awaiter};
use crate::language::handle::{CoroutineHandle, UniqueCoroutineHandle};
use crate::language::point::SuspendPoint;
use crate::language::promise::{
    AwaitDirect, CoroutineTraits, FromReturnObject, Payload, Promise, ReturnValue, ReturnsValue, YieldValue,
};
use crate::language::suspend::SuspendAlways;
use crate::library::generator::async_gen::{
    AsyncFinalAwaiter, AsyncGenCore, AsyncGenPromise, AsyncGenState, AsyncYieldAwaiter,
};

/// A fallible [`AsyncGenerator`](crate::AsyncGenerator): a lazily started
/// sequence of `Result<T, E>` whose body may `co_await!` anything and
/// stops at the first error (async-stream's `try_stream!`).
///
/// - `co_yield!(v)` (with `v: T`) yields `Ok(v)`;
/// - `?` on an `Err(e)` (converted with `From`, as in a function returning
///   `Result`), or `co_return!(Err(e))`, ends the body: `Err(e)` is the
///   last item, and `next()` gives `None` after it;
/// - the body ends without an error with `co_return!(Ok(()))`. Its promise
///   has `return_value` (which `?` needs) and so no `return_void`: a body
///   cannot fall off its end (a compile error), as in a coroutine that
///   returns a value.
///
/// The consumer, another coroutine, awaits each item:
/// `while let Some(item) = co_await!(gen.next()) { .. }`, with
/// `item: Result<T, E>`. The rest is [`AsyncGenerator`](crate::AsyncGenerator)'s:
/// symmetric transfer between consumer and generator; a panic in the body
/// reaches the consumer at its `co_await!` (it is not turned into an
/// `Err`); dropping the generator destroys its frame; it may borrow its
/// arguments (name the borrowed type as the third parameter `B`); it is not
/// `Send`. From async Rust it is polled with
/// [`poll_next`](Self::poll_next), and with the `stream` feature it
/// implements `futures_core::Stream<Item = Result<T, E>>` (and
/// `FusedStream`).
///
/// ```
/// use coro::generator::TryAsyncGenerator;
/// use coro::{co_await, co_return, co_yield, sync_wait, Task};
///
/// #[coro::coroutine]
/// fn parse(s: &'static str) -> Task<Result<u32, std::num::ParseIntError>> { co_return!(s.parse()) }
///
/// #[coro::coroutine]
/// fn numbers(words: Vec<&'static str>) -> TryAsyncGenerator<u32, std::num::ParseIntError> {
///     for w in words {
///         let n = co_await!(parse(w))?;      // an error ends the stream
///         co_yield!(n);
///     }
///     co_return!(Ok(()))
/// }
///
/// #[coro::coroutine]
/// fn collect(words: Vec<&'static str>) -> Task<Vec<Result<u32, String>>> {
///     let mut gen = numbers(words);
///     let mut items = Vec::new();
///     while let Some(item) = co_await!(gen.next()) {
///         items.push(item.map_err(|e| e.to_string()));
///     }
///     co_return!(items)
/// }
///
/// assert_eq!(sync_wait(collect(vec!["1", "2"])), [Ok(1), Ok(2)]);
/// assert_eq!(
///     sync_wait(collect(vec!["1", "x", "3"])),
///     [Ok(1), Err("invalid digit found in string".to_string())]
/// );
/// ```
pub struct TryAsyncGenerator<T, E, B = ()> {
    core: AsyncGenCore<TryAsyncGeneratorPromise<T, E>>,
    _borrows: PhantomData<B>,
}

/// The promise of [`TryAsyncGenerator`]: `co_yield!(v)` takes a `T`;
/// `co_return!` (and `?`) take a `Result<(), E>`.
pub struct TryAsyncGeneratorPromise<T, E> {
    state: AsyncGenState<Result<T, E>>,
}

impl<T, E> Default for TryAsyncGeneratorPromise<T, E> {
    fn default() -> Self {
        TryAsyncGeneratorPromise { state: AsyncGenState::default() }
    }
}

impl<T, E> fmt::Debug for TryAsyncGeneratorPromise<T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TryAsyncGeneratorPromise")
            .field("has_value", &self.state.value.is_some())
            .field("consumer", &self.state.consumer)
            .finish()
    }
}

impl<T, E> AsyncGenPromise for TryAsyncGeneratorPromise<T, E> {
    type Item = Result<T, E>;
    fn state(&mut self) -> &mut AsyncGenState<Result<T, E>> {
        &mut self.state
    }
}

impl<T, E> Promise for TryAsyncGeneratorPromise<T, E> {
    type ReturnObject = UniqueCoroutineHandle<TryAsyncGeneratorPromise<T, E>>;
    type InitialSuspend = SuspendAlways;
    type FinalSuspend = AsyncFinalAwaiter;
    type Return = ReturnsValue;
    type Await = AwaitDirect;

    unsafe fn get_return_object(&mut self) -> Self::ReturnObject {
        // SAFETY: the generator becomes the frame's only owner; it is
        // resumed by `TryNext` and polls (one at a time, through `&mut`) and
        // by whatever its body awaits, while the consumer waits.
        unsafe { UniqueCoroutineHandle::from_raw(CoroutineHandle::from_promise(self)) }
    }
    fn initial_suspend(&mut self) -> SuspendAlways {
        SuspendAlways
    }
    fn final_suspend(&mut self) -> AsyncFinalAwaiter {
        AsyncFinalAwaiter::new(&mut self.state.consumer)
    }
    fn unhandled_exception(&mut self, payload: Payload) {
        // Rethrown in the consumer, at its `co_await!(gen.next())`.
        self.state.panic = Some(payload);
    }
    #[inline(always)]
    fn before_resume(&self) {
        self.state.home.check("TryAsyncGenerator");
    }
    fn continuation(&self) -> Option<CoroutineHandle> {
        self.state.consumer
    }
}

/// `co_return!(Ok(()))` ends the stream; `co_return!(Err(e))` and `?` end
/// it with `Err(e)` as its last item.
impl<T, E> ReturnValue<Result<(), E>> for TryAsyncGeneratorPromise<T, E> {
    fn return_value(&mut self, result: Result<(), E>) {
        if let Err(e) = result {
            self.state.value = Some(Err(e));
        }
    }
}

impl<T, E> YieldValue<T> for TryAsyncGeneratorPromise<T, E> {
    type Awaitable = AsyncYieldAwaiter;
    fn yield_value(&mut self, value: T) -> AsyncYieldAwaiter {
        self.state.value = Some(Ok(value));
        AsyncYieldAwaiter::new(&mut self.state.consumer)
    }
}

// Nothing of it is pinned: the frame is on the heap, `B` only marks borrows.
impl<T, E, B> Unpin for TryAsyncGenerator<T, E, B> {}

impl<T, E, B> CoroutineTraits for TryAsyncGenerator<T, E, B> {
    type Promise = TryAsyncGeneratorPromise<T, E>;
}

impl<T, E, B, F> FromReturnObject<UniqueCoroutineHandle<TryAsyncGeneratorPromise<T, E>>, F>
    for TryAsyncGenerator<T, E, B>
{
    fn from_return_object(handle: UniqueCoroutineHandle<TryAsyncGeneratorPromise<T, E>>) -> Self {
        TryAsyncGenerator { core: AsyncGenCore::new(handle), _borrows: PhantomData }
    }
}

impl<T, E, B> TryAsyncGenerator<T, E, B> {
    /// The awaitable for the next item: `co_await!(gen.next())` gives
    /// `Some(Ok(value))` for each `co_yield!`, `Some(Err(e))` once if the
    /// body failed, then `None`.
    ///
    /// ```
    /// use coro::generator::TryAsyncGenerator;
    /// use coro::{co_await, co_return, co_yield, sync_wait, Task};
    ///
    /// #[coro::coroutine]
    /// fn one_then_fail() -> TryAsyncGenerator<u8, &'static str> {
    ///     co_yield!(1);
    ///     Err("broken")?;
    ///     co_yield!(2); // not reached
    ///     co_return!(Ok(()))
    /// }
    ///
    /// #[coro::coroutine]
    /// fn take_three() -> Task<[Option<Result<u8, &'static str>>; 3]> {
    ///     let mut g = one_then_fail();
    ///     let a = co_await!(g.next());
    ///     let b = co_await!(g.next());
    ///     let end = co_await!(g.next());
    ///     co_return!([a, b, end])
    /// }
    ///
    /// assert_eq!(sync_wait(take_three()), [Some(Ok(1)), Some(Err("broken")), None]);
    /// ```
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> TryNext<'_, T, E, B> {
        TryNext { generator: self }
    }

    /// Polls for the next item from a Rust executor, as
    /// [`AsyncGenerator::poll_next`](crate::AsyncGenerator::poll_next) does
    /// (the `stream` feature's `Stream` impl forwards here):
    /// `Ready(Some(Ok(v)))`, `Ready(Some(Err(e)))` once if the body failed,
    /// `Ready(None)` at the end, or `Pending` while the body awaits.
    ///
    /// ```
    /// use std::task::{Context, Poll, Waker};
    /// use coro::generator::TryAsyncGenerator;
    /// use coro::{co_return, co_yield};
    ///
    /// #[coro::coroutine]
    /// fn digits(s: &'static str) -> TryAsyncGenerator<u32, char> {
    ///     for c in s.chars() { co_yield!(c.to_digit(10).ok_or(c)?); }
    ///     co_return!(Ok(()))
    /// }
    ///
    /// let mut g = digits("4x");
    /// let mut cx = Context::from_waker(Waker::noop());
    /// assert_eq!(g.poll_next(&mut cx), Poll::Ready(Some(Ok(4))));
    /// assert_eq!(g.poll_next(&mut cx), Poll::Ready(Some(Err('x'))));
    /// assert_eq!(g.poll_next(&mut cx), Poll::Ready(None));
    /// ```
    pub fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<T, E>>> {
        self.core.poll_next(cx)
    }

    /// Where the generator is suspended (`None` while running).
    ///
    /// ```
    /// use coro::handle::SuspendKind;
    /// use coro::generator::TryAsyncGenerator;
    /// use coro::{co_return, co_yield};
    ///
    /// #[coro::coroutine]
    /// fn one() -> TryAsyncGenerator<u8, ()> { co_yield!(1); co_return!(Ok(())) }
    ///
    /// assert_eq!(one().suspend_point().unwrap().kind(), SuspendKind::Initial); // lazy
    /// ```
    pub fn suspend_point(&self) -> Option<&'static SuspendPoint> {
        self.core.suspend_point()
    }

    /// The erased handle of the generator's coroutine.
    ///
    /// ```
    /// use coro::generator::TryAsyncGenerator;
    /// use coro::co_return;
    ///
    /// #[coro::coroutine]
    /// fn none() -> TryAsyncGenerator<u8, ()> { co_return!(Ok(())) }
    ///
    /// assert!(!none().handle().address().is_null());
    /// ```
    pub fn handle(&self) -> CoroutineHandle {
        self.core.handle()
    }

    /// `true` once the body has finished (also right after it failed, before
    /// its error is taken).
    ///
    /// ```
    /// use coro::generator::TryAsyncGenerator;
    /// use coro::{co_await, co_return, sync_wait, Task};
    ///
    /// #[coro::coroutine]
    /// fn fail() -> TryAsyncGenerator<u8, ()> { co_return!(Err(())) }
    ///
    /// #[coro::coroutine]
    /// fn drain() -> Task<(bool, Option<Result<u8, ()>>)> {
    ///     let mut g = fail();
    ///     let before = g.done();
    ///     co_return!((before, co_await!(g.next())))
    /// }
    ///
    /// assert_eq!(sync_wait(drain()), (false, Some(Err(()))));
    /// ```
    pub fn done(&self) -> bool {
        self.core.done()
    }
}

impl<T, E, B> fmt::Debug for TryAsyncGenerator<T, E, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TryAsyncGenerator").field("handle", &self.core).finish()
    }
}

/// The awaiter of `co_await!(gen.next())`, made by
/// [`TryAsyncGenerator::next`]; not used directly.
pub struct TryNext<'a, T, E, B> {
    generator: &'a mut TryAsyncGenerator<T, E, B>,
}

impl<T, E, B> fmt::Debug for TryNext<'_, T, E, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TryNext").field("generator", &self.generator).finish()
    }
}

impl<T, E, B> Awaiter for TryNext<'_, T, E, B> {
    type Output = Option<Result<T, E>>;

    fn await_ready(&mut self) -> bool {
        self.generator.core.next_ready()
    }

    unsafe fn await_suspend(&mut self, consumer: CoroutineHandle) -> impl AwaitSuspend {
        // SAFETY: forwarded: the resume loop calls this after `await_ready`
        // gave `false`; `self.generator` is borrowed mutably for the await.
        unsafe { self.generator.core.next_suspend(consumer) }
    }

    fn await_resume(self) -> Option<Result<T, E>> {
        self.generator.core.next_resume()
    }
}

#[cfg(feature = "stream")]
impl<T, E, B> futures_core::Stream for TryAsyncGenerator<T, E, B> {
    type Item = Result<T, E>;

    fn poll_next(self: core::pin::Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<T, E>>> {
        TryAsyncGenerator::poll_next(self.get_mut(), cx)
    }
}

#[cfg(feature = "stream")]
impl<T, E, B> futures_core::FusedStream for TryAsyncGenerator<T, E, B> {
    fn is_terminated(&self) -> bool {
        self.core.finished()
    }
}
