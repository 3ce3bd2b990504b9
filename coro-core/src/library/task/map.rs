//! `map` / `and_then` / [`fmap`] on tasks (cppcoro's `fmap`): a new task
//! whose frame awaits the original one and then applies the closure.
//!
//! The frame is built through the real ramp, as a nested combinator's is
//! (`combinators::await_body`): its body is what `#[coro::coroutine]`
//! would lower `co_return!(f(co_await!(task)))` to, so the mapped task is
//! lazy (nothing runs before it is awaited), a panic in the closure or the
//! inner task is its `unhandled_exception`, and dropping it unstarted drops
//! the inner task and the closure unstarted.
//!
//! # Lifetimes
//!
//! A `Task<U>` names no lifetime but those in `U`, so a mapped task may
//! not keep anything that `U` does not say it borrows: the closure and
//! the inner task's result type `T` must be `'static` (a task returning a
//! borrow is mapped by a coroutine that awaits it instead).

use core::future::Future;

use crate::language::awaiter::IntoAwaiter;
use crate::language::frame::{ramp, RampCtx};
use crate::language::lowering::{AwaitPoint, Record};
use crate::language::point::{CoroutineInfo, Info, SuspendKind, SuspendPoint};
use crate::language::promise::Promise;
use crate::library::combinators::IntoTask;
use crate::library::task::{Local, SendTask, Sendable, Task, TaskAwaiter, TaskKind, TaskPromise};

/// The static records of a mapping frame, named after the method (what an
/// async backtrace shows): `$Frame` is the coroutine and its first await
/// point, `$Second` the second one (`and_then` awaits the task its closure
/// returns).
macro_rules! map_frame {
    ($Frame:ident, $Second:ident, $INFO:ident, $name:literal, $final:literal) => {
        static $INFO: CoroutineInfo =
            CoroutineInfo::new($name, file!(), (line!(), column!()), $final, (line!(), column!()), &$INFO);
        struct $Frame;
        impl Info for $Frame {
            const INFO: &'static CoroutineInfo = &$INFO;
        }
        impl Record for $Frame {
            const POINT: &'static SuspendPoint =
                &SuspendPoint::new(SuspendKind::Await, 1, file!(), line!(), column!(), &$INFO);
        }
        #[allow(dead_code)]
        struct $Second;
        impl Record for $Second {
            const POINT: &'static SuspendPoint =
                &SuspendPoint::new(SuspendKind::Await, 2, file!(), line!(), column!(), &$INFO);
        }
    };
}

map_frame!(MapFrame, MapUnused, MAP_FRAME, "map", 2);
map_frame!(AndThenFrame, AndThenSecond, AND_THEN_FRAME, "and_then", 3);

/// The body of a mapped task: `co_return!(f(co_await!(task)))`.
fn map_body<T, U, K, F>(
    ctx: &mut RampCtx<TaskPromise<U, K>>,
    task: TaskAwaiter<T, K>,
    f: F,
) -> Result<impl Future<Output = ()> + use<T, U, K, F>, (TaskAwaiter<T, K>, F)>
where
    K: TaskKind,
    F: FnOnce(T) -> U,
{
    if !ctx.allocate(TaskPromise::<U, K>::allocate_frame) {
        return Err((task, f));
    }
    ctx.construct_promise(TaskPromise::default);
    let co = ctx.co();
    Ok(async move {
        // Pinned in the body, like every lowered `co_await!`.
        let value = AwaitPoint::<TaskAwaiter<T, K>, MapFrame>::new(task).await;
        co.return_value(f(value));
    })
}

/// The body of a chained task: `co_return!(co_await!(f(co_await!(task))))`.
fn and_then_body<T, K, F, R>(
    ctx: &mut RampCtx<TaskPromise<R::Output, K>>,
    task: TaskAwaiter<T, K>,
    f: F,
) -> Result<impl Future<Output = ()> + use<T, K, F, R>, (TaskAwaiter<T, K>, F)>
where
    K: TaskKind,
    F: FnOnce(T) -> R,
    R: IntoTask,
{
    if !ctx.allocate(TaskPromise::<R::Output, K>::allocate_frame) {
        return Err((task, f));
    }
    ctx.construct_promise(TaskPromise::default);
    let co = ctx.co();
    Ok(async move {
        let value = AwaitPoint::<TaskAwaiter<T, K>, AndThenFrame>::new(task).await;
        let next = TaskAwaiter::new(f(value).into_child().task);
        let value = AwaitPoint::<TaskAwaiter<R::Output, R::Kind>, AndThenSecond>::new(next).await;
        co.return_value(value);
    })
}

impl<T: 'static> Task<T> {
    /// A task that awaits this one and gives `f` of its value (cppcoro's
    /// `fmap`). Lazy: neither task runs before the new one is awaited (or
    /// driven by [`sync_wait`](crate::sync_wait)); dropped unstarted, it
    /// drops this task and `f` unstarted. A panic in this task or in `f`
    /// reaches the awaiter of the new one.
    ///
    /// `f` and `T` are `'static`: the new `Task<U>` keeps both, and names
    /// no lifetime of theirs (to map a task that returns a borrow, await
    /// it in a coroutine).
    ///
    /// ```
    /// use coro::{co_return, sync_wait, Task};
    ///
    /// #[coro::coroutine]
    /// fn answer() -> Task<u32> { co_return!(42) }
    ///
    /// let text: Task<String> = answer().map(|v| format!("{v}!"));
    /// assert_eq!(sync_wait(text), "42!");
    /// ```
    pub fn map<U, F>(self, f: F) -> Task<U>
    where
        F: FnOnce(T) -> U + 'static,
    {
        let task = self.into_awaiter();
        ramp::<TaskPromise<U, Local>, _, _, _, _, MapFrame>(MapFrame, move |ctx| map_body(ctx, task, f))
    }

    /// A task that awaits this one, then the task `f` makes of its value,
    /// and gives that task's value (a monadic bind). `f` may return a
    /// [`Task`], a [`SendTask`] or a combinator ([`IntoTask`]). Lazy, and
    /// panics propagate, as for [`map`](Self::map).
    ///
    /// ```
    /// use coro::{co_return, sync_wait, Task};
    ///
    /// #[coro::coroutine]
    /// fn user_id(name: &'static str) -> Task<u32> { co_return!(name.len() as u32) }
    /// #[coro::coroutine]
    /// fn score(id: u32) -> Task<u64> { co_return!(u64::from(id) * 10) }
    ///
    /// assert_eq!(sync_wait(user_id("ada").and_then(score)), 30);
    /// ```
    pub fn and_then<R, F>(self, f: F) -> Task<R::Output>
    where
        F: FnOnce(T) -> R + 'static,
        R: IntoTask + 'static,
    {
        let task = self.into_awaiter();
        ramp::<TaskPromise<R::Output, Local>, _, _, _, _, AndThenFrame>(AndThenFrame, move |ctx| {
            and_then_body(ctx, task, f)
        })
    }
}

impl<T: Send + 'static> SendTask<T> {
    /// As [`Task::map`]: a `SendTask` that awaits this one and gives `f` of
    /// its value. It stays a `SendTask` (it may be sent to and finish on
    /// another thread): `f` is `Send + 'static`, and so is its value.
    ///
    /// ```
    /// use coro::{co_return, sync_wait, SendTask};
    ///
    /// #[coro::coroutine]
    /// fn answer() -> SendTask<u32> { co_return!(42) }
    ///
    /// let doubled = answer().map(|v| v * 2);
    /// assert_eq!(std::thread::spawn(move || sync_wait(doubled)).join().unwrap(), 84);
    /// ```
    pub fn map<U, F>(self, f: F) -> SendTask<U>
    where
        U: Send + 'static,
        F: FnOnce(T) -> U + Send + 'static,
    {
        let task = self.into_awaiter();
        ramp::<TaskPromise<U, Sendable>, _, _, _, _, MapFrame>(MapFrame, move |ctx| map_body(ctx, task, f))
    }

    /// As [`Task::and_then`], for a `SendTask` whose closure makes another
    /// `SendTask` (or a combinator of them): the chain stays a `SendTask`.
    ///
    /// ```
    /// use coro::{co_return, sync_wait, SendTask};
    ///
    /// #[coro::coroutine]
    /// fn half(x: u32) -> SendTask<u32> { co_return!(x / 2) }
    ///
    /// assert_eq!(sync_wait(half(40).and_then(half).and_then(half)), 5);
    /// ```
    pub fn and_then<R, F>(self, f: F) -> SendTask<R::Output>
    where
        F: FnOnce(T) -> R + Send + 'static,
        R: IntoTask<Kind = Sendable> + Send + 'static,
        R::Output: Send + 'static,
    {
        let task = self.into_awaiter();
        ramp::<TaskPromise<R::Output, Sendable>, _, _, _, _, AndThenFrame>(AndThenFrame, move |ctx| {
            and_then_body(ctx, task, f)
        })
    }
}

/// A task whose value is `f` of `task`'s (cppcoro's `fmap(f, task)`):
/// `task.map(f)`, for a [`Task`] or a [`SendTask`] (the result is of the
/// same kind).
///
/// ```
/// use coro::task::{fmap, sync_wait, Task};
/// use coro::co_return;
///
/// #[coro::coroutine]
/// fn seven() -> Task<i32> { co_return!(7) }
///
/// assert_eq!(sync_wait(fmap(|v: i32| v + 1, seven())), 8);
/// ```
pub fn fmap<F, M: Fmap<F>>(f: F, task: M) -> M::Mapped {
    task.fmap(f)
}

/// What [`fmap`] maps: [`Task`] and [`SendTask`] (sealed).
///
/// ```
/// use coro::task::{Fmap, SendTask};
/// use coro::co_return;
///
/// #[coro::coroutine]
/// fn one() -> SendTask<u8> { co_return!(1) }
///
/// let two: SendTask<u8> = one().fmap(|v| v + 1);
/// assert_eq!(coro::sync_wait(two), 2);
/// ```
pub trait Fmap<F>: sealed::Sealed {
    /// The mapped task.
    type Mapped;
    /// `self.map(f)`.
    fn fmap(self, f: F) -> Self::Mapped;
}

impl<T: 'static, U, F: FnOnce(T) -> U + 'static> Fmap<F> for Task<T> {
    type Mapped = Task<U>;
    fn fmap(self, f: F) -> Task<U> {
        self.map(f)
    }
}

impl<T, U, F> Fmap<F> for SendTask<T>
where
    T: Send + 'static,
    U: Send + 'static,
    F: FnOnce(T) -> U + Send + 'static,
{
    type Mapped = SendTask<U>;
    fn fmap(self, f: F) -> SendTask<U> {
        self.map(f)
    }
}

mod sealed {
    pub trait Sealed {}
    impl<T> Sealed for super::Task<T> {}
    impl<T> Sealed for super::SendTask<T> {}
}
