//! UDP: [`UdpSocket`] and its awaiters.

use core::fmt;
use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};

use super::source::{attempt_io, Attempt, Op, Pending, Registration, Source};
use crate::registration::Direction;

type Socket = Source<mio::net::UdpSocket>;

/// A UDP socket. Its operations take `&self`: several coroutines may send
/// and receive on one socket at once (share it by reference, or in an
/// `Arc` across loops).
///
/// ```
/// use std::net::SocketAddr;
/// use coro::{co_await, co_return, Task};
/// use coro_io::UdpSocket;
///
/// #[coro::coroutine]
/// fn round_trip() -> Task<std::io::Result<Vec<u8>>> {
///     let any = SocketAddr::from(([127, 0, 0, 1], 0));
///     let (a, b) = (UdpSocket::bind(any)?, UdpSocket::bind(any)?);
///     co_await!(a.send_to(b"ping", b.local_addr()?))?;
///     let mut buf = [0u8; 16];
///     let (n, from) = co_await!(b.recv_from(&mut buf))?;
///     let sender = a.local_addr()?;
///     assert_eq!(from, sender);
///     co_return!(Ok(buf[..n].to_vec()))
/// }
///
/// assert_eq!(coro_io::EventLoop::new()?.block_on(round_trip())?, b"ping");
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct UdpSocket {
    src: Socket,
}

impl fmt::Debug for UdpSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("UdpSocket").field(&self.src).finish()
    }
}

impl UdpSocket {
    /// Binds a socket to `addr` (port 0 picks a free port). Needs no
    /// loop: the socket registers with the loop that first awaits it.
    ///
    /// ```
    /// use std::net::SocketAddr;
    /// let s = coro_io::UdpSocket::bind(SocketAddr::from(([127, 0, 0, 1], 0)))?;
    /// assert_ne!(s.local_addr()?.port(), 0);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn bind(addr: SocketAddr) -> io::Result<UdpSocket> {
        Ok(UdpSocket { src: Source::new(mio::net::UdpSocket::bind(addr)?) })
    }

    /// Wraps a socket of the standard library, switching it to
    /// non-blocking mode.
    ///
    /// ```
    /// let s = coro_io::UdpSocket::from_std(std::net::UdpSocket::bind("127.0.0.1:0")?)?;
    /// assert!(s.local_addr()?.ip().is_loopback());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn from_std(socket: std::net::UdpSocket) -> io::Result<UdpSocket> {
        socket.set_nonblocking(true)?;
        Ok(UdpSocket { src: Source::new(mio::net::UdpSocket::from_std(socket)) })
    }

    /// The address the socket is bound to.
    ///
    /// ```
    /// use std::net::SocketAddr;
    /// let s = coro_io::UdpSocket::bind(SocketAddr::from(([127, 0, 0, 1], 0)))?;
    /// assert!(s.local_addr()?.ip().is_loopback());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.src.io.local_addr()
    }

    /// The address [`connect`](Self::connect) set.
    ///
    /// ```
    /// use std::net::SocketAddr;
    /// let any = SocketAddr::from(([127, 0, 0, 1], 0));
    /// let (a, b) = (coro_io::UdpSocket::bind(any)?, coro_io::UdpSocket::bind(any)?);
    /// a.connect(b.local_addr()?)?;
    /// assert_eq!(a.peer_addr()?, b.local_addr()?);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.src.io.peer_addr()
    }

    /// Sets the socket's default peer (a plain call): [`send`](Self::send)
    /// goes there, and [`recv`](Self::recv) takes datagrams from there
    /// only.
    ///
    /// ```
    /// use std::net::SocketAddr;
    /// let any = SocketAddr::from(([127, 0, 0, 1], 0));
    /// let (a, b) = (coro_io::UdpSocket::bind(any)?, coro_io::UdpSocket::bind(any)?);
    /// a.connect(b.local_addr()?)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn connect(&self, addr: SocketAddr) -> io::Result<()> {
        self.src.io.connect(addr)
    }

    /// `co_await!(socket.send_to(&buf, target))` sends one datagram to
    /// `target`: `Ok(n)`, the bytes sent (all of `buf`, or an error such
    /// as `EMSGSIZE`).
    ///
    /// # Panics
    /// At the `co_await!`, if it has to wait and this thread has no
    /// [`EventLoop`](crate::EventLoop).
    ///
    /// ```
    /// use std::net::SocketAddr;
    /// use coro::{co_await, co_return, Task};
    /// use coro_io::UdpSocket;
    ///
    /// #[coro::coroutine]
    /// fn send(to: SocketAddr) -> Task<std::io::Result<usize>> {
    ///     let s = UdpSocket::bind(SocketAddr::from(([127, 0, 0, 1], 0)))?;
    ///     co_return!(co_await!(s.send_to(b"hello", to)))
    /// }
    ///
    /// let peer = std::net::UdpSocket::bind("127.0.0.1:0")?;
    /// assert_eq!(coro_io::EventLoop::new()?.block_on(send(peer.local_addr()?))?, 5);
    /// assert_eq!(peer.recv(&mut [0u8; 16])?, 5);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn send_to<'a>(&'a self, buf: &'a [u8], target: SocketAddr) -> SendTo<'a> {
        SendTo(Pending::new(SendToOp { src: &self.src, buf, target }))
    }

    /// `co_await!(socket.recv_from(&mut buf))` receives one datagram into
    /// `buf`: its length and its sender. A datagram longer than `buf` is
    /// truncated to it (the rest is lost).
    ///
    /// # Panics
    /// At the `co_await!`, if it has to wait and this thread has no
    /// [`EventLoop`](crate::EventLoop).
    ///
    /// ```
    /// use std::net::SocketAddr;
    /// use coro::{co_await, co_return, Task};
    /// use coro_io::UdpSocket;
    ///
    /// #[coro::coroutine]
    /// fn receive(s: UdpSocket) -> Task<std::io::Result<(usize, SocketAddr)>> {
    ///     let mut buf = [0u8; 16];
    ///     co_return!(co_await!(s.recv_from(&mut buf)))
    /// }
    ///
    /// let s = UdpSocket::bind(SocketAddr::from(([127, 0, 0, 1], 0)))?;
    /// let peer = std::net::UdpSocket::bind("127.0.0.1:0")?;
    /// peer.send_to(b"hello", s.local_addr()?)?;
    /// assert_eq!(coro_io::EventLoop::new()?.block_on(receive(s))?, (5, peer.local_addr()?));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn recv_from<'a>(&'a self, buf: &'a mut [u8]) -> RecvFrom<'a> {
        RecvFrom(Pending::new(RecvFromOp { src: &self.src, buf }))
    }

    /// `co_await!(socket.send(&buf))` sends one datagram to the
    /// [`connect`](Self::connect)ed peer.
    ///
    /// # Panics
    /// At the `co_await!`, if it has to wait and this thread has no
    /// [`EventLoop`](crate::EventLoop).
    ///
    /// ```
    /// use std::net::SocketAddr;
    /// use coro::{co_await, co_return, Task};
    /// use coro_io::UdpSocket;
    ///
    /// #[coro::coroutine]
    /// fn send(to: SocketAddr) -> Task<std::io::Result<usize>> {
    ///     let s = UdpSocket::bind(SocketAddr::from(([127, 0, 0, 1], 0)))?;
    ///     s.connect(to)?;
    ///     co_return!(co_await!(s.send(b"hello")))
    /// }
    ///
    /// let peer = std::net::UdpSocket::bind("127.0.0.1:0")?;
    /// assert_eq!(coro_io::EventLoop::new()?.block_on(send(peer.local_addr()?))?, 5);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn send<'a>(&'a self, buf: &'a [u8]) -> UdpSend<'a> {
        UdpSend(Pending::new(SendOp { src: &self.src, buf }))
    }

    /// `co_await!(socket.recv(&mut buf))` receives one datagram from the
    /// [`connect`](Self::connect)ed peer into `buf` (truncated to it).
    ///
    /// # Panics
    /// At the `co_await!`, if it has to wait and this thread has no
    /// [`EventLoop`](crate::EventLoop).
    ///
    /// ```
    /// use std::net::SocketAddr;
    /// use coro::{co_await, co_return, Task};
    /// use coro_io::UdpSocket;
    ///
    /// #[coro::coroutine]
    /// fn receive(s: UdpSocket) -> Task<std::io::Result<usize>> {
    ///     let mut buf = [0u8; 16];
    ///     co_return!(co_await!(s.recv(&mut buf)))
    /// }
    ///
    /// let s = UdpSocket::bind(SocketAddr::from(([127, 0, 0, 1], 0)))?;
    /// let peer = std::net::UdpSocket::bind("127.0.0.1:0")?;
    /// s.connect(peer.local_addr()?)?;
    /// peer.send_to(b"hello", s.local_addr()?)?;
    /// assert_eq!(coro_io::EventLoop::new()?.block_on(receive(s))?, 5);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn recv<'a>(&'a self, buf: &'a mut [u8]) -> UdpRecv<'a> {
        UdpRecv(Pending::new(RecvOp { src: &self.src, buf }))
    }
}

impl AsRawFd for UdpSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.src.io.as_raw_fd()
    }
}

impl AsFd for UdpSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.src.io.as_fd()
    }
}

struct SendToOp<'a> {
    src: &'a Socket,
    buf: &'a [u8],
    target: SocketAddr,
}

impl Op for SendToOp<'_> {
    type Output = io::Result<usize>;
    fn attempt(&mut self) -> Attempt<Self::Output> {
        attempt_io(Direction::Write, || self.src.io.send_to(self.buf, self.target))
    }
    fn fail(&mut self, error: io::Error) -> Self::Output {
        Err(error)
    }
    fn source(&self) -> Option<(&Registration, RawFd)> {
        Some(self.src.parts())
    }
}

awaiter!(
    /// The awaiter of [`UdpSocket::send_to`].
    ///
    /// ```
    /// use std::net::SocketAddr;
    /// let s = coro_io::UdpSocket::bind(SocketAddr::from(([127, 0, 0, 1], 0)))?;
    /// let _send: coro_io::net::SendTo<'_> = s.send_to(b"hi", s.local_addr()?);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    SendTo<'a>,
    SendToOp<'a>,
    io::Result<usize>
);

struct RecvFromOp<'a> {
    src: &'a Socket,
    buf: &'a mut [u8],
}

impl Op for RecvFromOp<'_> {
    type Output = io::Result<(usize, SocketAddr)>;
    fn attempt(&mut self) -> Attempt<Self::Output> {
        let (io, buf) = (&self.src.io, &mut *self.buf);
        attempt_io(Direction::Read, || io.recv_from(buf))
    }
    fn fail(&mut self, error: io::Error) -> Self::Output {
        Err(error)
    }
    fn source(&self) -> Option<(&Registration, RawFd)> {
        Some(self.src.parts())
    }
}

awaiter!(
    /// The awaiter of [`UdpSocket::recv_from`].
    ///
    /// ```
    /// use std::net::SocketAddr;
    /// let s = coro_io::UdpSocket::bind(SocketAddr::from(([127, 0, 0, 1], 0)))?;
    /// let mut buf = [0u8; 8];
    /// let _recv: coro_io::net::RecvFrom<'_> = s.recv_from(&mut buf);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    RecvFrom<'a>,
    RecvFromOp<'a>,
    io::Result<(usize, SocketAddr)>
);

struct SendOp<'a> {
    src: &'a Socket,
    buf: &'a [u8],
}

impl Op for SendOp<'_> {
    type Output = io::Result<usize>;
    fn attempt(&mut self) -> Attempt<Self::Output> {
        attempt_io(Direction::Write, || self.src.io.send(self.buf))
    }
    fn fail(&mut self, error: io::Error) -> Self::Output {
        Err(error)
    }
    fn source(&self) -> Option<(&Registration, RawFd)> {
        Some(self.src.parts())
    }
}

awaiter!(
    /// The awaiter of [`UdpSocket::send`].
    ///
    /// ```
    /// use std::net::SocketAddr;
    /// let s = coro_io::UdpSocket::bind(SocketAddr::from(([127, 0, 0, 1], 0)))?;
    /// let _send: coro_io::net::UdpSend<'_> = s.send(b"hi");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    UdpSend<'a>,
    SendOp<'a>,
    io::Result<usize>
);

struct RecvOp<'a> {
    src: &'a Socket,
    buf: &'a mut [u8],
}

impl Op for RecvOp<'_> {
    type Output = io::Result<usize>;
    fn attempt(&mut self) -> Attempt<Self::Output> {
        let (io, buf) = (&self.src.io, &mut *self.buf);
        attempt_io(Direction::Read, || io.recv(buf))
    }
    fn fail(&mut self, error: io::Error) -> Self::Output {
        Err(error)
    }
    fn source(&self) -> Option<(&Registration, RawFd)> {
        Some(self.src.parts())
    }
}

awaiter!(
    /// The awaiter of [`UdpSocket::recv`].
    ///
    /// ```
    /// use std::net::SocketAddr;
    /// let s = coro_io::UdpSocket::bind(SocketAddr::from(([127, 0, 0, 1], 0)))?;
    /// let mut buf = [0u8; 8];
    /// let _recv: coro_io::net::UdpRecv<'_> = s.recv(&mut buf);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    UdpRecv<'a>,
    RecvOp<'a>,
    io::Result<usize>
);
