//! Coroutine handles: C++ `std::coroutine_handle<P>` and
//! `std::coroutine_handle<>`, plus an owning wrapper.
//!
//! A handle is a pointer to a frame's header, `Copy` like its C++ model. The
//! operations that can touch a dead or running frame (`resume`, `destroy`,
//! `promise`, `done`, `suspend_point`) are `unsafe fn`s with a written
//! contract, because a copied handle can outlive its frame; the owning types
//! ([`UniqueCoroutineHandle`], `Task`, `Generator`) make them safe.

use core::fmt;
use core::hash::{Hash, Hasher};
use core::marker::PhantomData;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicPtr, Ordering};

use crate::language::frame::{self, Head, Header};
use crate::language::point::{SuspendPoint, RUNNING, UNSTARTED};

/// A frame's resume entry point.
pub(crate) type ResumeFn = unsafe fn(NonNull<Header>) -> Option<NonNull<Header>>;

/// C++ `std::coroutine_handle<P>`; `CoroutineHandle` (that is,
/// `CoroutineHandle<()>`) is the type-erased `std::coroutine_handle<>`.
///
/// Non-owning and `Copy`. A typed handle converts to the erased one with
/// [`erase`](Self::erase) or `into()`.
///
/// ```
/// use coro::{co_yield, CoroutineHandle, Generator};
///
/// #[coro::coroutine]
/// fn one() -> Generator<i32> { co_yield!(1); }
///
/// let mut g = one();
/// let h: CoroutineHandle = g.handle();
/// assert_eq!(h, CoroutineHandle::from_address(h.address()));
/// // SAFETY: `g` keeps the frame alive and is not running.
/// assert!(!unsafe { h.done() });
/// assert_eq!(g.next(), Some(1));
/// ```
pub struct CoroutineHandle<P = ()> {
    ptr: NonNull<Header>,
    /// Invariant in `P`, as C++'s `coroutine_handle<P>` is exact: the
    /// handle reaches a `&mut P` ([`promise`](Self::promise)), and a
    /// covariant handle would let `CoroutineHandle<Gen<&'static str>>` pass
    /// for `CoroutineHandle<Gen<&'short str>>` and store a short-lived
    /// reference where the frame's owner reads a `'static` one.
    _promise: PhantomData<fn(P) -> P>,
}

// SAFETY: a handle is an address. Every operation that dereferences it is an
// `unsafe fn` whose contract covers cross-thread use; C++ handles are freely
// passed between threads too, which is what `await_suspend` hand-offs need.
unsafe impl<P> Send for CoroutineHandle<P> {}
// SAFETY: as above; `&CoroutineHandle` gives nothing beyond a copy.
unsafe impl<P> Sync for CoroutineHandle<P> {}

impl<P> Clone for CoroutineHandle<P> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<P> Copy for CoroutineHandle<P> {}

impl<P> PartialEq for CoroutineHandle<P> {
    fn eq(&self, other: &Self) -> bool {
        self.ptr == other.ptr
    }
}
impl<P> Eq for CoroutineHandle<P> {}
impl<P> PartialOrd for CoroutineHandle<P> {
    fn partial_cmp(&self, other: &Self) -> Option<core::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl<P> Ord for CoroutineHandle<P> {
    fn cmp(&self, other: &Self) -> core::cmp::Ordering {
        self.ptr.cmp(&other.ptr)
    }
}
impl<P> Hash for CoroutineHandle<P> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.ptr.hash(state)
    }
}
impl<P> fmt::Debug for CoroutineHandle<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("CoroutineHandle").field(&self.ptr).finish()
    }
}

impl<P> CoroutineHandle<P> {
    #[inline(always)]
    pub(crate) fn from_header(ptr: NonNull<Header>) -> Self {
        CoroutineHandle { ptr, _promise: PhantomData }
    }

    #[inline(always)]
    pub(crate) fn header(self) -> NonNull<Header> {
        self.ptr
    }

    /// Whether the coroutine must run on the thread that created it
    /// ([`Promise::AFFINITY`](crate::Promise::AFFINITY)).
    ///
    /// # Safety
    /// The frame is alive.
    #[inline]
    pub(crate) unsafe fn is_thread_bound(self) -> bool {
        // SAFETY: alive (caller); the vtable is static.
        unsafe { (*self.ptr.as_ptr()).vtable.thread_bound }
    }

    /// The type-erased handle to the same coroutine (C++ conversion to
    /// `coroutine_handle<>`).
    #[inline(always)]
    pub fn erase(self) -> CoroutineHandle {
        CoroutineHandle::from_header(self.ptr)
    }

    /// The frame's address (C++ `address()`).
    #[inline(always)]
    pub fn address(self) -> *mut () {
        self.ptr.as_ptr().cast()
    }

    /// Resumes the coroutine (C++ `resume()` / `operator()`). Returns when the
    /// coroutine, or a coroutine it transferred control to, suspends without
    /// transferring further: symmetric transfers run in a loop here, so a
    /// chain of any length takes constant stack.
    ///
    /// Panics, leaving the frame untouched, if the coroutine is suspended at
    /// its final suspend point (undefined behaviour in C++) or is already
    /// running. A panic that escapes the coroutine (a rethrowing
    /// `unhandled_exception`, a panicking final awaiter) propagates from here.
    ///
    /// # Safety
    /// The frame is alive and no other thread is resuming or destroying it
    /// at the same time.
    #[inline]
    pub unsafe fn resume(self) {
        // SAFETY: forwarded contract.
        unsafe { frame::run(self.ptr) }
    }

    /// Destroys the coroutine (C++ `destroy()`): drops the live locals in
    /// reverse order, then the parameters and the promise, and frees the
    /// frame with the allocator that made it.
    ///
    /// Panics if the coroutine is running.
    ///
    /// # Safety
    /// The frame is alive, is not being resumed by another thread, and is
    /// never used through any handle afterwards.
    #[inline]
    pub unsafe fn destroy(self) {
        // SAFETY: the caller guarantees the frame is alive and idle.
        unsafe { (self.ptr.as_ref().vtable.destroy)(self.ptr) }
    }

    /// `true` if the coroutine is suspended at its final suspend point (C++
    /// `done()`).
    ///
    /// # Safety
    /// The frame is alive (it may be running on another thread).
    #[inline]
    pub unsafe fn done(self) -> bool {
        // SAFETY: the caller guarantees the frame is alive.
        let p = unsafe { self.ptr.as_ref() }.point.load(Ordering::Acquire);
        // Only a final point is stored with the final bit set.
        p.addr() & frame::FINAL_BIT != 0
    }

    /// Where the coroutine is suspended: `None` while it runs (or before its
    /// first suspension).
    ///
    /// # Safety
    /// The frame is alive.
    pub unsafe fn suspend_point(self) -> Option<&'static SuspendPoint> {
        // SAFETY: the caller guarantees the frame is alive.
        let p = frame::point_record(unsafe { self.ptr.as_ref() }.point.load(Ordering::Acquire));
        if p == RUNNING || p == UNSTARTED {
            None
        } else {
            // SAFETY: every other value is a pointer to a `static` record.
            Some(unsafe { &*p })
        }
    }
}

impl CoroutineHandle {
    /// Rebuilds a handle from [`address`](Self::address) (C++ `from_address`).
    ///
    /// Building a handle is safe: every use of it is an `unsafe fn` whose
    /// contract requires a live frame.
    ///
    /// # Panics
    /// If `addr` is null.
    pub fn from_address(addr: *mut ()) -> CoroutineHandle {
        CoroutineHandle::from_header(NonNull::new(addr.cast()).expect("CoroutineHandle::from_address(null)"))
    }

    /// Reinterprets an erased handle as a handle to a coroutine whose promise
    /// type is `P` (C++ `coroutine_handle<P>::from_address(h.address())`).
    ///
    /// # Safety
    /// The coroutine's promise type is `P`, if the typed handle's promise is
    /// ever accessed.
    pub unsafe fn cast<P>(self) -> CoroutineHandle<P> {
        CoroutineHandle::from_header(self.ptr)
    }
}

impl<P> CoroutineHandle<P> {
    /// The handle of the coroutine whose promise is `promise` (C++
    /// `from_promise`): pointer arithmetic, since the promise sits at a fixed
    /// offset from the frame's start.
    ///
    /// The result is only meaningful if `promise` lives in a coroutine frame;
    /// every use of the handle is `unsafe` and requires that.
    ///
    /// Takes `&mut P`, as C++ takes `Promise&`: through a shared reference
    /// `P`'s lifetimes could be shortened on the way in (`&T` is covariant),
    /// and the handle would name a promise type the frame does not have.
    /// Call it from [`Promise::get_return_object`](crate::Promise::get_return_object),
    /// which has `&mut self`.
    #[inline(always)]
    pub fn from_promise(promise: &mut P) -> Self {
        let addr = (promise as *mut P as usize).wrapping_sub(core::mem::offset_of!(Head<P>, promise));
        // Frames expose their provenance when they are allocated, so the
        // header is reachable from the promise's address.
        let ptr = core::ptr::with_exposed_provenance_mut::<Header>(addr);
        // A null address (a promise at an address below its offset, so not
        // in a frame) gives a dangling handle, which every use's contract
        // already rules out: no panic path, so the ramp's stores before
        // `get_return_object` need not be kept for one.
        CoroutineHandle::from_header(NonNull::new(ptr).unwrap_or(NonNull::dangling()))
    }

    /// The promise's address, for a field that another thread may use at
    /// the same time (an atomic): no reference to the whole promise is made.
    ///
    /// # Safety
    /// The frame is alive and its promise type is `P`.
    #[inline(always)]
    pub(crate) unsafe fn promise_ptr(self) -> *mut P {
        // SAFETY: the caller guarantees a live frame with promise type `P`;
        // only an address is computed.
        unsafe { core::ptr::addr_of_mut!((*self.ptr.cast::<Head<P>>().as_ptr()).promise) }
    }

    /// The promise (C++ `promise()`).
    ///
    /// # Safety
    /// The frame is alive, its promise type is `P`, and no other reference
    /// to the promise is used while the returned one is.
    #[inline(always)]
    pub unsafe fn promise<'a>(self) -> &'a mut P {
        // SAFETY: the caller guarantees a live frame with promise type `P`;
        // the promise sits at `offset_of!(Head<P>, promise)`.
        unsafe { &mut (*self.ptr.cast::<Head<P>>().as_ptr()).promise }
    }
}

/// C++ `std::noop_coroutine()`: a coroutine that does nothing when resumed
/// or destroyed and is never done. Returning it from `await_suspend` means
/// "return to whoever resumed me".
///
/// ```
/// let h = coro::noop_coroutine();
/// // SAFETY: the no-op coroutine is a static frame that may be resumed and
/// // destroyed any number of times.
/// unsafe { h.resume(); assert!(!h.done()); h.destroy(); }
/// ```
pub fn noop_coroutine() -> CoroutineHandle {
    CoroutineHandle::from_header(NonNull::from(&NOOP))
}

static NOOP_VTABLE: frame::VTable = frame::VTable {
    resume: noop_resume,
    destroy: noop_destroy,
    continuation: frame::no_continuation,
    thread_bound: false,
};
static NOOP_POINT: SuspendPoint = SuspendPoint::sentinel();
static NOOP: Header = Header { vtable: &NOOP_VTABLE, point: AtomicPtr::new(&NOOP_POINT as *const _ as *mut _) };

unsafe fn noop_resume(_: NonNull<Header>) -> Option<NonNull<Header>> {
    None
}
unsafe fn noop_destroy(_: NonNull<Header>) {}

/// An owning coroutine handle: destroys the frame when dropped.
///
/// The building block for return objects that own their coroutine (C++
/// programmers write this RAII wrapper by hand in every task type).
/// `done()` and `suspend_point()` are safe here because the frame is alive
/// as long as the wrapper is; `resume` stays `unsafe`, since only the
/// coroutine's author knows whether an awaiter might resume it too. It is
/// neither `Send` nor `Sync`: the frame may hold thread-bound values.
///
/// ```
/// use coro::{co_yield, Generator};
/// #[coro::coroutine]
/// fn one() -> Generator<i32> { co_yield!(1); }
/// let g = one();            // owns a UniqueCoroutineHandle
/// drop(g);                  // destroys the unstarted frame
/// ```
pub struct UniqueCoroutineHandle<P = ()> {
    handle: CoroutineHandle<P>,
    /// Not `Send`/`Sync`: the frame's contents decide whether it may cross
    /// threads, and this wrapper cannot see them.
    _not_send: PhantomData<*const ()>,
}

impl<P> UniqueCoroutineHandle<P> {
    /// Takes ownership of a coroutine frame.
    ///
    /// # Safety
    /// `handle` refers to a live frame that nobody else will destroy, and
    /// which is not resumed concurrently with this wrapper's use.
    pub unsafe fn from_raw(handle: CoroutineHandle<P>) -> Self {
        UniqueCoroutineHandle { handle, _not_send: PhantomData }
    }

    /// Takes ownership of the frame whose promise is `promise`: what a
    /// promise's [`get_return_object`](crate::Promise::get_return_object)
    /// returns when the caller of the coroutine owns it (C++: an RAII owner
    /// built from `coroutine_handle<P>::from_promise(*this)`).
    ///
    /// # Safety
    /// `promise` lives in a coroutine frame that nobody else will destroy
    /// and that is not resumed concurrently with this wrapper's use: true in
    /// `get_return_object`, which only the ramp calls, for a promise whose
    /// coroutine hands its handle to no one else.
    ///
    /// ```
    /// use coro::promise::{ReturnsVoid, ReturnVoid, Payload, AwaitDirect};
    /// use coro::{co_return, Promise, SuspendAlways, UniqueCoroutineHandle};
    ///
    /// #[derive(Default)]
    /// struct Lazy;
    /// impl Promise for Lazy {
    ///     type ReturnObject = UniqueCoroutineHandle<Lazy>;
    ///     type InitialSuspend = SuspendAlways;
    ///     type FinalSuspend = SuspendAlways;
    ///     type Return = ReturnsVoid;
    ///     type Await = AwaitDirect;
    ///     unsafe fn get_return_object(&mut self) -> Self::ReturnObject {
    ///         // SAFETY: called by the ramp; the handle is the frame's only owner.
    ///         unsafe { UniqueCoroutineHandle::from_promise(self) }
    ///     }
    ///     fn initial_suspend(&mut self) -> SuspendAlways { SuspendAlways }
    ///     fn final_suspend(&mut self) -> SuspendAlways { SuspendAlways }
    ///     fn unhandled_exception(&mut self, p: Payload) { std::panic::resume_unwind(p) }
    /// }
    /// impl ReturnVoid for Lazy { fn return_void(&mut self) {} }
    ///
    /// #[coro::coroutine(promise = Lazy)]
    /// fn nothing() -> UniqueCoroutineHandle<Lazy> { co_return!() }
    ///
    /// let h = nothing();
    /// assert!(!h.done()); // lazy: suspended at its initial point
    /// ```
    pub unsafe fn from_promise(promise: &mut P) -> Self {
        // SAFETY: forwarded contract.
        unsafe { Self::from_raw(CoroutineHandle::from_promise(promise)) }
    }

    /// The non-owning handle.
    pub fn handle(&self) -> CoroutineHandle<P> {
        self.handle
    }

    /// Gives up ownership without destroying the frame.
    pub fn into_raw(self) -> CoroutineHandle<P> {
        let h = self.handle;
        core::mem::forget(self);
        h
    }

    /// `true` if the coroutine is at its final suspend point.
    pub fn done(&self) -> bool {
        // SAFETY: the frame lives as long as `self`.
        unsafe { self.handle.done() }
    }

    /// Where the coroutine is suspended.
    pub fn suspend_point(&self) -> Option<&'static SuspendPoint> {
        // SAFETY: the frame lives as long as `self`.
        unsafe { self.handle.suspend_point() }
    }

    /// Resumes the coroutine; see [`CoroutineHandle::resume`].
    ///
    /// # Safety
    /// No one else (an awaiter the coroutine is suspended on, another
    /// thread) resumes it at the same time.
    pub unsafe fn resume(&self) {
        // SAFETY: forwarded contract; the frame is alive.
        unsafe { self.handle.resume() }
    }

    /// The promise.
    ///
    /// # Safety
    /// The coroutine is not running, and the promise is not changed while
    /// the returned reference is used.
    pub unsafe fn promise(&self) -> &P {
        // SAFETY: forwarded contract; the frame is alive.
        unsafe { self.handle.promise() }
    }

    /// The promise, mutably.
    ///
    /// # Safety
    /// The coroutine is not running, and no other reference to the promise
    /// is used while the returned one is.
    pub unsafe fn promise_mut(&mut self) -> &mut P {
        // SAFETY: forwarded contract; the frame is alive.
        unsafe { self.handle.promise() }
    }
}

impl<P> Drop for UniqueCoroutineHandle<P> {
    fn drop(&mut self) {
        // SAFETY: this wrapper owns the frame and is its last user.
        unsafe { self.handle.destroy() }
    }
}

impl<P> fmt::Debug for UniqueCoroutineHandle<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UniqueCoroutineHandle")
            .field("handle", &self.handle)
            .field("suspend_point", &self.suspend_point())
            .finish()
    }
}

/// The handle an owning library type (`Generator`, `AsyncGenerator`, `Task`,
/// `SendTask`, their awaiters and futures) keeps: a [`UniqueCoroutineHandle`]
/// that is **covariant** in `P`, so that the owner is covariant in its item
/// or result type as `std`'s iterators are (`Generator<&'static str>` passes
/// for `Generator<&'a str>`).
///
/// Sound because an owner only takes values *out* of the promise (an item, a
/// result, a panic) and writes only values whose type does not mention
/// `P`'s parameters (a continuation, a state word): reading a `&'static str`
/// as a `&'a str` is always allowed. Values flow *into* a promise only from
/// the coroutine's body, through the invariant `Co<P>`, and from
/// [`CoroutineHandle<P>`], which is invariant too. Every use of the typed
/// handle this gives is in this crate and keeps that rule.
pub(crate) struct OwningHandle<P> {
    frame: UniqueCoroutineHandle,
    _promise: PhantomData<fn() -> P>,
}

impl<P> OwningHandle<P> {
    #[inline(always)]
    pub(crate) fn new(handle: UniqueCoroutineHandle<P>) -> Self {
        // SAFETY: ownership moves from `handle` to the erased wrapper.
        let frame = unsafe { UniqueCoroutineHandle::from_raw(handle.into_raw().erase()) };
        OwningHandle { frame, _promise: PhantomData }
    }

    /// The typed handle, for this crate's owners: see the type's rule.
    #[inline(always)]
    pub(crate) fn handle(&self) -> CoroutineHandle<P> {
        CoroutineHandle::from_header(self.frame.handle().header())
    }

    /// Gives up ownership without destroying the frame.
    #[inline(always)]
    pub(crate) fn into_unique(self) -> UniqueCoroutineHandle<P> {
        // SAFETY: ownership moves from `self` to the typed wrapper.
        unsafe { UniqueCoroutineHandle::from_raw(CoroutineHandle::from_header(self.frame.into_raw().header())) }
    }

    #[inline(always)]
    pub(crate) fn done(&self) -> bool {
        self.frame.done()
    }

    #[inline(always)]
    pub(crate) fn suspend_point(&self) -> Option<&'static SuspendPoint> {
        self.frame.suspend_point()
    }

    /// See [`UniqueCoroutineHandle::promise_mut`]; nothing whose type
    /// mentions `P`'s parameters may be written through it (see the type).
    ///
    /// # Safety
    /// The coroutine is not running, and no other reference to the promise
    /// is used while the returned one is.
    #[inline(always)]
    pub(crate) unsafe fn promise_mut(&mut self) -> &mut P {
        // SAFETY: forwarded contract; the frame lives as long as `self`.
        unsafe { self.handle().promise() }
    }
}

impl<P> fmt::Debug for OwningHandle<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.frame.fmt(f)
    }
}
