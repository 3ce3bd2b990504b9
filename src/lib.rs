#![doc = include_str!("../README.md")]
#![deny(missing_docs)]

pub use coro_core::*;
/// Turns a function into a C++20-style coroutine; write it `#[coro::coroutine]`.
///
/// See the [crate documentation](crate) for the semantics.
pub use coro_macros::coroutine;
