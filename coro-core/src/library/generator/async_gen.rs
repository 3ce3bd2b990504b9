//! `AsyncGenerator<T>`: a generator whose body may `co_await!`, consumed
//! from another coroutine with `co_await!(gen.next())` (cppcoro's
//! `async_generator`).
//!
//! Control moves between consumer and generator by symmetric transfer
//! only: `next()`'s awaiter records the consumer and transfers into the
//! generator; the generator's yield awaiter (and its final awaiter) transfer
//! back to the consumer. While the body awaits something else, the consumer
//! stays suspended at its `co_await!(gen.next())`.

use core::fmt;
use core::marker::PhantomData;

use crate::home::HomeThread;
use crate::language::awaiter::{AwaitSuspend, Awaiter};
use crate::language::handle::{noop_coroutine, CoroutineHandle, OwningHandle, UniqueCoroutineHandle};
use crate::language::point::SuspendPoint;
use crate::language::promise::{
    AwaitDirect, CoroutineTraits, FromReturnObject, Payload, Promise, ReturnVoid, ReturnsVoid, YieldValue,
};
use crate::language::suspend::SuspendAlways;

/// A lazily started sequence of `T` whose body may `co_await!` anything (a
/// [`Task`](crate::Task), a synchronisation primitive, a custom awaiter).
///
/// The consumer is another coroutine, which awaits each element:
/// `while let Some(x) = co_await!(gen.next()) { .. }`. Awaiting `next()`
/// resumes the generator by symmetric transfer; it runs until it yields (the
/// value is moved to the consumer, never cloned) or finishes (`None`), and
/// then transfers back. A panic in the body reaches the consumer at its
/// `co_await!`, after which `next()` gives `None`. Dropping a half-consumed
/// generator destroys its frame, and with it whatever the body holds.
///
/// Like [`Generator`](crate::Generator), it may borrow its arguments (name
/// the borrowed type as the second parameter `B`) and is not `Send`.
///
/// From async Rust it is polled as a stream: [`poll_next`](Self::poll_next)
/// runs the body on the polling thread, and with the `stream` feature it
/// implements `futures_core::Stream` (and `FusedStream`).
///
/// ```
/// use coro::{co_await, co_return, co_yield, sync_wait, AsyncGenerator, Task};
///
/// #[coro::coroutine]
/// fn square(x: u32) -> Task<u32> { co_return!(x * x) }
///
/// #[coro::coroutine]
/// fn squares(n: u32) -> AsyncGenerator<u32> {
///     for i in 0..n {
///         let s = co_await!(square(i));      // the body awaits...
///         co_yield!(s);                      // ...and yields
///     }
/// }
///
/// #[coro::coroutine]
/// fn sum(n: u32) -> Task<u32> {
///     let mut gen = squares(n);
///     let mut total = 0;
///     while let Some(s) = co_await!(gen.next()) {
///         total += s;
///     }
///     co_return!(total)
/// }
///
/// assert_eq!(sync_wait(sum(4)), 0 + 1 + 4 + 9);
/// ```
pub struct AsyncGenerator<T, B = ()> {
    pub(crate) core: AsyncGenCore<AsyncGeneratorPromise<T>>,
    _borrows: PhantomData<B>,
}

/// What [`AsyncGenerator`] and
/// [`TryAsyncGenerator`](crate::generator::TryAsyncGenerator) share: the
/// owned frame of a promise that keeps an [`AsyncGenState`], and how its
/// consumer (`co_await!(gen.next())`, or a poll) takes elements from it.
pub(crate) struct AsyncGenCore<P> {
    handle: OwningHandle<P>,
    /// The body has finished (or panicked, and the panic was delivered).
    finished: bool,
    /// What polling it from a Rust executor keeps (`poll_next`): after
    /// `handle`, so that the frame is destroyed before its stand-in
    /// consumer is freed.
    pub(crate) poll: PollSlot,
}

/// What the promise of an async generator keeps for its consumer.
pub(crate) struct AsyncGenState<I> {
    /// The element the body yielded last, until the consumer takes it.
    pub(crate) value: Option<I>,
    pub(crate) panic: Option<Payload>,
    /// The coroutine awaiting the next element, while the generator runs.
    pub(crate) consumer: Option<CoroutineHandle>,
    /// The creating thread: the frame is not `Send`, so resuming it
    /// elsewhere panics before the body runs.
    pub(crate) home: HomeThread,
}

impl<I> Default for AsyncGenState<I> {
    fn default() -> Self {
        AsyncGenState { value: None, panic: None, consumer: None, home: HomeThread::current() }
    }
}

/// The promise of an async generator: its elements are `Item`s.
pub(crate) trait AsyncGenPromise: Promise {
    /// What `next()` gives `Some` of.
    type Item;
    /// The consumer's side of the promise.
    fn state(&mut self) -> &mut AsyncGenState<Self::Item>;
}

/// The state of an [`AsyncGenerator`] driven by `poll_next`
/// (`interop/async_gen_stream.rs`): a stand-in frame that is the
/// generator's consumer while a poll has it running, made on the first poll
/// and owned here.
#[derive(Debug, Default)]
pub(crate) struct PollSlot {
    /// The stand-in; freed by its vtable's `destroy` (its only use).
    pub(crate) stand_in: Option<CoroutineHandle>,
    /// A poll resumed the generator, which has not yielded or finished yet
    /// (it is suspended inside its body, awaiting something).
    pub(crate) in_flight: bool,
}

impl Drop for PollSlot {
    fn drop(&mut self) {
        if let Some(h) = self.stand_in.take() {
            if self.in_flight {
                // The poll registered its waker with this thread's queue
                // under the stand-in's address.
                crate::home::forget_driver(h.address() as usize);
            }
            // SAFETY: the stand-in is owned here, and the generator's frame,
            // the only coroutine that could transfer to it, is destroyed
            // already (`handle` is dropped before `poll`).
            unsafe { h.destroy() };
        }
    }
}

/// The promise of [`AsyncGenerator`].
pub struct AsyncGeneratorPromise<T> {
    state: AsyncGenState<T>,
}

impl<T> Default for AsyncGeneratorPromise<T> {
    fn default() -> Self {
        AsyncGeneratorPromise { state: AsyncGenState::default() }
    }
}

impl<T> fmt::Debug for AsyncGeneratorPromise<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncGeneratorPromise")
            .field("has_value", &self.state.value.is_some())
            .field("consumer", &self.state.consumer)
            .finish()
    }
}

impl<T> AsyncGenPromise for AsyncGeneratorPromise<T> {
    type Item = T;
    fn state(&mut self) -> &mut AsyncGenState<T> {
        &mut self.state
    }
}

impl<T> Promise for AsyncGeneratorPromise<T> {
    type ReturnObject = UniqueCoroutineHandle<AsyncGeneratorPromise<T>>;
    type InitialSuspend = SuspendAlways;
    type FinalSuspend = AsyncFinalAwaiter;
    type Return = ReturnsVoid;
    type Await = AwaitDirect;

    unsafe fn get_return_object(&mut self) -> Self::ReturnObject {
        // SAFETY: the generator becomes the frame's only owner; it is
        // resumed by `Next` (one at a time, through `&mut`) and by whatever
        // its body awaits, while the consumer waits.
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
        self.state.home.check("AsyncGenerator");
    }
    fn continuation(&self) -> Option<CoroutineHandle> {
        self.state.consumer
    }
}

impl<T> ReturnVoid for AsyncGeneratorPromise<T> {
    fn return_void(&mut self) {}
}

impl<T> YieldValue<T> for AsyncGeneratorPromise<T> {
    type Awaitable = AsyncYieldAwaiter;
    fn yield_value(&mut self, value: T) -> AsyncYieldAwaiter {
        self.state.value = Some(value);
        AsyncYieldAwaiter::new(&mut self.state.consumer)
    }
}

/// What an [`AsyncGenerator`]'s `co_yield!` awaits: suspends and transfers
/// to the consumer.
#[derive(Debug)]
pub struct AsyncYieldAwaiter {
    consumer: Option<CoroutineHandle>,
}

impl AsyncYieldAwaiter {
    pub(crate) fn new(consumer: &mut Option<CoroutineHandle>) -> Self {
        AsyncYieldAwaiter { consumer: consumer.take() }
    }
}

impl Awaiter for AsyncYieldAwaiter {
    type Output = ();
    fn await_ready(&mut self) -> bool {
        false
    }
    unsafe fn await_suspend(&mut self, _: CoroutineHandle) -> impl AwaitSuspend {
        self.consumer.take().unwrap_or_else(noop_coroutine)
    }
    fn await_resume(self) {}
}

/// The final awaiter of an [`AsyncGenerator`]: transfers to the consumer.
#[derive(Debug)]
pub struct AsyncFinalAwaiter {
    consumer: Option<CoroutineHandle>,
}

impl AsyncFinalAwaiter {
    pub(crate) fn new(consumer: &mut Option<CoroutineHandle>) -> Self {
        AsyncFinalAwaiter { consumer: consumer.take() }
    }
}

impl Awaiter for AsyncFinalAwaiter {
    type Output = ();
    fn await_ready(&mut self) -> bool {
        false
    }
    unsafe fn await_suspend(&mut self, _: CoroutineHandle) -> impl AwaitSuspend {
        self.consumer.take().unwrap_or_else(noop_coroutine)
    }
    fn await_resume(self) {}
}

// Nothing of it is pinned: the frame is on the heap, `B` only marks borrows.
impl<T, B> Unpin for AsyncGenerator<T, B> {}

impl<T, B> CoroutineTraits for AsyncGenerator<T, B> {
    type Promise = AsyncGeneratorPromise<T>;
}

impl<T, B, F> FromReturnObject<UniqueCoroutineHandle<AsyncGeneratorPromise<T>>, F> for AsyncGenerator<T, B> {
    fn from_return_object(handle: UniqueCoroutineHandle<AsyncGeneratorPromise<T>>) -> Self {
        AsyncGenerator { core: AsyncGenCore::new(handle), _borrows: PhantomData }
    }
}

impl<T, B> AsyncGenerator<T, B> {
    /// The awaitable for the next element: `co_await!(gen.next())` gives
    /// `Some(value)`, or `None` once the generator has finished. (Named like
    /// cppcoro's and `Stream`'s `next`, not an `Iterator`: it is awaited.)
    ///
    /// ```
    /// use coro::{co_await, co_return, co_yield, sync_wait, AsyncGenerator, Task};
    ///
    /// #[coro::coroutine]
    /// fn two() -> AsyncGenerator<&'static str> { co_yield!("a"); co_yield!("b"); }
    ///
    /// #[coro::coroutine]
    /// fn take_three() -> Task<[Option<&'static str>; 3]> {
    ///     let mut g = two();
    ///     let a = co_await!(g.next());
    ///     let b = co_await!(g.next());
    ///     let end = co_await!(g.next());
    ///     co_return!([a, b, end])
    /// }
    ///
    /// assert_eq!(sync_wait(take_three()), [Some("a"), Some("b"), None]);
    /// ```
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Next<'_, T, B> {
        Next { generator: self }
    }

    /// Where the generator is suspended (`None` while running).
    ///
    /// ```
    /// use coro::handle::SuspendKind;
    /// use coro::{co_yield, AsyncGenerator};
    ///
    /// #[coro::coroutine]
    /// fn one() -> AsyncGenerator<u8> { co_yield!(1); }
    ///
    /// let g = one();
    /// assert_eq!(g.suspend_point().unwrap().kind(), SuspendKind::Initial); // lazy
    /// ```
    pub fn suspend_point(&self) -> Option<&'static SuspendPoint> {
        self.core.suspend_point()
    }

    /// The erased handle of the generator's coroutine.
    ///
    /// ```
    /// use coro::{co_yield, AsyncGenerator};
    ///
    /// #[coro::coroutine]
    /// fn one() -> AsyncGenerator<u8> { co_yield!(1); }
    ///
    /// assert!(!one().handle().address().is_null());
    /// ```
    pub fn handle(&self) -> CoroutineHandle {
        self.core.handle()
    }

    /// `true` once the body has finished.
    ///
    /// ```
    /// use coro::{co_await, co_return, co_yield, sync_wait, AsyncGenerator, Task};
    ///
    /// #[coro::coroutine]
    /// fn one() -> AsyncGenerator<u8> { co_yield!(1); }
    ///
    /// #[coro::coroutine]
    /// fn drain() -> Task<(bool, bool)> {
    ///     let mut g = one();
    ///     co_await!(g.next());
    ///     let after_one = g.done();
    ///     co_await!(g.next());
    ///     co_return!((after_one, g.done()))
    /// }
    ///
    /// assert_eq!(sync_wait(drain()), (false, true));
    /// ```
    pub fn done(&self) -> bool {
        self.core.done()
    }
}

impl<P: AsyncGenPromise> AsyncGenCore<P> {
    pub(crate) fn new(handle: UniqueCoroutineHandle<P>) -> Self {
        AsyncGenCore { handle: OwningHandle::new(handle), finished: false, poll: PollSlot::default() }
    }

    pub(crate) fn suspend_point(&self) -> Option<&'static SuspendPoint> {
        self.handle.suspend_point()
    }

    pub(crate) fn handle(&self) -> CoroutineHandle {
        self.handle.handle().erase()
    }

    pub(crate) fn done(&self) -> bool {
        self.handle.done()
    }

    /// What the generator's last resume produced: its yielded value, or
    /// `None` once it has finished (its panic, if it panicked, is rethrown
    /// here, once).
    ///
    /// # Safety
    /// The generator is suspended (it has transferred back to its consumer,
    /// or was done already) and nothing else uses its promise meanwhile.
    pub(crate) unsafe fn take_element(&mut self) -> Option<P::Item> {
        if self.finished {
            return None;
        }
        // SAFETY: the caller's contract; this is the only reference.
        let state = unsafe { self.handle.promise_mut() }.state();
        if let Some(value) = state.value.take() {
            return Some(value);
        }
        self.finished = true;
        if let Some(payload) = state.panic.take() {
            std::panic::resume_unwind(payload);
        }
        None
    }

    /// The typed handle, for the poll-driven resume (`interop`).
    pub(crate) fn promise_handle(&self) -> CoroutineHandle<P> {
        self.handle.handle()
    }

    /// The body has finished and that was delivered.
    pub(crate) fn finished(&self) -> bool {
        self.finished
    }

    /// Makes `consumer` the coroutine the generator transfers to at its
    /// next yield or at its end.
    ///
    /// # Safety
    /// The generator is suspended and nothing else uses its promise meanwhile.
    pub(crate) unsafe fn set_consumer(&mut self, consumer: CoroutineHandle) {
        // SAFETY: the caller's contract; short-lived reference.
        unsafe { self.handle.promise_mut() }.state().consumer = Some(consumer);
    }

    /// `await_ready` of `co_await!(gen.next())`.
    pub(crate) fn next_ready(&self) -> bool {
        assert!(
            !self.poll.in_flight,
            "`co_await!(gen.next())` on an AsyncGenerator that a Rust executor's poll left running: poll it to its \
             next element first"
        );
        self.finished || self.handle.done()
    }

    /// `await_suspend` of `co_await!(gen.next())`.
    ///
    /// # Safety
    /// Called by the resume loop for the consumer, after `next_ready` gave
    /// `false`, with `self` borrowed mutably for the whole await.
    pub(crate) unsafe fn next_suspend(&mut self, consumer: CoroutineHandle) -> CoroutineHandle<P> {
        // SAFETY: the generator is owned by `self`, borrowed mutably for
        // this await, and suspended (at its initial point or a `co_yield!`:
        // it is not done, see `next_ready`); nothing else resumes it from
        // there.
        unsafe { self.set_consumer(consumer) };
        self.handle.handle()
    }

    /// `await_resume` of `co_await!(gen.next())`.
    pub(crate) fn next_resume(&mut self) -> Option<P::Item> {
        // SAFETY: the generator has transferred back (or was done already).
        unsafe { self.take_element() }
    }
}

impl<P> fmt::Debug for AsyncGenCore<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.handle.fmt(f)
    }
}

impl<T, B> fmt::Debug for AsyncGenerator<T, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncGenerator").field("handle", &self.core).finish()
    }
}

/// The awaiter of `co_await!(gen.next())`, made by
/// [`AsyncGenerator::next`]; not used directly.
pub struct Next<'a, T, B> {
    generator: &'a mut AsyncGenerator<T, B>,
}

impl<T, B> fmt::Debug for Next<'_, T, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Next").field("generator", &self.generator).finish()
    }
}

impl<T, B> Awaiter for Next<'_, T, B> {
    type Output = Option<T>;

    fn await_ready(&mut self) -> bool {
        self.generator.core.next_ready()
    }

    unsafe fn await_suspend(&mut self, consumer: CoroutineHandle) -> impl AwaitSuspend {
        // SAFETY: forwarded: the resume loop calls this after `await_ready`
        // gave `false`; `self.generator` is borrowed mutably for the await.
        unsafe { self.generator.core.next_suspend(consumer) }
    }

    fn await_resume(self) -> Option<T> {
        self.generator.core.next_resume()
    }
}
