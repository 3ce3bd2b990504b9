//! The runtime of [coro](https://docs.rs/coro): a per-thread event loop
//! that runs C++20-style coroutines, their timers, and the wake-ups other
//! threads send them.
//!
//! coro's core says *how* a coroutine suspends and resumes; this crate says
//! *where and when* it runs. One [`EventLoop`] per thread, on a
//! [`mio::Poll`]: a ready queue, a timer heap, spawned tasks, and a
//! [`mio::Waker`] through which other threads wake it. It sits on top of
//! `coro-core`'s public API: awaiters ([`coro_core::Awaiter`]), handles, a
//! task as a future (`IntoFuture`), and the thread-home hooks
//! ([`coro_core::schedule::notify_when_woken`] and
//! [`coro_core::resume_woken`]), so that a thread-bound `Task` woken from
//! another thread (a `coro::sync` release, a future's waker) resumes on its
//! loop at once, even while the loop is blocked in `poll`.
//!
//! ```
//! use std::time::Duration;
//! use coro::{co_await, co_return, Task};
//! use coro_io::{sleep, spawn_local, timeout, EventLoop};
//!
//! #[coro::coroutine]
//! fn tick(ms: u64) -> Task<u64> {
//!     co_await!(sleep(Duration::from_millis(ms)));
//!     co_return!(ms)
//! }
//!
//! #[coro::coroutine]
//! fn main_task() -> Task<u64> {
//!     let a = spawn_local(tick(2));                  // runs concurrently
//!     let b = co_await!(timeout(Duration::from_secs(5), tick(1)));
//!     co_return!(co_await!(a) + b.unwrap())
//! }
//!
//! let rt = EventLoop::new()?;
//! assert_eq!(rt.block_on(main_task()), 3);
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! # Using it
//!
//! Depend on `coro-io` directly: the `coro` facade does not re-export it
//! (the core stays runtime-free; a facade feature may come once the
//! runtime's API settles).
//!
//! - [`EventLoop::new`] makes this thread's loop; [`EventLoop::block_on`]
//!   runs it until a task finishes, [`EventLoop::run`] until nothing is
//!   left.
//! - [`spawn_local`] runs a `Task` (or `SendTask`, or Rust future) on the
//!   loop; its [`JoinHandle`] is awaited, `block_on`'d, detached or
//!   cancelled. **Dropping a `JoinHandle` cancels its task** (as dropping
//!   a `Task` destroys it); call [`JoinHandle::detach`] to let it run.
//! - [`sleep`], [`sleep_until`], [`yield_now`] and [`timeout`] are awaiters
//!   that carry their timer entry: once warm, a sleep allocates nothing.
//! - [`interval`] is a periodic timer: `co_await!(iv.tick())` once per
//!   period (the first tick at once; missed ticks burst), allocating
//!   nothing per tick once warm.
//!
//! # Cancellation
//!
//! A task is thread-bound, so destroying it while it is suspended is
//! always allowed on its own thread ([`JoinHandle::cancel`], a `timeout`
//! that runs out, a dropped loop): its awaiters' drops (C++: their
//! destructors in the frame) withdraw what they registered. A wake-up
//! names a registration (a slab key and a generation), never a frame, so
//! a late one finds a dead generation and is dropped.
//!
//! # Not yet
//!
//! Sockets and other I/O sources; the multi-threaded runtime (one loop per
//! core); the cancel step inside coro-core's own awaiters (`coro::sync`,
//! a pool hop); sleeping in a `SendTask` (the timer awaiters
//! are not `Send`); a `SendTask` resumed by a timer is not yet under the
//! loop's driver scope (a Rust future it then awaits may resume it on the
//! waking thread); loom models; benchmarks.

#![deny(missing_docs, missing_debug_implementations, unsafe_op_in_unsafe_fn)]

mod atomic;
mod event_loop;
mod inject;
mod interval;
mod registration;
mod runtime;
mod task;
mod time;

pub use event_loop::EventLoop;
pub use interval::{interval, interval_at, Interval, Tick};
pub use runtime::{LoopHandle, LoopSchedule, Runtime};
pub use task::JoinHandle;
pub use time::{sleep, sleep_until, timeout, yield_now, Elapsed, Sleep, Timeout, YieldNow};

/// Starts `task` (a [`SendTask`](coro_core::SendTask) or any `Send`
/// future) on the [`Runtime`] this thread's loop belongs to, on its next
/// loop (round-robin); see [`Runtime::spawn`].
///
/// # Panics
/// If this thread's loop belongs to no runtime (a loop thread of a
/// [`Runtime`], or a thread inside [`Runtime::block_on`], has one), or the
/// runtime has been dropped.
///
/// ```
/// use coro::{co_await, co_return, SendTask};
///
/// #[coro::coroutine]
/// fn square(x: u64) -> SendTask<u64> { co_return!(x * x) }
///
/// #[coro::coroutine]
/// fn sum() -> SendTask<u64> {
///     let a = coro_io::spawn(square(3)); // on the runtime's loops
///     let b = coro_io::spawn(square(4));
///     co_return!(co_await!(a) + co_await!(b))
/// }
///
/// let rt = coro_io::Runtime::new(2).unwrap();
/// assert_eq!(rt.block_on(sum()), 25);
/// ```
pub fn spawn<F>(task: F) -> JoinHandle<F::Output>
where
    F: core::future::IntoFuture,
    F::IntoFuture: Send + 'static,
    F::Output: Send + 'static,
{
    let runtime = event_loop::try_current().and_then(|lp| lp.runtime.borrow().as_ref().and_then(|w| w.upgrade()));
    match runtime {
        Some(rt) => rt.spawn(task),
        None => no_runtime(),
    }
}

#[cold]
#[inline(never)]
fn no_runtime() -> ! {
    panic!(
        "coro_io::spawn: this thread's loop belongs to no running coro_io::Runtime; call it from a task the \
         runtime runs (Runtime::spawn, Runtime::block_on), or use Runtime::spawn / spawn_local"
    )
}

/// Runs `task` on this thread's [`EventLoop`]; see
/// [`EventLoop::spawn_local`].
///
/// # Panics
/// If this thread has no [`EventLoop`].
///
/// ```
/// use coro::{co_await, co_return, Task};
///
/// #[coro::coroutine]
/// fn double(x: u32) -> Task<u32> { co_return!(2 * x) }
///
/// #[coro::coroutine]
/// fn sum() -> Task<u32> {
///     let h = coro_io::spawn_local(double(4));
///     co_return!(co_await!(h) + 1)
/// }
///
/// let rt = coro_io::EventLoop::new().unwrap();
/// assert_eq!(rt.block_on(sum()), 9);
/// ```
pub fn spawn_local<F>(task: F) -> JoinHandle<F::Output>
where
    F: core::future::IntoFuture,
    F::IntoFuture: 'static,
    F::Output: 'static,
{
    event_loop::current().spawn(task.into_future())
}
