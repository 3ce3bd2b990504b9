//! The library layer: cppcoro's share. Tasks, generators, combinators,
//! cancellation and the `coro::sync` primitives, each a promise and its
//! awaiters written against the language layer, with thread homes (the
//! layer below) deciding where a woken thread-bound coroutine runs.

pub(crate) mod cancellable;
pub mod cancellation;
pub mod combinators;
pub(crate) mod generator;
pub mod sync;
pub(crate) mod task;
pub(crate) mod thread_bound;
