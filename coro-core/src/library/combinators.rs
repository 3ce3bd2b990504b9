//! Awaiting several tasks at once: [`when_all`], [`when_all_ready`] and
//! [`when_any`] (cppcoro's `when_all` / `when_all_ready`, folly's
//! `collectAll` / `collectAny`).
//!
//! # What they accept
//!
//! Each combinator takes children ([`IntoTask`]): [`Task`]s, [`SendTask`]s,
//! [`SharedTask`]s, [`SendSharedTask`]s, other combinators, and any other
//! awaitable or future once wrapped by [`awaitable`] or [`future`]; either
//! a tuple of children of *different* types (up to 8, or none: `()`), or a
//! `Vec` of children of one type (possibly empty). A child that is not a
//! task is awaited in a hidden task frame (`co_return!(co_await!(x))`), as
//! a [nested](#nesting-and-sync_wait) combinator is.
//!
//! ```
//! use coro::combinators::{awaitable, future};
//! use coro::{co_return, sync_wait, when_all, SuspendNever, Task};
//!
//! #[coro::coroutine]
//! fn num(n: u32) -> Task<u32> { co_return!(n) }
//!
//! let shared = num(2).shared();
//! let all = when_all((num(1), shared, future(async { 3 }), awaitable(SuspendNever)));
//! assert_eq!(sync_wait(all), (1, 2, 3, ()));
//! assert_eq!(sync_wait(when_all(())), ());
//! assert_eq!(sync_wait(when_all(Vec::<coro::Task<u32>>::new())), vec![]);
//! ```
//!
//! # Nesting and `sync_wait`
//!
//! A combinator nested in another is run as a task: a hidden task frame
//! whose body is `co_return!(co_await!(combinator))`, made unstarted when
//! the outer combinator is built, so nothing runs before the outer one is
//! awaited. That task is a [`SendTask`] if every child is one (the nested
//! combinator may then finish on any thread), else a thread-bound [`Task`].
//! [`sync_wait`](crate::sync_wait) drives a combinator itself, this thread
//! standing for the awaiting coroutine (as for a shared task).
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
//! to its end, so cancelling a [`Task`] means destroying its frame (dropping
//! its live locals, its parameters and its promise, exactly as `destroy()`
//! would) — a [`SendTask`], which another thread may be resuming, is
//! cancelled: destroyed at once if the awaiter it waits on withdraws (see
//! [`SendTask`]'s "Dropping"), else by its granted resumption — plus,
//! optionally, requesting cancellation on a [`CancellationSource`] (see
//! [`WhenAny::cancel_on_completion`]) that cooperative children observe. See [`when_any`] for the details.
//!
//! # Dropping a combinator
//!
//! The combinator's awaiter owns the children. If the awaiting coroutine is
//! destroyed while suspended in a combinator, its [`Task`] children are
//! destroyed with it (they are suspended: nothing else can run on their
//! thread at that moment); its [`SendTask`] children that have not finished
//! are cancelled, as when a `SendTask`'s owner goes away: destroyed at once
//! when they can be, else at their next resumption or suspension (or they
//! free themselves if they finish first). A `SendTask` awaiting the
//! combinator that is itself cancelled gives its children up the same way
//! (`await_cancel`), so a whole tree of suspended tasks goes at once. A
//! combinator that is never awaited drops its children unstarted.
//!
//! The stand-ins live in one shared block that each started child holds a
//! reference to until it has transferred to its stand-in (or is given up),
//! so a child finishing on another thread never touches freed memory.

use core::fmt;
use core::future::Future;
use core::marker::PhantomData;
use core::ptr::{self, NonNull};
use core::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};
use std::panic::resume_unwind;
use std::sync::{Arc, Mutex, MutexGuard};

use crate::home::hop::HopSlot;
use crate::language::awaiter::{AwaitSuspend, Awaiter, CancelOutcome, IntoAwaiter};
use crate::language::frame::{give_back_count, lend_count, no_destroy, ramp, Header, RampCtx, VTable};
use crate::language::handle::CoroutineHandle;
use crate::language::lowering::{AwaitPoint, Record};
use crate::language::point::{CoroutineInfo, Info, SuspendKind, SuspendPoint};
use crate::language::promise::{Payload, Promise};
use crate::library::cancellation::CancellationSource;
use crate::library::task::send_shared::SendSharedTask;
use crate::library::task::shared::SharedTask;
use crate::library::task::{
    sync_wait_awaiter, Local, Owned, SendTask, Sendable, SyncWait, Task, TaskKind, TaskPromise,
};

// ===========================================================================
// Children
// ===========================================================================

/// A task, as a child of a combinator, a shared task
/// or a detached launch. Implemented for [`Task<T>`], [`SendTask<T>`], the
/// combinators ([`WhenAll`], [`WhenAllReady`], [`WhenAny`]: see
/// [nesting](self#nesting-and-sync_wait)), [`SharedTask<T>`],
/// [`SendSharedTask<T>`], and any awaitable or future wrapped in an
/// [`Awaitable`] ([`awaitable`], [`future`]); sealed.
///
/// Code generic over both task types:
/// ```
/// use coro::schedule::{spawn_detached, LocalScheduler};
/// use coro::combinators::IntoTask;
/// use coro::{co_return, SendTask, Task};
///
/// /// Runs a `Task` or a `SendTask` to its end on this thread, dropping its value.
/// fn run<C: IntoTask>(task: C) -> usize
/// where
///     C::Output: 'static,
///     C::Kind: 'static,
/// {
///     let s = LocalScheduler::new();
///     spawn_detached(task, &s);
///     s.run_until_idle()
/// }
///
/// #[coro::coroutine]
/// fn local() -> Task<u8> { co_return!(1) }
/// #[coro::coroutine]
/// fn sendable() -> SendTask<String> { co_return!("two".into()) }
///
/// assert_eq!(run(local()) + run(sendable()), 2); // one resume each
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a task: a combinator's children are tasks, shared tasks and combinators",
    label = "not a `Task`, `SendTask`, `SharedTask`, `SendSharedTask` or combinator",
    note = "to combine another awaitable or a future, wrap it: \
            `coro::combinators::awaitable(x)` or `coro::combinators::future(f)`"
)]
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
    impl<T> Sealed for crate::library::task::Task<T> {}
    impl<T> Sealed for crate::library::task::SendTask<T> {}
    impl<S: super::JoinSet> Sealed for super::WhenAll<S> {}
    impl<S: super::JoinSet> Sealed for super::WhenAllReady<S> {}
    impl<T, K: crate::library::task::TaskKind> Sealed for super::WhenAny<T, K> {}
    impl<T> Sealed for crate::library::task::shared::SharedTask<T> {}
    impl<T> Sealed for crate::library::task::send_shared::SendSharedTask<T> {}
    impl<E, K> Sealed for super::Awaitable<E, K> {}
}

impl<T> IntoTask for Task<T> {
    type Output = T;
    type Kind = Local;
    fn into_child(self) -> Child<T, Local> {
        Child { task: self.into_owned() }
    }
}

impl<T> IntoTask for SendTask<T> {
    type Output = T;
    type Kind = Sendable;
    fn into_child(self) -> Child<T, Sendable> {
        Child { task: self.into_owned() }
    }
}

/// An owned task frame, as held by a combinator ([`when_all`], [`when_any`])
/// or a detached launch. Not a public API.
#[doc(hidden)]
pub struct Child<T, K: TaskKind> {
    pub(crate) task: Owned<T, K>,
}

// SAFETY: a `Child<T, Sendable>` owns a `SendTask`'s frame, which is `Send`
// (see `SendTask`).
#[diagnostic::do_not_recommend]
unsafe impl<T: Send> Send for Child<T, Sendable> {}

impl<T, K: TaskKind> fmt::Debug for Child<T, K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Child").field("handle", &self.task.handle()).finish()
    }
}

impl<T, K: TaskKind> Child<T, K> {
    pub(crate) fn handle(&self) -> CoroutineHandle {
        self.task.handle().erase()
    }

    pub(crate) fn done(&self) -> bool {
        self.task.is_ready()
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
        unsafe { self.task.handle().resume() }
    }

    /// Before the task starts (see `Owned::set_continuation`).
    pub(crate) fn set_continuation(&mut self, cont: CoroutineHandle) {
        self.task.set_continuation(cont);
    }

    /// The task's result, once it is done.
    pub(crate) fn take_outcome(&mut self) -> Result<T, Payload> {
        self.task.take_outcome()
    }

    /// Gives the child up: `true` if it will never resume its continuation
    /// (see `Owned::release`).
    pub(crate) fn release(self) -> bool {
        self.task.release()
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

/// A set of children: a `Vec` of one task type or a tuple, made from an
/// [`IntoJoinSet`]. Not a public API.
#[doc(hidden)]
pub trait JoinSet {
    /// `when_all`'s result.
    type All;
    /// `when_all_ready`'s result.
    type Ready;
    /// The kind of a task made of the set ([`Local`] if any child is).
    type Kind: TaskKind;
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
    /// Gives every child up; returns how many will never resume their
    /// continuation (see `Owned::release`).
    #[doc(hidden)]
    fn release_all(self) -> usize;
}

/// What [`when_all`] and [`when_all_ready`] accept: a `Vec` of tasks of one
/// type, or a tuple of up to 8 tasks of any types.
///
/// ```
/// use coro::{co_await, co_return, sync_wait, when_all, Task};
///
/// #[coro::coroutine]
/// fn num(x: u32) -> Task<u32> { co_return!(x) }
/// #[coro::coroutine]
/// fn word() -> Task<&'static str> { co_return!("w") }
///
/// #[coro::coroutine]
/// fn run() -> Task<(Vec<u32>, (u32, &'static str))> {
///     let v = co_await!(when_all(vec![num(1), num(2)])); // a `Vec<Task<u32>>`
///     let t = co_await!(when_all((num(3), word())));     // a tuple of different tasks
///     co_return!((v, t))
/// }
///
/// assert_eq!(sync_wait(run()), (vec![1, 2], (3, "w")));
/// ```
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
    type Kind = K;
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
    fn release_all(self) -> usize {
        self.into_iter().map(|c| usize::from(c.release())).sum()
    }
}

/// The kind of a tuple of children: [`Local`] if any is.
macro_rules! kind_of {
    ($K:ident) => { $K };
    ($K:ident, $($rest:ident),+) => { <$K as TaskKind>::And<kind_of!($($rest),+)> };
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
            type Kind = kind_of!($($K),+);
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
            fn release_all(self) -> usize {
                0 $(+ usize::from(self.$i.release()))+
            }
        }
    };
}

/// No children: `when_all(())` and `when_all_ready(())` give `()` at once,
/// without suspending.
impl IntoJoinSet for () {
    type Set = ();
    fn into_set(self) {}
}

impl JoinSet for () {
    type All = ();
    type Ready = ();
    // No child is thread-bound.
    type Kind = Sendable;
    const MAY_FINISH_ELSEWHERE: bool = false;
    fn count(&self) -> usize {
        0
    }
    unsafe fn start(&mut self, _: usize, _: CoroutineHandle) {
        unreachable!("an empty set has no child to start")
    }
    fn take_all(self) {}
    fn take_ready(self) {}
    fn release_all(self) -> usize {
        0
    }
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
    // SAFETY: only `Join` makes stubs with this vtable, their `ctx` being
    // the `Arc<Shared>`'s pointer; each started child owns one strong
    // count, taken back here: the child transfers to its stub once.
    let shared = unsafe { Arc::from_raw(Stub::from_header(h).ctx as *const Shared) };
    let awaiting = shared.counter.awaiting.load(Ordering::Relaxed);
    if shared.counter.remaining.fetch_sub(1, Ordering::AcqRel) == 1 {
        NonNull::new(awaiting)
    } else {
        None
    }
}

/// The state behind [`WhenAll`] and [`WhenAllReady`], allocated when the
/// awaiting coroutine suspends; shared by the awaiter and the started
/// children that have not yet transferred to their stub.
struct Shared {
    counter: Counter,
    stubs: Vec<Stub>,
}

struct Join<S: JoinSet> {
    set: Option<S>,
    shared: Option<Arc<Shared>>,
    /// The awaiting coroutine's way home, if the children may finish on
    /// another thread and it is thread-bound.
    hop: HopSlot,
}

// SAFETY: `shared` is only reached by the awaiting coroutine and, through
// the stubs, by children finishing (atomically); the set decides.
#[diagnostic::do_not_recommend]
unsafe impl<S: JoinSet + Send> Send for Join<S> {}

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
        // Shared with children that may finish on other threads; what they
        // touch there is atomic (`Counter`), the stubs are read-only.
        #[allow(clippy::arc_with_non_send_sync)]
        let mut shared = Arc::new(Shared {
            counter: Counter {
                remaining: AtomicUsize::new(n + 1),
                awaiting: AtomicPtr::new(awaiting.header().as_ptr()),
            },
            stubs: (0..n).map(|i| Stub::new(&JOIN_STUB_VTABLE, ptr::null(), i)).collect(),
        });
        let ctx = Arc::as_ptr(&shared) as *const ();
        for stub in &mut Arc::get_mut(&mut shared).expect("not shared yet").stubs {
            stub.ctx = ctx;
        }
        let shared = &*self.shared.insert(shared);
        for i in 0..n {
            // The child's strong count, taken back by its stub (or by
            // `drop` if it is given up first).
            lend_count(shared);
            // SAFETY: the stubs never move (the vector is not touched again)
            // and live as long as `shared`, which the child keeps alive;
            // each child is unstarted.
            unsafe { set.start(i, shared.stubs[i].handle()) };
        }
        // The starting loop's own count; if it is the last, every child
        // finished synchronously: do not suspend, and no stub will resume
        // the awaiting coroutine (or its hop).
        let last = shared.counter.remaining.fetch_sub(1, Ordering::AcqRel) == 1;
        if last {
            self.hop.retract();
        }
        !last
    }

    fn take(&mut self) -> S {
        self.set.take().expect("combinator result taken twice")
    }
}

impl<S: JoinSet> Join<S> {
    /// The cancel step of `when_all` and `when_all_ready` (what their drop
    /// does, done early): gives the children up with the counter held, so
    /// no child resumes the awaiting coroutine from now on. `Withdrawn`
    /// unless the counter had already reached zero (the last child is
    /// transferring to it).
    fn cancel(&mut self) -> CancelOutcome {
        if self.give_up() {
            CancelOutcome::ResumeComing
        } else {
            CancelOutcome::Withdrawn
        }
    }
}

impl<S: JoinSet> Drop for Join<S> {
    fn drop(&mut self) {
        self.give_up();
    }
}

impl<S: JoinSet> Join<S> {
    /// Gives the children up, if still held; whether the counter had
    /// already reached zero (the awaiting coroutine was, or is being,
    /// resumed).
    fn give_up(&mut self) -> bool {
        // Still here if the awaiting coroutine is destroyed while waiting
        // (or the combinator was never awaited). The counter is held first:
        // freeing the children runs their drops, which may release a child
        // that then finishes here, the last one; its stub must not resume
        // the coroutine being destroyed (or its hop). Unless the counter
        // had already reached zero (the hop was resumed, and its wake-up is
        // detached), nobody resumes the hop now: its count is taken back.
        // Children that will never transfer to their stub give their
        // strong count back.
        let Some(set) = self.set.take() else { return false };
        let resumed = self.shared.as_ref().is_some_and(|s| s.counter.remaining.fetch_add(1, Ordering::AcqRel) == 0);
        let given_up = set.release_all();
        if let Some(shared) = &self.shared {
            for _ in 0..given_up {
                // SAFETY: each started child owned one strong count
                // (`suspend`), which its stub will not take back now.
                unsafe { give_back_count(shared) };
            }
            if !resumed {
                self.hop.retract();
            }
        }
        resumed
    }
}

/// Awaits every task; the `co_await!` gives their results in order, or
/// rethrows the first panic. Made by [`when_all`].
///
/// Like a task, it is lazy: one dropped unawaited drops its children unstarted.
/// ```
/// use std::{cell::Cell, rc::Rc};
/// use coro::{co_return, when_all, Task};
///
/// #[coro::coroutine]
/// fn mark(ran: Rc<Cell<bool>>) -> Task<()> { ran.set(true); co_return!(()) }
///
/// let ran = Rc::new(Cell::new(false));
/// let all = when_all(vec![mark(ran.clone())]); // a `WhenAll`: nothing runs yet
/// drop(all);
/// assert!(!ran.get());
/// ```
#[must_use = "a combinator does nothing unless awaited"]
pub struct WhenAll<S: JoinSet> {
    join: Join<S>,
}

/// Awaits every task; the `co_await!` gives one `Result<T, Payload>` per
/// task, in order, and never rethrows. Made by [`when_all_ready`].
///
/// ```
/// use coro::{co_await, co_return, sync_wait, when_all_ready, Task};
///
/// #[coro::coroutine]
/// fn ok() -> Task<u32> { co_return!(7) }
/// #[coro::coroutine]
/// fn fails() -> Task<String> { panic!("boom") }
///
/// #[coro::coroutine]
/// fn both() -> Task<(u32, bool)> {
///     let (a, b) = co_await!(when_all_ready((ok(), fails()))); // `Result<_, Payload>`s
///     co_return!((a.unwrap(), b.is_err()))
/// }
///
/// # std::panic::set_hook(Box::new(|_| {}));
/// assert_eq!(sync_wait(both()), (7, true));
/// ```
#[must_use = "a combinator does nothing unless awaited"]
pub struct WhenAllReady<S: JoinSet> {
    join: Join<S>,
}

impl<S: JoinSet> fmt::Debug for WhenAll<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WhenAll").finish_non_exhaustive()
    }
}
impl<S: JoinSet> fmt::Debug for WhenAllReady<S> {
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
    /// Gives the children up (each destroyed at once when it can be);
    /// `Withdrawn` unless the last one is already resuming the awaiting
    /// coroutine.
    unsafe fn await_cancel(&mut self) -> CancelOutcome {
        self.join.cancel()
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
    /// As for [`WhenAll`].
    unsafe fn await_cancel(&mut self) -> CancelOutcome {
        self.join.cancel()
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
///
/// [`sync_wait`](crate::sync_wait) runs one from plain code, and a
/// combinator can be a child of another (results nest as the calls do):
/// ```
/// use coro::{co_return, sync_wait, when_all, when_any, Task};
///
/// #[coro::coroutine]
/// fn num(n: u32) -> Task<u32> { co_return!(n) }
///
/// assert_eq!(sync_wait(when_all((num(1), num(2)))), (1, 2));
/// let nested = when_all((when_all(vec![num(1), num(2)]), when_any(vec![num(3), num(4)])));
/// assert_eq!(sync_wait(nested), (vec![1, 2], (0, 3)));
/// ```
pub fn when_all<S, Set>(tasks: S) -> WhenAll<Set>
where
    S: IntoJoinSet<Set = Set>,
    Set: JoinSet,
{
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
pub fn when_all_ready<S, Set>(tasks: S) -> WhenAllReady<Set>
where
    S: IntoJoinSet<Set = Set>,
    Set: JoinSet,
{
    WhenAllReady { join: Join::new(tasks.into_set()) }
}

// ===========================================================================
// when_any
// ===========================================================================

struct AnyState<T, K: TaskKind> {
    /// `None` once a loser has been given up (or the awaiter has taken them
    /// all back, dropped).
    children: Vec<Option<Child<T, K>>>,
    /// Children started so far.
    started: usize,
    /// Children not yet accounted for (finished, given up or never
    /// started), plus one held by the starting loop. The winner counts
    /// itself only once it has given up the others.
    remaining: usize,
    winner: Option<usize>,
}

/// Shared by the awaiter and the started children that have not yet
/// transferred to their stub (each owns one strong count).
struct AnyShared<T, K: TaskKind> {
    state: Mutex<AnyState<T, K>>,
    awaiting: CoroutineHandle,
    cancel: Option<CancellationSource>,
    stubs: Vec<Stub>,
}

impl<T, K: TaskKind> AnyShared<T, K> {
    fn lock(&self) -> MutexGuard<'_, AnyState<T, K>> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn any_stub_vtable<T, K: TaskKind>() -> &'static VTable {
    struct V<T, K>(PhantomData<(T, K)>);
    impl<T, K: TaskKind> V<T, K> {
        const VT: VTable = VTable::stand_in(any_stub_resume::<T, K>, no_destroy);
    }
    &V::<T, K>::VT
}

/// A child of `when_any` finished.
unsafe fn any_stub_resume<T, K: TaskKind>(h: NonNull<Header>) -> Option<NonNull<Header>> {
    // SAFETY: only `WhenAny` makes stubs with this vtable, their `ctx` being
    // the `Arc<AnyShared>`'s pointer; each started child owns one strong
    // count, taken back here: the child transfers to its stub once.
    let (shared, index) = unsafe {
        let stub = Stub::from_header(h);
        (Arc::from_raw(stub.ctx as *const AnyShared<T, K>), stub.index)
    };
    let last = {
        let mut st = shared.lock();
        if st.winner.is_some() {
            // A loser, or a child finishing after the race: counted here.
            st.remaining -= 1;
            Some(st.remaining == 0)
        } else {
            // The winner: its own count is held while it cancels the others.
            st.winner = Some(index);
            None
        }
    };
    let last = last.unwrap_or_else(|| {
        // Cooperative losers waiting on the token are resumed now (and may
        // finish: they are counted then, like any child). No lock is held.
        if let Some(src) = &shared.cancel {
            src.request_cancellation();
        }
        // Then give up the losers that have not finished: a `Task` that is
        // suspended is destroyed (one that is running resumed the winner
        // synchronously: it cannot be, and is counted when it finishes); a
        // `SendTask` is detached, since another thread may be running it.
        let losers: Vec<Child<T, K>> = {
            let mut st = shared.lock();
            let started = st.started;
            let mut losers = Vec::new();
            for (i, slot) in st.children[..started].iter_mut().enumerate() {
                let give_up = match slot {
                    Some(c) if i != index && !c.done() => {
                        // SAFETY: the child's frame is alive (owned here), and
                        // a `Task` runs on this thread only, so its point is
                        // stable.
                        !K::THREAD_BOUND || unsafe { c.handle().suspend_point() }.is_some()
                    }
                    _ => false,
                };
                if give_up {
                    losers.extend(slot.take());
                }
            }
            losers
        };
        // Outside the lock: a destroyed loser may release a primitive, which
        // may resume another child. A loser that was finishing at that
        // moment still comes to its stub and is counted there.
        let given_up = give_up_children(&shared, losers);
        let mut st = shared.lock();
        st.remaining -= given_up + 1;
        st.remaining == 0
    });
    // `shared` may be freed as soon as the awaiting coroutine runs.
    if last {
        Some(shared.awaiting.header())
    } else {
        None
    }
}

/// Gives up started children (see `Owned::release`); returns how many will
/// never come to their stub, whose strong counts are given back here.
fn give_up_children<T, K: TaskKind>(shared: &Arc<AnyShared<T, K>>, children: Vec<Child<T, K>>) -> usize {
    let mut given_up = 0;
    for child in children {
        if child.release() {
            given_up += 1;
            // SAFETY: a started child owned one strong count, which its stub
            // will not take back now.
            unsafe { give_back_count(shared) };
        }
    }
    given_up
}

/// Awaits the first of several tasks; made by [`when_any`].
///
/// See [`cancel_on_completion`](Self::cancel_on_completion) for an example.
#[must_use = "a combinator does nothing unless awaited"]
pub struct WhenAny<T, K: TaskKind> {
    children: Option<Vec<Child<T, K>>>,
    cancel: Option<CancellationSource>,
    shared: Option<Arc<AnyShared<T, K>>>,
    /// The awaiting coroutine's way home (see [`Join`]'s).
    hop: HopSlot,
}

// SAFETY: the shared state is behind a mutex and the children are `Send`
// when `Child<T, K>` is.
#[diagnostic::do_not_recommend]
unsafe impl<T, K: TaskKind> Send for WhenAny<T, K> where Child<T, K>: Send {}

impl<T, K: TaskKind> fmt::Debug for WhenAny<T, K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WhenAny").finish_non_exhaustive()
    }
}

impl<T, K: TaskKind> WhenAny<T, K> {
    /// Requests cancellation on `source` as soon as a winner is known,
    /// before the losers still suspended are destroyed: children holding a
    /// token of `source` can stop cooperatively (and finish normally).
    ///
    /// ```
    /// use std::{cell::Cell, rc::Rc};
    /// use coro::cancellation::{CancellationSource, CancellationToken};
    /// use coro::{co_await, co_return, sync_wait, when_any, Task};
    ///
    /// #[coro::coroutine]
    /// fn worker(token: CancellationToken, stopped: Rc<Cell<bool>>) -> Task<u32> {
    ///     co_await!(token.cancelled());
    ///     stopped.set(true); // it ends normally instead of being destroyed
    ///     co_return!(0)
    /// }
    /// #[coro::coroutine]
    /// fn quick() -> Task<u32> { co_return!(42) }
    ///
    /// #[coro::coroutine]
    /// fn race(source: CancellationSource, stopped: Rc<Cell<bool>>) -> Task<(usize, u32)> {
    ///     let tasks = vec![worker(source.token(), stopped), quick()];
    ///     co_return!(co_await!(when_any(tasks).cancel_on_completion(&source)))
    /// }
    ///
    /// let stopped = Rc::new(Cell::new(false));
    /// assert_eq!(sync_wait(race(CancellationSource::new(), stopped.clone())), (1, 42));
    /// assert!(stopped.get());
    /// ```
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
        // Shared with children that may finish on other threads; what they
        // touch there is behind the mutex, the stubs are read-only.
        #[allow(clippy::arc_with_non_send_sync)]
        let mut shared = Arc::new(AnyShared {
            state: Mutex::new(AnyState {
                children: children.into_iter().map(Some).collect(),
                started: 0,
                remaining: n + 1,
                winner: None,
            }),
            awaiting,
            cancel: self.cancel.take(),
            stubs: (0..n).map(|i| Stub::new(any_stub_vtable::<T, K>(), ptr::null(), i)).collect(),
        });
        let ctx = Arc::as_ptr(&shared) as *const ();
        for stub in &mut Arc::get_mut(&mut shared).expect("not shared yet").stubs {
            stub.ctx = ctx;
        }
        let shared = &*self.shared.insert(shared);
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
                // The child's strong count, taken back by its stub (or when
                // it is given up).
                lend_count(shared);
                let c = st.children[i].as_mut().unwrap();
                c.set_continuation(cont);
                c.handle()
            };
            // SAFETY: the child is unstarted and owned by `shared`, which
            // it keeps alive; it is resumed here only, without the lock.
            unsafe { h.resume() };
        }
        let mut st = shared.lock();
        st.remaining -= 1;
        let last = st.remaining == 0;
        drop(st);
        if last {
            // No stub will resume the awaiting coroutine (or its hop).
            self.hop.retract();
        }
        !last
    }
    /// Gives every child up (each destroyed at once when it can be), with
    /// the counter held: `Withdrawn` unless a winner is already resuming
    /// the awaiting coroutine.
    unsafe fn await_cancel(&mut self) -> CancelOutcome {
        if self.give_up() {
            CancelOutcome::ResumeComing
        } else {
            CancelOutcome::Withdrawn
        }
    }
    fn await_resume(self) -> (usize, T) {
        // The awaiting coroutine runs again, so the counter reached zero:
        // no stub will run any more.
        let shared = self.shared.as_ref().expect("when_any resumed before it suspended");
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

impl<T, K: TaskKind> Drop for WhenAny<T, K> {
    fn drop(&mut self) {
        self.give_up();
    }
}

impl<T, K: TaskKind> WhenAny<T, K> {
    /// What dropping does (see there), done by the drop or early by the
    /// cancel step; whether the counter had already reached zero (the
    /// awaiting coroutine was, or is being, resumed). `false` if there is
    /// nothing to give up.
    fn give_up(&mut self) -> bool {
        let Some(shared) = self.shared.take() else { return false };
        // Every child comes back here, so the shared state, which a child
        // finishing elsewhere may keep a little longer, holds none: resumed,
        // the awaiting coroutine gives up finished ones; destroyed while
        // waiting, it also gives up the running ones (a `Task` is suspended
        // then; a `SendTask` may be running elsewhere and is detached).
        let (started, unstarted, resumed) = {
            let mut st = shared.lock();
            // Held from here (see `Join`'s drop): freeing the children runs
            // their drops, which may release one that then finishes here;
            // its stub must not resume the coroutine being destroyed.
            let resumed = st.remaining == 0;
            st.remaining += 1;
            let started = st.started;
            let mut children: Vec<Child<T, K>> = Vec::new();
            let mut unstarted = Vec::new();
            for (i, slot) in st.children.iter_mut().enumerate() {
                if let Some(c) = slot.take() {
                    if i < started {
                        children.push(c)
                    } else {
                        unstarted.push(c)
                    }
                }
            }
            (children, unstarted, resumed)
        };
        give_up_children(&shared, started);
        // The counter, held, cannot reach zero any more: unless it had (the
        // hop was resumed), nobody resumes the hop.
        if !resumed {
            self.hop.retract();
        }
        // After the started ones: children are freed in child order.
        drop(unstarted);
        resumed
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
/// 2. every other [`Task`] child that is still suspended is **destroyed**:
///    its frame is freed and its live locals are dropped, as by
///    `destroy()`; every other [`SendTask`] child that has not finished is
///    **detached** (another thread may be running it: see [`SendTask`],
///    "Dropping"): it is destroyed at its next resumption, or frees itself
///    if it finishes first;
/// 3. the awaiting coroutine is resumed (by symmetric transfer) once every
///    child has finished, been destroyed or been detached. A `Task` loser
///    that is *running* at that moment (it resumed the winner synchronously)
///    cannot be destroyed; `when_any` then waits for it to finish, so it
///    should observe the token.
///
/// If the winner panicked, the panic is rethrown at the `co_await!`. The
/// bookkeeping is thread-safe: children may finish on any thread.
///
/// # Panics
///
/// At once, if `tasks` is empty (cppcoro's precondition): the first of no
/// results would never come, and a `co_await!` that never resumes is worse
/// than a clear panic. Code that may have nothing to race checks first
/// (`when_all` of nothing, by contrast, is `()` or an empty `Vec` at once).
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
pub fn when_any<C, T, K>(tasks: Vec<C>) -> WhenAny<T, K>
where
    C: IntoTask<Output = T, Kind = K>,
    K: TaskKind,
{
    // cppcoro's precondition, checked here rather than at the `co_await!`:
    // the first result of no tasks would never come.
    assert!(!tasks.is_empty(), "when_any of no tasks: it needs at least one task, or it would never finish");
    WhenAny {
        children: Some(tasks.into_iter().map(IntoTask::into_child).collect()),
        cancel: None,
        shared: None,
        hop: HopSlot::default(),
    }
}

// ===========================================================================
// A combinator as a task: nesting, `sync_wait`
// ===========================================================================

/// The static records of the task frame that awaits a nested combinator,
/// named after it (what an async backtrace shows).
macro_rules! nest_frame {
    ($Frame:ident, $INFO:ident, $name:literal) => {
        static $INFO: CoroutineInfo =
            CoroutineInfo::new($name, file!(), (line!(), column!()), 2, (line!(), column!()), &$INFO);
        struct $Frame;
        impl Info for $Frame {
            const INFO: &'static CoroutineInfo = &$INFO;
        }
        impl Record for $Frame {
            const POINT: &'static SuspendPoint =
                &SuspendPoint::new(SuspendKind::Await, 1, file!(), line!(), column!(), &$INFO);
        }
    };
}

nest_frame!(WhenAllFrame, WHEN_ALL_FRAME, "when_all");
nest_frame!(WhenAllReadyFrame, WHEN_ALL_READY_FRAME, "when_all_ready");
nest_frame!(WhenAnyFrame, WHEN_ANY_FRAME, "when_any");
nest_frame!(SharedFrame, SHARED_FRAME, "shared_task");
nest_frame!(AwaitableFrame, AWAITABLE_FRAME, "awaitable");

/// What the ramp of a nesting frame makes: the frame of a task whose body is
/// `co_return!(co_await!(x))`, as `#[coro::coroutine]` would lower it
/// (`x` is the body's one parameter; its `operator co_await` is called in
/// the body, when the task starts, as `co_await!` does).
fn await_body<E: IntoAwaiter, K: TaskKind, R: Record>(
    ctx: &mut RampCtx<TaskPromise<AwaitOutput<E>, K>>,
    x: E,
) -> Result<impl Future<Output = ()> + use<E, K, R>, E> {
    if !ctx.allocate(TaskPromise::<AwaitOutput<E>, K>::allocate_frame) {
        return Err(x);
    }
    ctx.construct_promise(TaskPromise::default);
    let co = ctx.co();
    Ok(async move {
        // Pinned in the body, like every lowered `co_await!`.
        let value = AwaitPoint::<E::Awaiter, R>::new(x.into_awaiter()).await;
        co.return_value(value);
    })
}

/// The value of `co_await!(x)` for an `x: E`.
type AwaitOutput<E> = <<E as IntoAwaiter>::Awaiter as Awaiter>::Output;

/// `x` awaited in a [`Task`] frame, unstarted.
fn local_child<E: IntoAwaiter, F: Info + Record>(x: E, frame: F) -> Child<AwaitOutput<E>, Local> {
    let task: Task<AwaitOutput<E>> =
        ramp::<TaskPromise<AwaitOutput<E>, Local>, _, _, _, _, F>(frame, move |ctx| await_body::<E, Local, F>(ctx, x));
    task.into_child()
}

/// `x` awaited in a [`SendTask`] frame, unstarted (the frame is checked
/// `Send` and `'static` as any `SendTask`'s).
fn send_child<E, F>(x: E, frame: F) -> Child<AwaitOutput<E>, Sendable>
where
    E: IntoAwaiter + Send + 'static,
    E::Awaiter: Send + 'static,
    AwaitOutput<E>: Send + 'static,
    F: Info + Record + Send + 'static,
{
    let task: SendTask<AwaitOutput<E>> =
        ramp::<TaskPromise<AwaitOutput<E>, Sendable>, _, _, _, _, F>(frame, move |ctx| {
            await_body::<E, Sendable, F>(ctx, x)
        });
    task.into_child()
}

/// A combinator as a task of kind `K` producing its result `T`: an
/// unstarted task frame whose body awaits it, so that it can be the child
/// of another combinator. Not a public API.
#[doc(hidden)]
pub trait Nest<K: TaskKind, T> {
    #[doc(hidden)]
    fn nest(self) -> Child<T, K>;
}

macro_rules! nest {
    ([$($g:tt)*] $ty:ty, $out:ty, $frame:ident) => {
        impl<$($g)*> Nest<Local, $out> for $ty {
            fn nest(self) -> Child<$out, Local> {
                local_child(self, $frame)
            }
        }
        impl<$($g)*> Nest<Sendable, $out> for $ty
        where
            $ty: Send + 'static,
            $out: Send + 'static,
        {
            fn nest(self) -> Child<$out, Sendable> {
                send_child(self, $frame)
            }
        }
    };
}

nest!([S: JoinSet] WhenAll<S>, S::All, WhenAllFrame);
nest!([S: JoinSet] WhenAllReady<S>, S::Ready, WhenAllReadyFrame);
nest!([T, K: TaskKind] WhenAny<T, K>, (usize, T), WhenAnyFrame);

/// A `when_all` is a task of its children's kind: a `SendTask` if they all
/// are, else a `Task`.
impl<S: JoinSet> IntoTask for WhenAll<S>
where
    Self: Nest<S::Kind, S::All>,
{
    type Output = S::All;
    type Kind = S::Kind;
    fn into_child(self) -> Child<S::All, S::Kind> {
        self.nest()
    }
}

/// As for [`WhenAll`].
impl<S: JoinSet> IntoTask for WhenAllReady<S>
where
    Self: Nest<S::Kind, S::Ready>,
{
    type Output = S::Ready;
    type Kind = S::Kind;
    fn into_child(self) -> Child<S::Ready, S::Kind> {
        self.nest()
    }
}

/// A `when_any` is a task of its children's kind.
impl<T, K: TaskKind> IntoTask for WhenAny<T, K>
where
    Self: Nest<K, (usize, T)>,
{
    type Output = (usize, T);
    type Kind = K;
    fn into_child(self) -> Child<(usize, T), K> {
        self.nest()
    }
}

/// `sync_wait(when_all(...))`: this thread stands for the awaiting
/// coroutine and gets what `co_await!` would.
impl<S: JoinSet> SyncWait for WhenAll<S> {
    type Output = S::All;
    fn sync_wait(self) -> S::All {
        sync_wait_awaiter(self)
    }
}

/// `sync_wait(when_all_ready(...))`.
impl<S: JoinSet> SyncWait for WhenAllReady<S> {
    type Output = S::Ready;
    fn sync_wait(self) -> S::Ready {
        sync_wait_awaiter(self)
    }
}

/// `sync_wait(when_any(...))`.
impl<T, K: TaskKind> SyncWait for WhenAny<T, K> {
    type Output = (usize, T);
    fn sync_wait(self) -> (usize, T) {
        sync_wait_awaiter(self)
    }
}

// ===========================================================================
// Other awaitables as children
// ===========================================================================

/// A [`SharedTask`] is a child like a task: a hidden [`Task`] frame awaits
/// it (`co_return!(co_await!(shared))`), so the child's value is a clone of
/// the shared result. Awaiting the child starts the shared task if nobody
/// has; dropping it unstarted drops this handle only.
impl<T: Clone> IntoTask for SharedTask<T> {
    type Output = T;
    type Kind = Local;
    fn into_child(self) -> Child<T, Local> {
        local_child(self, SharedFrame)
    }
}

/// A [`SendSharedTask`] is a child like a [`SendTask`]: its hidden frame
/// may finish on any thread.
impl<T> IntoTask for SendSharedTask<T>
where
    T: Clone + Send + 'static,
    SendSharedTask<T>: Send,
    <SendSharedTask<T> as IntoAwaiter>::Awaiter: Send,
{
    type Output = T;
    type Kind = Sendable;
    fn into_child(self) -> Child<T, Sendable> {
        send_child(self, SharedFrame)
    }
}

/// Any awaitable or future as a child of a combinator: made by
/// [`awaitable`] or [`future`]. It is a hidden task frame whose body is
/// `co_return!(co_await!(x))`, a thread-bound [`Task`] (kind [`Local`]) or,
/// after [`sendable`](Self::sendable), a [`SendTask`].
///
/// # Why a wrapper
///
/// `Task`, `SendTask` and the combinators are awaiters ([`IntoAwaiter`])
/// and futures (`IntoFuture`) themselves, so blanket impls
/// `impl<A: IntoAwaiter> IntoTask for A` or `impl<F: IntoFuture> IntoTask
/// for F` would overlap with theirs (and with each other), which Rust's
/// coherence rules forbid; a child that is neither a task nor a shared
/// task says what it is with [`awaitable`] or [`future`] instead.
///
/// ```
/// use coro::combinators::{awaitable, future};
/// use coro::{co_return, sync_wait, when_all, SuspendNever, Task};
///
/// #[coro::coroutine]
/// fn num(n: u32) -> Task<u32> { co_return!(n) }
///
/// let all = when_all((num(1), future(async { "two" }), awaitable(SuspendNever)));
/// assert_eq!(sync_wait(all), (1, "two", ()));
/// ```
#[must_use = "a combinator's child does nothing unless awaited"]
pub struct Awaitable<E, K = Local> {
    x: E,
    _kind: PhantomData<fn() -> K>,
}

impl<E, K> fmt::Debug for Awaitable<E, K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Awaitable").finish_non_exhaustive()
    }
}

/// Any awaitable (an [`Awaiter`], or a type with an `operator co_await`:
/// [`IntoAwaiter`]) as a child of [`when_all`], [`when_all_ready`] or
/// [`when_any`]: the child awaits it in a hidden thread-bound task frame
/// and its value is the `co_await!`'s (see [`Awaitable`] for why a wrapper).
///
/// Lazy, as a task is: `x`'s `operator co_await` and `await_ready` are
/// called only when the combinator starts the child; dropped unstarted,
/// `x` is dropped unawaited. `x` is `'static`: the child is a task, which
/// names no lifetime of what it keeps (to combine an awaitable that
/// borrows, await it in a coroutine that takes the borrow).
///
/// ```
/// use coro::combinators::awaitable;
/// use coro::{co_return, sync_wait, when_all, AwaitSuspend, Awaiter, CoroutineHandle, Task};
///
/// /// An awaiter of one's own, ready at once.
/// struct Answer;
/// impl Awaiter for Answer {
///     type Output = u32;
///     fn await_ready(&mut self) -> bool { true }
///     unsafe fn await_suspend(&mut self, _: CoroutineHandle) -> impl AwaitSuspend {}
///     fn await_resume(self) -> u32 { 42 }
/// }
///
/// #[coro::coroutine]
/// fn seven() -> Task<u32> { co_return!(7) }
///
/// let shared = seven().shared(); // a `SharedTask` is a child as it is
/// let all = when_all((awaitable(Answer), shared.clone(), shared));
/// assert_eq!(sync_wait(all), (42, 7, 7));
/// ```
pub fn awaitable<E>(x: E) -> Awaitable<E>
where
    E: IntoAwaiter + 'static,
{
    Awaitable { x, _kind: PhantomData }
}

/// Any Rust future (or [`IntoFuture`](core::future::IntoFuture)) as a
/// child of [`when_all`], [`when_all_ready`] or [`when_any`]: the child
/// awaits it as `co_await!(f)` would (a
/// [`FutureAwaiter`](crate::awaiter::FutureAwaiter): polled only once
/// pinned in the child's frame, its waker resuming the child), in a hidden
/// thread-bound task frame; [`sendable`](Awaitable::sendable) makes it a
/// `SendTask` when the future is `Send`.
///
/// A separate function from [`awaitable`] for the reason given at
/// [`Awaitable`]: no generic function can take "an awaiter, or else a
/// future" (`co_await!` can, as a macro looking at the operand's type).
///
/// Lazy: the future is not polled before the combinator starts the child;
/// dropped unstarted, it is dropped unpolled. A future that waits on an
/// outside event needs that event's driver (a runtime) to make progress;
/// its waker resumes the child through the driver, as for `co_await!`.
///
/// ```
/// use coro::combinators::future;
/// use coro::{co_return, sync_wait, when_all, when_any, Task};
///
/// #[coro::coroutine]
/// fn num(n: u32) -> Task<u32> { co_return!(n) }
///
/// assert_eq!(sync_wait(when_all((num(1), future(async { 2 })))), (1, 2));
/// let first = when_any(vec![future(std::future::ready(7)), future(std::future::ready(8))]);
/// assert_eq!(sync_wait(first), (0, 7));
/// ```
pub fn future<F>(f: F) -> Awaitable<<F as FutureChild>::Awaiter>
where
    F: FutureChild + 'static,
{
    awaitable(f.into_child_awaiter())
}

/// How [`future`] awaits a future: as `co_await!` does. Implemented for
/// every `IntoFuture` (by the interop layer). Not a public API.
#[doc(hidden)]
pub trait FutureChild {
    #[doc(hidden)]
    type Awaiter: Awaiter + 'static;
    #[doc(hidden)]
    fn into_child_awaiter(self) -> Self::Awaiter;
}

impl<E: IntoAwaiter> Awaitable<E, Local> {
    /// The child as a [`SendTask`] rather than a thread-bound [`Task`]: its
    /// hidden frame may be sent to and finish on another thread (and a
    /// combinator of `SendTask` children is itself one). The awaitable, its
    /// awaiter and its value are `Send`.
    ///
    /// ```
    /// use coro::combinators::future;
    /// use coro::{co_return, sync_wait, when_all, SendTask};
    ///
    /// #[coro::coroutine]
    /// fn num(n: u32) -> SendTask<u32> { co_return!(n) }
    ///
    /// let all = when_all((num(1), future(async { 2 }).sendable()));
    /// let handle = std::thread::spawn(move || sync_wait(all)); // `all` is `Send`
    /// assert_eq!(handle.join().unwrap(), (1, 2));
    /// ```
    pub fn sendable(self) -> Awaitable<E, Sendable>
    where
        E: Send + 'static,
        E::Awaiter: Send + 'static,
        AwaitOutput<E>: Send + 'static,
    {
        Awaitable { x: self.x, _kind: PhantomData }
    }
}

impl<E: IntoAwaiter + 'static> IntoTask for Awaitable<E, Local> {
    type Output = AwaitOutput<E>;
    type Kind = Local;
    fn into_child(self) -> Child<AwaitOutput<E>, Local> {
        local_child(self.x, AwaitableFrame)
    }
}

impl<E> IntoTask for Awaitable<E, Sendable>
where
    E: IntoAwaiter + Send + 'static,
    E::Awaiter: Send + 'static,
    AwaitOutput<E>: Send + 'static,
{
    type Output = AwaitOutput<E>;
    type Kind = Sendable;
    fn into_child(self) -> Child<AwaitOutput<E>, Sendable> {
        send_child(self.x, AwaitableFrame)
    }
}
