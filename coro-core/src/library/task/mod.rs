//! `Task<T>` and `SendTask<T>`: lazily started coroutines that produce one
//! value and can be `co_await!`ed by another coroutine, with symmetric
//! transfer both ways.
//!
//! The two share one promise, [`TaskPromise<T, K>`], whose kind `K` says
//! whether the frame may cross threads:
//!
//! | type | kind | `Send` | the coroutine's frame |
//! | --- | --- | --- | --- |
//! | [`Task<T>`] | [`Local`] | no | may hold anything (`Rc`, `RefCell` borrows, ...) across `co_await!` |
//! | [`SendTask<T>`] | [`Sendable`] | if `T: Send` | must be `Send`: every value held across a suspension point is `Send` (checked when the coroutine is defined) |
//!
//! A coroutine's frame type is only known inside its ramp, so the check is
//! made there, through [`FromReturnObject`], which sees the body's type: the
//! frame's contents decide, as for `async` blocks.

pub(crate) mod by_ref;
pub(crate) mod map;
pub(crate) mod scope;
pub(crate) mod send_shared;
pub(crate) mod shared;

use core::fmt;
use core::marker::PhantomData;
use core::mem::{ManuallyDrop, MaybeUninit};
use core::ptr::{addr_of, NonNull};
use core::sync::atomic::{AtomicBool, Ordering};
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::thread::{self, Thread};

use crate::home::hop::HopSlot;
use crate::home::{DriverScope, HomeThread};
use crate::language::awaiter::{AwaitSuspend, Awaiter, CancelOutcome, IntoAwaiter, SuspendOutcome};
use crate::language::frame::{cancel_frame, Header, VTable};
use crate::language::gate::{Gate, Release};
use crate::language::handle::{noop_coroutine, CoroutineHandle, OwningHandle, UniqueCoroutineHandle};
use crate::language::point::SuspendPoint;
use crate::language::promise::{
    AwaitDirect, CoroutineTraits, FromReturnObject, Payload, Promise, ReturnValue, ReturnsValue, ThreadAffinity,
};
use crate::language::suspend::SuspendAlways;
use crate::library::thread_bound::{ThreadBound, Unsent};

/// A lazily started coroutine producing a `T` (cppcoro's `task<T>`); stays
/// on the thread that awaits it (not `Send`). See [`SendTask`] for one that
/// may move between threads.
///
/// Nothing runs until the task is awaited (`co_await!(task)`) or driven by
/// [`sync_wait`]. Awaiting transfers control to the task symmetrically, and
/// the task's final suspend point transfers back to its awaiter, so chains
/// of any depth run in constant stack. A panic in the task reaches the
/// awaiting coroutine at its `co_await!`, with the original payload.
///
/// ```
/// use coro::{co_await, co_return, sync_wait, Task};
///
/// #[coro::coroutine]
/// fn answer() -> Task<u32> { co_return!(42) }
///
/// #[coro::coroutine]
/// fn twice() -> Task<u32> {
///     let a = co_await!(answer());
///     co_return!(2 * a)
/// }
///
/// assert_eq!(sync_wait(twice()), 84);
/// ```
pub struct Task<T> {
    /// First, so that the "cannot be sent between threads" error names it.
    _thread_bound: ThreadBound<Task<T>, SendTask<T>>,
    inner: Unsent<Owned<T, Local>>,
}

/// A [`Task`] that may be sent to, awaited on, and finish on another thread.
///
/// Defining a coroutine that returns `SendTask<T>` requires its frame to be
/// `Send`: a value that is not `Send` (an `Rc`, a `RefCell` guard) held
/// across a suspension point is a compile error at the coroutine.
///
/// ```
/// use coro::{co_await, co_return, sync_wait, SendTask};
///
/// #[coro::coroutine]
/// fn square(x: u64) -> SendTask<u64> { co_return!(x * x) }
///
/// #[coro::coroutine]
/// fn sum_of_squares(n: u64) -> SendTask<u64> {
///     let mut s = 0;
///     for i in 0..n { s += co_await!(square(i)); }
///     co_return!(s)
/// }
///
/// let task = sum_of_squares(4);
/// let s = std::thread::spawn(move || sync_wait(task)).join().unwrap();
/// assert_eq!(s, 0 + 1 + 4 + 9);
/// ```
///
/// A `SendTask` may not borrow its parameters (its frame must be
/// `'static`; see "Dropping" for why): pass what it needs owned or in an
/// `Arc`.
///
/// # Dropping
///
/// Dropping a `SendTask` that never started destroys its frame, as does
/// dropping one that has finished. One that was started (awaited, or
/// polled as a future) and has not finished may be resumed by another
/// thread at that moment, so its owner — the awaiting coroutine being
/// destroyed, a `when_any` that lost interest in it, an executor dropping
/// its future — **cancels** it through the frame's gate:
///
/// - suspended on an awaiter that withdraws its registration
///   ([`Awaiter::await_cancel`]: every `coro::sync` wait, a future whose
///   waker has not fired, an awaited `SendTask` or combinator, a shared
///   task, a cancellation token, a pool join, a scheduler or pool hop), it
///   is destroyed **at once**,
///   before the owner's drop returns (its live locals dropped);
/// - suspended on an awaiter that cannot withdraw (a resumption already
///   granted, a hand-written awaiter without
///   `await_cancel`), the next resumption destroys it instead of running
///   it, on the resuming thread (what its awaiter was granted — a lock, a
///   permit, a channel value — handed on);
/// - running, it runs on until it next suspends, which cancels it as above;
///   one that finishes first frees itself at its final suspend point,
///   dropping its result (a panic in it, or in its locals' drops then, is
///   dropped too).
///
/// No resume races the destruction, and a panic from a local's drop during
/// it is dropped (the owner going away is not the task's caller).
///
/// The example below is the third case: a task running on a pool worker
/// when its owner goes away, cancelled as it next suspends.
///
/// ```
/// use std::sync::{mpsc, Arc};
/// use std::future::{Future, IntoFuture};
/// use std::task::{Context, Waker};
/// use coro::{co_await, co_return, SendTask, ThreadPool};
///
/// struct Guard(mpsc::Sender<&'static str>);
/// impl Drop for Guard {
///     fn drop(&mut self) { self.0.send("dropped").unwrap(); }
/// }
///
/// #[coro::coroutine]
/// fn slow(pool: Arc<ThreadPool>, running: mpsc::Sender<()>, go: mpsc::Receiver<()>, g: Guard) -> SendTask<()> {
///     co_await!(pool.schedule());
///     running.send(()).unwrap();
///     go.recv().unwrap();          // blocks its worker
///     co_await!(pool.schedule());  // this suspension destroys it
///     g.0.send("ran on").unwrap(); // not reached
///     co_return!(())
/// }
///
/// let pool = Arc::new(ThreadPool::new(1));
/// let (running_tx, running_rx) = mpsc::channel();
/// let (go_tx, go_rx) = mpsc::channel();
/// let (log_tx, log_rx) = mpsc::channel();
/// let mut fut = Box::pin(slow(pool.clone(), running_tx, go_rx, Guard(log_tx)).into_future());
/// let _ = fut.as_mut().poll(&mut Context::from_waker(Waker::noop()));
/// running_rx.recv().unwrap();      // it runs on the worker now
/// drop(fut);                       // not freed under the worker: cancel requested
/// go_tx.send(()).unwrap();         // it goes on, suspends, and is destroyed
/// assert_eq!(log_rx.recv().unwrap(), "dropped"); // not "ran on"
/// ```
///
/// ```compile_fail
/// use std::rc::Rc;
/// use coro::{co_await, co_return, SendTask, SuspendNever};
///
/// #[coro::coroutine]
/// fn holds_rc() -> SendTask<u32> {
///     let r = Rc::new(1);
///     co_await!(SuspendNever);   // `r` is held across this suspension point
///     co_return!(*r)
/// }
/// ```
pub struct SendTask<T> {
    inner: Unsent<Owned<T, Sendable>>,
}

// SAFETY: a `SendTask` can only be made by a ramp whose frame (body and
// promise) is `Send` (see its `FromReturnObject` impl), and `T: Send`; the
// frame is owned by the task and used only through `&mut self` or by the one
// coroutine awaiting it.
unsafe impl<T: Send> Send for SendTask<T> {}

/// Marks a [`TaskPromise`] whose frames stay on one thread ([`Task`]).
///
/// ```
/// use coro::task::{Local, TaskKind, TaskPromise};
/// use coro::{CoroutineTraits, Task};
///
/// let _: <Task<u8> as CoroutineTraits>::Promise = TaskPromise::<u8, Local>::default();
/// assert!(Local::THREAD_BOUND);
/// ```
#[derive(Debug)]
pub enum Local {}

/// Marks a [`TaskPromise`] whose frames may cross threads ([`SendTask`]).
///
/// ```
/// use coro::task::{Sendable, TaskKind, TaskPromise};
/// use coro::{CoroutineTraits, SendTask};
///
/// let _: <SendTask<u8> as CoroutineTraits>::Promise = TaskPromise::<u8, Sendable>::default();
/// assert!(!Sendable::THREAD_BOUND);
/// ```
#[derive(Debug)]
pub enum Sendable {}

/// Whether a task kind's coroutines are bound to the thread that created them.
///
/// Implemented by [`Local`] and [`Sendable`] only (sealed).
/// ```
/// use coro::task::{Local, Sendable, TaskKind};
///
/// fn thread_bound<K: TaskKind>() -> bool { K::THREAD_BOUND }
/// assert!(thread_bound::<Local>());     // `Task`
/// assert!(!thread_bound::<Sendable>()); // `SendTask`
/// ```
pub trait TaskKind: sealed::Sealed {
    /// `true` for [`Local`]: resuming on another thread panics, leaving the
    /// frame untouched.
    const THREAD_BOUND: bool;
    /// The task promise's [`Promise::AFFINITY`].
    #[doc(hidden)]
    const AFFINITY: ThreadAffinity;
    /// What the promise keeps for its kind: the home thread of a [`Local`]
    /// task, the ownership word of a [`Sendable`] one.
    #[doc(hidden)]
    type State: fmt::Debug + 'static;
    #[doc(hidden)]
    fn new_state() -> Self::State;
    /// The ownership word, for the kind that has one ([`Sendable`]).
    #[doc(hidden)]
    fn flight(state: &Self::State) -> Option<&Flight>;
    /// The same, mutably (before the task starts).
    #[doc(hidden)]
    fn flight_mut(state: &mut Self::State) -> Option<&mut Flight>;
    /// Refuses a resume on a foreign thread, for the kind that is
    /// thread-bound ([`Local`]).
    #[doc(hidden)]
    fn check_home(state: &Self::State);
    /// The kind of a task made of a task of this kind and one of kind `K`
    /// (a combinator of both): [`Local`] if either is. Not a public API.
    #[doc(hidden)]
    type And<K: TaskKind>: TaskKind;
}

impl TaskKind for Local {
    const THREAD_BOUND: bool = true;
    const AFFINITY: ThreadAffinity = ThreadAffinity::THREAD_BOUND;
    type State = LocalState;
    #[inline]
    fn new_state() -> LocalState {
        LocalState(HomeThread::current())
    }
    #[inline(always)]
    fn flight(_: &LocalState) -> Option<&Flight> {
        None
    }
    #[inline(always)]
    fn flight_mut(_: &mut LocalState) -> Option<&mut Flight> {
        None
    }
    #[inline(always)]
    fn check_home(state: &LocalState) {
        state.0.check("Task");
    }
    type And<K: TaskKind> = Local;
}

impl TaskKind for Sendable {
    const THREAD_BOUND: bool = false;
    // SAFETY: a `TaskPromise<T, Sendable>` frame only runs once it has been
    // made into a `SendTask` or `SendSharedTask`, whose `FromReturnObject`
    // impls require the frame to be `Send` (`SendFrame`); any other return
    // object built from its `TaskReturn` cannot reach the frame and drops it
    // unstarted.
    const AFFINITY: ThreadAffinity = unsafe { ThreadAffinity::any_thread() };
    type State = Flight;
    #[inline]
    fn new_state() -> Flight {
        Flight { gate: Gate::new(), reports_continuation: false }
    }
    #[inline(always)]
    fn flight(state: &Flight) -> Option<&Flight> {
        Some(state)
    }
    #[inline(always)]
    fn flight_mut(state: &mut Flight) -> Option<&mut Flight> {
        Some(state)
    }
    #[inline(always)]
    fn check_home(_: &Flight) {}
    type And<K: TaskKind> = K;
}

/// A [`Task`]'s home thread, checked before every resume. Not a public API.
#[doc(hidden)]
#[derive(Debug)]
pub struct LocalState(HomeThread);

/// Who owns a started [`SendTask`]'s frame, decided atomically between its
/// owner (the `SendTask`'s awaiter, a combinator, a task future), the
/// threads that park and resume it and the thread that finishes it: a
/// `SendTask` may be running on another thread when its owner goes away.
/// Its word is the frame's [`Gate`] (`language/gate.rs`, whose module docs
/// give the states): the owner phase
///
/// - `IDLE`: not started by an owner that may go away (unstarted, or driven
///   by `sync_wait` or a shared task, which wait for it);
/// - `AWAITED`: started; the owner may still go away;
/// - `DONE`: the final awaiter has claimed the continuation (with
///   `Release`, after the result is stored): the frame is the owner's to
///   read and free;
/// - `ORPHANED`: the owner went away while it was `AWAITED`, and the frame
///   could not be destroyed at once;
///
/// and, beside it, whether the frame is parked on an awaiter whose
/// registration the owner can withdraw. The owner going away destroys a
/// parked task at once when its awaiter withdraws
/// ([`Awaiter::await_cancel`]), else the resumption already granted
/// destroys it in place of running it; a running one cancels itself at its
/// next suspension, and one that reaches its final suspend point first is
/// destroyed there instead of resuming the (gone) continuation. Not a
/// public API.
#[doc(hidden)]
#[derive(Debug)]
pub struct Flight {
    gate: Gate,
    /// Whether an async backtrace may walk to the continuation: only if it
    /// is the awaiting coroutine itself, a `Sendable` frame that cannot be
    /// freed before this task transfers to it. A stand-in (a hop, a
    /// combinator's block, a future's waiter) may be freed by the owner
    /// going away while this task still runs (detached), and a hop leads
    /// to a thread-bound coroutine that its own thread may be destroying.
    /// Written before the task starts, by its owner.
    reports_continuation: bool,
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for super::Local {}
    impl Sealed for super::Sendable {}
}

enum Outcome<T> {
    Empty,
    Value(T),
    Panicked(Payload),
}

/// The promise of [`Task`] (`K` = [`Local`]) and [`SendTask`] (`K` = [`Sendable`]).
///
/// `#[coro::coroutine]` finds it through [`CoroutineTraits`](crate::CoroutineTraits);
/// it is not used directly.
/// ```
/// use coro::task::TaskPromise;
/// use coro::{CoroutineTraits, Task};
///
/// let _: <Task<String> as CoroutineTraits>::Promise = TaskPromise::<String>::default();
/// ```
pub struct TaskPromise<T, K: TaskKind = Local> {
    outcome: Outcome<T>,
    pub(crate) continuation: Option<CoroutineHandle>,
    /// A `Local` task's home thread, checked before every resume; a
    /// `Sendable` one's ownership word ([`Flight`]), used only through
    /// [`flight`] (the owner and the finishing thread may race on it).
    state: K::State,
    _kind: PhantomData<K>,
}

impl<T, K: TaskKind> Default for TaskPromise<T, K> {
    fn default() -> Self {
        TaskPromise { outcome: Outcome::Empty, continuation: None, state: K::new_state(), _kind: PhantomData }
    }
}

/// The ownership word of a `SendTask`'s frame (`None` for a `Task`),
/// reached without a reference to the whole promise: the owner's thread and
/// the finishing thread use it at the same time.
///
/// # Safety
/// `h` is a live frame of this promise type.
#[inline(always)]
unsafe fn flight<'a, T, K: TaskKind>(h: CoroutineHandle<TaskPromise<T, K>>) -> Option<&'a Gate> {
    // SAFETY: live frame of this promise type (caller); only the state is
    // borrowed, whose other field is not written once the task started.
    K::flight(unsafe { &*addr_of!((*h.promise_ptr()).state) }).map(|f| &f.gate)
}

impl<T, K: TaskKind> TaskPromise<T, K> {
    /// Takes the finished task's outcome: its value, or the payload of the
    /// panic that escaped it. The one place every task owner reads it from.
    ///
    /// # Panics
    /// If the outcome was already taken (or the task has not finished).
    pub(crate) fn take_outcome(&mut self) -> Result<T, Payload> {
        match core::mem::replace(&mut self.outcome, Outcome::Empty) {
            Outcome::Value(v) => Ok(v),
            Outcome::Panicked(p) => Err(p),
            Outcome::Empty => panic!("task result taken twice, or before the task finished"),
        }
    }

    /// Takes the finished task's value, or resumes the panic that escaped
    /// it here: what awaiting, `sync_wait` and `.await` give.
    ///
    /// # Panics
    /// As [`take_outcome`](Self::take_outcome), or with the task's panic.
    pub(crate) fn take_result(&mut self) -> T {
        self.take_outcome().unwrap_or_else(|p| resume_unwind(p))
    }
}

impl<T, K: TaskKind> fmt::Debug for TaskPromise<T, K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let outcome = match self.outcome {
            Outcome::Empty => "empty",
            Outcome::Value(_) => "value",
            Outcome::Panicked(_) => "panicked",
        };
        f.debug_struct("TaskPromise").field("outcome", &outcome).finish()
    }
}

/// What a task's `get_return_object` makes: the owned frame, before the
/// ramp turns it into a [`Task`] or [`SendTask`] (and checks the frame).
///
/// Plumbing of [`TaskPromise::get_return_object`](crate::Promise::get_return_object); not used directly.
pub struct TaskReturn<T, K: TaskKind> {
    inner: Owned<T, K>,
}

impl<T, K: TaskKind> fmt::Debug for TaskReturn<T, K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskReturn").finish_non_exhaustive()
    }
}

impl<T, F> FromReturnObject<TaskReturn<T, Local>, F> for Task<T> {
    fn from_return_object(ro: TaskReturn<T, Local>) -> Self {
        Task { _thread_bound: PhantomData, inner: Unsent::new(ro.inner) }
    }
}

/// The `Send` check of a [`SendTask`] coroutine's frame (any `Send` type).
/// Not a public API.
///
/// rustc (1.95) does not show this trait's message for a coroutine's frame:
/// it reports a `Send` failure at the value inside the frame that is not
/// `Send`, under its own "future cannot be sent between threads safely",
/// with a note pointing at that value and the `co_await!` or `co_yield!`
/// it is held across. The macro names the frame's info type `coroutine_<name>`, so
/// that the error's "within `Framed<.., coroutine_<name>>`" says whose
/// frame it is (tests/ui/send_*_holding_rc.stderr).
#[diagnostic::on_unimplemented(
    message = "a `SendTask` coroutine's frame must be `Send`",
    label = "this coroutine holds something that is not `Send` across a suspension point",
    note = "return `Task<T>` instead (it stays on one thread), or make sure no `Rc`, `RefCell` guard or other \
            non-`Send` value is alive across a `co_await!`"
)]
#[doc(hidden)]
pub trait SendFrame {}
impl<F: Send> SendFrame for F {}

/// The frame must be `Send` and `'static`: a started `SendTask` whose owner
/// goes away while it runs on another thread runs on to its next
/// suspension, or may wait for a resumption already granted (see
/// "Dropping" above), so it must not borrow anything its owner's scope
/// could free meanwhile. A `SendTask` cannot borrow its parameters (pass
/// them owned, or in an `Arc`); a [`Task`], destroyed at once when dropped,
/// can.
impl<T: Send, F: SendFrame + 'static> FromReturnObject<TaskReturn<T, Sendable>, F> for SendTask<T> {
    fn from_return_object(ro: TaskReturn<T, Sendable>) -> Self {
        SendTask { inner: Unsent::new(ro.inner) }
    }
}

impl<T, K: TaskKind> Promise for TaskPromise<T, K> {
    type ReturnObject = TaskReturn<T, K>;
    type InitialSuspend = SuspendAlways;
    type FinalSuspend = FinalAwaiter<T, K>;
    type Return = ReturnsValue;
    type Await = AwaitDirect;

    unsafe fn get_return_object(&mut self) -> TaskReturn<T, K> {
        // SAFETY: the task is the frame's only owner; it is resumed only by
        // whoever awaits it (one at a time) through `TaskAwaiter`.
        let handle = unsafe { UniqueCoroutineHandle::from_raw(CoroutineHandle::from_promise(self)) };
        TaskReturn { inner: Owned::new(handle) }
    }
    fn initial_suspend(&mut self) -> SuspendAlways {
        SuspendAlways
    }
    fn final_suspend(&mut self) -> FinalAwaiter<T, K> {
        FinalAwaiter { continuation: self.continuation.take(), _task: PhantomData }
    }
    fn unhandled_exception(&mut self, payload: Payload) {
        self.outcome = Outcome::Panicked(payload);
    }
    fn continuation(&self) -> Option<CoroutineHandle> {
        match K::flight(&self.state) {
            // A stand-in: it may be gone (see `Flight`).
            Some(flight) if !flight.reports_continuation => None,
            _ => self.continuation,
        }
    }
    const AFFINITY: ThreadAffinity = K::AFFINITY;
    /// A `SendTask`'s frame is gated: its owner may go away while another
    /// thread may resume it (see [`Flight`]).
    const GATED: bool = !K::THREAD_BOUND;
    #[inline(always)]
    fn gate(&self) -> Option<&Gate> {
        K::flight(&self.state).map(|f| &f.gate)
    }
    #[inline(always)]
    fn before_resume(&self) {
        K::check_home(&self.state);
    }
    /// Nothing to drop unless the outcome holds a panic payload or a value
    /// with drop glue (the continuation is a plain handle; the state has
    /// no drop glue for either kind).
    #[inline(always)]
    fn drop_is_trivial(&self) -> bool {
        const { assert!(!core::mem::needs_drop::<Option<CoroutineHandle>>()) };
        !core::mem::needs_drop::<T>()
            && !core::mem::needs_drop::<K::State>()
            && !matches!(self.outcome, Outcome::Panicked(_))
    }
}

impl<T, K: TaskKind> ReturnValue<T> for TaskPromise<T, K> {
    #[inline]
    fn return_value(&mut self, value: T) {
        if let Outcome::Empty = self.outcome {
            // Nothing to drop: no drop glue on the resume path.
            // SAFETY: overwriting `Empty`, which owns nothing.
            unsafe { core::ptr::write(&mut self.outcome, Outcome::Value(value)) }
        } else {
            replace_outcome(&mut self.outcome, Outcome::Value(value));
        }
    }
}

/// Assigns an outcome over one that is not `Empty` (which the lowering never
/// does), dropping the old one; kept out of the resume path.
#[cold]
#[inline(never)]
fn replace_outcome<T>(slot: &mut Outcome<T>, outcome: Outcome<T>) {
    *slot = outcome;
}

impl<T> CoroutineTraits for Task<T> {
    type Promise = TaskPromise<T, Local>;
}

impl<T> CoroutineTraits for SendTask<T> {
    type Promise = TaskPromise<T, Sendable>;
}

/// The final awaiter of a task: transfers to the awaiting coroutine, or
/// returns to the resumer if there is none.
///
/// A [`SendTask`] whose owner went away while it ran (see [`SendTask`],
/// "Dropping") has nobody to transfer to: its final awaiter does not
/// suspend, so the frame is destroyed on the spot, on the thread that
/// finished it.
///
/// The promise's [`final_suspend`](crate::Promise::final_suspend) awaiter, for
/// [`Task`] and [`SendTask`]; not used directly.
pub struct FinalAwaiter<T, K: TaskKind = Local> {
    continuation: Option<CoroutineHandle>,
    _task: PhantomData<fn() -> (T, K)>,
}

impl<T, K: TaskKind> fmt::Debug for FinalAwaiter<T, K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FinalAwaiter").field("continuation", &self.continuation).finish()
    }
}

impl<T, K: TaskKind> Awaiter for FinalAwaiter<T, K> {
    type Output = ();
    fn await_ready(&mut self) -> bool {
        false
    }
    unsafe fn await_suspend(&mut self, me: CoroutineHandle) -> impl AwaitSuspend {
        let next = self.continuation.unwrap_or_else(noop_coroutine);
        // SAFETY: the frame calls this with its own, live handle; its
        // promise is a `TaskPromise<T, K>`.
        if let Some(flight) = unsafe { flight(me.cast::<TaskPromise<T, K>>()) } {
            // The claim is the last use of the frame: once `DONE` is seen,
            // the owner may free it. `Release`: the result is visible to
            // it; `Acquire`: what the owner did before going away is
            // visible here.
            if flight.finish() {
                // Nobody will take the result: destroyed at once.
                return SuspendOutcome::Resume;
            }
        }
        SuspendOutcome::Transfer(next)
    }
    fn await_resume(self) {}
}

/// The owned frame of a task that is not shared: held by [`Task`] and
/// [`SendTask`], their awaiter, the combinators and task futures.
///
/// Dropping it destroys the frame, except for a `SendTask` that was started
/// ([`set_continuation`](Self::set_continuation)) and has not finished:
/// that may be resumed by another thread, so it is cancelled through its
/// gate instead ([`Flight`]): destroyed at once if its awaiter withdraws,
/// else by its granted resumption or at its next suspension.
pub(crate) struct Owned<T, K: TaskKind> {
    handle: ManuallyDrop<OwningHandle<TaskPromise<T, K>>>,
}

impl<T, K: TaskKind> Drop for Owned<T, K> {
    #[inline]
    fn drop(&mut self) {
        if K::THREAD_BOUND {
            // SAFETY: dropped once; a `Local` task runs on this thread
            // only, so it is not running now.
            unsafe { ManuallyDrop::drop(&mut self.handle) }
        } else {
            self.release_in_place();
        }
    }
}

impl<T, K: TaskKind> Owned<T, K> {
    pub(crate) fn new(handle: UniqueCoroutineHandle<TaskPromise<T, K>>) -> Self {
        Owned { handle: ManuallyDrop::new(OwningHandle::new(handle)) }
    }

    pub(crate) fn handle(&self) -> CoroutineHandle<TaskPromise<T, K>> {
        self.handle.handle()
    }

    pub(crate) fn is_ready(&self) -> bool {
        self.handle.done()
    }

    /// Before the task starts: the stand-in its final awaiter transfers
    /// to (a `SendTask`'s async backtrace stops there; see
    /// [`set_awaiting`](Self::set_awaiting) for the awaiting coroutine
    /// itself). From now on a `SendTask` is in flight: if this owner goes
    /// away before it finishes, it is detached, and will not resume `cont`.
    pub(crate) fn set_continuation(&mut self, cont: CoroutineHandle) {
        // SAFETY: unstarted and owned here: nobody else uses the promise.
        unsafe { self.handle.promise_mut() }.continuation = Some(cont);
        // SAFETY: a live frame of this promise type, unstarted and owned
        // here.
        if let Some(flight) = unsafe { flight(self.handle.handle()) } {
            // SAFETY: as above.
            unsafe { flight.start_awaited() };
        }
    }

    /// As [`set_continuation`](Self::set_continuation), `awaiting` being
    /// the awaiting coroutine itself rather than a stand-in: an async
    /// backtrace of a `SendTask` walks on to it (see [`Flight`]).
    pub(crate) fn set_awaiting(&mut self, awaiting: CoroutineHandle) {
        self.set_continuation(awaiting);
        // SAFETY: unstarted and owned here: nobody else uses the promise.
        if let Some(flight) = K::flight_mut(unsafe { &mut self.handle.promise_mut().state }) {
            flight.reports_continuation = true;
        }
    }

    /// The finished task's value or panic payload.
    pub(crate) fn take_outcome(&mut self) -> Result<T, Payload> {
        debug_assert!(self.is_ready());
        // SAFETY: the task is done, so not running; this is the only reference.
        unsafe { self.handle.promise_mut() }.take_outcome()
    }

    fn take_result(&mut self) -> T {
        // SAFETY: the task is done, so not running; this is the only reference.
        unsafe { self.handle.promise_mut() }.take_result()
    }

    /// The frame, owned without the detaching rule (for shared tasks and
    /// detached launches, which never give a started task up).
    pub(crate) fn into_handle(self) -> UniqueCoroutineHandle<TaskPromise<T, K>> {
        let mut me = ManuallyDrop::new(self);
        // SAFETY: `me` is never dropped, so the handle is taken once.
        unsafe { ManuallyDrop::take(&mut me.handle) }.into_unique()
    }

    /// Gives the task up (what dropping does); returns whether it will
    /// never resume the continuation it was given: `true` if it never
    /// started, was destroyed before finishing (at once, or by the
    /// resumption already granted to it), or was detached (it destroys
    /// itself at its next suspension); `false` if it has transferred, or is
    /// transferring, to it. An owner that gave a stand-in holding a
    /// reference frees that reference when `true`.
    pub(crate) fn release(self) -> bool {
        let mut me = ManuallyDrop::new(self);
        me.release_in_place()
    }

    fn release_in_place(&mut self) -> bool {
        // SAFETY: a live frame of this promise type: only this owner frees
        // it, unless it says `ORPHANED` below.
        if let Some(flight) = unsafe { flight(self.handle.handle()) } {
            // `Acquire`: after `DONE`, the finishing thread's writes (the
            // result, the frame's final state) are visible.
            match flight.release() {
                Release::Free => {}
                // Started and not finished, running or being parked: it
                // cancels itself at its next suspension, or is destroyed
                // by whoever resumes or finishes it.
                Release::Detached => return true,
                Release::Cancel => {
                    // SAFETY: the gate of this live frame, suspended at a
                    // body point (`PARKED`), and we hold `CANCELLING`. The
                    // handle is not used again: the frame is destroyed
                    // now or by the resumption already granted.
                    unsafe { cancel_frame(flight, self.handle.handle().header()) };
                    return true;
                }
            }
        }
        let finished = self.handle.done();
        // SAFETY: dropped once (here, or never after `release`); the frame
        // is not running: unstarted, at its final point (a `DONE` claim is
        // the finishing thread's last use of it), or a `Local` task, which
        // runs on this thread only.
        unsafe { ManuallyDrop::drop(&mut self.handle) };
        !finished
    }

    fn sync_wait(mut self) -> T {
        if !self.is_ready() {
            // This thread drives the task: coroutines it runs that suspend on
            // a Rust future come back to this thread's queue when woken.
            let _driver = DriverScope::this_thread();
            let waiter = SyncWaiter::new();
            let h = self.handle.handle();
            // SAFETY: the task is owned here and suspended at its initial
            // point; the waiter lives on this stack until `done` is set,
            // which is the last thing the task's final awaiter does with it.
            // (Not `set_continuation`: this owner waits for the task, so it
            // stays `IDLE`.)
            unsafe {
                h.promise().continuation = Some(waiter.handle());
                h.resume();
            }
            // A thread-bound task only runs here: if it is stuck on a
            // local primitive, `wait` can tell that nothing can wake it.
            waiter.wait(if K::THREAD_BOUND { Some(h.erase()) } else { None });
        }
        self.take_result()
    }
}

macro_rules! task_common {
    ($task:ident, $kind:ty) => {
        impl<T> $task<T> {
            /// The owned frame (used by `SharedTask`, the combinators and
            /// detached launch).
            pub(crate) fn into_handle(self) -> UniqueCoroutineHandle<TaskPromise<T, $kind>> {
                self.inner.into_inner().into_handle()
            }

            /// The owned frame, with the detaching rule (see [`Owned`]).
            pub(crate) fn into_owned(self) -> Owned<T, $kind> {
                self.inner.into_inner()
            }

            /// `true` once the task has finished (its result is ready).
            ///
            /// ```
            /// use coro::{co_return, SendTask, Task};
            ///
            /// #[coro::coroutine]
            /// fn a() -> Task<u8> { co_return!(1) }
            /// #[coro::coroutine]
            /// fn b() -> SendTask<u8> { co_return!(2) }
            ///
            /// assert!(!a().is_ready() && !b().is_ready()); // lazy: nothing ran yet
            /// ```
            pub fn is_ready(&self) -> bool {
                self.inner.is_ready()
            }

            /// Where the task is suspended.
            ///
            /// ```
            /// use coro::handle::SuspendKind;
            /// use coro::{co_return, SendTask, Task};
            ///
            /// #[coro::coroutine]
            /// fn a() -> Task<u8> { co_return!(1) }
            /// #[coro::coroutine]
            /// fn b() -> SendTask<u8> { co_return!(2) }
            ///
            /// let (a, b) = (a(), b());
            /// assert_eq!(a.suspend_point().unwrap().kind(), SuspendKind::Initial); // not started
            /// assert_eq!(b.suspend_point().unwrap().function(), "b");
            /// ```
            pub fn suspend_point(&self) -> Option<&'static SuspendPoint> {
                self.inner.handle.suspend_point()
            }
        }

        impl<T> fmt::Debug for $task<T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($task)).field("handle", &self.inner.handle).finish()
            }
        }

        impl<T> IntoAwaiter for $task<T> {
            type Awaiter = TaskAwaiter<T, $kind>;
            fn into_awaiter(self) -> TaskAwaiter<T, $kind> {
                TaskAwaiter::new(self.inner.into_inner())
            }
        }

        impl<T> SyncWait for $task<T> {
            type Output = T;
            fn sync_wait(self) -> T {
                self.inner.into_inner().sync_wait()
            }
        }
    };
}

task_common!(Task, Local);
task_common!(SendTask, Sendable);

/// Awaiting a task: starts it with a symmetric transfer, resumes the awaiter
/// when it finishes.
///
/// What `co_await!(task)` uses for a [`Task`] or a [`SendTask`] (their
/// [`IntoAwaiter`](crate::IntoAwaiter)); not used directly.
pub struct TaskAwaiter<T, K: TaskKind> {
    /// Released in `drop`, which learns whether the task will still
    /// transfer to the hop.
    /// `None` only once `await_cancel` has given the task up: then the
    /// awaiter is never used again but dropped (the coroutine is destroyed
    /// in place of being resumed). An `Option` of a non-null handle: no
    /// bigger than the task, so a `Task`'s awaiter costs what it did.
    task: ManuallyDrop<Option<Owned<T, K>>>,
    /// The continuation stand-in of a thread-bound coroutine awaiting a
    /// `SendTask`, which may finish on another thread.
    hop: Hop<K>,
}

/// A [`TaskAwaiter`]'s [`HopSlot`], only for a `SendTask`'s awaiter: a
/// `Task` finishes on its awaiter's thread and is given no hop, so its
/// awaiter neither writes nor drops one (nor tests it when dropped).
struct Hop<K: TaskKind>(MaybeUninit<HopSlot>, PhantomData<K>);

impl<K: TaskKind> Hop<K> {
    #[inline(always)]
    fn new() -> Self {
        Hop(if K::THREAD_BOUND { MaybeUninit::uninit() } else { MaybeUninit::new(HopSlot::default()) }, PhantomData)
    }

    /// The slot of a `SendTask`'s awaiter.
    #[inline(always)]
    fn get(&mut self) -> &mut HopSlot {
        debug_assert!(!K::THREAD_BOUND, "a Task's awaiter has no hop");
        // SAFETY: initialised for a `SendTask`'s awaiter (`new`), the only
        // kind whose code calls this.
        unsafe { self.0.assume_init_mut() }
    }
}

impl<K: TaskKind> Drop for Hop<K> {
    #[inline(always)]
    fn drop(&mut self) {
        if !K::THREAD_BOUND {
            // SAFETY: initialised for a `SendTask`'s awaiter (`new`); dropped
            // once, here.
            unsafe { self.0.assume_init_drop() }
        }
    }
}

// SAFETY: the awaiter owns a `SendTask`'s frame, which is `Send` (see
// `SendTask`); it lives in the awaiting coroutine's frame, which decides.
unsafe impl<T: Send> Send for TaskAwaiter<T, Sendable> {}

impl<T, K: TaskKind> fmt::Debug for TaskAwaiter<T, K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskAwaiter").field("handle", &self.task.as_ref().map(Owned::handle)).finish()
    }
}

impl<T, K: TaskKind> Drop for TaskAwaiter<T, K> {
    fn drop(&mut self) {
        // SAFETY: taken once, here; `self.task` is not used afterwards.
        let task = unsafe { ManuallyDrop::take(&mut self.task) };
        let task = if K::THREAD_BOUND {
            // SAFETY: only a `SendTask`'s awaiter is ever given up early
            // (`await_cancel`), so a `Task`'s still holds its task.
            unsafe { task.unwrap_unchecked() }
        } else {
            match task {
                Some(task) => task,
                None => return, // released by `await_cancel`
            }
        };
        // Resumed, the task has transferred to its continuation; destroyed
        // while waiting for a `SendTask` running elsewhere, the awaiting
        // coroutine detaches it, and the hop it was given is never used.
        // (A `Task` is given no hop: nothing to take back.)
        if K::THREAD_BOUND {
            drop(task);
        } else if task.release() {
            self.hop.get().retract();
        }
    }
}

impl<T, K: TaskKind> TaskAwaiter<T, K> {
    /// Awaits an owned, unstarted task (what `into_awaiter` makes).
    pub(crate) fn new(task: Owned<T, K>) -> Self {
        TaskAwaiter { task: ManuallyDrop::new(Some(task)), hop: Hop::new() }
    }

    /// The task, until `await_cancel` gives it up (after which only `Drop`
    /// runs).
    #[inline(always)]
    fn task(&mut self) -> &mut Owned<T, K> {
        // SAFETY: `None` only after `await_cancel`, after which the frame
        // destroys this awaiter without calling anything else on it.
        unsafe { self.task.as_mut().unwrap_unchecked() }
    }
}

impl<T, K: TaskKind> Awaiter for TaskAwaiter<T, K> {
    type Output = T;
    #[inline]
    fn await_ready(&mut self) -> bool {
        // A `Task` is never started before it is awaited: nothing but
        // awaiting it, `sync_wait` or `into_handle` (each consuming it) can
        // resume it, and its coroutine is lazy. So it is never done here
        // (C++ asks `done()`, which is false for the same reason).
        debug_assert!(!self.task().is_ready(), "an awaited task had already run");
        false
    }
    unsafe fn await_suspend(&mut self, awaiting: CoroutineHandle) -> impl AwaitSuspend {
        // A `SendTask` may finish on another thread: a thread-bound awaiting
        // coroutine is then brought home rather than resumed there.
        // SAFETY: the frame calls this with its own, live handle.
        let continuation =
            if K::THREAD_BOUND { awaiting } else { unsafe { self.hop.get().continuation(awaiting, true) } };
        // The task is suspended at its initial point and owned by this
        // awaiter. A hop owns a reference to itself, given to the task.
        if continuation == awaiting {
            self.task().set_awaiting(continuation);
        } else {
            self.task().set_continuation(continuation);
        }
        self.task().handle()
    }
    #[inline(always)]
    fn await_resume(mut self) -> T {
        self.task().take_result()
    }
    /// The awaiting coroutine is being cancelled: the task is released
    /// through its own gate (destroyed at once if it is parked on an
    /// awaiter that withdraws, and so on down a chain of awaited tasks).
    /// `Withdrawn` unless it has already claimed the continuation to
    /// resume it.
    unsafe fn await_cancel(&mut self) -> CancelOutcome {
        if K::THREAD_BOUND {
            // A `Task` is never awaited by a gated (`Send`) frame: it is not
            // `Send`. Nothing to withdraw.
            return CancelOutcome::ResumeComing;
        }
        // Called once per suspension, and the coroutine is destroyed after
        // it, never resumed here: the task is still held.
        let Some(task) = self.task.take() else { return CancelOutcome::Withdrawn };
        if task.release() {
            self.hop.get().retract();
            CancelOutcome::Withdrawn
        } else {
            CancelOutcome::ResumeComing
        }
    }
}

/// Something [`sync_wait`] can drive: [`Task`] (by value, or by `&mut`,
/// which keeps the result in it: see [`TaskRefAwaiter`](crate::task::TaskRefAwaiter)), [`SendTask`], the
/// shared tasks [`SharedTask`](crate::SharedTask) and
/// [`SendSharedTask`](crate::SendSharedTask) (by value or by reference),
/// and the combinators [`when_all`](crate::when_all),
/// [`when_all_ready`](crate::when_all_ready) and [`when_any`](crate::when_any)
/// (nested or not), which give what `co_await!` of them would.
///
/// ```
/// use coro::task::SyncWait;
/// use coro::{co_return, SendTask};
/// #[coro::coroutine]
/// fn seven() -> SendTask<i32> { co_return!(7) }
/// assert_eq!(seven().sync_wait(), 7);
/// ```
#[diagnostic::on_unimplemented(
    message = "`sync_wait` cannot drive `{Self}`",
    label = "not a task, a shared task or a combinator",
    note = "`sync_wait` takes a `Task`, a `SendTask`, a shared task (or a reference to one), or a `when_all`, \
            `when_all_ready` or `when_any`; to wait for another awaitable or a future, wrap it in a task \
            coroutine: `#[coro::coroutine] fn wrapped(x: X) -> Task<T> {{ co_return!(co_await!(x)) }}`"
)]
pub trait SyncWait {
    /// The value produced.
    type Output;
    /// Runs to completion on the current thread.
    ///
    /// ```
    /// use coro::task::SyncWait;
    /// use coro::{co_return, SharedTask};
    ///
    /// #[coro::coroutine]
    /// fn name() -> SharedTask<String> { co_return!("coro".into()) }
    ///
    /// let s = name();
    /// assert_eq!((&s).sync_wait(), "coro"); // by reference: keeps `s`
    /// assert_eq!(s.sync_wait(), "coro");
    /// ```
    fn sync_wait(self) -> Self::Output;
}

/// Runs a task to completion on the current thread and returns its value
/// (cppcoro's `sync_wait`). If the task suspends on something that resumes
/// it from another thread, this thread sleeps until it finishes.
///
/// A panic in the task propagates from here.
///
/// ```
/// use coro::{co_return, sync_wait, Task};
/// #[coro::coroutine]
/// fn seven() -> Task<i32> { co_return!(7) }
/// assert_eq!(sync_wait(seven()), 7);
///
/// // A combinator, here one nested in another, is driven the same way.
/// use coro::when_all;
/// assert_eq!(sync_wait(when_all((when_all((seven(), seven())), seven()))), ((7, 7), 7));
/// ```
pub fn sync_wait<W, O>(task: W) -> O
where
    W: SyncWait<Output = O>,
{
    task.sync_wait()
}

/// A stand-in frame that wakes a thread blocked in `sync_wait` when the task
/// transfers to it from its final suspend point.
#[repr(C)]
struct SyncWaiter {
    header: Header,
    done: AtomicBool,
    thread: Thread,
    _pinned: PhantomData<*const ()>,
}

static SYNC_WAITER_VTABLE: VTable = VTable::stand_in(sync_waiter_resume, crate::language::frame::no_destroy);
impl SyncWaiter {
    fn new() -> Self {
        SyncWaiter {
            header: Header::stand_in(&SYNC_WAITER_VTABLE),
            done: AtomicBool::new(false),
            thread: thread::current(),
            _pinned: PhantomData,
        }
    }

    /// The stand-in's handle: resuming it wakes this thread. It must not be
    /// resumed after `self` is gone.
    fn handle(&self) -> CoroutineHandle {
        CoroutineHandle::from_header(NonNull::from(&self.header))
    }

    /// Sleeps until the stand-in has been resumed, running meanwhile the
    /// coroutines of this thread that wakers on other threads queue here
    /// (they unpark it).
    ///
    /// A panic escaping one of those (a detached task's) propagates only
    /// once the stand-in has been resumed: unwinding earlier would destroy
    /// the awaited task while another thread may be running it, and leave
    /// it to resume this stand-in on an unwound stack.
    ///
    /// `root`, the thread-bound task this thread drives, if any, is checked
    /// for a deadlock before each sleep (see [`deadlocked`]).
    fn wait(&self, root: Option<CoroutineHandle>) {
        let mut panic = None;
        while !self.done.load(Ordering::Acquire) {
            let woken = match catch_unwind(AssertUnwindSafe(crate::home::resume_woken)) {
                Ok(n) => n,
                Err(p) => {
                    panic.get_or_insert(p);
                    1
                }
            };
            if woken == 0 && !self.done.load(Ordering::Acquire) {
                if let (Some(root), None) = (root, &panic) {
                    deadlocked(root);
                }
                thread::park();
            }
        }
        if let Some(p) = panic {
            resume_unwind(p);
        }
    }
}

/// Panics if `root`, the thread-bound task this thread is about to sleep
/// for in `sync_wait`, can never be woken: it (or a task it awaits, through
/// a chain of direct `co_await!`s of tasks) is queued on a
/// `coro::sync::local` primitive, this thread has no granted waiter left to
/// resume, and nothing can post a wake-up to this thread's queue. Only this
/// thread can release a local primitive (it is not `Sync`, so no other
/// thread can reach it while a waiter borrows it), and this thread is about
/// to block.
///
/// Conservative by construction: anything else the task could be waiting
/// for (a combinator's other branch, a future, a thread-safe primitive, a
/// `SendTask` on another thread, a hand-written awaiter) either breaks the
/// chain of awaiting tasks or holds this thread's wake-up queue, and then
/// nothing is reported.
fn deadlocked(root: CoroutineHandle) {
    if !crate::library::sync::ready::is_idle() || !crate::home::nothing_can_post_here() {
        return;
    }
    // SAFETY: `root` is the suspended thread-bound task this `sync_wait`
    // owns; this thread is blocked here, so nothing of it runs below us.
    let Some(leaf) = (unsafe { crate::library::sync::waiter::local_deadlock(root) }) else { return };
    // SAFETY: the leaf and the tasks awaiting it are suspended (above).
    let backtrace = unsafe { leaf.async_backtrace() };
    let at = backtrace.frames().first().map(|p| p.to_string()).unwrap_or_default();
    panic!(
        "sync_wait: deadlock: the task waits at {at} on a coro::sync::local primitive that nothing can release \
         (only this thread could, and it is blocked in sync_wait with no other wake-up pending)\n\
         async backtrace:\n{backtrace}"
    );
}

/// Drives one awaiter from a thread that is no coroutine (the shared tasks'
/// `sync_wait`): a [`SyncWaiter`] on this stack stands for the awaiting
/// coroutine, and this thread sleeps until the awaiter resumes it.
pub(crate) fn sync_wait_awaiter<A: Awaiter>(awaiter: A) -> A::Output {
    // Declared before the awaiter, so dropped after it: an awaiter that is
    // dropped while registered (a panic) unregisters the stand-in first.
    let waiter = SyncWaiter::new();
    let mut awaiter = awaiter;
    let _driver = DriverScope::this_thread();
    if !awaiter.await_ready() {
        // SAFETY: the handle stands for a suspended awaiting coroutine: it
        // stays valid, and the awaiter stays on this stack unmoved, until
        // `await_resume` or the awaiter's drop, both after the stand-in has
        // been resumed (`wait`) or the awaiter has unregistered it (unwind).
        let outcome = unsafe { awaiter.await_suspend(waiter.handle()) }.into_outcome();
        match outcome {
            SuspendOutcome::Suspend => {}
            SuspendOutcome::Resume => waiter.done.store(true, Ordering::Relaxed),
            // SAFETY: an awaiter hands out a handle that the awaiting
            // coroutine may resume now (C++ symmetric transfer): this thread
            // is that coroutine.
            SuspendOutcome::Transfer(next) => unsafe { next.resume() },
        }
        waiter.wait(None);
    }
    awaiter.await_resume()
}

unsafe fn sync_waiter_resume(h: NonNull<Header>) -> Option<NonNull<Header>> {
    // SAFETY: only `sync_wait` builds frames with this vtable; the header is
    // the first field of a live `SyncWaiter`.
    let waiter = unsafe { &*h.cast::<SyncWaiter>().as_ptr() };
    let thread = waiter.thread.clone();
    waiter.done.store(true, Ordering::Release);
    // `waiter` may be gone now: only the cloned thread handle is used.
    thread.unpark();
    None
}
