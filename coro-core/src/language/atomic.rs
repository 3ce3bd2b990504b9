//! The atomics and locks of every lock-free protocol in coro-core, from
//! one place, so that the protocols can be model-checked: built with
//! `RUSTFLAGS="--cfg loom"`, these are [loom](https://docs.rs/loom)'s
//! instrumented types, and the `loom` unit tests explore every
//! interleaving of the protocol they drive (see `.ci/loom`). In every
//! other build they are `core`'s and `std`'s own, at no cost.

#[cfg(loom)]
#[allow(unused_imports)]
pub(crate) use loom::sync::atomic::{
    fence, AtomicBool, AtomicPtr, AtomicU32, AtomicU64, AtomicU8, AtomicUsize, Ordering,
};
#[cfg(loom)]
#[allow(unused_imports)]
pub(crate) use loom::sync::{Arc, Mutex, MutexGuard};

#[cfg(not(loom))]
#[allow(unused_imports)]
pub(crate) use core::sync::atomic::{
    fence, AtomicBool, AtomicPtr, AtomicU32, AtomicU64, AtomicU8, AtomicUsize, Ordering,
};
#[cfg(not(loom))]
#[allow(unused_imports)]
pub(crate) use std::sync::{Arc, Mutex, MutexGuard};
