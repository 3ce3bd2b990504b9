#![doc = include_str!("../README.md")]
#![deny(missing_docs)]

pub use coro_core::*;
/// Turns a function into a C++20-style coroutine; write it `#[coro::coroutine]`.
///
/// See the [crate documentation](crate) for an overview, and the guide's
/// `docs/guide/from-cpp.md` in the repository for the exact semantics.
pub use coro_macros::coroutine;
/// Completes an `impl Promise` block with the common members it leaves out;
/// write it `#[coro::promise_type]`.
pub use coro_macros::promise_type;

/// The guide's chapters (`docs/guide/`), included only so that
/// `cargo test --doc` compiles and runs every Rust block in them.
#[cfg(doctest)]
mod guide_doctests {
    #[doc = include_str!("../docs/guide/README.md")]
    pub struct GuideContents;
    #[doc = include_str!("../docs/guide/from-cpp.md")]
    pub struct GuideFromCpp;
    #[doc = include_str!("../docs/guide/from-async-rust.md")]
    pub struct GuideFromAsyncRust;
    #[doc = include_str!("../docs/guide/tasks.md")]
    pub struct GuideTasks;
    #[doc = include_str!("../docs/guide/generators.md")]
    pub struct GuideGenerators;
    #[doc = include_str!("../docs/guide/combinators-and-cancellation.md")]
    pub struct GuideCombinatorsAndCancellation;
    #[doc = include_str!("../docs/guide/sync.md")]
    pub struct GuideSync;
    #[doc = include_str!("../docs/guide/threads-and-schedulers.md")]
    pub struct GuideThreadsAndSchedulers;
    #[doc = include_str!("../docs/guide/io.md")]
    pub struct GuideIo;
    #[doc = include_str!("../docs/guide/limitations.md")]
    pub struct GuideLimitations;
}
