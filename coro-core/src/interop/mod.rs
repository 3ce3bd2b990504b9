//! Rust futures both ways: a `Future` awaited with `co_await!`
//! ([`future_awaiter`]), and a task polled as a `Future` ([`task_future`]).

pub(crate) mod future_awaiter;
pub(crate) mod task_future;
