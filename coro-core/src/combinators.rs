//! Awaiting several tasks at once: [`when_all`], [`when_all_ready`] and
//! [`when_any`] (cppcoro's `when_all` / `when_all_ready`, folly's
//! `collectAll` / `collectAny`).
//!
//! # What they accept
//!
//! Each combinator takes [`Task`]s and [`SendTask`]s ([`IntoTask`]): either a
//! tuple of tasks of *different* result types (up to 8), or a `Vec` of tasks
//! of one type. To combine any other awaitable, wrap it in a small task
//! coroutine (`co_return!(co_await!(x))`).
//!
//! # How they run
//!
//! `co_await!(when_all(...))` suspends the awaiting coroutine, then starts
//! the children one after the other, in order, from its `await_suspend`
//! (each child runs until its first real suspension). Each child's
//! continuation is a small stand-in frame owned by the combinator, which
//! counts completions: a shared counter starts at `n + 1` (the `+ 1` is the
//! starting loop itself), each finishing child decrements it, and whoever
//! brings it to zero resumes the awaiting coroutine — the last child by
//! **symmetric transfer** from its final suspend point, or the starting
//! loop by not suspending at all when every child finished synchronously.
//! So any number of children runs in bounded stack, and no child is ever
//! resumed from inside another one. The counter is atomic: a [`SendTask`]
//! child may finish on another thread.
//!
//! # Panics
//!
//! A panic in a child does not disturb its siblings: as in cppcoro, every
//! child still runs to completion, then [`when_all`] rethrows the **first**
//! panic (in child order) at the `co_await!`, after dropping the other
//! results. [`when_all_ready`] never rethrows: it returns one
//! `Result<T, Payload>` per child.
//!
//! # Cancellation in `when_any`
//!
//! [`when_any`] resumes the awaiting coroutine with the first result; the
//! losers are **cancelled**: a suspended coroutine cannot be forced to run
//! to its end, so cancelling means destroying its frame (dropping its live
//! locals, its parameters and its promise, exactly as `destroy()` would),
//! plus, optionally, requesting cancellation on a [`CancellationSource`]
//! (see [`WhenAny::cancel_on_completion`]) that cooperative children
//! observe. See [`when_any`] for the details.
//!
//! # Dropping a combinator
//!
//! The combinator's awaiter owns the children. If the awaiting coroutine is
//! destroyed while suspended in a combinator, the children are destroyed
//! with it (they are suspended: nothing else can run on this thread at that
//! moment). A combinator that is never awaited drops its children
//! unstarted.

use core::fmt;
use core::marker::PhantomData;
use core::ptr::{self, NonNull};
use core::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};
use std::panic::resume_unwind;
use std::sync::{Mutex, MutexGuard};

use crate::awaiter::{AwaitSuspend, Awaiter};
use crate::cancellation::CancellationSource;
use crate::frame::{no_destroy, Header, VTable};
use crate::handle::CoroutineHandle;
use crate::handle::UniqueCoroutineHandle;
use crate::home_hop::HopSlot;
use crate::promise::Payload;
use crate::task::{Local, SendTask, Sendable, Task, TaskKind, TaskPromise};

// ===========================================================================
// Children
// ===========================================================================

/// A task, as a child of a combinator, a shared task
/// or a detached launch. Implemented for [`Task<T>`] and [`SendTask<T>`];
/// sealed.
pub trait IntoTask: sealed::Sealed {
    /// The value the task produces.
    type Output;
    /// [`Local`] or [`Sendable`].
    type Kind: TaskKind;
    #[doc(hidden)]
    fn into_child(self) -> Child<Self::Output, Self::Kind>;
}

mod sealed {
    pub trait Sealed {}
    impl<T> Sealed for crate::Task<T> {}
    impl<T> Sealed for crate::SendTask<T> {}
}

impl<T> IntoTask for Task<T> {
    type Output = T;
    type Kind = Local;
    fn into_child(self) -> Child<T, Local> {
        Child { task: self.into_handle() }
    }
}

impl<T> IntoTask for SendTask<T> {
    type Output = T;
    type Kind = Sendable;
    fn into_child(self) -> Child<T, Sendable> {
        Child { task: self.into_handle() }
    }
}

/// An owned task frame, as held by a combinator. Not a public API.
#[doc(hidden)]
pub struct Child<T, K> {
    pub(crate) task: UniqueCoroutineHandle<TaskPromise<T, K>>,
}

// SAFETY: a `Child<T, Sendable>` owns a `SendTask`'s frame, which is `Send`
// (see `SendTask`).
#[diagnostic::do_not_recommend]
unsafe impl<T: Send> Send for Child<T, Sendable> {}

impl<T, K> fmt::Debug for Child<T, K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Child").field("handle", &self.task).finish()
    }
}

impl<T, K> Child<T, K> {
    pub(crate) fn handle(&self) -> CoroutineHandle {
        self.task.handle().erase()
    }

    pub(crate) fn done(&self) -> bool {
        self.task.done()
    }

    /// Makes `cont` the task's continuation and starts it; returns when it
    /// first suspends without transferring (or has finished and transferred
    /// to `cont`, which returned).
    ///
    /// # Safety
    /// The task is unstarted and owned here; `cont` is a live frame that the
    /// task may resume once, from its final suspend point.
    pub(crate) unsafe fn start(&mut self, cont: CoroutineHandle) {
        self.set_continuation(cont);
        // SAFETY: the task is unstarted (suspended at its initial point) and
        // nobody else resumes it (caller's contract).
        unsafe { self.task.resume() }
    }

    pub(crate) fn set_continuation(&mut self, cont: CoroutineHandle) {
        // SAFETY: the task is owned here and not running (unstarted).
        unsafe { self.task.promise_mut() }.continuation = Some(cont);
    }

    /// The task's result, once it is done.
    pub(crate) fn take_outcome(&mut self) -> Result<T, Payload> {
        debug_assert!(self.done());
        // SAFETY: the task is done, so not running; this is its only owner.
        unsafe { self.task.promise_mut() }.take_outcome()
    }
}

// ===========================================================================
// Stand-in frames
// ===========================================================================

/// A stand-in coroutine frame: a header with its own vtable, so that a
/// task's final awaiter can transfer to it. `ctx` and `index` say what it
/// stands for.
#[repr(C)]
pub(crate) struct Stub {
    header: Header,
    pub(crate) ctx: *const (),
    pub(crate) index: usize,
}

impl Stub {
    pub(crate) fn new(vtable: &'static VTable, ctx: *const (), index: usize) -> Stub {
        Stub { header: Header::stand_in(vtable), ctx, index }
    }

    /// The stand-in's handle. Valid while the stub stays where it is.
    pub(crate) fn handle(&self) -> CoroutineHandle {
        CoroutineHandle::from_header(NonNull::from(&self.header))
    }

    /// # Safety
    /// `h` is the handle of a live `Stub`.
    pub(crate) unsafe fn from_header<'a>(h: NonNull<Header>) -> &'a Stub {
        // SAFETY: `Stub` is `repr(C)` with the header first (caller's contract).
        unsafe { &*h.cast::<Stub>().as_ptr() }
    }
}

// ===========================================================================
// Sets of children
// ===========================================================================

/// A set of children: a `Vec` of one task type or a tuple. Not a public API.
#[doc(hidden)]
pub trait JoinSet {
    /// `when_all`'s result.
    type All;
    /// `when_all_ready`'s result.
    type Ready;
    /// Some child may finish on another thread (a `SendTask` can move): a
    /// thread-bound awaiting coroutine is then brought home through a
    /// `HomeHop`.
    #[doc(hidden)]
    const MAY_FINISH_ELSEWHERE: bool;
    #[doc(hidden)]
    fn count(&self) -> usize;
    /// # Safety
    /// See `Child::start`.
    #[doc(hidden)]
    unsafe fn start(&mut self, i: usize, cont: CoroutineHandle);
    #[doc(hidden)]
    fn take_all(self) -> Self::All;
    #[doc(hidden)]
    fn take_ready(self) -> Self::Ready;
}

/// What [`when_all`] and [`when_all_ready`] accept: a `Vec` of tasks of one
/// type, or a tuple of up to 8 tasks of any types.
pub trait IntoJoinSet {
    /// The set of children. Not a public API.
    #[doc(hidden)]
    type Set: JoinSet;
    #[doc(hidden)]
    fn into_set(self) -> Self::Set;
}

impl<C: IntoTask> IntoJoinSet for Vec<C> {
    type Set = Vec<Child<C::Output, C::Kind>>;
    fn into_set(self) -> Self::Set {
        self.into_iter().map(IntoTask::into_child).collect()
    }
}

impl<T, K: TaskKind> JoinSet for Vec<Child<T, K>> {
    type All = Vec<T>;
    type Ready = Vec<Result<T, Payload>>;
    const MAY_FINISH_ELSEWHERE: bool = !K::THREAD_BOUND;
    fn count(&self) -> usize {
        Vec::len(self)
    }
    unsafe fn start(&mut self, i: usize, cont: CoroutineHandle) {
        // SAFETY: forwarded contract.
        unsafe { self[i].start(cont) }
    }
    fn take_all(self) -> Vec<T> {
        let mut first_panic = None;
        let mut values = Vec::with_capacity(self.len());
        for mut c in self {
            match c.take_outcome() {
                Ok(v) => values.push(v),
                Err(p) => {
                    first_panic.get_or_insert(p);
                }
            }
        }
        if let Some(p) = first_panic {
            drop(values);
            resume_unwind(p);
        }
        values
    }
    fn take_ready(self) -> Vec<Result<T, Payload>> {
        self.into_iter().map(|mut c| c.take_outcome()).collect()
    }
}

macro_rules! tuple_set {
    ($($C:ident $T:ident $K:ident $i:tt),+) => {
        impl<$($C: IntoTask),+> IntoJoinSet for ($($C,)+) {
            type Set = ($(Child<$C::Output, $C::Kind>,)+);
            fn into_set(self) -> Self::Set {
                ($(self.$i.into_child(),)+)
            }
        }

        impl<$($T, $K: TaskKind),+> JoinSet for ($(Child<$T, $K>,)+) {
            type All = ($($T,)+);
            type Ready = ($(Result<$T, Payload>,)+);
            const MAY_FINISH_ELSEWHERE: bool = false $(|| !$K::THREAD_BOUND)+;
            fn count(&self) -> usize {
                [$($i),+].len()
            }
            unsafe fn start(&mut self, i: usize, cont: CoroutineHandle) {
                match i {
                    // SAFETY: forwarded contract.
                    $($i => unsafe { self.$i.start(cont) },)+
                    _ => unreachable!(),
                }
            }
            fn take_all(self) -> Self::All {
                let r = self.take_ready();
                let mut first_panic: Option<Payload> = None;
                let r = ($(match r.$i {
                    Ok(v) => Some(v),
                    Err(p) => {
                        first_panic.get_or_insert(p);
                        None
                    }
                },)+);
                if let Some(p) = first_panic {
                    drop(r);
                    resume_unwind(p);
                }
                ($(r.$i.unwrap(),)+)
            }
            fn take_ready(mut self) -> Self::Ready {
                ($(self.$i.take_outcome(),)+)
            }
        }
    };
}

tuple_set!(C0 T0 K0 0);
tuple_set!(C0 T0 K0 0, C1 T1 K1 1);
tuple_set!(C0 T0 K0 0, C1 T1 K1 1, C2 T2 K2 2);
tuple_set!(C0 T0 K0 0, C1 T1 K1 1, C2 T2 K2 2, C3 T3 K3 3);
tuple_set!(C0 T0 K0 0, C1 T1 K1 1, C2 T2 K2 2, C3 T3 K3 3, C4 T4 K4 4);
tuple_set!(C0 T0 K0 0, C1 T1 K1 1, C2 T2 K2 2, C3 T3 K3 3, C4 T4 K4 4, C5 T5 K5 5);
tuple_set!(C0 T0 K0 0, C1 T1 K1 1, C2 T2 K2 2, C3 T3 K3 3, C4 T4 K4 4, C5 T5 K5 5, C6 T6 K6 6);
tuple_set!(C0 T0 K0 0, C1 T1 K1 1, C2 T2 K2 2, C3 T3 K3 3, C4 T4 K4 4, C5 T5 K5 5, C6 T6 K6 6, C7 T7 K7 7);

// ===========================================================================
// The join counter
// ===========================================================================

/// The counter and the awaiting coroutine, shared with the stand-ins.
struct Counter {
    remaining: AtomicUsize,
    awaiting: AtomicPtr<Header>,
}

static JOIN_STUB_VTABLE: VTable = VTable::stand_in(join_stub_resume, no_destroy);

/// A child finished: count it; the last one transfers to the awaiting coroutine.
unsafe fn join_stub_resume(h: NonNull<Header>) -> Option<NonNull<Header>> {
    // SAFETY: only `Join` makes stubs with this vtable, and keeps them and
    // their counter alive until the awaiting coroutine has been resumed.
    let counter = unsafe { &*(Stub::from_header(h).ctx as *const Counter) };
    let awaiting = counter.awaiting.load(Ordering::Relaxed);
    // Nothing of `counter` is touched after the decrement unless it was the
    // last one: the awaiting coroutine may free it at once.
    if counter.remaining.fetch_sub(1, Ordering::AcqRel) == 1 {
        NonNull::new(awaiting)
    } else {
        None
    }
}

/// The state behind [`WhenAll`] and [`WhenAllReady`], allocated when the
/// awaiting coroutine suspends.
struct Shared {
    counter: Counter,
    stubs: Vec<Stub>,
}

struct Join<S> {
    set: Option<S>,
    shared: Option<NonNull<Shared>>,
    /// The awaiting coroutine's way home, if the children may finish on
    /// another thread and it is thread-bound.
    hop: HopSlot,
}

// SAFETY: `shared` is only reached by the awaiting coroutine and, through
// the stubs, by children finishing (atomically); the set decides.
#[diagnostic::do_not_recommend]
unsafe impl<S: Send> Send for Join<S> {}

impl<S: JoinSet> Join<S> {
    fn new(set: S) -> Self {
        Join { set: Some(set), shared: None, hop: HopSlot::default() }
    }

    fn ready(&self) -> bool {
        self.set.as_ref().is_none_or(|s| s.count() == 0)
    }

    /// # Safety
    /// As `Awaiter::await_suspend`.
    unsafe fn suspend(&mut self, awaiting: CoroutineHandle) -> bool {
        let set = self.set.as_mut().expect("combinator awaited twice");
        let n = set.count();
        // SAFETY: the frame calls this with its own, live handle.
        let awaiting = unsafe { self.hop.continuation(awaiting, S::MAY_FINISH_ELSEWHERE) };
        let shared = Box::into_raw(Box::new(Shared {
            counter: Counter {
                remaining: AtomicUsize::new(n + 1),
                awaiting: AtomicPtr::new(awaiting.header().as_ptr()),
            },
            stubs: Vec::with_capacity(n),
        }));
        self.shared = NonNull::new(shared);
        // SAFETY: just allocated; the stubs are pushed before any child runs
        // and the vector never grows afterwards, so they do not move.
        unsafe {
            let ctx = ptr::addr_of!((*shared).counter) as *const ();
            for i in 0..n {
                (*shared).stubs.push(Stub::new(&JOIN_STUB_VTABLE, ctx, i));
            }
        }
        for i in 0..n {
            // SAFETY: the stub lives until this awaiter is dropped, which is
            // after the awaiting coroutine has been resumed (or destroyed,
            // which destroys the children first); each child is unstarted.
            unsafe {
                let stub = (&(*shared).stubs)[i].handle();
                set.start(i, stub);
            }
        }
        // The starting loop's own count; if it is the last, every child
        // finished synchronously: do not suspend.
        // SAFETY: `shared` is alive until this awaiter is dropped, and the
        // awaiter is not dropped before the counter reaches zero.
        let last = unsafe { (*shared).counter.remaining.fetch_sub(1, Ordering::AcqRel) } == 1;
        !last
    }

    fn take(&mut self) -> S {
        self.set.take().expect("combinator result taken twice")
    }
}

impl<S> Drop for Join<S> {
    fn drop(&mut self) {
        // Children first: their final awaiters point at the stubs.
        drop(self.set.take());
        if let Some(shared) = self.shared.take() {
            // SAFETY: allocated by `suspend` with `Box::into_raw`; every child
            // is done or destroyed, so no stub can be resumed any more.
            drop(unsafe { Box::from_raw(shared.as_ptr()) });
        }
    }
}

/// Awaits every task; the `co_await!` gives their results in order, or
/// rethrows the first panic. Made by [`when_all`].
#[must_use = "a combinator does nothing unless awaited"]
pub struct WhenAll<S> {
    join: Join<S>,
}

/// Awaits every task; the `co_await!` gives one `Result<T, Payload>` per
/// task, in order, and never rethrows. Made by [`when_all_ready`].
#[must_use = "a combinator does nothing unless awaited"]
pub struct WhenAllReady<S> {
    join: Join<S>,
}

impl<S> fmt::Debug for WhenAll<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WhenAll").finish_non_exhaustive()
    }
}
impl<S> fmt::Debug for WhenAllReady<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WhenAllReady").finish_non_exhaustive()
    }
}

#[diagnostic::do_not_recommend]
impl<S: JoinSet> Awaiter for WhenAll<S> {
    type Output = S::All;
    fn await_ready(&mut self) -> bool {
        self.join.ready()
    }
    unsafe fn await_suspend(&mut self, h: CoroutineHandle) -> impl AwaitSuspend {
        // SAFETY: forwarded contract.
        unsafe { self.join.suspend(h) }
    }
    fn await_resume(mut self) -> S::All {
        self.join.take().take_all()
    }
}

#[diagnostic::do_not_recommend]
impl<S: JoinSet> Awaiter for WhenAllReady<S> {
    type Output = S::Ready;
    fn await_ready(&mut self) -> bool {
        self.join.ready()
    }
    unsafe fn await_suspend(&mut self, h: CoroutineHandle) -> impl AwaitSuspend {
        // SAFETY: forwarded contract.
        unsafe { self.join.suspend(h) }
    }
    fn await_resume(mut self) -> S::Ready {
        self.join.take().take_ready()
    }
}

/// Runs every task and resumes the awaiting coroutine when all have
/// finished; the `co_await!` gives their results, in order (cppcoro
/// `when_all`, folly `collectAll`).
///
/// Takes a tuple of tasks of different types (the result is a tuple) or a
/// `Vec` of tasks of one type (the result is a `Vec`). Children start in
/// order, each running until it first suspends. If a child panics, the
/// others still run to completion, then the first panic (in child order) is
/// rethrown at the `co_await!`. See the [module docs](self) for the design.
///
/// ```
/// use coro::{co_await, co_return, sync_wait, when_all, Task};
///
/// #[coro::coroutine]
/// fn num(n: u32) -> Task<u32> { co_return!(n) }
/// #[coro::coroutine]
/// fn text(s: &'static str) -> Task<String> { co_return!(s.to_string()) }
///
/// #[coro::coroutine]
/// fn both() -> Task<(u32, String, Vec<u32>)> {
///     let (a, b) = co_await!(when_all((num(1), text("two"))));
///     let v = co_await!(when_all(vec![num(3), num(4)]));
///     co_return!((a, b, v))
/// }
///
/// assert_eq!(sync_wait(both()), (1, "two".to_string(), vec![3, 4]));
/// ```
pub fn when_all<S: IntoJoinSet>(tasks: S) -> WhenAll<S::Set> {
    WhenAll { join: Join::new(tasks.into_set()) }
}

/// Like [`when_all`], but the `co_await!` never rethrows: it gives one
/// `Result<T, Payload>` per task (cppcoro `when_all_ready`, folly
/// `collectAllTry`).
///
/// ```
/// use coro::{co_await, co_return, sync_wait, when_all_ready, Task};
///
/// #[coro::coroutine]
/// fn check(n: i32) -> Task<i32> {
///     if n < 0 { panic!("negative"); }
///     co_return!(n)
/// }
///
/// #[coro::coroutine]
/// fn all() -> Task<Vec<bool>> {
///     let r = co_await!(when_all_ready(vec![check(1), check(-1), check(2)]));
///     co_return!(r.iter().map(Result::is_ok).collect())
/// }
///
/// # std::panic::set_hook(Box::new(|_| {}));
/// assert_eq!(sync_wait(all()), [true, false, true]);
/// ```
pub fn when_all_ready<S: IntoJoinSet>(tasks: S) -> WhenAllReady<S::Set> {
    WhenAllReady { join: Join::new(tasks.into_set()) }
}

// ===========================================================================
// when_any
// ===========================================================================

struct AnyState<T, K> {
    /// `None` once a loser has been destroyed.
    children: Vec<Option<Child<T, K>>>,
    /// Children started so far.
    started: usize,
    /// Children not yet accounted for (finished or destroyed), plus one
    /// held by the starting loop and one by a winner cancelling the others.
    remaining: usize,
    winner: Option<usize>,
}

struct AnyShared<T, K> {
    state: Mutex<AnyState<T, K>>,
    awaiting: CoroutineHandle,
    cancel: Option<CancellationSource>,
    stubs: Vec<Stub>,
}

impl<T, K> AnyShared<T, K> {
    fn lock(&self) -> MutexGuard<'_, AnyState<T, K>> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn any_stub_vtable<T, K>() -> &'static VTable {
    struct V<T, K>(PhantomData<(T, K)>);
    impl<T, K> V<T, K> {
        const VT: VTable = VTable::stand_in(any_stub_resume::<T, K>, no_destroy);
    }
    &V::<T, K>::VT
}

/// A child of `when_any` finished.
unsafe fn any_stub_resume<T, K>(h: NonNull<Header>) -> Option<NonNull<Header>> {
    // SAFETY: only `WhenAny` makes stubs with this vtable; its shared state
    // lives until the awaiting coroutine has been resumed (or destroyed),
    // and `remaining` only reaches zero below, as the last use of it.
    let (shared, index) = unsafe {
        let stub = Stub::from_header(h);
        (&*(stub.ctx as *const AnyShared<T, K>), stub.index)
    };
    let first = {
        let mut st = shared.lock();
        if st.winner.is_none() {
            st.winner = Some(index);
            st.remaining += 1; // held while cancelling the others
            true
        } else {
            false
        }
    };
    if first {
        // Cooperative losers waiting on the token are resumed now (and may
        // finish: they are counted then, like any child). No lock is held.
        if let Some(src) = &shared.cancel {
            src.request_cancellation();
        }
        // Then destroy the losers that are still suspended. One that is
        // running (it resumed the winner synchronously) cannot be destroyed;
        // it is counted when it finishes.
        let losers: Vec<Child<T, K>> = {
            let mut st = shared.lock();
            let started = st.started;
            let mut losers = Vec::new();
            for (i, slot) in st.children[..started].iter_mut().enumerate() {
                let suspended = match slot {
                    // SAFETY: the child's frame is alive (owned here).
                    Some(c) => i != index && !c.done() && unsafe { c.handle().suspend_point() }.is_some(),
                    None => false,
                };
                if suspended {
                    losers.extend(slot.take());
                }
            }
            st.remaining -= losers.len();
            losers
        };
        // Destroys their frames, outside the lock: a destroyed loser may
        // release a primitive, which may resume another child.
        drop(losers);
        let mut st = shared.lock();
        st.remaining -= 1;
    }
    let last = {
        let mut st = shared.lock();
        st.remaining -= 1;
        st.remaining == 0
    };
    // `shared` may be freed as soon as the awaiting coroutine runs.
    if last {
        Some(shared.awaiting.header())
    } else {
        None
    }
}

/// Awaits the first of several tasks; made by [`when_any`].
#[must_use = "a combinator does nothing unless awaited"]
pub struct WhenAny<T, K> {
    children: Option<Vec<Child<T, K>>>,
    cancel: Option<CancellationSource>,
    shared: Option<NonNull<AnyShared<T, K>>>,
    /// The awaiting coroutine's way home (see [`Join`]'s).
    hop: HopSlot,
}

// SAFETY: the shared state is behind a mutex and the children are `Send`
// when `Child<T, K>` is.
#[diagnostic::do_not_recommend]
unsafe impl<T, K> Send for WhenAny<T, K> where Child<T, K>: Send {}

impl<T, K> fmt::Debug for WhenAny<T, K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WhenAny").finish_non_exhaustive()
    }
}

impl<T, K> WhenAny<T, K> {
    /// Requests cancellation on `source` as soon as a winner is known,
    /// before the losers still suspended are destroyed: children holding a
    /// token of `source` can stop cooperatively (and finish normally).
    pub fn cancel_on_completion(mut self, source: &CancellationSource) -> Self {
        self.cancel = Some(source.clone());
        self
    }
}

#[diagnostic::do_not_recommend]
impl<T, K: TaskKind> Awaiter for WhenAny<T, K> {
    type Output = (usize, T);
    fn await_ready(&mut self) -> bool {
        false
    }
    unsafe fn await_suspend(&mut self, awaiting: CoroutineHandle) -> impl AwaitSuspend {
        let children = self.children.take().expect("when_any awaited twice");
        let n = children.len();
        assert!(n > 0, "when_any of no tasks");
        // SAFETY: the frame calls this with its own, live handle.
        let awaiting = unsafe { self.hop.continuation(awaiting, !K::THREAD_BOUND) };
        let shared = Box::into_raw(Box::new(AnyShared {
            state: Mutex::new(AnyState {
                children: children.into_iter().map(Some).collect(),
                started: 0,
                remaining: n + 1,
                winner: None,
            }),
            awaiting,
            cancel: self.cancel.take(),
            stubs: Vec::with_capacity(n),
        }));
        self.shared = NonNull::new(shared);
        // SAFETY: just allocated; the stubs never move afterwards, and the
        // state lives until this awaiter is dropped, which is after the
        // awaiting coroutine is resumed (the counter reached zero).
        let shared = unsafe {
            let ctx = shared as *const ();
            for i in 0..n {
                (*shared).stubs.push(Stub::new(any_stub_vtable::<T, K>(), ctx, i));
            }
            &*shared
        };
        for i in 0..n {
            let cont = shared.stubs[i].handle();
            let h = {
                let mut st = shared.lock();
                if st.winner.is_some() {
                    // Already won: leave the rest unstarted (dropped with the awaiter).
                    st.remaining -= n - i;
                    break;
                }
                st.started = i + 1;
                let c = st.children[i].as_mut().unwrap();
                c.set_continuation(cont);
                c.handle()
            };
            // SAFETY: the child is unstarted and owned by `shared`, which
            // outlives it; it is resumed here only, without the lock.
            unsafe { h.resume() };
        }
        let mut st = shared.lock();
        st.remaining -= 1;
        st.remaining != 0
    }
    fn await_resume(self) -> (usize, T) {
        // SAFETY: the awaiting coroutine runs again, so the counter reached
        // zero: no stub will run any more.
        let shared = unsafe { self.shared.expect("when_any resumed before it suspended").as_ref() };
        let mut st = shared.lock();
        let w = st.winner.expect("when_any resumed without a winner");
        let r = st.children[w].as_mut().unwrap().take_outcome();
        drop(st);
        match r {
            Ok(v) => (w, v),
            Err(p) => {
                drop(self);
                resume_unwind(p)
            }
        }
    }
}

impl<T, K> Drop for WhenAny<T, K> {
    fn drop(&mut self) {
        if let Some(shared) = self.shared.take() {
            // SAFETY: allocated by `await_suspend` with `Box::into_raw`; the
            // awaiting coroutine has been resumed or is being destroyed, so
            // no child is running and no stub runs any more. Dropping it
            // destroys the remaining children.
            drop(unsafe { Box::from_raw(shared.as_ptr()) });
        }
    }
}

/// Runs the tasks and resumes the awaiting coroutine with the first result,
/// as `(index, value)` (folly `collectAny`); the others are cancelled.
///
/// Children start in order; if one finishes synchronously, the later ones
/// are never started. When the first child finishes:
/// 1. if a [`CancellationSource`] was given
///    ([`cancel_on_completion`](WhenAny::cancel_on_completion)), cancellation
///    is requested on it — children awaiting its token resume now and may
///    finish normally;
/// 2. every other child that is still suspended is **destroyed**: its frame
///    is freed and its live locals are dropped, as by `destroy()`;
/// 3. the awaiting coroutine is resumed (by symmetric transfer) once every
///    child has finished or been destroyed. A loser that is *running* at that
///    moment (it resumed the winner synchronously) cannot be destroyed;
///    `when_any` then waits for it to finish, so it should observe the token.
///
/// If the winner panicked, the panic is rethrown at the `co_await!`.
/// Panics if `tasks` is empty. The bookkeeping is thread-safe, but, as for
/// any coroutine, a loser must not be destroyed while another thread may
/// resume it: use `when_any` with children that run on the awaiting
/// coroutine's thread (or are cooperative).
///
/// ```
/// use coro::{co_await, co_return, sync_wait, when_any, Task};
/// use std::rc::Rc;
/// use coro::sync::local::Event;
///
/// #[coro::coroutine]
/// fn never(e: Rc<Event>) -> Task<&'static str> {
///     co_await!(e.wait());
///     co_return!("never")
/// }
/// #[coro::coroutine]
/// fn now() -> Task<&'static str> { co_return!("now") }
///
/// #[coro::coroutine]
/// fn race(e: Rc<Event>) -> Task<(usize, &'static str)> {
///     co_return!(co_await!(when_any(vec![never(e), now()])))
/// }
///
/// let e = Rc::new(Event::new());
/// assert_eq!(sync_wait(race(e)), (1, "now")); // `never` was destroyed
/// ```
pub fn when_any<C: IntoTask>(tasks: Vec<C>) -> WhenAny<C::Output, C::Kind> {
    WhenAny {
        children: Some(tasks.into_iter().map(IntoTask::into_child).collect()),
        cancel: None,
        shared: None,
        hop: HopSlot::default(),
    }
}
