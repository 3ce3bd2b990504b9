//! Sockets as awaiters: [`TcpListener`], [`TcpStream`] (and its halves),
//! [`UdpSocket`].
//!
//! Every operation is an awaiter: `co_await!(stream.read(&mut buf))`.
//! It tries the system call first and suspends only on `WouldBlock`,
//! registering the coroutine with this thread's [`EventLoop`] as waiting
//! for the socket to become readable or writable; a readiness event
//! resumes it and it tries again (a spurious wake-up just suspends once
//! more). The operation's state — the buffer borrow, the registration
//! key — lives in the awaiter, in the coroutine's frame: once the loop is
//! warm, **an operation allocates nothing**.
//!
//! - **Buffers**: `read(&mut buf)` and `write(&buf)` borrow the buffer for
//!   the whole `co_await!`, and the borrow checker sees it (a buffer
//!   dropped while its read is pending does not compile). The owned forms
//!   [`TcpStream::read_owned`] and [`TcpStream::write_all_owned`] take a
//!   `Vec<u8>` and give it back with the result, for code that hands
//!   buffers between coroutines.
//! - **Errors** reach the coroutine as [`io::Error`](std::io::Error):
//!   `ConnectionRefused` from a connect, `ConnectionReset` from a read when
//!   the peer aborts, `BrokenPipe` from a write to a closed peer (never a
//!   `SIGPIPE`); end of stream is `Ok(0)`. [`TcpListener::accept`] backs
//!   off on its own when the process runs out of descriptors (EMFILE,
//!   ENFILE: a timer on the loop, 10 ms doubling up to 1 s) and goes on
//!   once descriptors are free.
//! - **Cancellation**: destroying a coroutine suspended in an operation
//!   (a [`timeout`](crate::timeout) running out, a `when_any` loser, a
//!   dropped [`JoinHandle`](crate::JoinHandle)) drops the awaiter, which
//!   withdraws its waiter; a later readiness event finds nothing (events
//!   name registrations by key and generation, never a frame). Every
//!   awaiter implements the cancel step,
//!   [`await_cancel`](coro_core::Awaiter::await_cancel), as the timers do.
//!   Dropping a socket deregisters it from every loop's poller.
//! - **Threads**: sockets are `Send` and `Sync`. A socket registers with
//!   the loop of the thread that first waits on it, lazily; awaited later
//!   from another loop, it registers there too, and its registrations on
//!   loops where nothing waits any more are dropped (it moved). So a
//!   listener on one loop can hand each connection to another
//!   (`coro_io::spawn(serve(stream))`), the two owned halves of a stream
//!   may be awaited on two loops at once, and one listener may be shared
//!   by several loops (each woken when a connection comes; one wins it).
//!   For servers with one loop per core, [`TcpListener::bind_reuse_port`]
//!   gives each loop a listener of its own and lets the kernel spread the
//!   connections.
//!
//! Unix only (the sockets register their descriptors with the loop's
//! poller).
//!
//! ```
//! use std::net::SocketAddr;
//! use coro::{co_await, co_return, Task};
//! use coro_io::{spawn_local, EventLoop, TcpListener, TcpStream};
//!
//! /// One connection: echo what comes until the client closes its side.
//! #[coro::coroutine]
//! fn serve(mut stream: TcpStream) -> Task<std::io::Result<()>> {
//!     let mut buf = [0u8; 4096];
//!     loop {
//!         let n = co_await!(stream.read(&mut buf))?;
//!         if n == 0 {
//!             co_return!(Ok(()));
//!         }
//!         co_await!(stream.write_all(&buf[..n]))?;
//!     }
//! }
//!
//! #[coro::coroutine]
//! fn client(addr: SocketAddr) -> Task<std::io::Result<Vec<u8>>> {
//!     let mut s = co_await!(TcpStream::connect(addr))?;
//!     co_await!(s.write_all(b"hello"))?;
//!     let mut back = [0u8; 5];
//!     co_await!(s.read_exact(&mut back))?;
//!     co_return!(Ok(back.to_vec()))
//! }
//!
//! #[coro::coroutine]
//! fn main_task() -> Task<std::io::Result<Vec<u8>>> {
//!     let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))?;
//!     let c = spawn_local(client(listener.local_addr()?));
//!     let (stream, _peer) = co_await!(listener.accept())?;
//!     let s = spawn_local(serve(stream));
//!     let echoed = co_await!(c)?;
//!     co_await!(s)?;
//!     co_return!(Ok(echoed))
//! }
//!
//! let rt = EventLoop::new()?;
//! assert_eq!(rt.block_on(main_task())?, b"hello");
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! [`EventLoop`]: crate::EventLoop

/// Defines a public awaiter type around `Pending<$op>`.
macro_rules! awaiter {
    ($(#[$m:meta])* $name:ident<$lt:lifetime>, $op:ty, $out:ty) => {
        $(#[$m])*
        #[must_use = "a socket operation does nothing until it is awaited with co_await!"]
        pub struct $name<$lt>(super::source::Pending<$op>);
        awaiter!(@impls $name<'_>, $name, $out);
    };
    ($(#[$m:meta])* $name:ident, $op:ty, $out:ty) => {
        $(#[$m])*
        #[must_use = "a socket operation does nothing until it is awaited with co_await!"]
        pub struct $name(super::source::Pending<$op>);
        awaiter!(@impls $name, $name, $out);
    };
    (@impls $t:ty, $name:ident, $out:ty) => {
        impl core::fmt::Debug for $t {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.debug_struct(stringify!($name)).field("waiting", &self.0.is_waiting()).finish()
            }
        }

        impl coro_core::Awaiter for $t {
            type Output = $out;
            fn await_ready(&mut self) -> bool {
                self.0.await_ready()
            }
            unsafe fn await_suspend(&mut self, awaiting: coro_core::CoroutineHandle) -> impl coro_core::AwaitSuspend {
                // SAFETY: the frame's contract for this awaiter holds for
                // the one inside it (same handle, same place in the frame).
                unsafe { self.0.await_suspend(awaiting) }
            }
            fn await_resume(self) -> $out {
                self.0.await_resume()
            }
            unsafe fn await_cancel(&mut self) -> coro_core::awaiter::CancelOutcome {
                // SAFETY: the caller's contract, passed on to the awaiter
                // inside (suspended on it, touched by nobody else).
                unsafe { self.0.await_cancel() }
            }
            const RECHECK_READY_ON_RESUME: bool = true;
        }
    };
}

mod fast;
mod source;
mod tcp;
mod udp;

pub use tcp::{
    Accept, Connect, Flush, OwnedReadHalf, OwnedWriteHalf, Read, ReadExact, ReadHalf, ReadOwned, TcpListener,
    TcpStream, Write, WriteAll, WriteAllOwned, WriteHalf,
};
pub use udp::{RecvFrom, SendTo, UdpRecv, UdpSend, UdpSocket};

#[cfg(test)]
mod tests {
    use core::mem::size_of;

    /// What a connection costs: the socket (its descriptor and its
    /// registrations) and an operation's awaiter (in the frame, only while
    /// it is awaited). Bounds, so that a change that grows them is seen.
    #[test]
    fn a_stream_and_its_awaiters_stay_small() {
        // (what, bytes, bound); 64-bit figures: 72, 80, 88, 168 (its
        // result, a stream and an address, waits in it), 104.
        let sizes = [
            ("TcpStream", size_of::<super::TcpStream>(), 80),
            ("Read", size_of::<super::Read<'static>>(), 96),
            ("WriteAll", size_of::<super::WriteAll<'static>>(), 96),
            ("Accept", size_of::<super::Accept<'static>>(), 192),
            ("a loop's source entry", crate::registration::Sources::entry_size(), 112),
        ];
        println!("{sizes:?}");
        for (what, size, bound) in sizes {
            assert!(size <= bound, "{what}: {size} bytes, more than {bound}");
        }
    }
}
