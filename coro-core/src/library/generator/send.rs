//! `SendGenerator<T>`: a [`Generator`] whose frame may move to another
//! thread.
//!
//! # Why a separate return type
//!
//! `Send` must follow from the frame's contents, and a frame's type is only
//! known inside its ramp. So, as for [`SendTask`](crate::SendTask), the
//! check is made where the ramp turns the frame into the return object
//! ([`FromReturnObject`], which sees the body's type): a coroutine declared
//! `-> SendGenerator<T>` whose body holds an `Rc` across a `co_yield!` is a
//! compile error at the coroutine, not at some distant `thread::spawn`.
//! Making `Generator` itself conditionally `Send` is not possible: its type
//! does not mention the body, and an auto trait cannot look through the
//! type-erased handle. The wrapper adds nothing to the hot path — `next` is
//! the `Generator`'s own, inlined.

use core::fmt;

use crate::language::frame::FrameBody;
use crate::language::handle::{CoroutineHandle, UniqueCoroutineHandle};
use crate::language::point::SuspendPoint;
use crate::language::promise::{CoroutineTraits, FromReturnObject};
use crate::library::generator::{Generator, GeneratorPromise};

/// A [`Generator`] that may be created on one thread and iterated on
/// another.
///
/// Defining a coroutine that returns `SendGenerator<T>` requires its frame to
/// be `Send`: every value held across a `co_yield!` must be `Send` (an `Rc`
/// or a `RefCell` guard there is a compile error at the coroutine). In
/// exchange the generator is `Send` (when `T` and the borrow marker `B` are).
/// Everything else is [`Generator`]'s: an [`Iterator`], lazily evaluated,
/// values moved out, no `co_await!`, borrowed arguments named by `B`. It
/// converts into a `Generator` with `Generator::from`.
///
/// ```
/// use coro::{co_yield, SendGenerator};
///
/// #[coro::coroutine]
/// fn squares(n: u64) -> SendGenerator<u64> {
///     for i in 0..n { co_yield!(i * i); }
/// }
///
/// let gen = squares(4);                       // made on this thread...
/// let sum = std::thread::spawn(move || gen.sum::<u64>()).join().unwrap(); // ...iterated on another
/// assert_eq!(sum, 0 + 1 + 4 + 9);
/// ```
///
/// ```compile_fail
/// use std::rc::Rc;
/// use coro::{co_yield, SendGenerator};
///
/// #[coro::coroutine]
/// fn holds_rc() -> SendGenerator<u32> {
///     let r = Rc::new(1);
///     co_yield!(*r);              // `r` is held across this suspension point
///     co_yield!(*r);
/// }
/// ```
pub struct SendGenerator<T, B = ()> {
    inner: Generator<T, B>,
}

// SAFETY: a `SendGenerator` can only be made by a ramp whose body is `Send`
// (its `FromReturnObject` impl); the rest of the frame is the promise, which
// holds an `Option<T>` (`T: Send`), and the initial/final awaiters
// (`SuspendAlways`). `B` only marks borrows the body holds, and is required to
// be `Send` as well. The frame is owned by the generator and resumed only
// through `&mut self`, so it is never used by two threads at once.
unsafe impl<T: Send, B: Send> Send for SendGenerator<T, B> {}

impl<T, B> CoroutineTraits for SendGenerator<T, B> {
    type Promise = GeneratorPromise<T>;
}

/// The `Send` check of a [`SendGenerator`] coroutine's frame (any `Send`
/// type). Not a public API.
///
/// rustc (1.95) does not show this trait's message for a coroutine's frame:
/// it reports a `Send` failure at the value inside the frame that is not
/// `Send`, under its own "future cannot be sent between threads safely",
/// with a note pointing at that value and the `co_await!` or `co_yield!`
/// it is held across. The macro names the frame's info type `coroutine_<name>`, so
/// that the error's "within `Framed<.., coroutine_<name>>`" says whose
/// frame it is (tests/ui/send_*_holding_rc.stderr).
#[diagnostic::on_unimplemented(
    message = "a `SendGenerator` coroutine's frame must be `Send`",
    label = "this coroutine holds something that is not `Send` across a suspension point",
    note = "return `Generator<T>` instead (it stays on one thread), or make sure no `Rc`, `RefCell` guard or other \
            non-`Send` value is alive across a `co_yield!`"
)]
#[doc(hidden)]
pub trait SendGeneratorFrame {}
impl<F: Send> SendGeneratorFrame for F {}

/// The `Send` check: `F` is the coroutine's body.
impl<T: Send, B, F: FrameBody + SendGeneratorFrame> FromReturnObject<UniqueCoroutineHandle<GeneratorPromise<T>>, F>
    for SendGenerator<T, B>
{
    #[inline]
    fn from_return_object(handle: UniqueCoroutineHandle<GeneratorPromise<T>>) -> Self {
        SendGenerator { inner: <Generator<T, B> as FromReturnObject<_, F>>::from_return_object(handle) }
    }
}

impl<T, B> SendGenerator<T, B> {
    /// Where the generator is suspended (`None` while running).
    ///
    /// ```
    /// use coro::handle::SuspendKind;
    /// use coro::{co_yield, SendGenerator};
    /// #[coro::coroutine]
    /// fn one() -> SendGenerator<u8> { co_yield!(1); }
    /// let mut g = one();
    /// assert_eq!(g.suspend_point().unwrap().kind(), SuspendKind::Initial);
    /// g.next();
    /// assert_eq!(g.suspend_point().unwrap().kind(), SuspendKind::Yield);
    /// ```
    pub fn suspend_point(&self) -> Option<&'static SuspendPoint> {
        self.inner.suspend_point()
    }

    /// The erased handle of the generator's coroutine.
    ///
    /// ```
    /// use coro::{co_yield, SendGenerator};
    /// #[coro::coroutine]
    /// fn one() -> SendGenerator<u8> { co_yield!(1); }
    /// let g = one();
    /// assert!(!g.handle().address().is_null());
    /// ```
    pub fn handle(&self) -> CoroutineHandle {
        self.inner.handle()
    }

    /// `true` once the body has finished.
    ///
    /// ```
    /// use coro::{co_yield, SendGenerator};
    /// #[coro::coroutine]
    /// fn one() -> SendGenerator<u8> { co_yield!(1); }
    /// let mut g = one();
    /// assert_eq!((g.next(), g.done()), (Some(1), false));
    /// assert_eq!((g.next(), g.done()), (None, true));
    /// ```
    pub fn done(&self) -> bool {
        self.inner.done()
    }
}

impl<T, B> From<SendGenerator<T, B>> for Generator<T, B> {
    /// Gives up `Send`: the same frame, as a plain [`Generator`].
    ///
    /// ```
    /// use coro::{co_yield, Generator, SendGenerator};
    /// #[coro::coroutine]
    /// fn two() -> SendGenerator<u8> { co_yield!(1); co_yield!(2); }
    /// let g: Generator<u8> = two().into();
    /// assert_eq!(g.collect::<Vec<_>>(), [1, 2]);
    /// ```
    fn from(g: SendGenerator<T, B>) -> Self {
        g.inner
    }
}

impl<T, B> Iterator for SendGenerator<T, B> {
    type Item = T;

    #[inline]
    fn next(&mut self) -> Option<T> {
        self.inner.next()
    }
}

impl<T, B> fmt::Debug for SendGenerator<T, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SendGenerator").field("handle", &self.inner.handle()).finish()
    }
}
