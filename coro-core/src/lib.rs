//! The runtime-free core of [coro](https://docs.rs/coro): C++20 coroutine
//! semantics for Rust.
//!
//! Most users depend on the `coro` facade, which re-exports everything here
//! together with the `#[coro::coroutine]` attribute. This crate holds:
//!
//! - the promise protocol ([`promise`]: [`Promise`] and its opt-in
//!   capabilities),
//! - the awaiter protocol ([`awaiter`]: [`Awaiter`], [`IntoAwaiter`],
//!   [`AwaitSuspend`]),
//! - coroutine handles and suspension-point records ([`handle`]),
//! - the frame and its lifecycle (private), reached by generated code
//!   through `__private`,
//! - ready-made coroutine types ([`task`], [`generator`]), combinators,
//!   cancellation and synchronisation primitives,
//! - schedulers ([`schedule`]): a thread pool, a single-thread scheduler,
//!   detached tasks.
#![deny(missing_docs, missing_debug_implementations, unsafe_op_in_unsafe_fn)]

// The layers, bottom to top; a layer imports only from the ones below it
// (see ARCHITECTURE.md, and tests/layers.rs, which checks it).
mod home;
mod interop;
mod language;
mod library;
mod scheduling;

pub use library::{cancellation, combinators, sync};

// The crate root holds what a user starts with; the plumbing (promise
// capabilities, the awaiters each library type hands out, scheduling
// hooks) lives in the modules below, one per topic.
pub use home::resume_woken;
pub use language::awaiter::{AwaitSuspend, Awaiter, IntoAwaiter};
pub use language::handle::{noop_coroutine, CoroutineHandle, UniqueCoroutineHandle};
pub use language::promise::{CoroutineTraits, Promise};
pub use language::suspend::{SuspendAlways, SuspendNever};
pub use library::combinators::{when_all, when_all_ready, when_any};
pub use library::generator::async_gen::AsyncGenerator;
pub use library::generator::inline::InlineGenerator;
pub use library::generator::recursive::{elements_of, RecursiveGenerator};
pub use library::generator::send::SendGenerator;
pub use library::generator::Generator;
pub use library::task::send_shared::SendSharedTask;
pub use library::task::shared::SharedTask;
pub use library::task::{sync_wait, SendTask, Task};
pub use scheduling::thread_pool::ThreadPool;

pub mod promise {
    //! The promise protocol: C++'s `promise_type`. [`Promise`] is the
    //! required part (`get_return_object`, `initial_suspend`,
    //! `final_suspend`, `unhandled_exception`); each optional member is a
    //! trait of its own: [`ReturnValue`] / [`ReturnVoid`], [`YieldValue`],
    //! [`AwaitTransform`], [`FromParams`] (the promise constructor that sees
    //! the parameters), [`AllocateFrameWith`] (`operator new` with the
    //! parameters). The guide's C++ chapter (`docs/guide/from-cpp.md`)
    //! walks through writing one.
    //!
    //! ```
    //! use coro::promise::{Payload, ReturnValue, ReturnsValue, AwaitDirect};
    //! use coro::{co_return, CoroutineHandle, Promise, SuspendNever, UniqueCoroutineHandle};
    //!
    //! /// A coroutine that runs at once and keeps its result in the promise.
    //! #[derive(Default)]
    //! struct Eager(Option<u32>);
    //!
    //! impl Promise for Eager {
    //!     type ReturnObject = UniqueCoroutineHandle<Eager>;
    //!     type InitialSuspend = SuspendNever;
    //!     type FinalSuspend = coro::SuspendAlways;
    //!     type Return = ReturnsValue;
    //!     type Await = AwaitDirect;
    //!     unsafe fn get_return_object(&mut self) -> Self::ReturnObject {
    //!         // SAFETY: the ramp calls this on the promise inside its new frame.
    //!         unsafe { UniqueCoroutineHandle::from_raw(CoroutineHandle::from_promise(self)) }
    //!     }
    //!     fn initial_suspend(&mut self) -> SuspendNever { SuspendNever }
    //!     fn final_suspend(&mut self) -> coro::SuspendAlways { coro::SuspendAlways }
    //!     fn unhandled_exception(&mut self, p: Payload) { std::panic::resume_unwind(p) }
    //! }
    //! impl ReturnValue<u32> for Eager {
    //!     fn return_value(&mut self, v: u32) { self.0 = Some(v) }
    //! }
    //!
    //! #[coro::coroutine(promise = Eager)]
    //! fn answer() -> UniqueCoroutineHandle<Eager> { co_return!(42) }
    //!
    //! let h = answer();
    //! assert!(h.done());
    //! // SAFETY: the coroutine is at its final suspend point, not running.
    //! assert_eq!(unsafe { h.promise() }.0, Some(42));
    //! ```
    pub use crate::language::promise::{
        AllocateFrameWith, AwaitDirect, AwaitKind, AwaitTransform, AwaitTransformed, CoroutineTraits, FrameMemory,
        FromParams, FromReturnObject, MissingCoReturn, Payload, Promise, ReturnKind, ReturnValue, ReturnVoid,
        ReturnsValue, ReturnsVoid, ThreadAffinity, YieldValue,
    };
}

pub mod awaiter {
    //! The awaiter protocol: C++'s `await_ready` / `await_suspend` /
    //! `await_resume` ([`Awaiter`]) and `operator co_await`
    //! ([`IntoAwaiter`]); the trivial awaiters ([`SuspendAlways`],
    //! [`SuspendNever`], [`Suspend`]); and the awaiters through which
    //! `co_await!` awaits a Rust `Future` ([`FutureAwaiter`],
    //! [`UnpinFutureAwaiter`], chosen by the macro).
    //!
    //! ```
    //! use coro::awaiter::Suspend;
    //! use coro::{co_await, co_return, sync_wait, Task};
    //!
    //! #[coro::coroutine]
    //! fn maybe_pause(pause: bool) -> Task<u32> {
    //!     co_await!(Suspend(pause)); // `Suspend(false)` is `SuspendNever`
    //!     co_return!(7)
    //! }
    //! assert_eq!(sync_wait(maybe_pause(false)), 7);
    //! ```
    pub use crate::interop::future_awaiter::{FutureAwaiter, UnpinFutureAwaiter};
    pub use crate::language::awaiter::{AwaitSuspend, Awaiter, CancelOutcome, IntoAwaiter};
    pub use crate::language::suspend::{Suspend, SuspendAlways, SuspendNever};
}

pub mod handle {
    //! Coroutine handles ([`CoroutineHandle`], [`UniqueCoroutineHandle`],
    //! [`noop_coroutine`]) and what a suspended coroutine can say about
    //! itself: where it is suspended ([`SuspendPoint`], [`CoroutineInfo`])
    //! and the chain of coroutines awaiting it ([`AsyncBacktrace`],
    //! `co_await!(`[`CurrentBacktrace`]`)`).
    //!
    //! ```
    //! use coro::{co_yield, Generator};
    //!
    //! #[coro::coroutine]
    //! fn two() -> Generator<u32> { co_yield!(1); co_yield!(2); }
    //!
    //! let mut g = two();
    //! g.next();
    //! let at = g.suspend_point().expect("suspended at the first co_yield!");
    //! assert_eq!((at.function(), at.index()), ("two", 1));
    //! ```
    pub use crate::language::backtrace::{AsyncBacktrace, CurrentBacktrace, CurrentBacktraceAwaiter};
    pub use crate::language::handle::{noop_coroutine, CoroutineHandle, UniqueCoroutineHandle};
    pub use crate::language::point::{CoroutineInfo, SuspendKind, SuspendPoint};
}

pub mod task {
    //! Tasks: a coroutine computing one result, started when awaited
    //! (cppcoro's `task<T>` and `shared_task<T>`). [`Task`] stays on its
    //! thread, [`SendTask`] may move between threads; [`SharedTask`] and
    //! [`SendSharedTask`] are awaited by several coroutines. [`sync_wait`]
    //! drives one from plain code; a task is also a Rust `Future`
    //! ([`TaskFuture`]). [`TaskScope`] runs eagerly spawned children and
    //! joins them. The rest of this module is the promise and the
    //! awaiters the tasks hand out. The guide's chapter is
    //! `docs/guide/tasks.md`.
    //!
    //! ```
    //! use coro::task::{sync_wait, Task};
    //! use coro::{co_await, co_return};
    //!
    //! #[coro::coroutine]
    //! fn add(a: u32, b: u32) -> Task<u32> { co_return!(a + b) }
    //!
    //! #[coro::coroutine]
    //! fn sum() -> Task<u32> {
    //!     let x = co_await!(add(1, 2));
    //!     co_return!(co_await!(add(x, 3)))
    //! }
    //! assert_eq!(sync_wait(sum()), 6);
    //! ```
    pub use crate::interop::task_future::TaskFuture;
    pub use crate::library::task::by_ref::TaskRefAwaiter;
    pub use crate::library::task::map::{fmap, Fmap};
    pub use crate::library::task::scope::{ScopeChild, ScopeJoin, ScopeSpawner, SpawnedChild, TaskScope};
    pub use crate::library::task::send_shared::{SendSharedTask, SendSharedTaskAwaiter};
    pub use crate::library::task::shared::{SharedTask, SharedTaskAwaiter};
    pub use crate::library::task::{
        sync_wait, FinalAwaiter, Local, SendTask, Sendable, SyncWait, Task, TaskAwaiter, TaskKind, TaskPromise,
        TaskReturn,
    };
}

pub mod generator {
    //! Generators: lazily evaluated sequences. [`Generator`] (C++23
    //! `std::generator`) is an `Iterator`; [`SendGenerator`] may be
    //! iterated on another thread; [`RecursiveGenerator`] yields nested
    //! generators whole (`co_yield!(`[`elements_of`]`(g))`); an
    //! [`AsyncGenerator`]'s body may `co_await!` between yields (and is a
    //! `Stream` with the `stream` feature), and a [`TryAsyncGenerator`]'s
    //! `?` ends its stream with the error; a [`TwoWayGenerator`]'s
    //! `co_yield!` returns the value its consumer sends, and it completes
    //! with a value ([`GeneratorState`]); an [`InlineGenerator`] keeps its
    //! frame in the caller (pinned, no allocation, an inlinable resume). The rest of this module is their
    //! promises and awaiters. The guide's chapter is
    //! `docs/guide/generators.md`.
    //!
    //! ```
    //! use coro::generator::Generator;
    //! use coro::co_yield;
    //!
    //! #[coro::coroutine]
    //! fn evens(n: u32) -> Generator<u32> {
    //!     for i in 0..n { if i % 2 == 0 { co_yield!(i); } }
    //! }
    //! assert_eq!(evens(7).collect::<Vec<_>>(), [0, 2, 4, 6]);
    //! ```
    pub use crate::library::generator::async_gen::{
        AsyncFinalAwaiter, AsyncGenerator, AsyncGeneratorPromise, AsyncYieldAwaiter, Next,
    };
    pub use crate::library::generator::inline::{
        Borrows, GeneratorBody, InlineGenerator, InlineGeneratorPromise, InlineYield,
    };
    pub use crate::library::generator::recursive::{
        elements_of, CatchPanic, CatchingNestedAwaiter, ElementsOf, NestedAwaiter, RecursiveFinalAwaiter,
        RecursiveGenerator, RecursiveGeneratorPromise,
    };
    pub use crate::library::generator::send::SendGenerator;
    pub use crate::library::generator::try_async_gen::{TryAsyncGenerator, TryAsyncGeneratorPromise, TryNext};
    pub use crate::library::generator::two_way::{GeneratorState, TwoWayGenerator, TwoWayPromise, TwoWayYieldAwaiter};
    pub use crate::library::generator::{Generator, GeneratorPromise};
}

pub mod schedule {
    //! Where and when coroutines run: [`Scheduler`]s that resume coroutines
    //! later ([`LocalScheduler`] on one thread, [`ThreadPool`] on worker
    //! threads; `co_await!(sched.schedule())` hops onto one), the handle of
    //! a task spawned on a pool ([`PoolJoinHandle`]), tasks launched
    //! without an owner ([`spawn_detached`]), and the wake-up queue of a
    //! thread whose thread-bound coroutines were woken elsewhere
    //! ([`resume_woken`], [`notify_when_woken`]). The guide's chapter is
    //! `docs/guide/threads-and-schedulers.md`.
    //!
    //! ```
    //! use coro::schedule::ThreadPool;
    //! use coro::{co_await, co_return, sync_wait, SendTask};
    //!
    //! #[coro::coroutine]
    //! fn on_pool(pool: ThreadPool) -> SendTask<bool> {
    //!     let caller = std::thread::current().id();
    //!     co_await!(pool.schedule());
    //!     co_return!(std::thread::current().id() != caller)
    //! }
    //! assert!(sync_wait(on_pool(ThreadPool::new(1))));
    //! ```
    pub use crate::home::{notify_when_woken, resume_woken, DriverScope};
    pub use crate::scheduling::assert_not_thread_bound;
    pub use crate::scheduling::pool_join::{PoolJoin, PoolJoinHandle};
    pub use crate::scheduling::thread_pool::{PoolSchedule, ThreadPool};
    pub use crate::scheduling::{spawn_detached, LocalScheduler, Schedule, Scheduler};
}
#[doc(hidden)]
pub use library::thread_bound::{ForThreadsReturn, StaysOnItsThread};

/// Used by the code `#[coro::coroutine]` generates. Not a public API: anything in
/// here may change in any release.
#[doc(hidden)]
pub mod __private {
    pub use crate::interop::future_awaiter::{AsFuture, AsUnpinFuture, ViaFuture};
    pub use crate::language::lowering::*;
    pub use crate::library::generator::inline::{inline_ramp, inline_yield_point, InlineFrame};
}

/// `co_await!(expr)`: suspends the coroutine until `expr`'s awaiter resumes
/// it; the value is the awaiter's `await_resume()`.
///
/// Only meaningful directly inside a `#[coro::coroutine]` function body, which
/// rewrites it; anywhere else (including a closure or nested `fn` inside a
/// coroutine) it is a compile error.
///
/// ```compile_fail
/// fn not_a_coroutine() { coro::co_await!(coro::SuspendNever); }
/// ```
#[macro_export]
macro_rules! co_await {
    // The `#[coroutine]` lowering leaves this behind, so that importing
    // the macro does not look unused.
    (@__coro_lowered) => {
        ()
    };
    ($($t:tt)*) => {
        ::core::compile_error!(
            "`co_await!` can only be used directly in the body of a `#[coro::coroutine]` function: \
             here it is outside any coroutine, or a `macro_rules!` macro wrote it, and `#[coro::coroutine]` \
             lowers only what is written in the body itself (it runs before such a macro is expanded)\n\
             help: write `co_await!` in the coroutine's body and let the macro take or give the value, \
             e.g. `let v = co_await!(x); my_macro!(v)`"
        )
    };
}

/// `co_yield!(value)`: `co_await!(promise.yield_value(value))`.
///
/// Only meaningful directly inside a `#[coro::coroutine]` function body.
///
/// ```compile_fail
/// fn not_a_coroutine() { coro::co_yield!(1); }
/// ```
#[macro_export]
macro_rules! co_yield {
    // The `#[coroutine]` lowering leaves this behind, so that importing
    // the macro does not look unused.
    (@__coro_lowered) => {
        ()
    };
    ($($t:tt)*) => {
        ::core::compile_error!(
            "`co_yield!` can only be used directly in the body of a `#[coro::coroutine]` function: \
             here it is outside any coroutine, or a `macro_rules!` macro wrote it, and `#[coro::coroutine]` \
             lowers only what is written in the body itself (it runs before such a macro is expanded)\n\
             help: write `co_yield!` in the coroutine's body and let the macro take or give the value, \
             e.g. `co_yield!(my_macro!(..))`"
        )
    };
}

/// `co_return!(value)` calls `promise.return_value(value)`, `co_return!()`
/// calls `promise.return_void()`; then the coroutine's locals are dropped and
/// it goes to its final suspend point.
///
/// Only meaningful directly inside a `#[coro::coroutine]` function body.
///
/// ```compile_fail
/// fn not_a_coroutine() { coro::co_return!(1); }
/// ```
#[macro_export]
macro_rules! co_return {
    // The `#[coroutine]` lowering leaves this behind, so that importing
    // the macro does not look unused.
    (@__coro_lowered) => {
        ()
    };
    ($($t:tt)*) => {
        ::core::compile_error!(
            "`co_return!` can only be used directly in the body of a `#[coro::coroutine]` function: \
             here it is outside any coroutine, or a `macro_rules!` macro wrote it, and `#[coro::coroutine]` \
             lowers only what is written in the body itself (it runs before such a macro is expanded)\n\
             help: write `co_return!` in the coroutine's body and let the macro take or give the value, \
             e.g. `co_return!(my_macro!(..))`"
        )
    };
}
