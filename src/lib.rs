#![doc = include_str!("../README.md")]
#![deny(missing_docs)]

pub use coro_core::*;
pub use coro_macros::coroutine;
