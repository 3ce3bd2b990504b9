//! The promise: C++ `promise_type`, split into a required core ([`Promise`])
//! and opt-in capabilities ([`ReturnVoid`], [`ReturnValue`], [`YieldValue`],
//! [`AwaitTransform`], [`FromParams`], [`AllocateFrameWith`]).

use core::alloc::Layout;
use core::any::Any;
use core::ptr::NonNull;

use crate::language::awaiter::IntoAwaiter;

/// Memory for one coroutine frame, as a promise's allocation function
/// returns it ([`Promise::allocate_frame`], [`AllocateFrameWith`]).
///
/// Building one from a raw pointer is `unsafe`: the frame is written through
/// it, so a safe allocation function could otherwise hand out memory that
/// is not there. [`FrameMemory::global`] is the safe default.
///
/// ```
/// use std::alloc::Layout;
/// use coro::promise::FrameMemory;
///
/// let layout = Layout::from_size_align(64, 8).unwrap();
/// let mem = FrameMemory::global(layout).expect("allocation");
/// // SAFETY: allocated just above with this layout, freed once.
/// unsafe { std::alloc::dealloc(mem.as_ptr().as_ptr(), layout) };
/// ```
#[derive(Debug)]
pub struct FrameMemory {
    ptr: NonNull<u8>,
}

impl FrameMemory {
    /// Wraps memory for a frame.
    ///
    /// # Safety
    /// For the `layout` the allocation function was given, `ptr` is valid
    /// for reads and writes of `layout.size()` bytes, aligned to
    /// `layout.align()`, not used by anything else, and stays so until the
    /// promise's [`deallocate_frame`](Promise::deallocate_frame) is called
    /// with it.
    #[inline]
    pub unsafe fn from_raw(ptr: NonNull<u8>) -> Self {
        FrameMemory { ptr }
    }

    /// Allocates with the global allocator (`std::alloc::alloc`); `None` on
    /// failure.
    #[inline]
    pub fn global(layout: Layout) -> Option<Self> {
        assert!(layout.size() > 0, "a coroutine frame is never empty");
        // SAFETY: the layout is not zero-sized; the block is exclusively ours
        // until `deallocate_frame` frees it.
        NonNull::new(unsafe { std::alloc::alloc(layout) }).map(|ptr| FrameMemory { ptr })
    }

    /// The start of the block.
    #[inline]
    pub fn as_ptr(&self) -> NonNull<u8> {
        self.ptr
    }
}

/// A panic payload, as `std::panic::catch_unwind` returns it: coro's
/// equivalent of C++'s `std::exception_ptr`.
pub type Payload = Box<dyn Any + Send + 'static>;

/// C++ `promise_type`: the object inside every coroutine frame through which
/// the coroutine delivers its results and which decides how it starts and ends.
///
/// The opt-in capabilities are separate traits, so that a promise lacking one
/// makes the matching construct a compile error, exactly as in C++:
/// `co_return!(v)` needs [`ReturnValue`], `co_return!()` and falling off the
/// end need [`ReturnVoid`], `co_yield!(v)` needs [`YieldValue`].
///
/// ```
/// use coro::promise::{AwaitDirect, Payload, ReturnValue, ReturnsValue};
/// use coro::{co_return, CoroutineHandle, Promise, SuspendAlways, UniqueCoroutineHandle};
///
/// #[derive(Default)]
/// struct Answer(Option<i32>);
///
/// impl Promise for Answer {
///     type ReturnObject = UniqueCoroutineHandle<Answer>;
///     type InitialSuspend = SuspendAlways;   // lazy start
///     type FinalSuspend = SuspendAlways;     // keep the result until the owner drops it
///     type Return = ReturnsValue;
///     type Await = AwaitDirect;
///     unsafe fn get_return_object(&mut self) -> Self::ReturnObject {
///         // SAFETY: the return object becomes the frame's only owner.
///         unsafe { UniqueCoroutineHandle::from_raw(CoroutineHandle::from_promise(self)) }
///     }
///     fn initial_suspend(&mut self) -> SuspendAlways { SuspendAlways }
///     fn final_suspend(&mut self) -> SuspendAlways { SuspendAlways }
///     fn unhandled_exception(&mut self, p: Payload) { std::panic::resume_unwind(p) }
/// }
/// impl ReturnValue<i32> for Answer {
///     fn return_value(&mut self, v: i32) { self.0 = Some(v) }
/// }
///
/// #[coro::coroutine(promise = Answer)]
/// fn answer() -> UniqueCoroutineHandle<Answer> { co_return!(42) }
///
/// let h = answer();
/// assert!(!h.done());
/// // SAFETY: the coroutine is suspended and nobody else resumes it.
/// unsafe { h.resume() };
/// assert!(h.done());
/// assert_eq!(unsafe { h.promise() }.0, Some(42));
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a coroutine promise type",
    note = "implement `coro::Promise` for `{Self}` (C++ `promise_type`)"
)]
pub trait Promise: Sized {
    /// What `get_return_object` returns; converted with `Into` to the
    /// coroutine's declared return type.
    type ReturnObject;
    /// What `initial_suspend` returns: [`SuspendAlways`](crate::SuspendAlways)
    /// for a lazily started coroutine, [`SuspendNever`](crate::SuspendNever)
    /// for an eager one.
    type InitialSuspend: IntoAwaiter;
    /// What `final_suspend` returns. If its awaiter does not suspend, the
    /// frame destroys itself when the coroutine finishes; if it does, the
    /// coroutine is `done()` and its owner destroys it.
    type FinalSuspend: IntoAwaiter;
    /// [`ReturnsVoid`] if the promise implements [`ReturnVoid`],
    /// [`ReturnsValue`] if it implements [`ReturnValue`]. A promise has one
    /// or the other, never both (C++ [dcl.fct.def.coroutine]/6).
    type Return: ReturnKind<Self>;
    /// [`AwaitDirect`] if `co_await!(e)` awaits `e` itself,
    /// [`AwaitTransformed`] if every `co_await!` goes through
    /// [`AwaitTransform::await_transform`] (C++: the promise has an
    /// `await_transform` member).
    type Await: AwaitKind;

    /// Creates the object the coroutine call returns. Called once, after the
    /// promise is constructed and before `initial_suspend`.
    ///
    /// It is an `unsafe fn` because implementations rely on where the
    /// promise is: the usual body builds an owner from
    /// `CoroutineHandle::from_promise(self)`, which is only a handle if
    /// `self` lives in a frame. Called on a promise made by hand, such an
    /// owner would later destroy memory that is no frame.
    ///
    /// # Safety
    /// Only the ramp calls this: `self` is the promise of a coroutine frame
    /// that the ramp has just built and still owns, and it is called once.
    unsafe fn get_return_object(&mut self) -> Self::ReturnObject;
    /// The awaitable for the initial suspend point.
    fn initial_suspend(&mut self) -> Self::InitialSuspend;
    /// The awaitable for the final suspend point.
    fn final_suspend(&mut self) -> Self::FinalSuspend;
    /// Called with the payload of a panic that escaped the body (C++ calls it
    /// inside the implicit `catch (...)`). Calling
    /// `std::panic::resume_unwind(payload)` here is C++'s `throw;`: the
    /// coroutine is then considered suspended at its final suspend point
    /// (`done()` is true, `final_suspend` is not evaluated) and the panic
    /// reaches whoever resumed it.
    fn unhandled_exception(&mut self, payload: Payload);

    /// Called by the frame before every resume, on the resuming thread. A
    /// promise whose coroutine must stay on one thread (its frame is not
    /// `Send`) panics here when resumed from another, and the frame is left
    /// untouched at its suspension point. Not a C++ member. The default does
    /// nothing.
    #[inline(always)]
    fn before_resume(&self) {}

    /// Whether nobody wants this coroutine any more: asked by the frame
    /// before every resume (after [`before_resume`](Promise::before_resume));
    /// if `true`, the coroutine is destroyed instead of resumed, on the
    /// resuming thread, as by `destroy()` (its live locals, parameters and
    /// promise dropped; the awaiter it was suspended on sees its resumption
    /// abandoned and hands on what it was granted); a panic from that
    /// destruction (a local's drop) is dropped, not passed to the resumer,
    /// which is not the coroutine's owner. Not a C++ member: how a
    /// [`SendTask`](crate::SendTask) whose owner went away while another
    /// thread might run it (so that the owner could not destroy it) stops at
    /// its next resumption. The default is `false`.
    ///
    /// As with a final awaiter that does not suspend, the frame is gone
    /// when such a resume returns: whoever resumes a coroutine whose promise
    /// may say `true` (an owner holding a
    /// [`UniqueCoroutineHandle`](crate::UniqueCoroutineHandle), say) must
    /// not use or destroy it afterwards.
    ///
    /// ([`SendTask`](crate::SendTask)'s promise no longer uses this hook:
    /// its frame's gate decides, and also lets its owner destroy it at once
    /// when the awaiter it is suspended on withdraws.)
    #[inline(always)]
    fn abandoned(&self) -> bool {
        false
    }

    /// Whether the frame has a [`Gate`](crate::language::gate::Gate): a
    /// promise whose owner may go away while other threads may resume the
    /// coroutine ([`SendTask`](crate::SendTask)'s). The frame then parks
    /// and resumes it through the gate, and frees it only once no parker is
    /// inside (`language/gate.rs`). Not a public API: the default, `false`,
    /// compiles every other promise to a frame without a gate.
    #[doc(hidden)]
    const GATED: bool = false;

    /// The frame's gate, when [`GATED`](Promise::GATED). Not a public API.
    #[doc(hidden)]
    #[inline(always)]
    fn gate(&self) -> Option<&crate::language::gate::Gate> {
        None
    }

    /// `true` when dropping the promise as it is now would do nothing (its
    /// drop glue would find nothing to drop): the frame's destruction then
    /// only frees the frame, when nothing else in it has drop glue either,
    /// without the drop sequence and its unwind guards. A `true` that is
    /// wrong leaks what the promise holds. Not a public API: the default
    /// asks the type.
    #[doc(hidden)]
    #[inline(always)]
    fn drop_is_trivial(&self) -> bool {
        !core::mem::needs_drop::<Self>()
    }

    /// Whether the coroutine must only run on the thread that created it
    /// (its frame may hold data that is not `Send`, like a
    /// [`Task`](crate::Task)'s). Not a C++ member.
    ///
    /// Awaiters woken from other threads read it: when the waker of a
    /// `co_await!`ed [`Future`](core::future::Future) fires on another
    /// thread, or a thread-safe [`coro::sync`](crate::sync) primitive is
    /// released there, a thread-bound coroutine is handed back to its own
    /// thread's wake-up queue (run by [`resume_woken`](crate::resume_woken)
    /// and the drivers that call it) instead of being resumed where the
    /// wake-up happened.
    ///
    /// The default is [`ThreadAffinity::THREAD_BOUND`], because nothing
    /// else is sound for a frame that may hold an `Rc`; a promise whose
    /// frames are all `Send` may opt out with the `unsafe`
    /// [`ThreadAffinity::any_thread`] (as [`SendTask`](crate::SendTask)'s
    /// does), so that a wake-up on another thread resumes it there, as C++
    /// awaiters do. A thread-bound promise should also refuse foreign resumes
    /// in [`before_resume`](Promise::before_resume).
    const AFFINITY: ThreadAffinity = ThreadAffinity::THREAD_BOUND;

    /// The coroutine awaiting this one, if the promise knows it (a task's
    /// continuation). Not a C++ member: it links the frames of an async
    /// backtrace ([`CoroutineHandle::async_backtrace`](crate::CoroutineHandle::async_backtrace)).
    /// The default knows none.
    #[inline]
    fn continuation(&self) -> Option<crate::language::handle::CoroutineHandle> {
        None
    }

    /// C++ `promise_type::operator new(size_t)`: allocates a frame. `None`
    /// is an allocation failure. The default uses the global allocator.
    #[inline]
    fn allocate_frame(layout: Layout) -> Option<FrameMemory> {
        FrameMemory::global(layout)
    }

    /// C++ `promise_type::operator delete`: frees a frame made by
    /// [`allocate_frame`](Promise::allocate_frame) or
    /// [`AllocateFrameWith::allocate_frame_with`].
    ///
    /// # Safety
    /// `ptr` was returned by one of them for this `layout` and is freed once.
    #[inline]
    unsafe fn deallocate_frame(ptr: NonNull<u8>, layout: Layout) {
        // SAFETY: the caller passes a block this promise allocated with `layout`.
        unsafe { std::alloc::dealloc(ptr.as_ptr(), layout) }
    }

    /// C++ `get_return_object_on_allocation_failure`: when allocation fails
    /// and this returns `Some`, the coroutine call returns that object
    /// instead. With `None` (the default) an allocation failure is fatal,
    /// like any other allocation in Rust (`std::alloc::handle_alloc_error`).
    #[inline]
    fn get_return_object_on_allocation_failure() -> Option<Self::ReturnObject> {
        None
    }
}

/// How the object `get_return_object` made becomes the coroutine's declared
/// return type `Self`, knowing the type `F` of the coroutine's body.
///
/// Every `RO: Into<R>` converts (the C++ rule: the return object initialises
/// the result). A return type can instead implement it for its own
/// return-object type with bounds on `F`, the frame's body: that is how a
/// thread-safe task can require every value its coroutine holds across a
/// suspension point to be `Send` — the frame's contents decide, as for
/// `async` blocks.
///
/// ```
/// use coro::promise::FromReturnObject;
/// struct Handle;
/// struct Owner;
/// impl From<Handle> for Owner { fn from(_: Handle) -> Owner { Owner } }
/// fn convert<F>(h: Handle) -> Owner { <Owner as FromReturnObject<Handle, F>>::from_return_object(h) }
/// let _ = convert::<()>(Handle);
/// ```
pub trait FromReturnObject<RO, F>: Sized {
    /// Converts.
    fn from_return_object(ro: RO) -> Self;
}

impl<RO: Into<R>, R, F> FromReturnObject<RO, F> for R {
    #[inline(always)]
    fn from_return_object(ro: RO) -> R {
        ro.into()
    }
}

/// Where a promise's coroutines may be resumed by wake-ups from other
/// threads: [`Promise::AFFINITY`].
///
/// ```
/// use coro::promise::ThreadAffinity;
///
/// assert!(ThreadAffinity::THREAD_BOUND.is_thread_bound());
/// // SAFETY: (for a promise whose every frame is `Send`)
/// const ANY: ThreadAffinity = unsafe { ThreadAffinity::any_thread() };
/// assert!(!ANY.is_thread_bound());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ThreadAffinity {
    bound: bool,
}

impl ThreadAffinity {
    /// The coroutine runs only on the thread that created it: wake-ups from
    /// other threads queue it there (the default).
    pub const THREAD_BOUND: ThreadAffinity = ThreadAffinity { bound: true };

    /// The coroutine may be resumed on any thread: a future's waker or a
    /// `coro::sync` release on another thread resumes it there.
    ///
    /// # Safety
    /// Every frame made with the promise declaring it is `Send` (its body's
    /// state — every value held across a suspension point —, its parameters
    /// and its promise), or is never resumed: the library moves its
    /// execution to other threads without any further check. And the
    /// coroutine's owner does not destroy it while another thread may be
    /// resuming it (a `SendTask` it awaits finishing on a pool worker
    /// transfers to it): [`SendTask`](crate::SendTask)'s owners cancel a
    /// started task through its frame's gate instead; a hand-written owner
    /// must detach it (see [`abandoned`](Promise::abandoned)).
    pub const unsafe fn any_thread() -> ThreadAffinity {
        ThreadAffinity { bound: false }
    }

    /// `true` for [`THREAD_BOUND`](ThreadAffinity::THREAD_BOUND).
    pub const fn is_thread_bound(self) -> bool {
        self.bound
    }
}

/// C++ `coroutine_traits<R>::promise_type`: the promise type a coroutine
/// returning `Self` uses, unless `#[coro::coroutine(promise = P)]` names one.
///
/// ```
/// use coro::{CoroutineTraits, Generator};
/// fn promise_of<R: CoroutineTraits>() -> &'static str { std::any::type_name::<R::Promise>() }
/// assert!(promise_of::<Generator<u8>>().contains("GeneratorPromise"));
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be the return type of a coroutine: it has no promise type",
    label = "no promise type for this return type",
    note = "implement `coro::CoroutineTraits` for `{Self}` (C++ `coroutine_traits<R>::promise_type`), \
            or name the promise with `#[coro::coroutine(promise = MyPromise)]`"
)]
pub trait CoroutineTraits {
    /// The promise type.
    type Promise: Promise;
}

/// C++ `return_void()`: what `co_return!()` and falling off the end call.
#[diagnostic::on_unimplemented(
    message = "the promise type `{Self}` has no `return_void`: `co_return!()` and falling off the end of the body need one",
    label = "`{Self}` has no `return_void()`",
    note = "implement `coro::promise::ReturnVoid` for `{Self}`, or end the coroutine with `co_return!(value)` \
            (C++ [stmt.return.coroutine])"
)]
pub trait ReturnVoid: Promise<Return = ReturnsVoid> {
    /// Called by `co_return!()` and when the body falls off its end.
    fn return_void(&mut self);
}

/// C++ `return_value(T)`: what `co_return!(v)` calls.
///
/// A promise may implement it for several `T` (C++ overloads).
#[diagnostic::on_unimplemented(
    message = "the promise type `{Self}` has no `return_value` for `{T}`: `co_return!(value)` needs one",
    label = "`{Self}` has no `return_value({T})`",
    note = "implement `coro::promise::ReturnValue<{T}>` for `{Self}`, or use `co_return!()` if the promise has `return_void` \
            (C++ [stmt.return.coroutine])"
)]
pub trait ReturnValue<T>: Promise<Return = ReturnsValue> {
    /// Stores the coroutine's result.
    fn return_value(&mut self, value: T);
}

/// C++ `yield_value(T)`: `co_yield!(v)` is `co_await!(promise.yield_value(v))`
/// (without `await_transform`).
#[diagnostic::on_unimplemented(
    message = "the promise type `{Self}` has no `yield_value` for `{T}`: `co_yield!` needs one",
    label = "`{Self}` has no `yield_value({T})`",
    note = "implement `coro::promise::YieldValue<{T}>` for `{Self}` (C++ [expr.yield]); to produce a sequence of values, \
            return a `coro::Generator<{T}>`"
)]
pub trait YieldValue<T>: Promise {
    /// The awaitable `co_yield!` awaits.
    type Awaitable: IntoAwaiter;
    /// Publishes a value and says how to suspend.
    fn yield_value(&mut self, value: T) -> Self::Awaitable;
}

/// C++ `await_transform(E)`: with `type Await = AwaitTransformed`, every
/// `co_await!(e)` awaits `promise.await_transform(e)`, and awaiting an `E`
/// without an implementation is a compile error.
#[diagnostic::on_unimplemented(
    message = "the promise type `{Self}` has an `await_transform`, but none for `{E}`: this `co_await!` is ill-formed",
    label = "`{Self}` has no `await_transform({E})`",
    note = "implement `coro::promise::AwaitTransform<{E}>` for `{Self}`, or await something its `await_transform` accepts \
            (C++ [expr.await]); a `Generator` accepts nothing: like C++23 `std::generator`, it cannot `co_await!`"
)]
pub trait AwaitTransform<E>: Promise<Await = AwaitTransformed> {
    /// What is actually awaited.
    type Awaitable: IntoAwaiter;
    /// C++ `promise.await_transform(e)`.
    fn await_transform(&mut self, expr: E) -> Self::Awaitable;
}

/// The promise constructor taking the coroutine's parameters (C++
/// `promise_type(Args&...)`, such as `promise_type(int& i)`).
///
/// `Args` is a tuple of `&mut` references to the frame's copies of the
/// parameters (`self` first for methods), so the constructor sees — and may
/// change — what the body will see. Without an implementation for the
/// coroutine's parameter list, the promise is built with `Default`.
///
/// ```
/// use coro::promise::FromParams;
/// #[derive(Default)]
/// struct P;
/// impl FromParams<(&mut i32,)> for P {
///     fn from_params((i,): (&mut i32,)) -> P { *i = 1; P }
/// }
/// ```
pub trait FromParams<Args>: Sized {
    /// Builds the promise.
    fn from_params(args: Args) -> Self;
}

/// C++ `promise_type::operator new(size_t, Args&...)`: allocation that sees
/// the coroutine's parameters (the `allocator_arg_t` convention). `Args` is a
/// tuple of shared references to the parameters. Frames are still freed with
/// [`Promise::deallocate_frame`].
pub trait AllocateFrameWith<Args>: Promise {
    /// Allocates a frame; `None` is an allocation failure.
    fn allocate_frame_with(layout: Layout, args: Args) -> Option<FrameMemory>;
}

/// The promise implements [`ReturnVoid`]: falling off the end of the body is
/// `co_return!()`.
#[derive(Debug)]
pub enum ReturnsVoid {}

/// The promise implements [`ReturnValue`]: every path through the body must
/// end in `co_return!(value)` (or diverge).
#[derive(Debug)]
pub enum ReturnsValue {}

/// Marks the two [`Promise::Return`] kinds; decides what falling off the end
/// of a body means.
pub trait ReturnKind<P>: sealed::Sealed {
    /// The type the body block must have: `()` when falling off the end is
    /// allowed, an uninhabited type when every path must `co_return!(v)`.
    #[doc(hidden)]
    type FallOff;
    /// Flowing off the end of the body: `return_void()`. Runs before the
    /// body's locals are dropped (C++ [stmt.return.coroutine]/3). For a
    /// value-returning promise it is never reached: the body cannot fall
    /// off its end (the `FallOff` type makes that a compile error).
    #[doc(hidden)]
    fn fall_off_end(promise: &mut P);
}

impl<P: ReturnVoid> ReturnKind<P> for ReturnsVoid {
    type FallOff = ();
    #[inline(always)]
    fn fall_off_end(promise: &mut P) {
        promise.return_void();
    }
}

/// The value a body of a value-returning coroutine would have if it fell off
/// its end: none. Seeing this type in an error means a path through the body
/// does not end in `co_return!(value)`.
#[derive(Debug)]
pub enum MissingCoReturn {}

impl<P> ReturnKind<P> for ReturnsValue {
    type FallOff = MissingCoReturn;
    #[inline(always)]
    fn fall_off_end(_: &mut P) {}
}

/// `co_await!(e)` awaits `e` itself (the promise has no `await_transform`).
#[derive(Debug)]
pub enum AwaitDirect {}

/// Every `co_await!(e)` awaits `promise.await_transform(e)`.
#[derive(Debug)]
pub enum AwaitTransformed {}

/// Marks the two [`Promise::Await`] kinds.
pub trait AwaitKind: sealed::Sealed {}
impl AwaitKind for AwaitDirect {}
impl AwaitKind for AwaitTransformed {}

mod sealed {
    pub trait Sealed {}
    impl Sealed for super::ReturnsVoid {}
    impl Sealed for super::ReturnsValue {}
    impl Sealed for super::AwaitDirect {}
    impl Sealed for super::AwaitTransformed {}
}
