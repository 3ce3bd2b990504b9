//! Awaiting a [`Task`] by reference (cppcoro's `co_await t` on an lvalue
//! task): `co_await!(&mut task)` and `sync_wait(&mut task)` give `&T`, the
//! result staying in the task.
//!
//! # Why `&mut`, and `&T`
//!
//! The result lives in the task's frame, so the reference borrows the task:
//! it cannot outlive it (nor a move of it). The borrow is exclusive (`&mut`)
//! so that only one coroutine at a time can start or wait for the task,
//! and so that the awaiter can restore the rule every by-value path relies
//! on (a task is unstarted or finished when its owner gets it back) if
//! it is destroyed while the task it started is suspended: it destroys
//! that task then (as a `when_any` loser's is: its live locals dropped) and
//! leaves in its place one that panics when awaited. By-value awaiting
//! stays exactly as fast as it was: it checks nothing.
//!
//! Once a task has been awaited by reference, await it by reference again
//! (or drop it): a by-value `co_await!` of a finished task panics
//! (resuming a finished coroutine); `sync_wait(task)` by value takes the
//! result out once.

use core::fmt;
use std::panic::resume_unwind;

use crate::language::awaiter::{AwaitSuspend, Awaiter, IntoAwaiter};
use crate::language::frame::ramp;
use crate::language::handle::CoroutineHandle;
use crate::language::point::{CoroutineInfo, Info};
use crate::language::promise::Promise;
use crate::library::task::{sync_wait_awaiter, Local, Outcome, SyncWait, Task, TaskPromise};

/// What `co_await!(&mut task)` uses for a [`Task`]: starts it if it has
/// not started, and gives a reference to its result, which stays in the
/// task (a second await by reference gives it again). Not used directly.
///
/// ```
/// use coro::{co_await, co_return, sync_wait, Task};
///
/// #[coro::coroutine]
/// fn name() -> Task<String> { co_return!("coro".to_string()) }
///
/// #[coro::coroutine]
/// fn twice() -> Task<usize> {
///     let mut t = name();
///     let first = co_await!(&mut t).len(); // starts `t`
///     let again: &String = co_await!(&mut t); // `t` is finished: at once
///     co_return!(first + again.len())
/// }
/// assert_eq!(sync_wait(twice()), 8);
/// ```
pub struct TaskRefAwaiter<'a, T> {
    /// `None` once the result has been handed out.
    task: Option<&'a mut Task<T>>,
    /// Whether this awaiter started the task (then, dropped before it
    /// finished, it destroys it).
    started: bool,
}

impl<T> fmt::Debug for TaskRefAwaiter<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskRefAwaiter").field("task", &self.task).field("started", &self.started).finish()
    }
}

impl<'a, T> IntoAwaiter for &'a mut Task<T> {
    type Awaiter = TaskRefAwaiter<'a, T>;
    fn into_awaiter(self) -> TaskRefAwaiter<'a, T> {
        TaskRefAwaiter { task: Some(self), started: false }
    }
}

impl<'a, T> Awaiter for TaskRefAwaiter<'a, T> {
    type Output = &'a T;
    fn await_ready(&mut self) -> bool {
        self.task.as_ref().is_some_and(|t| t.is_ready())
    }
    unsafe fn await_suspend(&mut self, awaiting: CoroutineHandle) -> impl AwaitSuspend {
        let task = self.task.as_mut().expect("awaited after its result was taken");
        // Not ready, so unstarted: the borrow is exclusive, and an awaiter
        // that started it and went away destroyed it (see `Drop`).
        self.started = true;
        task.inner.set_awaiting(awaiting);
        task.inner.handle()
    }
    fn await_resume(mut self) -> &'a T {
        let task = self.task.take().expect("result taken twice");
        // SAFETY: the task has finished (it resumed this awaiter from its
        // final point, or was found ready), so it is not running; the
        // promise is reached through the exclusive borrow of its owner.
        let promise: &'a mut TaskPromise<T, Local> = unsafe { task.inner.handle.promise_mut() };
        match &mut promise.outcome {
            Outcome::Value(v) => v,
            outcome @ Outcome::Panicked(_) => {
                let Outcome::Panicked(p) = core::mem::replace(outcome, Outcome::Empty) else { unreachable!() };
                resume_unwind(p)
            }
            Outcome::Empty => {
                panic!("task awaited by reference after it panicked (the panic reached an earlier await)")
            }
        }
    }
}

impl<T> Drop for TaskRefAwaiter<'_, T> {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            if self.started && !task.is_ready() {
                // The awaiting coroutine is destroyed while the task it
                // started is suspended: the task is destroyed too (it may
                // not transfer to a coroutine that is gone, and a by-value
                // owner must never get it back started).
                *task = abandoned();
            }
        }
    }
}

static ABANDONED: CoroutineInfo =
    CoroutineInfo::new("abandoned", file!(), (line!(), column!()), 1, (line!(), column!()), &ABANDONED);
struct AbandonedFrame;
impl Info for AbandonedFrame {
    const INFO: &'static CoroutineInfo = &ABANDONED;
}

/// What is left in a task whose awaiter by reference was destroyed before
/// it finished: a task that panics when awaited.
fn abandoned<T>() -> Task<T> {
    ramp::<TaskPromise<T, Local>, _, _, _, _, AbandonedFrame>(AbandonedFrame, |ctx| {
        if !ctx.allocate(TaskPromise::<T, Local>::allocate_frame) {
            return Err(());
        }
        ctx.construct_promise(TaskPromise::default);
        Ok(abandoned_body())
    })
}

async fn abandoned_body() {
    panic!("task destroyed while awaited by reference: its awaiting coroutine was destroyed before it finished")
}

/// `sync_wait(&mut task)`: runs the task if it has not run, and gives a
/// reference to its result, which stays in the task.
///
/// ```
/// use coro::{co_return, sync_wait, Task};
///
/// #[coro::coroutine]
/// fn answer() -> Task<u32> { co_return!(42) }
///
/// let mut t = answer();
/// assert_eq!(*sync_wait(&mut t), 42);
/// assert_eq!(*sync_wait(&mut t), 42); // again, without running it again
/// assert!(t.is_ready());
/// ```
impl<'a, T> SyncWait for &'a mut Task<T> {
    type Output = &'a T;
    fn sync_wait(self) -> &'a T {
        sync_wait_awaiter(self.into_awaiter())
    }
}
