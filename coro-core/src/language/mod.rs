//! The language layer: what C++'s `<coroutine>` header and compiler give.
//! Suspension-point records, coroutine handles, the promise and awaiter
//! protocols, the trivial awaiters, the frame and its lifecycle (ramp,
//! resume loop, destroy), and the support the `#[coro::coroutine]` lowering
//! calls. It knows nothing of tasks, threads or schedulers.

pub(crate) mod atomic;
pub(crate) mod awaiter;
pub(crate) mod backtrace;
pub(crate) mod frame;
pub(crate) mod gate;
pub(crate) mod handle;
pub(crate) mod lowering;
pub(crate) mod point;
pub(crate) mod promise;
pub(crate) mod suspend;
