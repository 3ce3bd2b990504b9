//! The runtime-free core of [coro](https://docs.rs/coro): C++20 coroutine
//! semantics for Rust.
//!
//! Most users depend on the `coro` facade, which re-exports everything here
//! together with the `#[coro::coroutine]` attribute. This crate holds:
//!
//! - the promise protocol ([`Promise`] and its opt-in capabilities),
//! - the awaiter protocol ([`Awaiter`], [`IntoAwaiter`], [`AwaitSuspend`]),
//! - coroutine handles ([`CoroutineHandle`], [`UniqueCoroutineHandle`],
//!   [`noop_coroutine`]) and suspension-point records ([`SuspendPoint`]),
//! - the frame and its lifecycle (private), reached by generated code
//!   through `__private`,
//! - ready-made coroutine types: [`Task`], [`SharedTask`] and [`Generator`],
//!   and their thread-safe forms [`SendTask`], [`SendSharedTask`] and
//!   [`SendGenerator`],
//! - schedulers ([`Scheduler`], [`LocalScheduler`], [`ThreadPool`]) and
//!   detached tasks ([`spawn_detached`]).
#![deny(missing_docs, missing_debug_implementations, unsafe_op_in_unsafe_fn)]

mod async_generator;
mod awaiter;
mod backtrace;
pub mod cancellation;
pub mod combinators;
mod frame;
mod future_awaiter;
mod generator;
mod handle;
mod home;
mod home_hop;
mod interop;
mod lowering;
mod point;
mod promise;
mod recursive_generator;
mod scheduler;
mod send_generator;
mod send_shared_task;
mod shared_task;
mod suspend;
pub mod sync;
mod task;
mod thread_bound;
mod thread_pool;

pub use async_generator::{AsyncFinalAwaiter, AsyncGenerator, AsyncGeneratorPromise, AsyncYieldAwaiter, Next};
pub use awaiter::{AwaitSuspend, Awaiter, IntoAwaiter};
pub use backtrace::{AsyncBacktrace, CurrentBacktrace, CurrentBacktraceAwaiter};
pub use cancellation::{CancellationSource, CancellationToken, Cancelled};
pub use combinators::{
    when_all, when_all_ready, when_any, IntoJoinSet, IntoTask, JoinSet, WhenAll, WhenAllReady, WhenAny,
};
pub use future_awaiter::{FutureAwaiter, UnpinFutureAwaiter};
pub use generator::{Generator, GeneratorPromise};
pub use handle::{noop_coroutine, CoroutineHandle, UniqueCoroutineHandle};
pub use home::{notify_when_woken, resume_woken};
pub use interop::TaskFuture;
pub use point::{CoroutineInfo, SuspendKind, SuspendPoint};
pub use promise::{
    AllocateFrameWith, AwaitDirect, AwaitKind, AwaitTransform, AwaitTransformed, CoroutineTraits, FrameMemory,
    FromParams, FromReturnObject, MissingCoReturn, Payload, Promise, ReturnKind, ReturnValue, ReturnVoid, ReturnsValue,
    ReturnsVoid, ThreadAffinity, YieldValue,
};
pub use recursive_generator::{
    elements_of, ElementsOf, NestedAwaiter, RecursiveFinalAwaiter, RecursiveGenerator, RecursiveGeneratorPromise,
};
pub use scheduler::{spawn_detached, LocalScheduler, Schedule, Scheduler};
pub use send_generator::SendGenerator;
pub use send_shared_task::{SendSharedTask, SendSharedTaskAwaiter};
pub use shared_task::{SharedTask, SharedTaskAwaiter};
pub use suspend::{Suspend, SuspendAlways, SuspendNever};
pub use task::{
    sync_wait, FinalAwaiter, Local, SendTask, Sendable, SyncWait, Task, TaskAwaiter, TaskKind, TaskPromise, TaskReturn,
};
#[doc(hidden)]
pub use thread_bound::{ForThreadsReturn, StaysOnItsThread};
pub use thread_pool::{PoolSchedule, ThreadPool};

/// Used by the code `#[coro::coroutine]` generates. Not a public API: anything in
/// here may change in any release.
#[doc(hidden)]
pub mod __private {
    pub use crate::lowering::*;
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
