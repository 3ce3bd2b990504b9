//! `Task<T>`: a lazily started coroutine that produces one value and can be
//! `co_await!`ed by another coroutine, with symmetric transfer both ways.

use core::fmt;
use core::marker::PhantomData;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicBool, AtomicPtr, Ordering};
use std::panic::resume_unwind;
use std::thread::{self, Thread};

use crate::awaiter::{AwaitSuspend, Awaiter};
use crate::frame::{Header, VTable};
use crate::handle::{noop_coroutine, CoroutineHandle, UniqueCoroutineHandle};
use crate::point::{SuspendPoint, RUNNING};
use crate::promise::{AwaitDirect, CoroutineTraits, Payload, Promise, ReturnValue, ReturnsValue};
use crate::suspend::SuspendAlways;

/// A lazily started coroutine producing a `T` (cppcoro's `task<T>`).
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
    handle: UniqueCoroutineHandle<TaskPromise<T>>,
}

enum Outcome<T> {
    Empty,
    Value(T),
    Panicked(Payload),
}

/// The promise of [`Task`].
pub struct TaskPromise<T> {
    outcome: Outcome<T>,
    continuation: Option<CoroutineHandle>,
}

impl<T> Default for TaskPromise<T> {
    fn default() -> Self {
        TaskPromise { outcome: Outcome::Empty, continuation: None }
    }
}

impl<T> fmt::Debug for TaskPromise<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let outcome = match self.outcome {
            Outcome::Empty => "empty",
            Outcome::Value(_) => "value",
            Outcome::Panicked(_) => "panicked",
        };
        f.debug_struct("TaskPromise").field("outcome", &outcome).finish()
    }
}

impl<T> Promise for TaskPromise<T> {
    type ReturnObject = Task<T>;
    type InitialSuspend = SuspendAlways;
    type FinalSuspend = FinalAwaiter;
    type Return = ReturnsValue;
    type Await = AwaitDirect;

    fn get_return_object(&mut self) -> Task<T> {
        // SAFETY: the task is the frame's only owner; it is resumed only by
        // whoever awaits it (one at a time) through `TaskAwaiter`.
        Task { handle: unsafe { UniqueCoroutineHandle::from_raw(CoroutineHandle::from_promise(self)) } }
    }
    fn initial_suspend(&mut self) -> SuspendAlways {
        SuspendAlways
    }
    fn final_suspend(&mut self) -> FinalAwaiter {
        FinalAwaiter { continuation: self.continuation.take() }
    }
    fn unhandled_exception(&mut self, payload: Payload) {
        self.outcome = Outcome::Panicked(payload);
    }
}

impl<T> ReturnValue<T> for TaskPromise<T> {
    fn return_value(&mut self, value: T) {
        self.outcome = Outcome::Value(value);
    }
}

impl<T> CoroutineTraits for Task<T> {
    type Promise = TaskPromise<T>;
}

/// The final awaiter of a task: transfers to the awaiting coroutine, or
/// returns to the resumer if there is none.
#[derive(Debug)]
pub struct FinalAwaiter {
    continuation: Option<CoroutineHandle>,
}

impl Awaiter for FinalAwaiter {
    type Output = ();
    fn await_ready(&mut self) -> bool {
        false
    }
    fn await_suspend(&mut self, _: CoroutineHandle) -> impl AwaitSuspend {
        self.continuation.unwrap_or_else(noop_coroutine)
    }
    fn await_resume(self) {}
}

impl<T> Task<T> {
    /// `true` once the task has finished (its result is ready).
    pub fn is_ready(&self) -> bool {
        self.handle.done()
    }

    /// Where the task is suspended.
    pub fn suspend_point(&self) -> Option<&'static SuspendPoint> {
        self.handle.suspend_point()
    }

    fn take_result(&mut self) -> T {
        // SAFETY: the task is done, so not running; this is the only reference.
        let promise = unsafe { self.handle.promise_mut() };
        match core::mem::replace(&mut promise.outcome, Outcome::Empty) {
            Outcome::Value(v) => v,
            Outcome::Panicked(p) => resume_unwind(p),
            Outcome::Empty => panic!("task result taken twice"),
        }
    }
}

impl<T> fmt::Debug for Task<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Task").field("handle", &self.handle).finish()
    }
}

/// Awaiting a task: starts it with a symmetric transfer, resumes the awaiter
/// when it finishes.
#[derive(Debug)]
pub struct TaskAwaiter<T> {
    task: Task<T>,
}

impl<T> crate::IntoAwaiter for Task<T> {
    type Awaiter = TaskAwaiter<T>;
    fn into_awaiter(self) -> TaskAwaiter<T> {
        TaskAwaiter { task: self }
    }
}

impl<T> Awaiter for TaskAwaiter<T> {
    type Output = T;
    fn await_ready(&mut self) -> bool {
        self.task.is_ready()
    }
    fn await_suspend(&mut self, awaiting: CoroutineHandle) -> impl AwaitSuspend {
        let h = self.task.handle.handle();
        // SAFETY: the task is suspended at its initial point and owned by
        // this awaiter; nothing else touches its promise.
        unsafe { h.promise() }.continuation = Some(awaiting);
        h
    }
    fn await_resume(mut self) -> T {
        self.task.take_result()
    }
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
/// ```
pub fn sync_wait<T>(mut task: Task<T>) -> T {
    if !task.is_ready() {
        let waiter = SyncWaiter {
            header: Header { vtable: &SYNC_WAITER_VTABLE, point: AtomicPtr::new(&RUNNING as *const _ as *mut _) },
            done: AtomicBool::new(false),
            thread: thread::current(),
            _pinned: PhantomData,
        };
        let h = task.handle.handle();
        // SAFETY: the task is owned here and suspended at its initial point;
        // the waiter lives on this stack until `done` is set, which is the
        // last thing the task's final awaiter does with it.
        unsafe {
            h.promise().continuation = Some(CoroutineHandle::from_header(NonNull::from(&waiter.header)));
            h.resume();
        }
        while !waiter.done.load(Ordering::Acquire) {
            thread::park();
        }
    }
    task.take_result()
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

static SYNC_WAITER_VTABLE: VTable = VTable { resume: sync_waiter_resume, destroy: sync_waiter_destroy };

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
unsafe fn sync_waiter_destroy(_: NonNull<Header>) {}
