//! The atomics and locks of coro-io's lock-free protocols (the injection
//! queue, `inject.rs`; a socket's one-loop fast path, `net/fast.rs`), from
//! one place: loom's instrumented types under
//! `RUSTFLAGS="--cfg loom"` (the `loom` unit tests explore every
//! interleaving; see `.ci/loom`), `std`'s otherwise, at no cost.

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
#[cfg(loom)]
pub(crate) use loom::sync::{Mutex, MutexGuard};

#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
#[cfg(not(loom))]
pub(crate) use std::sync::{Mutex, MutexGuard};
