//! The runtime of [coro](https://docs.rs/coro): event loops that run
//! C++20-style coroutines, their timers, their sockets, and the wake-ups
//! other threads send them — one loop on a thread of your own
//! ([`EventLoop`]), or one per core ([`Runtime`]).
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
//! loop at once, even while the loop is blocked in `poll`. While it runs,
//! a loop is the driver of what it resumes
//! ([`coro_core::schedule::DriverScope`]): a `SendTask` it resumes that
//! awaits a Rust future is woken back onto the same loop.
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
//! - [`Runtime::new`]`(n)` starts `n` loop threads (thread-per-core);
//!   [`Runtime::spawn`] (or [`spawn`] from inside one of its tasks) places
//!   a `Send` task on a loop, round-robin, where it stays;
//!   [`Runtime::block_on`] runs a task (a thread-bound `Task` too) on the
//!   calling thread's own loop; [`LoopHandle`]s reach each loop from any
//!   thread, and `co_await!(handle.schedule())` hops a `SendTask` there.
//! - [`spawn_local`] runs a `Task` (or `SendTask`, or Rust future) on this
//!   thread's loop. Every spawn returns a [`JoinHandle`]: `co_await!` it
//!   from a coroutine on any loop, `block_on` it, `sync_wait` it, `.await`
//!   it, detach it or cancel it. **Dropping a `JoinHandle` cancels its
//!   task** (as dropping a `Task` destroys it); call
//!   [`JoinHandle::detach`] to let it run.
//! - [`sleep`], [`sleep_until`], [`yield_now`] and [`timeout`] are awaiters
//!   that carry their timer entry: once warm, a sleep allocates nothing.
//!   They are `Send`: a `SendTask` sleeps on the loop of the thread it runs
//!   on.
//! - [`interval`] is a periodic timer: `co_await!(iv.tick())` once per
//!   period (the first tick at once; missed ticks burst), allocating
//!   nothing per tick once warm.
//!
//! ```
//! use std::time::Duration;
//! use coro::{co_await, co_return, SendTask};
//! use coro_io::{sleep, LoopHandle, Runtime};
//!
//! #[coro::coroutine]
//! fn nap_then_hop(to: LoopHandle) -> SendTask<usize> {
//!     co_await!(sleep(Duration::from_millis(1)));   // on the loop it was spawned on
//!     co_await!(to.schedule());                     // now on `to`'s thread
//!     co_return!(LoopHandle::current().index())
//! }
//!
//! let rt = Runtime::new(2)?;
//! let h = rt.handle(0).spawn(nap_then_hop(rt.handle(1).clone()));
//! assert_eq!(coro::sync_wait(h), 1);
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! # Sockets
//!
//! [`TcpListener`], [`TcpStream`] (split into halves to read and write
//! from two coroutines at once) and [`UdpSocket`], in [`net`] (with their
//! awaiter types) and here. Every operation is an awaiter that tries the
//! system call first and suspends only on `WouldBlock`, registered with
//! its loop as waiting for readiness (the loop polls its sockets with
//! mio, edge-triggered; an event names the socket's entry, whose waiters
//! it takes out and resumes). The operation's state — the buffer borrow,
//! the waiter's id — lives in the awaiter, in the frame: once warm, an operation
//! allocates nothing. Buffers are borrowed for the `co_await!` (checked
//! by the borrow checker) or owned (`read_owned`, `write_all_owned`).
//! Errors are `io::Error`s (`ConnectionRefused`, `ConnectionReset`,
//! `BrokenPipe`, end of stream as `Ok(0)`); `accept` backs off by itself
//! when out of descriptors. Sockets are `Send`: each registers with the
//! loop that first waits on it, so a connection accepted on one loop is
//! served on another (`coro_io::spawn(serve(stream))`), or each loop binds
//! its own listener ([`TcpListener::bind_reuse_port`]). Unix only.
//!
//! ```
//! use std::net::SocketAddr;
//! use coro::{co_await, co_return, Task};
//! use coro_io::{spawn_local, EventLoop, TcpListener, TcpStream};
//!
//! #[coro::coroutine]
//! fn serve(mut s: TcpStream) -> Task<std::io::Result<()>> {
//!     let mut buf = [0u8; 1024];
//!     let n = co_await!(s.read(&mut buf))?;
//!     co_await!(s.write_all(&buf[..n]))?;
//!     co_return!(Ok(()))
//! }
//!
//! #[coro::coroutine]
//! fn ping(addr: SocketAddr) -> Task<std::io::Result<Vec<u8>>> {
//!     let mut s = co_await!(TcpStream::connect(addr))?;
//!     co_await!(s.write_all(b"ping"))?;
//!     let mut back = [0u8; 4];
//!     co_await!(s.read_exact(&mut back))?;
//!     co_return!(Ok(back.to_vec()))
//! }
//!
//! #[coro::coroutine]
//! fn main_task() -> Task<std::io::Result<Vec<u8>>> {
//!     let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))?;
//!     let client = spawn_local(ping(listener.local_addr()?));
//!     let (stream, _) = co_await!(listener.accept())?;
//!     co_await!(serve(stream))?;
//!     co_return!(co_await!(client))
//! }
//!
//! assert_eq!(EventLoop::new()?.block_on(main_task())?, b"ping");
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! # Which scheduler when
//!
//! One story: **a loop is where coroutines run**. Use a [`Runtime`] for a
//! program's work (I/O-bound or mixed: tasks stay on their loop, timers and
//! wake-ups are local, nothing is shared between loops but what you
//! share), an [`EventLoop`] for one thread of your own (a test, a GUI
//! thread, an embedded loop). coro-core's `ThreadPool` stays the tool for
//! CPU-bound `SendTask`s that may run on any worker (a shared FIFO queue,
//! no timers); hop there and back with `co_await!(pool.schedule())` and
//! `co_await!(loop_handle.schedule())`. `LocalScheduler` is a hand-driven
//! run queue for tests and embedding. A [`LoopHandle`] is a coro-core
//! [`Scheduler`](coro_core::schedule::Scheduler) too, so code written
//! against that trait (`spawn_detached`) runs on a loop.
//!
//! # Cancellation
//!
//! Destroying a suspended coroutine on its loop's thread is always allowed
//! ([`JoinHandle::cancel`], a `timeout` that runs out, a dropped loop),
//! whatever it waits for (a timer, a task, a socket):
//! its awaiters' drops (C++: their destructors in the frame) withdraw what
//! they registered. A wake-up names a registration (a slab key and a
//! generation), never a frame, so a late one finds a dead generation and
//! is dropped. From another thread nothing touches the loop's state: a
//! dropped `JoinHandle` posts a cancellation that the task's loop carries
//! out on its own thread, and an awaiter dropped there posts the
//! withdrawal of its registration. Every coro-io awaiter implements the
//! cancel step, [`Awaiter::await_cancel`](coro_core::Awaiter::await_cancel):
//! on its loop's thread it withdraws its registration
//! (`CancelOutcome::Withdrawn`: the owner may free the frame at once);
//! from another thread it asks the loop to resume the coroutine early
//! (`CancelOutcome::ResumeComing`), so that its owner destroys it there.
//!
//! # Not yet
//!
//! Files, pipes, Unix domain sockets, TLS, name resolution (sockets take a
//! `SocketAddr`), sockets on Windows; work stealing between loops (a task
//! stays where it was placed); awaiting a [`JoinHandle`], a timer or a
//! socket from a thread without a loop (use `sync_wait` or `.await`
//! there).

#![deny(missing_docs, missing_debug_implementations, unsafe_op_in_unsafe_fn)]

mod atomic;
mod clock;
mod event_loop;
mod inject;
mod interval;
#[cfg(unix)]
pub mod net;
mod registration;
mod runtime;
mod task;
mod time;

pub use event_loop::EventLoop;
pub use interval::{interval, interval_at, Interval, Tick};
#[cfg(unix)]
pub use net::{OwnedReadHalf, OwnedWriteHalf, ReadHalf, TcpListener, TcpStream, UdpSocket, WriteHalf};
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
