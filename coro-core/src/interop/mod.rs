//! Rust futures both ways: a `Future` awaited with `co_await!`
//! ([`future_awaiter`]), a task polled as a `Future` ([`task_future`]), and
//! an `AsyncGenerator` polled as a `Stream` ([`async_gen_stream`]).

pub(crate) mod async_gen_stream;
pub(crate) mod future_awaiter;
pub(crate) mod task_future;
