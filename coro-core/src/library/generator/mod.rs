//! `Generator<T>`: a lazily evaluated sequence, as C++23 `std::generator`.

pub(crate) mod async_gen;
pub(crate) mod inline;
pub(crate) mod recursive;
pub(crate) mod send;
pub(crate) mod try_async_gen;
pub(crate) mod two_way;

use core::fmt;
use core::marker::PhantomData;

use crate::language::frame::{FrameBody, VTableFor};
use crate::language::handle::{CoroutineHandle, OwningHandle, ResumeFn, UniqueCoroutineHandle};
use crate::language::point::SuspendPoint;
use crate::language::promise::{
    AwaitTransformed, CoroutineTraits, FromReturnObject, Payload, Promise, ReturnVoid, ReturnsVoid, YieldValue,
};
use crate::language::suspend::SuspendAlways;
use crate::library::generator::send::SendGenerator;
use crate::library::thread_bound::{ThreadBound, Unsent};

/// A coroutine that produces a sequence of `T` with `co_yield!`; an
/// [`Iterator`].
///
/// The yielded value is moved out to the consumer, never cloned. The body
/// runs only when the next element is asked for. A generator may borrow its
/// arguments: name the borrowed type as the second parameter `B` (or let the
/// element type carry the lifetime), and the borrow checker keeps the
/// generator from outliving the data.
///
/// Generators cannot `co_await!` (as in C++23): their promise has an
/// `await_transform` that accepts nothing.
///
/// ```
/// use coro::{co_yield, Generator};
///
/// #[coro::coroutine]
/// fn range(n: u32) -> Generator<u32> {
///     for i in 0..n { co_yield!(i); }
/// }
///
/// #[coro::coroutine]
/// fn chars<'a>(s: &'a str) -> Generator<char, &'a str> {
///     for c in s.chars() { co_yield!(c); }
/// }
///
/// assert_eq!(range(4).sum::<u32>(), 6);
/// assert_eq!(chars("abc").collect::<String>(), "abc");
/// ```
pub struct Generator<T, B = ()> {
    /// First, so that the "cannot be sent between threads" error names it.
    _thread_bound: ThreadBound<Generator<T, B>, SendGenerator<T, B>>,
    handle: Unsent<OwningHandle<GeneratorPromise<T>>>,
    /// The frame's resume entry point, read once: a generator never
    /// transfers control (its body cannot `co_await!`, and its initial, yield
    /// and final awaiters all just suspend), so `next` calls it directly
    /// instead of going through the general resume loop. It is the owner's
    /// entry, without the check for a resume from inside the running
    /// coroutine: `next` takes `&mut self`, and nothing else may resume the
    /// frame (see `get_return_object`).
    resume: ResumeFn,
    /// The body has finished (or panicked): `next` returns `None` without
    /// touching the frame.
    finished: bool,
    _borrows: PhantomData<B>,
}

/// The promise of [`Generator`].
pub struct GeneratorPromise<T> {
    value: Option<T>,
}

impl<T> Default for GeneratorPromise<T> {
    fn default() -> Self {
        GeneratorPromise { value: None }
    }
}

impl<T> fmt::Debug for GeneratorPromise<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GeneratorPromise").field("has_value", &self.value.is_some()).finish()
    }
}

impl<T> Promise for GeneratorPromise<T> {
    type ReturnObject = UniqueCoroutineHandle<GeneratorPromise<T>>;
    type InitialSuspend = SuspendAlways;
    type FinalSuspend = SuspendAlways;
    type Return = ReturnsVoid;
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

impl<T> ReturnVoid for GeneratorPromise<T> {
    fn return_void(&mut self) {}
}

impl<T> YieldValue<T> for GeneratorPromise<T> {
    type Awaitable = SuspendAlways;
    #[inline(always)]
    fn yield_value(&mut self, value: T) -> SuspendAlways {
        self.value = Some(value);
        SuspendAlways
    }
}

impl<T, B> CoroutineTraits for Generator<T, B> {
    type Promise = GeneratorPromise<T>;
}

/// The ramp hands the generator its frame's entry point as a constant (it
/// knows the body type `F`), so that where a generator is created and
/// iterated in the same function the compiler can call, and inline, the
/// body directly.
impl<T, B, F: FrameBody> FromReturnObject<UniqueCoroutineHandle<GeneratorPromise<T>>, F> for Generator<T, B> {
    #[inline]
    fn from_return_object(handle: UniqueCoroutineHandle<GeneratorPromise<T>>) -> Self {
        let resume = VTableFor::<GeneratorPromise<T>, F>::OWNED_RESUME;
        Generator {
            _thread_bound: PhantomData,
            handle: Unsent::new(OwningHandle::new(handle)),
            resume,
            finished: false,
            _borrows: PhantomData,
        }
    }
}

impl<T, B> Generator<T, B> {
    /// Where the generator is suspended (`None` while running).
    ///
    /// ```
    /// use coro::handle::SuspendKind;
    /// use coro::{co_yield, Generator};
    ///
    /// #[coro::coroutine]
    /// fn one() -> Generator<u8> { co_yield!(1); }
    ///
    /// let mut g = one();
    /// assert_eq!(g.suspend_point().unwrap().kind(), SuspendKind::Initial);
    /// g.next();
    /// assert_eq!(g.suspend_point().unwrap().kind(), SuspendKind::Yield);
    /// ```
    pub fn suspend_point(&self) -> Option<&'static SuspendPoint> {
        self.handle.suspend_point()
    }

    /// The erased handle of the generator's coroutine.
    ///
    /// ```
    /// use coro::{co_yield, Generator};
    ///
    /// #[coro::coroutine]
    /// fn one() -> Generator<u8> { co_yield!(1); }
    ///
    /// let g = one();
    /// assert!(!g.handle().address().is_null());
    /// ```
    pub fn handle(&self) -> CoroutineHandle {
        self.handle.handle().erase()
    }

    /// `true` once the body has finished.
    ///
    /// ```
    /// use coro::{co_yield, Generator};
    ///
    /// #[coro::coroutine]
    /// fn one() -> Generator<u8> { co_yield!(1); }
    ///
    /// let mut g = one();
    /// assert_eq!((g.next(), g.done()), (Some(1), false));
    /// assert_eq!((g.next(), g.done()), (None, true));
    /// ```
    pub fn done(&self) -> bool {
        self.handle.done()
    }
}

impl<T, B> Iterator for Generator<T, B> {
    type Item = T;

    #[inline]
    fn next(&mut self) -> Option<T> {
        if self.finished {
            return None;
        }
        /// A panic out of the body (rethrown by `unhandled_exception`)
        /// leaves the coroutine at its final point: never resume it again.
        struct FinishOnUnwind<'a>(&'a mut bool);
        impl Drop for FinishOnUnwind<'_> {
            fn drop(&mut self) {
                *self.0 = true;
            }
        }
        let guard = FinishOnUnwind(&mut self.finished);
        // SAFETY: owned frame, not running (`&mut self`), not at its final
        // point (`finished` is false), and nobody else can resume it (see
        // `get_return_object`). The entry point belongs to this frame.
        let next = unsafe { (self.resume)(self.handle.handle().header()) };
        core::mem::forget(guard);
        debug_assert!(next.is_none(), "a generator transferred control");
        // SAFETY: the coroutine is suspended again; this is the only reference.
        let value = unsafe { self.handle.promise_mut() }.value.take();
        self.finished = value.is_none();
        value
    }
}

impl<T, B> fmt::Debug for Generator<T, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Generator").field("handle", &self.handle).finish()
    }
}
