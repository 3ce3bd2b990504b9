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

// The layers, bottom to top; a layer imports only from the ones below it
// (see ARCHITECTURE.md, and tests/layers.rs, which checks it).
mod home;
mod interop;
mod language;
mod library;
mod schedule;

pub use library::{cancellation, combinators, sync};

pub use home::{notify_when_woken, resume_woken};
pub use interop::future_awaiter::{FutureAwaiter, UnpinFutureAwaiter};
pub use interop::task_future::TaskFuture;
pub use language::awaiter::{AwaitSuspend, Awaiter, IntoAwaiter};
pub use language::backtrace::{AsyncBacktrace, CurrentBacktrace, CurrentBacktraceAwaiter};
pub use language::handle::{noop_coroutine, CoroutineHandle, UniqueCoroutineHandle};
pub use language::point::{CoroutineInfo, SuspendKind, SuspendPoint};
pub use language::promise::{
    AllocateFrameWith, AwaitDirect, AwaitKind, AwaitTransform, AwaitTransformed, CoroutineTraits, FrameMemory,
    FromParams, FromReturnObject, MissingCoReturn, Payload, Promise, ReturnKind, ReturnValue, ReturnVoid, ReturnsValue,
    ReturnsVoid, ThreadAffinity, YieldValue,
};
pub use language::suspend::{Suspend, SuspendAlways, SuspendNever};
pub use library::cancellation::{CancellationSource, CancellationToken, Cancelled};
pub use library::combinators::{
    when_all, when_all_ready, when_any, IntoJoinSet, IntoTask, JoinSet, WhenAll, WhenAllReady, WhenAny,
};
pub use library::generator::async_gen::{
    AsyncFinalAwaiter, AsyncGenerator, AsyncGeneratorPromise, AsyncYieldAwaiter, Next,
};
pub use library::generator::recursive::{
    elements_of, ElementsOf, NestedAwaiter, RecursiveFinalAwaiter, RecursiveGenerator, RecursiveGeneratorPromise,
};
pub use library::generator::send::SendGenerator;
pub use library::generator::{Generator, GeneratorPromise};
pub use library::task::send_shared::{SendSharedTask, SendSharedTaskAwaiter};
pub use library::task::shared::{SharedTask, SharedTaskAwaiter};
pub use library::task::{
    sync_wait, FinalAwaiter, Local, SendTask, Sendable, SyncWait, Task, TaskAwaiter, TaskKind, TaskPromise, TaskReturn,
};
pub use schedule::thread_pool::{PoolSchedule, ThreadPool};
pub use schedule::{spawn_detached, LocalScheduler, Schedule, Scheduler};

/// Used by the code `#[coro::coroutine]` generates. Not a public API: anything in
/// here may change in any release.
#[doc(hidden)]
pub mod __private {
    pub use crate::interop::future_awaiter::{AsFuture, AsUnpinFuture, ViaFuture};
    pub use crate::language::lowering::*;
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
            "`co_await!` can only be used directly in the body of a `#[coro::coroutine]` function \
             (not in a closure, nested function or async block inside it)"
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
            "`co_yield!` can only be used directly in the body of a `#[coro::coroutine]` function \
             (not in a closure, nested function or async block inside it)"
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
            "`co_return!` can only be used directly in the body of a `#[coro::coroutine]` function \
             (not in a closure, nested function or async block inside it)"
        )
    };
}
