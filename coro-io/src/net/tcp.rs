//! TCP: [`TcpListener`], [`TcpStream`], its halves, and their awaiters.

use core::fmt;
use std::io::{self, Read as _};
use std::net::{Shutdown, SocketAddr};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::sync::Arc;
use std::time::Duration;

use socket2::SockRef;

use super::source::{attempt_io, Attempt, Op, Pending, Registration, Source};
use crate::registration::Direction;

type Stream = Source<mio::net::TcpStream>;
type Listener = Source<mio::net::TcpListener>;

/// The listen backlog of [`TcpListener::bind`] and
/// [`TcpListener::bind_reuse_port`] (tokio's; the kernel caps it at
/// `net.core.somaxconn`).
const BACKLOG: i32 = 1024;

/// The first back-off of `accept` out of descriptors, and the longest.
const BACKOFF_FIRST: Duration = Duration::from_millis(10);
const BACKOFF_MAX: Duration = Duration::from_secs(1);

/// `accept` failed for want of a resource that no readiness event will
/// announce: descriptors (process or system), buffers, memory.
fn out_of_resources(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM))
}

/// A non-blocking listening socket on `addr` (close-on-exec, as socket2
/// makes every socket).
fn listen(addr: SocketAddr, reuse_port: bool) -> io::Result<TcpListener> {
    let socket = socket2::Socket::new(socket2::Domain::for_address(addr), socket2::Type::STREAM, None)?;
    socket.set_reuse_address(true)?;
    if reuse_port {
        socket.set_reuse_port(true)?;
    }
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(BACKLOG)?;
    Ok(TcpListener { src: Source::new(mio::net::TcpListener::from_std(socket.into())) })
}

/// A TCP listening socket: `co_await!(listener.accept())` gives each
/// connection.
///
/// **Multi-threaded servers.** Two ways to spread connections over the
/// loops of a [`Runtime`](crate::Runtime):
///
/// - one listener, one accepting coroutine: hand each connection to
///   another loop, `coro_io::spawn(serve(stream))` (a [`TcpStream`] is
///   `Send`; it registers with the loop that first awaits it);
/// - [`bind_reuse_port`](Self::bind_reuse_port): one listener per loop
///   on the same address (`SO_REUSEPORT`), each with its own accepting
///   coroutine serving its connections where they are; the kernel
///   spreads the connections (no hop per connection).
///
/// A listener shared by several loops (in an `Arc`) also works: each
/// loop's accept is woken when a connection comes, one of them wins it.
///
/// When the process is out of descriptors (EMFILE, ENFILE), `accept` does
/// not fail nor spin: it retries on a timer (10 ms, doubling up to 1 s)
/// and goes on once descriptors are free. A connection aborted before it
/// was accepted is skipped.
///
/// ```
/// use std::net::SocketAddr;
/// use coro::{co_await, co_return, Task};
/// use coro_io::{EventLoop, TcpListener};
///
/// #[coro::coroutine]
/// fn accept_one(listener: TcpListener) -> Task<std::io::Result<SocketAddr>> {
///     let (_stream, peer) = co_await!(listener.accept())?;
///     co_return!(Ok(peer))
/// }
///
/// let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))?;
/// let client = std::net::TcpStream::connect(listener.local_addr()?)?;
/// let rt = EventLoop::new()?;
/// assert_eq!(rt.block_on(accept_one(listener))?, client.local_addr()?);
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct TcpListener {
    src: Listener,
}

impl fmt::Debug for TcpListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("TcpListener").field(&self.src).finish()
    }
}

impl TcpListener {
    /// Binds a listener to `addr` (`SO_REUSEADDR` set, listen backlog 1024,
    /// as tokio's; the kernel caps it at `net.core.somaxconn`). Port 0 picks a free port: see
    /// [`local_addr`](Self::local_addr). Needs no loop: the listener
    /// registers with the loop that first awaits its `accept`.
    ///
    /// ```
    /// use std::net::SocketAddr;
    /// let listener = coro_io::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))?;
    /// assert_ne!(listener.local_addr()?.port(), 0);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn bind(addr: SocketAddr) -> io::Result<TcpListener> {
        listen(addr, false)
    }

    /// Binds a listener to `addr` with `SO_REUSEPORT` (and
    /// `SO_REUSEADDR`), so that several listeners — one per loop of a
    /// [`Runtime`](crate::Runtime) — share the address and the kernel
    /// spreads incoming connections over them. Bind the first to port 0,
    /// then the others to its [`local_addr`](Self::local_addr).
    ///
    /// ```
    /// use std::net::SocketAddr;
    /// use coro_io::TcpListener;
    /// let a = TcpListener::bind_reuse_port(SocketAddr::from(([127, 0, 0, 1], 0)))?;
    /// let b = TcpListener::bind_reuse_port(a.local_addr()?)?;
    /// assert_eq!(a.local_addr()?, b.local_addr()?);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn bind_reuse_port(addr: SocketAddr) -> io::Result<TcpListener> {
        listen(addr, true)
    }

    /// Wraps a listener bound with the standard library (or `socket2`),
    /// switching it to non-blocking mode.
    ///
    /// ```
    /// let std_listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// let addr = std_listener.local_addr()?;
    /// let listener = coro_io::TcpListener::from_std(std_listener)?;
    /// assert_eq!(listener.local_addr()?, addr);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn from_std(listener: std::net::TcpListener) -> io::Result<TcpListener> {
        listener.set_nonblocking(true)?;
        Ok(TcpListener { src: Source::new(mio::net::TcpListener::from_std(listener)) })
    }

    /// The address the listener is bound to.
    ///
    /// ```
    /// use std::net::SocketAddr;
    /// let listener = coro_io::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))?;
    /// assert!(listener.local_addr()?.ip().is_loopback());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.src.io.local_addr()
    }

    /// `co_await!(listener.accept())` waits for the next connection: the
    /// stream (non-blocking, not yet registered with any loop) and the
    /// peer's address. Several coroutines may accept on one listener at
    /// once. Out of descriptors, it backs off on a timer instead of
    /// failing (see [`TcpListener`]).
    ///
    /// # Panics
    /// At the `co_await!`, if it has to wait and this thread has no
    /// [`EventLoop`](crate::EventLoop).
    ///
    /// ```
    /// use std::net::SocketAddr;
    /// use coro::{co_await, co_return, Task};
    /// use coro_io::{TcpListener, TcpStream};
    ///
    /// #[coro::coroutine]
    /// fn dial(addr: SocketAddr) -> Task<std::io::Result<TcpStream>> {
    ///     co_return!(co_await!(TcpStream::connect(addr)))
    /// }
    ///
    /// #[coro::coroutine]
    /// fn pair() -> Task<std::io::Result<bool>> {
    ///     let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))?;
    ///     let client = coro_io::spawn_local(dial(listener.local_addr()?));
    ///     let (server_side, peer) = co_await!(listener.accept())?;
    ///     let client_side = co_await!(client)?;
    ///     co_return!(Ok(peer == client_side.local_addr()? && server_side.peer_addr()? == peer))
    /// }
    ///
    /// let rt = coro_io::EventLoop::new()?;
    /// assert!(rt.block_on(pair())?);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn accept(&self) -> Accept<'_> {
        Accept(Pending::new(AcceptOp { src: &self.src, backoff: None }))
    }
}

impl AsRawFd for TcpListener {
    fn as_raw_fd(&self) -> RawFd {
        self.src.io.as_raw_fd()
    }
}

impl AsFd for TcpListener {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.src.io.as_fd()
    }
}

struct AcceptOp<'a> {
    src: &'a Listener,
    /// The last back-off, while out of descriptors.
    backoff: Option<Duration>,
}

impl Op for AcceptOp<'_> {
    type Output = io::Result<(TcpStream, SocketAddr)>;
    fn attempt(&mut self) -> Attempt<Self::Output> {
        loop {
            match self.src.io.accept() {
                Ok((stream, peer)) => return Attempt::Done(Ok((TcpStream { src: Source::new(stream) }, peer))),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Attempt::Wait(Direction::Read),
                // Aborted before we took it: the next one.
                Err(e) if matches!(e.kind(), io::ErrorKind::Interrupted | io::ErrorKind::ConnectionAborted) => {}
                Err(e) if out_of_resources(&e) => {
                    let next = self.backoff.map_or(BACKOFF_FIRST, |d| (d * 2).min(BACKOFF_MAX));
                    self.backoff = Some(next);
                    return Attempt::Backoff(next);
                }
                Err(e) => return Attempt::Done(Err(e)),
            }
        }
    }
    fn fail(&mut self, error: io::Error) -> Self::Output {
        Err(error)
    }
    fn source(&self) -> Option<(&Registration, RawFd)> {
        Some(self.src.parts())
    }
}

awaiter!(
    /// The awaiter of [`TcpListener::accept`].
    ///
    /// ```
    /// use std::net::SocketAddr;
    /// let listener = coro_io::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))?;
    /// let _accept: coro_io::net::Accept<'_> = listener.accept();
    /// # Ok::<(), std::io::Error>(())
    /// ```
    Accept<'a>,
    AcceptOp<'a>,
    io::Result<(TcpStream, SocketAddr)>
);

/// A TCP connection. Read and write it with `co_await!`:
/// [`read`](Self::read), [`read_exact`](Self::read_exact),
/// [`write`](Self::write), [`write_all`](Self::write_all), the owned-buffer
/// forms [`read_owned`](Self::read_owned) and
/// [`write_all_owned`](Self::write_all_owned); [`split`](Self::split) it
/// to read and write from two coroutines at once.
///
/// `Send` and `Sync`: it registers with the loop of the thread that first
/// waits on it, so a connection accepted on one loop is served on another
/// by spawning its coroutine there (see [the module docs](crate::net)).
/// Dropping it closes the connection and deregisters it from its loops.
///
/// ```
/// use coro::{co_await, co_return, Task};
/// use coro_io::TcpStream;
///
/// #[coro::coroutine]
/// fn shout(mut s: TcpStream) -> Task<std::io::Result<()>> {
///     let mut buf = [0u8; 5];
///     co_await!(s.read_exact(&mut buf))?;
///     buf.make_ascii_uppercase();
///     co_await!(s.write_all(&buf))?;
///     co_return!(Ok(()))
/// }
///
/// let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
/// let mut peer = std::net::TcpStream::connect(listener.local_addr()?)?;
/// let stream = TcpStream::from_std(listener.accept()?.0)?;
/// std::io::Write::write_all(&mut peer, b"hello")?;
/// coro_io::EventLoop::new()?.block_on(shout(stream))?;
/// let mut back = [0u8; 5];
/// std::io::Read::read_exact(&mut peer, &mut back)?;
/// assert_eq!(&back, b"HELLO");
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct TcpStream {
    src: Stream,
}

impl fmt::Debug for TcpStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("TcpStream").field(&self.src).finish()
    }
}

/// The example of a read method of `$ty`, whose value `io` the line
/// `$split` makes from `s`, a connected `TcpStream`.
macro_rules! read_methods {
    ($split:literal) => {
        /// `co_await!(io.read(&mut buf))` reads some bytes into `buf`:
        /// `Ok(n)`, `n > 0`, once data is there; `Ok(0)` at end of stream
        /// (the peer shut its side down or closed), or if `buf` is empty.
        ///
        /// # Panics
        /// At the `co_await!`, if it has to wait and this thread has no
        /// [`EventLoop`](crate::EventLoop).
        ///
        /// ```
        /// # use coro::{co_await, co_return, Task};
        /// # use coro_io::TcpStream;
        /// # let l = std::net::TcpListener::bind("127.0.0.1:0")?;
        /// # let mut peer = std::net::TcpStream::connect(l.local_addr()?)?;
        /// # let s = TcpStream::from_std(l.accept()?.0)?;
        /// # std::io::Write::write_all(&mut peer, b"hello")?;
        /// #[coro::coroutine]
        /// fn demo(mut s: TcpStream) -> Task<std::io::Result<usize>> {
        #[doc = concat!("    ", $split)]
        ///     let mut buf = [0u8; 5];
        ///     co_return!(co_await!(io.read(&mut buf)))
        /// }
        /// let rt = coro_io::EventLoop::new()?;
        /// assert_eq!(rt.block_on(demo(s))?, 5);
        /// # Ok::<(), std::io::Error>(())
        /// ```
        pub fn read<'a>(&'a mut self, buf: &'a mut [u8]) -> Read<'a> {
            Read(Pending::new(ReadOp { src: self.stream(), buf }))
        }

        /// `co_await!(io.read_exact(&mut buf))` fills `buf`, reading as
        /// often as needed; an end of stream first is an
        /// `UnexpectedEof` error (what was read stays in `buf`).
        ///
        /// # Panics
        /// At the `co_await!`, if it has to wait and this thread has no
        /// [`EventLoop`](crate::EventLoop).
        ///
        /// ```
        /// # use coro::{co_await, co_return, Task};
        /// # use coro_io::TcpStream;
        /// # let l = std::net::TcpListener::bind("127.0.0.1:0")?;
        /// # let mut peer = std::net::TcpStream::connect(l.local_addr()?)?;
        /// # let s = TcpStream::from_std(l.accept()?.0)?;
        /// # std::io::Write::write_all(&mut peer, b"hello")?;
        /// # drop(peer);
        /// #[coro::coroutine]
        /// fn demo(mut s: TcpStream) -> Task<std::io::Result<()>> {
        #[doc = concat!("    ", $split)]
        ///     let mut buf = [0u8; 5];
        ///     co_await!(io.read_exact(&mut buf))?;
        ///     assert_eq!(&buf, b"hello");
        ///     co_return!(co_await!(io.read_exact(&mut buf))) // the peer closed
        /// }
        /// let rt = coro_io::EventLoop::new()?;
        /// assert_eq!(rt.block_on(demo(s)).unwrap_err().kind(), std::io::ErrorKind::UnexpectedEof);
        /// # Ok::<(), std::io::Error>(())
        /// ```
        pub fn read_exact<'a>(&'a mut self, buf: &'a mut [u8]) -> ReadExact<'a> {
            ReadExact(Pending::new(ReadExactOp { src: self.stream(), buf, filled: 0 }))
        }

        /// `co_await!(io.read_owned(buf))` reads into the **spare
        /// capacity** of `buf` (`buf[buf.len()..buf.capacity()]`) and
        /// gives the vector back with the result: after `Ok(n)` the `n`
        /// bytes read are appended (`buf.len()` grew by `n`, the bytes
        /// before are untouched; nothing is reallocated). `Ok(0)` is end of
        /// stream, or a vector with no spare capacity (nothing is read:
        /// reserve first). On an error the vector comes back unchanged.
        /// For code that hands buffers between coroutines; if the
        /// `co_await!` is cancelled, the vector is dropped with it.
        ///
        /// # Panics
        /// At the `co_await!`, if it has to wait and this thread has no
        /// [`EventLoop`](crate::EventLoop).
        ///
        /// ```
        /// # use coro::{co_await, co_return, Task};
        /// # use coro_io::TcpStream;
        /// # let l = std::net::TcpListener::bind("127.0.0.1:0")?;
        /// # let mut peer = std::net::TcpStream::connect(l.local_addr()?)?;
        /// # let s = TcpStream::from_std(l.accept()?.0)?;
        /// # std::io::Write::write_all(&mut peer, b"hello")?;
        /// #[coro::coroutine]
        /// fn demo(mut s: TcpStream) -> Task<std::io::Result<Vec<u8>>> {
        #[doc = concat!("    ", $split)]
        ///     let mut buf = Vec::with_capacity(64);
        ///     buf.extend_from_slice(b"> ");
        ///     let (n, buf) = co_await!(io.read_owned(buf));
        ///     let n = n?;
        ///     assert_eq!(n, 5);
        ///     co_return!(Ok(buf))
        /// }
        /// let rt = coro_io::EventLoop::new()?;
        /// assert_eq!(rt.block_on(demo(s))?, b"> hello");
        /// # Ok::<(), std::io::Error>(())
        /// ```
        pub fn read_owned(&mut self, buf: Vec<u8>) -> ReadOwned<'_> {
            ReadOwned(Pending::new(ReadOwnedOp { src: self.stream(), buf: Some(buf) }))
        }
    };
}

/// As `read_methods`, for writing (`$split` makes `io`).
macro_rules! write_methods {
    ($split:literal) => {
        /// `co_await!(io.write(&buf))` writes some of `buf`: `Ok(n)`, the
        /// number of bytes the kernel took (`n > 0` unless `buf` is
        /// empty). A peer that closed the connection gives `BrokenPipe` or
        /// `ConnectionReset` (never a `SIGPIPE`).
        ///
        /// # Panics
        /// At the `co_await!`, if it has to wait and this thread has no
        /// [`EventLoop`](crate::EventLoop).
        ///
        /// ```
        /// # use coro::{co_await, co_return, Task};
        /// # use coro_io::TcpStream;
        /// # let l = std::net::TcpListener::bind("127.0.0.1:0")?;
        /// # let mut peer = std::net::TcpStream::connect(l.local_addr()?)?;
        /// # let s = TcpStream::from_std(l.accept()?.0)?;
        /// #[coro::coroutine]
        /// fn demo(mut s: TcpStream) -> Task<std::io::Result<usize>> {
        #[doc = concat!("    ", $split)]
        ///     co_return!(co_await!(io.write(b"hello")))
        /// }
        /// let rt = coro_io::EventLoop::new()?;
        /// assert_eq!(rt.block_on(demo(s))?, 5);
        /// # let mut buf = [0u8; 5];
        /// # std::io::Read::read_exact(&mut peer, &mut buf)?;
        /// # Ok::<(), std::io::Error>(())
        /// ```
        pub fn write<'a>(&'a mut self, buf: &'a [u8]) -> Write<'a> {
            Write(Pending::new(WriteOp { src: self.stream(), buf }))
        }

        /// `co_await!(io.write_all(&buf))` writes all of `buf`, waiting
        /// for room as often as needed.
        ///
        /// # Panics
        /// At the `co_await!`, if it has to wait and this thread has no
        /// [`EventLoop`](crate::EventLoop).
        ///
        /// ```
        /// # use coro::{co_await, co_return, Task};
        /// # use coro_io::TcpStream;
        /// # let l = std::net::TcpListener::bind("127.0.0.1:0")?;
        /// # let mut peer = std::net::TcpStream::connect(l.local_addr()?)?;
        /// # let s = TcpStream::from_std(l.accept()?.0)?;
        /// #[coro::coroutine]
        /// fn demo(mut s: TcpStream) -> Task<std::io::Result<()>> {
        #[doc = concat!("    ", $split)]
        ///     co_return!(co_await!(io.write_all(b"hello")))
        /// }
        /// let rt = coro_io::EventLoop::new()?;
        /// rt.block_on(demo(s))?;
        /// let mut buf = [0u8; 5];
        /// std::io::Read::read_exact(&mut peer, &mut buf)?;
        /// assert_eq!(&buf, b"hello");
        /// # Ok::<(), std::io::Error>(())
        /// ```
        pub fn write_all<'a>(&'a mut self, buf: &'a [u8]) -> WriteAll<'a> {
            WriteAll(Pending::new(WriteAllOp { src: self.stream(), buf, written: 0 }))
        }

        /// `co_await!(io.write_all_owned(buf))` writes all of
        /// `buf[..buf.len()]` and gives the vector back, unchanged, with
        /// the result (on an error, some of it may have been sent). For
        /// code that hands buffers between coroutines; if the `co_await!`
        /// is cancelled, the vector is dropped with it.
        ///
        /// # Panics
        /// At the `co_await!`, if it has to wait and this thread has no
        /// [`EventLoop`](crate::EventLoop).
        ///
        /// ```
        /// # use coro::{co_await, co_return, Task};
        /// # use coro_io::TcpStream;
        /// # let l = std::net::TcpListener::bind("127.0.0.1:0")?;
        /// # let mut peer = std::net::TcpStream::connect(l.local_addr()?)?;
        /// # let s = TcpStream::from_std(l.accept()?.0)?;
        /// #[coro::coroutine]
        /// fn demo(mut s: TcpStream) -> Task<std::io::Result<Vec<u8>>> {
        #[doc = concat!("    ", $split)]
        ///     let (done, buf) = co_await!(io.write_all_owned(b"hello".to_vec()));
        ///     done?;
        ///     co_return!(Ok(buf)) // to be reused
        /// }
        /// let rt = coro_io::EventLoop::new()?;
        /// assert_eq!(rt.block_on(demo(s))?, b"hello");
        /// # let mut buf = [0u8; 5];
        /// # std::io::Read::read_exact(&mut peer, &mut buf)?;
        /// # Ok::<(), std::io::Error>(())
        /// ```
        pub fn write_all_owned(&mut self, buf: Vec<u8>) -> WriteAllOwned<'_> {
            WriteAllOwned(Pending::new(WriteAllOwnedOp { src: self.stream(), buf: Some(buf), written: 0 }))
        }

        /// `co_await!(io.flush())`: a TCP socket keeps no buffer of its
        /// own (what `write` took is the kernel's), so this completes at
        /// once with `Ok(())`; there for code written against
        /// `std::io::Write`'s shape.
        ///
        /// ```
        /// # use coro::{co_await, co_return, Task};
        /// # use coro_io::TcpStream;
        /// # let l = std::net::TcpListener::bind("127.0.0.1:0")?;
        /// # let _peer = std::net::TcpStream::connect(l.local_addr()?)?;
        /// # let s = TcpStream::from_std(l.accept()?.0)?;
        /// #[coro::coroutine]
        /// fn demo(mut s: TcpStream) -> Task<std::io::Result<()>> {
        #[doc = concat!("    ", $split)]
        ///     co_return!(co_await!(io.flush()))
        /// }
        /// coro_io::EventLoop::new()?.block_on(demo(s))?;
        /// # Ok::<(), std::io::Error>(())
        /// ```
        pub fn flush(&mut self) -> Flush {
            Flush(Pending::new(FlushOp))
        }
    };
}

impl TcpStream {
    fn stream(&self) -> &Stream {
        &self.src
    }

    /// `co_await!(TcpStream::connect(addr))` opens a connection to `addr`:
    /// the socket is created and the connection started at the
    /// `co_await!`, which completes once it is established (or refused:
    /// `ConnectionRefused`).
    ///
    /// # Panics
    /// At the `co_await!`, if it has to wait and this thread has no
    /// [`EventLoop`](crate::EventLoop).
    ///
    /// ```
    /// use std::net::SocketAddr;
    /// use coro::{co_await, co_return, Task};
    /// use coro_io::TcpStream;
    ///
    /// #[coro::coroutine]
    /// fn dial(addr: SocketAddr) -> Task<std::io::Result<SocketAddr>> {
    ///     let s = co_await!(TcpStream::connect(addr))?;
    ///     co_return!(s.peer_addr())
    /// }
    ///
    /// let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// let addr = listener.local_addr()?;
    /// let rt = coro_io::EventLoop::new()?;
    /// assert_eq!(rt.block_on(dial(addr))?, addr);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn connect(addr: SocketAddr) -> Connect {
        Connect(Pending::new(ConnectOp { addr, stream: None }))
    }

    /// Wraps a connected stream of the standard library, switching it to
    /// non-blocking mode.
    ///
    /// ```
    /// let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// let client = std::net::TcpStream::connect(listener.local_addr()?)?;
    /// let s = coro_io::TcpStream::from_std(client)?;
    /// assert_eq!(s.peer_addr()?, listener.local_addr()?);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn from_std(stream: std::net::TcpStream) -> io::Result<TcpStream> {
        stream.set_nonblocking(true)?;
        Ok(TcpStream { src: Source::new(mio::net::TcpStream::from_std(stream)) })
    }

    read_methods!("let io = &mut s;");
    write_methods!("let io = &mut s;");

    /// Shuts down the read side, the write side, or both (a plain call:
    /// `shutdown(2)` does not block). After `Shutdown::Write` the peer
    /// reads end of stream, and may still write back: a half-close.
    ///
    /// ```
    /// use std::net::Shutdown;
    /// let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// let s = coro_io::TcpStream::from_std(std::net::TcpStream::connect(listener.local_addr()?)?)?;
    /// let (mut server_side, _) = listener.accept()?;
    /// s.shutdown(Shutdown::Write)?;
    /// assert_eq!(std::io::Read::read(&mut server_side, &mut [0u8; 8])?, 0); // end of stream
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.src.io.shutdown(how)
    }

    /// The address of the peer.
    ///
    /// ```
    /// let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// let s = coro_io::TcpStream::from_std(std::net::TcpStream::connect(listener.local_addr()?)?)?;
    /// assert_eq!(s.peer_addr()?, listener.local_addr()?);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.src.io.peer_addr()
    }

    /// The address of this end.
    ///
    /// ```
    /// let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// let s = coro_io::TcpStream::from_std(std::net::TcpStream::connect(listener.local_addr()?)?)?;
    /// assert_eq!(s.local_addr()?, listener.accept()?.1);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.src.io.local_addr()
    }

    /// Sets `TCP_NODELAY` (turns Nagle's algorithm off when `true`).
    ///
    /// ```
    /// let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// let s = coro_io::TcpStream::from_std(std::net::TcpStream::connect(listener.local_addr()?)?)?;
    /// s.set_nodelay(true)?;
    /// assert!(s.nodelay()?);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.src.io.set_nodelay(nodelay)
    }

    /// Whether `TCP_NODELAY` is set.
    ///
    /// ```
    /// let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// let s = coro_io::TcpStream::from_std(std::net::TcpStream::connect(listener.local_addr()?)?)?;
    /// assert!(!s.nodelay()?);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn nodelay(&self) -> io::Result<bool> {
        self.src.io.nodelay()
    }

    /// Borrows the stream as a read half and a write half, which two
    /// coroutines may await at once (children of the coroutine that
    /// borrows the stream: a borrowing `Task` carries the lifetime in its
    /// return type, here by handing the half back).
    ///
    /// ```
    /// use coro::{co_await, co_return, when_all, Task};
    /// use coro_io::net::{ReadHalf, WriteHalf};
    /// use coro_io::TcpStream;
    ///
    /// #[coro::coroutine]
    /// fn receive<'a>(mut rd: ReadHalf<'a>) -> Task<(ReadHalf<'a>, std::io::Result<Vec<u8>>)> {
    ///     let mut buf = [0u8; 4];
    ///     let got = co_await!(rd.read_exact(&mut buf)).map(|()| buf.to_vec());
    ///     co_return!((rd, got))
    /// }
    ///
    /// #[coro::coroutine]
    /// fn send<'a>(mut wr: WriteHalf<'a>) -> Task<(WriteHalf<'a>, std::io::Result<()>)> {
    ///     let sent = co_await!(wr.write_all(b"pong"));
    ///     co_return!((wr, sent))
    /// }
    ///
    /// #[coro::coroutine]
    /// fn demo(mut s: TcpStream) -> Task<std::io::Result<Vec<u8>>> {
    ///     let (rd, wr) = s.split();
    ///     let ((_, got), (_, sent)) = co_await!(when_all((receive(rd), send(wr))));
    ///     sent?;
    ///     co_return!(got)
    /// }
    ///
    /// let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// let mut peer = std::net::TcpStream::connect(listener.local_addr()?)?;
    /// let s = TcpStream::from_std(listener.accept()?.0)?;
    /// std::io::Write::write_all(&mut peer, b"ping")?;
    /// assert_eq!(coro_io::EventLoop::new()?.block_on(demo(s))?, b"ping");
    /// let mut back = [0u8; 4];
    /// std::io::Read::read_exact(&mut peer, &mut back)?;
    /// assert_eq!(&back, b"pong");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn split(&mut self) -> (ReadHalf<'_>, WriteHalf<'_>) {
        (ReadHalf { src: &self.src }, WriteHalf { src: &self.src })
    }

    /// Splits the stream into two owned halves (`Send`, `'static`): a
    /// reader and a writer for two spawned coroutines, on one loop or two.
    /// The connection closes when both halves are dropped. One small
    /// allocation (the shared socket).
    ///
    /// ```
    /// use coro::{co_await, co_return, Task};
    /// use coro_io::net::OwnedWriteHalf;
    /// use coro_io::{spawn_local, TcpStream};
    ///
    /// #[coro::coroutine]
    /// fn greet(mut wr: OwnedWriteHalf) -> Task<std::io::Result<()>> {
    ///     co_return!(co_await!(wr.write_all(b"hi")))
    /// }
    ///
    /// #[coro::coroutine]
    /// fn demo(s: TcpStream) -> Task<std::io::Result<Vec<u8>>> {
    ///     let (mut rd, wr) = s.into_split();
    ///     let writer = spawn_local(greet(wr));
    ///     let mut buf = [0u8; 2];
    ///     co_await!(rd.read_exact(&mut buf))?; // the peer echoes
    ///     co_await!(writer)?;
    ///     co_return!(Ok(buf.to_vec()))
    /// }
    ///
    /// let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// let peer = std::net::TcpStream::connect(listener.local_addr()?)?;
    /// let s = TcpStream::from_std(listener.accept()?.0)?;
    /// let echo = std::thread::spawn(move || std::io::copy(&mut &peer, &mut &peer));
    /// assert_eq!(coro_io::EventLoop::new()?.block_on(demo(s))?, b"hi");
    /// # drop(echo);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn into_split(self) -> (OwnedReadHalf, OwnedWriteHalf) {
        let src = Arc::new(self.src);
        (OwnedReadHalf { src: src.clone() }, OwnedWriteHalf { src })
    }
}

impl AsRawFd for TcpStream {
    fn as_raw_fd(&self) -> RawFd {
        self.src.io.as_raw_fd()
    }
}

impl AsFd for TcpStream {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.src.io.as_fd()
    }
}

/// The read half of a [`TcpStream`] borrowed by [`TcpStream::split`].
///
/// ```
/// let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
/// let mut s = coro_io::TcpStream::from_std(std::net::TcpStream::connect(listener.local_addr()?)?)?;
/// let (rd, _wr) = s.split();
/// assert_eq!(rd.peer_addr()?, listener.local_addr()?);
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct ReadHalf<'a> {
    src: &'a Stream,
}

/// The write half of a [`TcpStream`] borrowed by [`TcpStream::split`].
///
/// ```
/// let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
/// let mut s = coro_io::TcpStream::from_std(std::net::TcpStream::connect(listener.local_addr()?)?)?;
/// let (_rd, wr) = s.split();
/// assert_eq!(wr.peer_addr()?, listener.local_addr()?);
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct WriteHalf<'a> {
    src: &'a Stream,
}

/// The read half of a [`TcpStream`] split by [`TcpStream::into_split`]:
/// owned, `Send`.
///
/// ```
/// let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
/// let s = coro_io::TcpStream::from_std(std::net::TcpStream::connect(listener.local_addr()?)?)?;
/// let (rd, _wr) = s.into_split();
/// assert_eq!(rd.peer_addr()?, listener.local_addr()?);
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct OwnedReadHalf {
    src: Arc<Stream>,
}

/// The write half of a [`TcpStream`] split by [`TcpStream::into_split`]:
/// owned, `Send`.
///
/// ```
/// let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
/// let s = coro_io::TcpStream::from_std(std::net::TcpStream::connect(listener.local_addr()?)?)?;
/// let (_rd, wr) = s.into_split();
/// assert_eq!(wr.peer_addr()?, listener.local_addr()?);
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct OwnedWriteHalf {
    src: Arc<Stream>,
}

/// `peer_addr`, `local_addr` (and, for a write half, `shutdown`) of a half.
macro_rules! half_common {
    ($split:literal) => {
        /// The address of the peer.
        ///
        /// ```
        /// let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        /// let mut s = coro_io::TcpStream::from_std(std::net::TcpStream::connect(listener.local_addr()?)?)?;
        #[doc = $split]
        /// assert_eq!(io.peer_addr()?, listener.local_addr()?);
        /// # Ok::<(), std::io::Error>(())
        /// ```
        pub fn peer_addr(&self) -> io::Result<SocketAddr> {
            self.src.io.peer_addr()
        }

        /// The address of this end.
        ///
        /// ```
        /// let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        /// let mut s = coro_io::TcpStream::from_std(std::net::TcpStream::connect(listener.local_addr()?)?)?;
        #[doc = $split]
        /// assert_eq!(io.local_addr()?, listener.accept()?.1);
        /// # Ok::<(), std::io::Error>(())
        /// ```
        pub fn local_addr(&self) -> io::Result<SocketAddr> {
            self.src.io.local_addr()
        }
    };
}

/// `shutdown` of a write half.
macro_rules! half_shutdown {
    ($split:literal) => {
        /// Shuts down the write side of the connection (the peer reads
        /// end of stream; this side can still read): a half-close.
        ///
        /// ```
        /// let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        /// let mut s = coro_io::TcpStream::from_std(std::net::TcpStream::connect(listener.local_addr()?)?)?;
        #[doc = $split]
        /// io.shutdown()?;
        /// let (mut server_side, _) = listener.accept()?;
        /// assert_eq!(std::io::Read::read(&mut server_side, &mut [0u8; 8])?, 0);
        /// # Ok::<(), std::io::Error>(())
        /// ```
        pub fn shutdown(&self) -> io::Result<()> {
            self.src.io.shutdown(Shutdown::Write)
        }
    };
}

impl ReadHalf<'_> {
    fn stream(&self) -> &Stream {
        self.src
    }
    read_methods!("let (mut io, _wr) = s.split();");
    half_common!("let (io, _wr) = s.split();");
}

impl WriteHalf<'_> {
    fn stream(&self) -> &Stream {
        self.src
    }
    write_methods!("let (_rd, mut io) = s.split();");
    half_common!("let (_rd, io) = s.split();");
    half_shutdown!("let (_rd, io) = s.split();");
}

impl OwnedReadHalf {
    fn stream(&self) -> &Stream {
        &self.src
    }
    read_methods!("let (mut io, _wr) = s.into_split();");
    half_common!("let (io, _wr) = s.into_split();");
}

impl OwnedWriteHalf {
    fn stream(&self) -> &Stream {
        &self.src
    }
    write_methods!("let (_rd, mut io) = s.into_split();");
    half_common!("let (_rd, io) = s.into_split();");
    half_shutdown!("let (_rd, io) = s.into_split();");
}

struct ReadOp<'a> {
    src: &'a Stream,
    buf: &'a mut [u8],
}

impl Op for ReadOp<'_> {
    type Output = io::Result<usize>;
    fn attempt(&mut self) -> Attempt<Self::Output> {
        if self.buf.is_empty() {
            return Attempt::Done(Ok(0));
        }
        let (io, buf) = (&self.src.io, &mut *self.buf);
        attempt_io(Direction::Read, || (&*io).read(buf))
    }
    fn fail(&mut self, error: io::Error) -> Self::Output {
        Err(error)
    }
    fn source(&self) -> Option<(&Registration, RawFd)> {
        Some(self.src.parts())
    }
}

awaiter!(
    /// The awaiter of `read` ([`TcpStream::read`] and the read halves').
    ///
    /// ```
    /// let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// let mut s = coro_io::TcpStream::from_std(std::net::TcpStream::connect(listener.local_addr()?)?)?;
    /// let mut buf = [0u8; 8];
    /// let _read: coro_io::net::Read<'_> = s.read(&mut buf);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    Read<'a>,
    ReadOp<'a>,
    io::Result<usize>
);

struct ReadExactOp<'a> {
    src: &'a Stream,
    buf: &'a mut [u8],
    filled: usize,
}

impl Op for ReadExactOp<'_> {
    type Output = io::Result<()>;
    fn attempt(&mut self) -> Attempt<Self::Output> {
        while self.filled < self.buf.len() {
            let (io, rest) = (&self.src.io, &mut self.buf[self.filled..]);
            match attempt_io(Direction::Read, || (&*io).read(rest)) {
                Attempt::Done(Ok(0)) => return Attempt::Done(Err(io::ErrorKind::UnexpectedEof.into())),
                Attempt::Done(Ok(n)) => self.filled += n,
                Attempt::Done(Err(e)) => return Attempt::Done(Err(e)),
                Attempt::Wait(d) => return Attempt::Wait(d),
                Attempt::Backoff(d) => return Attempt::Backoff(d),
            }
        }
        Attempt::Done(Ok(()))
    }
    fn fail(&mut self, error: io::Error) -> Self::Output {
        Err(error)
    }
    fn source(&self) -> Option<(&Registration, RawFd)> {
        Some(self.src.parts())
    }
}

awaiter!(
    /// The awaiter of `read_exact` ([`TcpStream::read_exact`] and the read
    /// halves').
    ///
    /// ```
    /// let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// let mut s = coro_io::TcpStream::from_std(std::net::TcpStream::connect(listener.local_addr()?)?)?;
    /// let mut buf = [0u8; 8];
    /// let _read: coro_io::net::ReadExact<'_> = s.read_exact(&mut buf);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ReadExact<'a>,
    ReadExactOp<'a>,
    io::Result<()>
);

struct ReadOwnedOp<'a> {
    src: &'a Stream,
    /// `None` once handed back.
    buf: Option<Vec<u8>>,
}

impl Op for ReadOwnedOp<'_> {
    type Output = (io::Result<usize>, Vec<u8>);
    fn attempt(&mut self) -> Attempt<Self::Output> {
        let Some(buf) = self.buf.as_mut() else {
            return Attempt::Done((Err(io::Error::other("read_owned: the buffer was handed back")), Vec::new()));
        };
        if buf.len() == buf.capacity() {
            // Nothing to read into (`recv` of 0 bytes would wait for data).
            return Attempt::Done((Ok(0), self.buf.take().unwrap_or_default()));
        }
        let sock = SockRef::from(&self.src.io);
        match attempt_io(Direction::Read, || sock.recv(buf.spare_capacity_mut())) {
            Attempt::Done(result) => {
                if let Ok(n) = result {
                    let len = buf.len() + n;
                    // SAFETY: `recv` initialised the first `n` bytes of the
                    // spare capacity (it returns how many it wrote, at most
                    // the slice's length), so `len <= capacity` and every
                    // byte below it is initialised.
                    unsafe { buf.set_len(len) };
                }
                Attempt::Done((result, self.buf.take().unwrap_or_default()))
            }
            Attempt::Wait(d) => Attempt::Wait(d),
            Attempt::Backoff(d) => Attempt::Backoff(d),
        }
    }
    fn fail(&mut self, error: io::Error) -> Self::Output {
        (Err(error), self.buf.take().unwrap_or_default())
    }
    fn source(&self) -> Option<(&Registration, RawFd)> {
        Some(self.src.parts())
    }
}

awaiter!(
    /// The awaiter of `read_owned` ([`TcpStream::read_owned`] and the read
    /// halves').
    ///
    /// ```
    /// let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// let mut s = coro_io::TcpStream::from_std(std::net::TcpStream::connect(listener.local_addr()?)?)?;
    /// let _read: coro_io::net::ReadOwned<'_> = s.read_owned(Vec::with_capacity(8));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ReadOwned<'a>,
    ReadOwnedOp<'a>,
    (io::Result<usize>, Vec<u8>)
);

/// One `send(2)` (`MSG_NOSIGNAL`: a closed peer is `EPIPE`, not a signal).
fn send(io: &mio::net::TcpStream, buf: &[u8]) -> io::Result<usize> {
    SockRef::from(io).send(buf)
}

struct WriteOp<'a> {
    src: &'a Stream,
    buf: &'a [u8],
}

impl Op for WriteOp<'_> {
    type Output = io::Result<usize>;
    fn attempt(&mut self) -> Attempt<Self::Output> {
        attempt_io(Direction::Write, || send(&self.src.io, self.buf))
    }
    fn fail(&mut self, error: io::Error) -> Self::Output {
        Err(error)
    }
    fn source(&self) -> Option<(&Registration, RawFd)> {
        Some(self.src.parts())
    }
}

awaiter!(
    /// The awaiter of `write` ([`TcpStream::write`] and the write halves').
    ///
    /// ```
    /// let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// let mut s = coro_io::TcpStream::from_std(std::net::TcpStream::connect(listener.local_addr()?)?)?;
    /// let _write: coro_io::net::Write<'_> = s.write(b"hi");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    Write<'a>,
    WriteOp<'a>,
    io::Result<usize>
);

/// Writes `buf[*written..]` until all is sent or the socket is full.
fn write_some(io: &mio::net::TcpStream, buf: &[u8], written: &mut usize) -> Attempt<io::Result<()>> {
    while *written < buf.len() {
        match attempt_io(Direction::Write, || send(io, &buf[*written..])) {
            Attempt::Done(Ok(0)) => return Attempt::Done(Err(io::ErrorKind::WriteZero.into())),
            Attempt::Done(Ok(n)) => *written += n,
            Attempt::Done(Err(e)) => return Attempt::Done(Err(e)),
            Attempt::Wait(d) => return Attempt::Wait(d),
            Attempt::Backoff(d) => return Attempt::Backoff(d),
        }
    }
    Attempt::Done(Ok(()))
}

struct WriteAllOp<'a> {
    src: &'a Stream,
    buf: &'a [u8],
    written: usize,
}

impl Op for WriteAllOp<'_> {
    type Output = io::Result<()>;
    fn attempt(&mut self) -> Attempt<Self::Output> {
        write_some(&self.src.io, self.buf, &mut self.written)
    }
    fn fail(&mut self, error: io::Error) -> Self::Output {
        Err(error)
    }
    fn source(&self) -> Option<(&Registration, RawFd)> {
        Some(self.src.parts())
    }
}

awaiter!(
    /// The awaiter of `write_all` ([`TcpStream::write_all`] and the write
    /// halves').
    ///
    /// ```
    /// let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// let mut s = coro_io::TcpStream::from_std(std::net::TcpStream::connect(listener.local_addr()?)?)?;
    /// let _write: coro_io::net::WriteAll<'_> = s.write_all(b"hi");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    WriteAll<'a>,
    WriteAllOp<'a>,
    io::Result<()>
);

struct WriteAllOwnedOp<'a> {
    src: &'a Stream,
    /// `None` once handed back.
    buf: Option<Vec<u8>>,
    written: usize,
}

impl Op for WriteAllOwnedOp<'_> {
    type Output = (io::Result<()>, Vec<u8>);
    fn attempt(&mut self) -> Attempt<Self::Output> {
        let Some(buf) = self.buf.as_ref() else {
            return Attempt::Done((Err(io::Error::other("write_all_owned: the buffer was handed back")), Vec::new()));
        };
        match write_some(&self.src.io, buf, &mut self.written) {
            Attempt::Done(result) => Attempt::Done((result, self.buf.take().unwrap_or_default())),
            Attempt::Wait(d) => Attempt::Wait(d),
            Attempt::Backoff(d) => Attempt::Backoff(d),
        }
    }
    fn fail(&mut self, error: io::Error) -> Self::Output {
        (Err(error), self.buf.take().unwrap_or_default())
    }
    fn source(&self) -> Option<(&Registration, RawFd)> {
        Some(self.src.parts())
    }
}

awaiter!(
    /// The awaiter of `write_all_owned` ([`TcpStream::write_all_owned`] and
    /// the write halves').
    ///
    /// ```
    /// let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// let mut s = coro_io::TcpStream::from_std(std::net::TcpStream::connect(listener.local_addr()?)?)?;
    /// let _write: coro_io::net::WriteAllOwned<'_> = s.write_all_owned(b"hi".to_vec());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    WriteAllOwned<'a>,
    WriteAllOwnedOp<'a>,
    (io::Result<()>, Vec<u8>)
);

struct FlushOp;

impl Op for FlushOp {
    type Output = io::Result<()>;
    fn attempt(&mut self) -> Attempt<Self::Output> {
        Attempt::Done(Ok(()))
    }
    fn fail(&mut self, error: io::Error) -> Self::Output {
        Err(error)
    }
    fn source(&self) -> Option<(&Registration, RawFd)> {
        None
    }
}

awaiter!(
    /// The awaiter of `flush` ([`TcpStream::flush`] and the write halves'):
    /// ready at once.
    ///
    /// ```
    /// let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// let mut s = coro_io::TcpStream::from_std(std::net::TcpStream::connect(listener.local_addr()?)?)?;
    /// let _flush: coro_io::net::Flush = s.flush();
    /// # Ok::<(), std::io::Error>(())
    /// ```
    Flush,
    FlushOp,
    io::Result<()>
);

struct ConnectOp {
    addr: SocketAddr,
    /// The socket, from the first attempt until it is handed out.
    stream: Option<Stream>,
}

impl Op for ConnectOp {
    type Output = io::Result<TcpStream>;
    fn attempt(&mut self) -> Attempt<Self::Output> {
        let stream = match &self.stream {
            Some(s) => s,
            None => match mio::net::TcpStream::connect(self.addr) {
                Ok(s) => self.stream.insert(Source::new(s)),
                Err(e) => return Attempt::Done(Err(e)),
            },
        };
        // mio's recipe: an error is the connect's; otherwise a peer
        // address means connected, `NotConnected` means not yet.
        let outcome = match stream.io.take_error() {
            Ok(Some(e)) | Err(e) => Err(e),
            Ok(None) => match stream.io.peer_addr() {
                Ok(_) => Ok(()),
                Err(e) if e.kind() == io::ErrorKind::NotConnected => return Attempt::Wait(Direction::Write),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => return Attempt::Wait(Direction::Write),
                Err(e) => Err(e),
            },
        };
        let stream = self.stream.take().expect("connecting");
        Attempt::Done(outcome.map(|()| TcpStream { src: stream }))
    }
    fn fail(&mut self, error: io::Error) -> Self::Output {
        self.stream = None;
        Err(error)
    }
    fn source(&self) -> Option<(&Registration, RawFd)> {
        self.stream.as_ref().map(|s| s.parts())
    }
}

awaiter!(
    /// The awaiter of [`TcpStream::connect`]: owns the socket until the
    /// connection is established (dropping it closes the attempt).
    ///
    /// ```
    /// use std::net::SocketAddr;
    /// let _connect: coro_io::net::Connect = coro_io::TcpStream::connect(SocketAddr::from(([127, 0, 0, 1], 9)));
    /// ```
    Connect,
    ConnectOp,
    io::Result<TcpStream>
);
