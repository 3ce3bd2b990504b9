//! `TwoWayGenerator<Y, R, C>`: a generator that the consumer resumes with
//! a value, which its `co_yield!` returns, and that finishes with a
//! completion value (genawaiter's `Gen<Y, R, F>` and `GeneratorState`).
//!
//! Like [`Generator`](crate::Generator) it never transfers control: its
//! body cannot `co_await!`, and its initial, yield and final awaiters only
//! suspend, so `resume_with` runs the body up to its next `co_yield!` or its
//! end. The value sent in is kept in the promise until the yield awaiter's
//! `await_resume` takes it, reaching the promise through the coroutine's own
//! handle (given to `await_suspend`).

use core::fmt;
use core::marker::PhantomData;

use crate::language::awaiter::{AwaitSuspend, Awaiter};
use crate::language::handle::{CoroutineHandle, OwningHandle, UniqueCoroutineHandle};
use crate::language::point::SuspendPoint;
use crate::language::promise::{
    AwaitTransformed, CoroutineTraits, FromReturnObject, Payload, Promise, ReturnValue, ReturnsValue, YieldValue,
};
use crate::language::suspend::SuspendAlways;

/// What [`TwoWayGenerator::resume_with`] gives back: the body yielded a
/// value (`co_yield!(y)`), or it finished with its completion value
/// (`co_return!(c)`). genawaiter's `GeneratorState`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GeneratorState<Y, C> {
    /// The body is suspended at a `co_yield!` of this value.
    Yielded(Y),
    /// The body has finished with this value.
    Complete(C),
}

/// A generator driven by values: `co_yield!(y)` hands `y` to the consumer
/// and evaluates to the `R` the consumer sends next with
/// [`resume_with`](Self::resume_with); the body ends with `co_return!(c)`,
/// whose `C` the last `resume_with` returns as
/// [`GeneratorState::Complete`]. (genawaiter's `Gen<Y, R, _>`; Python's
/// `generator.send`.)
///
/// **The first `resume_with` starts the body**, which runs to its first
/// `co_yield!`: no `co_yield!` is waiting for that first value, so it is
/// dropped, as in genawaiter (Python asks for `None` there). With `R = ()`,
/// [`resume`](Self::resume) says it shorter.
///
/// Every path through the body ends in `co_return!(c)` (with `C = ()`,
/// `co_return!(())`), as in a [`Task`](crate::Task). Values move, never
/// cloned. A panic in the body propagates from `resume_with`; resuming a
/// generator that has completed or panicked panics. Dropping it unfinished
/// destroys the frame (and the value sent in, if the body has not taken it).
/// It may borrow its arguments (name the borrowed type as `B`), is not
/// `Send`, and cannot `co_await!`.
///
/// It is invariant in `R`: values of that type flow *into* the frame, so a
/// `TwoWayGenerator<_, &'static str>` must not be usable as one that
/// accepts shorter-lived strings (docs/soundness.md).
///
/// ```
/// use coro::generator::{GeneratorState, TwoWayGenerator};
/// use coro::{co_return, co_yield};
///
/// /// Yields the running total of what it is sent; completes with the count.
/// #[coro::coroutine]
/// fn running_sum() -> TwoWayGenerator<u32, u32, usize> {
///     let (mut total, mut n) = (0, 0);
///     loop {
///         let x = co_yield!(total);
///         if x == 0 { co_return!(n) }
///         total += x;
///         n += 1;
///     }
/// }
///
/// let mut g = running_sum();
/// assert_eq!(g.resume_with(99), GeneratorState::Yielded(0)); // starts it: 99 is dropped
/// assert_eq!(g.resume_with(5), GeneratorState::Yielded(5));
/// assert_eq!(g.resume_with(10), GeneratorState::Yielded(15));
/// assert_eq!(g.resume_with(0), GeneratorState::Complete(2));
/// ```
pub struct TwoWayGenerator<Y, R, C = (), B = ()> {
    handle: OwningHandle<TwoWayPromise<Y, R, C>>,
    started: bool,
    /// The body has finished (or panicked): it is not resumed again.
    finished: bool,
    /// Invariant in `R`: it flows into the frame.
    _resume: PhantomData<fn(R) -> R>,
    _borrows: PhantomData<B>,
}

/// The promise of [`TwoWayGenerator`].
pub struct TwoWayPromise<Y, R, C> {
    yielded: Option<Y>,
    sent: Option<R>,
    result: Option<C>,
}

impl<Y, R, C> Default for TwoWayPromise<Y, R, C> {
    fn default() -> Self {
        TwoWayPromise { yielded: None, sent: None, result: None }
    }
}

impl<Y, R, C> fmt::Debug for TwoWayPromise<Y, R, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TwoWayPromise")
            .field("has_yielded", &self.yielded.is_some())
            .field("has_sent", &self.sent.is_some())
            .field("has_result", &self.result.is_some())
            .finish()
    }
}

impl<Y, R, C> Promise for TwoWayPromise<Y, R, C> {
    type ReturnObject = UniqueCoroutineHandle<TwoWayPromise<Y, R, C>>;
    type InitialSuspend = SuspendAlways;
    type FinalSuspend = SuspendAlways;
    type Return = ReturnsValue;
    type Await = AwaitTransformed;

    unsafe fn get_return_object(&mut self) -> Self::ReturnObject {
        // SAFETY: the generator becomes the frame's only owner. Its body can
        // only suspend at `co_yield!` (no awaits are accepted), so no other
        // party ever holds a handle that could resume it.
        unsafe { UniqueCoroutineHandle::from_raw(CoroutineHandle::from_promise(self)) }
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

impl<Y, R, C> ReturnValue<C> for TwoWayPromise<Y, R, C> {
    fn return_value(&mut self, value: C) {
        self.result = Some(value);
    }
}

impl<Y, R, C> YieldValue<Y> for TwoWayPromise<Y, R, C> {
    type Awaitable = TwoWayYieldAwaiter<Y, R, C>;
    fn yield_value(&mut self, value: Y) -> TwoWayYieldAwaiter<Y, R, C> {
        self.yielded = Some(value);
        TwoWayYieldAwaiter { generator: None }
    }
}

/// What a [`TwoWayGenerator`]'s `co_yield!` awaits: suspends, and once
/// resumed gives the value the consumer sent.
pub struct TwoWayYieldAwaiter<Y, R, C> {
    /// The suspended coroutine itself, to read the value sent from.
    generator: Option<CoroutineHandle<TwoWayPromise<Y, R, C>>>,
}

impl<Y, R, C> fmt::Debug for TwoWayYieldAwaiter<Y, R, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TwoWayYieldAwaiter").field("generator", &self.generator).finish()
    }
}

impl<Y, R, C> Awaiter for TwoWayYieldAwaiter<Y, R, C> {
    type Output = R;
    fn await_ready(&mut self) -> bool {
        false
    }
    unsafe fn await_suspend(&mut self, h: CoroutineHandle) -> impl AwaitSuspend {
        // SAFETY: `h` is the coroutine awaiting this, a `co_yield!` of a
        // `TwoWayGenerator` body, whose promise type is `TwoWayPromise<Y, R, C>`
        // (`YieldValue::Awaitable` of that promise only).
        self.generator = Some(unsafe { h.cast() });
    }
    fn await_resume(self) -> R {
        let h = self.generator.expect("a co_yield! always suspends first");
        // SAFETY: the frame is alive (its body runs this) and the owner put
        // the value in before resuming it; nothing else holds a reference to
        // the promise while its body runs. Short-lived reference.
        unsafe { h.promise() }.sent.take().expect("resume_with put the value in before resuming")
    }
}

impl<Y, R, C, B> CoroutineTraits for TwoWayGenerator<Y, R, C, B> {
    type Promise = TwoWayPromise<Y, R, C>;
}

impl<Y, R, C, B, F> FromReturnObject<UniqueCoroutineHandle<TwoWayPromise<Y, R, C>>, F> for TwoWayGenerator<Y, R, C, B> {
    fn from_return_object(handle: UniqueCoroutineHandle<TwoWayPromise<Y, R, C>>) -> Self {
        TwoWayGenerator {
            handle: OwningHandle::new(handle),
            started: false,
            finished: false,
            _resume: PhantomData,
            _borrows: PhantomData,
        }
    }
}

impl<Y, R, C, B> TwoWayGenerator<Y, R, C, B> {
    /// Resumes the body with `value` as the result of the `co_yield!` it is
    /// suspended at, and runs it to its next `co_yield!` (`Yielded`) or its
    /// end (`Complete`). The first call starts the body, and `value` is
    /// dropped (no `co_yield!` is waiting for it).
    ///
    /// Panics if the generator has completed (or panicked); a panic in the
    /// body propagates from here.
    ///
    /// ```
    /// use coro::generator::{GeneratorState, TwoWayGenerator};
    /// use coro::{co_return, co_yield};
    ///
    /// #[coro::coroutine]
    /// fn echo_twice() -> TwoWayGenerator<String, String, &'static str> {
    ///     let a = co_yield!(String::from("ready"));
    ///     let b = co_yield!(a.to_uppercase());
    ///     co_return!(if b.is_empty() { "empty" } else { "done" })
    /// }
    ///
    /// let mut g = echo_twice();
    /// assert_eq!(g.resume_with(String::new()), GeneratorState::Yielded("ready".into()));
    /// assert_eq!(g.resume_with("hi".into()), GeneratorState::Yielded("HI".into()));
    /// assert_eq!(g.resume_with(String::new()), GeneratorState::Complete("empty"));
    /// assert!(g.done());
    /// ```
    pub fn resume_with(&mut self, value: R) -> GeneratorState<Y, C> {
        assert!(!self.finished, "a TwoWayGenerator was resumed after it completed (or panicked)");
        if self.started {
            // SAFETY: owned, suspended at a `co_yield!`, not running
            // (`&mut self`); short-lived reference.
            unsafe { self.handle.promise_mut() }.sent = Some(value);
        } else {
            self.started = true;
            drop(value);
        }
        /// A panic out of the body leaves it at its final point.
        struct FinishOnUnwind<'a>(&'a mut bool);
        impl Drop for FinishOnUnwind<'_> {
            fn drop(&mut self) {
                *self.0 = true;
            }
        }
        let guard = FinishOnUnwind(&mut self.finished);
        // SAFETY: the frame is owned by `self` (alive), suspended and not at
        // its final point (`finished` is false), and nobody else resumes it
        // (see `get_return_object`); not `Send`, so on its own thread.
        unsafe { self.handle.handle().resume() };
        core::mem::forget(guard);
        // SAFETY: the body is suspended again; this is the only reference.
        let promise = unsafe { self.handle.promise_mut() };
        match promise.yielded.take() {
            Some(y) => GeneratorState::Yielded(y),
            None => {
                self.finished = true;
                GeneratorState::Complete(promise.result.take().expect("the body ended with co_return!"))
            }
        }
    }

    /// `true` once the body has finished.
    ///
    /// ```
    /// use coro::generator::{GeneratorState, TwoWayGenerator};
    /// use coro::{co_return, co_yield};
    ///
    /// #[coro::coroutine]
    /// fn one() -> TwoWayGenerator<u8, ()> { co_yield!(1); co_return!(()) }
    ///
    /// let mut g = one();
    /// assert_eq!((g.resume(), g.done()), (GeneratorState::Yielded(1), false));
    /// assert_eq!((g.resume(), g.done()), (GeneratorState::Complete(()), true));
    /// ```
    pub fn done(&self) -> bool {
        self.handle.done()
    }

    /// Where the generator is suspended (`None` while running).
    ///
    /// ```
    /// use coro::handle::SuspendKind;
    /// use coro::generator::TwoWayGenerator;
    /// use coro::{co_return, co_yield};
    ///
    /// #[coro::coroutine]
    /// fn one() -> TwoWayGenerator<u8, ()> { co_yield!(1); co_return!(()) }
    ///
    /// assert_eq!(one().suspend_point().unwrap().kind(), SuspendKind::Initial); // lazy
    /// ```
    pub fn suspend_point(&self) -> Option<&'static SuspendPoint> {
        self.handle.suspend_point()
    }

    /// The erased handle of the generator's coroutine.
    ///
    /// ```
    /// use coro::generator::TwoWayGenerator;
    /// use coro::{co_return, co_yield};
    ///
    /// #[coro::coroutine]
    /// fn one() -> TwoWayGenerator<u8, ()> { co_yield!(1); co_return!(()) }
    ///
    /// assert!(!one().handle().address().is_null());
    /// ```
    pub fn handle(&self) -> CoroutineHandle {
        self.handle.handle().erase()
    }
}

impl<Y, C, B> TwoWayGenerator<Y, (), C, B> {
    /// [`resume_with`](Self::resume_with)`(())`: for a generator that is
    /// sent nothing but completes with a value.
    ///
    /// ```
    /// use coro::generator::{GeneratorState, TwoWayGenerator};
    /// use coro::{co_return, co_yield};
    ///
    /// #[coro::coroutine]
    /// fn countdown(n: u32) -> TwoWayGenerator<u32, (), &'static str> {
    ///     for i in (1..=n).rev() { co_yield!(i); }
    ///     co_return!("liftoff")
    /// }
    ///
    /// let mut g = countdown(2);
    /// assert_eq!(g.resume(), GeneratorState::Yielded(2));
    /// assert_eq!(g.resume(), GeneratorState::Yielded(1));
    /// assert_eq!(g.resume(), GeneratorState::Complete("liftoff"));
    /// ```
    pub fn resume(&mut self) -> GeneratorState<Y, C> {
        self.resume_with(())
    }
}

impl<Y, R, C, B> fmt::Debug for TwoWayGenerator<Y, R, C, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TwoWayGenerator").field("handle", &self.handle).field("started", &self.started).finish()
    }
}
