//! TCP on one loop, over 127.0.0.1: echo with many clients, end of stream,
//! half-close, refused connections, a peer's reset, a broken pipe, the
//! owned-buffer forms, and the loop's bookkeeping (sources registered and
//! withdrawn). Cancellation has its own file (`net_cancel.rs`).

use std::cell::Cell;
use std::io;
use std::net::{Shutdown, SocketAddr};
use std::rc::Rc;

use coro::{co_await, co_return, when_all, Task};
use coro_io::net::{ReadHalf, WriteHalf};
use coro_io::{spawn_local, yield_now, EventLoop, JoinHandle, TcpListener, TcpStream};

fn localhost() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

/// The bytes client `id` sends: distinct per client and per position.
fn payload(id: usize, len: usize) -> Vec<u8> {
    (0..len).map(|i| (i.wrapping_mul(31) ^ id.wrapping_mul(7919) ^ (i >> 8)) as u8).collect()
}

/// Echoes everything until the peer closes its side, then closes.
#[coro::coroutine]
fn echo(mut s: TcpStream) -> Task<io::Result<u64>> {
    let mut buf = [0u8; 1024];
    let mut total = 0;
    loop {
        let n = co_await!(s.read(&mut buf))?;
        if n == 0 {
            co_return!(Ok(total));
        }
        co_await!(s.write_all(&buf[..n]))?;
        total += n as u64;
    }
}

/// Accepts `n` connections, serving each with `echo`; returns the bytes
/// echoed in all.
#[coro::coroutine]
fn echo_server(listener: TcpListener, n: usize) -> Task<io::Result<u64>> {
    let mut served: Vec<JoinHandle<io::Result<u64>>> = Vec::with_capacity(n);
    for _ in 0..n {
        let (stream, _) = co_await!(listener.accept())?;
        served.push(spawn_local(echo(stream)));
    }
    let mut total = 0;
    for h in served {
        total += co_await!(h)?;
    }
    co_return!(Ok(total))
}

/// Sends its payload, half-closes, and reads the echo back to the end.
#[coro::coroutine]
fn echo_client(addr: SocketAddr, id: usize, len: usize) -> Task<io::Result<bool>> {
    let mut s = co_await!(TcpStream::connect(addr))?;
    let sent = payload(id, len);
    co_await!(s.write_all(&sent))?;
    s.shutdown(Shutdown::Write)?;
    let mut back = Vec::with_capacity(len);
    let mut buf = [0u8; 700];
    loop {
        let n = co_await!(s.read(&mut buf))?;
        if n == 0 {
            break;
        }
        back.extend_from_slice(&buf[..n]);
    }
    co_return!(Ok(back == sent))
}

#[coro::coroutine]
fn many_clients(clients: usize, len: usize) -> Task<io::Result<(usize, u64)>> {
    let listener = TcpListener::bind(localhost())?;
    let addr = listener.local_addr()?;
    let server = spawn_local(echo_server(listener, clients));
    let handles: Vec<_> = (0..clients).map(|id| spawn_local(echo_client(addr, id, len + id))).collect();
    let mut intact = 0;
    for h in handles {
        intact += usize::from(co_await!(h)?);
    }
    co_return!(Ok((intact, co_await!(server)?)))
}

#[test]
fn two_hundred_concurrent_echo_clients_get_their_bytes_back_byte_for_byte() {
    let rt = EventLoop::new().unwrap();
    let (clients, len) = (200, 3000);
    let (intact, echoed) = rt.block_on(many_clients(clients, len)).unwrap();
    assert_eq!(intact, clients);
    let sent: u64 = (0..clients).map(|id| (len + id) as u64).sum();
    assert_eq!(echoed, sent);
    // Every socket is gone, and with it its registration with the poller.
    assert_eq!((rt.sources(), rt.registrations(), rt.tasks()), (0, 0, 0));
}

/// Writes `data` through one half while the other reads the echo back, at
/// once: a payload far larger than the socket buffers makes both wait.
#[coro::coroutine]
fn send_half<'a>(mut wr: WriteHalf<'a>, data: &'a [u8]) -> Task<(WriteHalf<'a>, io::Result<()>)> {
    let mut result = Ok(());
    for chunk in data.chunks(64 * 1024) {
        result = co_await!(wr.write_all(chunk));
        if result.is_err() {
            break;
        }
    }
    if result.is_ok() {
        result = wr.shutdown();
    }
    co_return!((wr, result))
}

#[coro::coroutine]
fn receive_half<'a>(mut rd: ReadHalf<'a>, expected: usize) -> Task<(ReadHalf<'a>, io::Result<Vec<u8>>)> {
    let mut back = Vec::with_capacity(expected);
    let mut buf = vec![0u8; 32 * 1024];
    let result = loop {
        match co_await!(rd.read(&mut buf)) {
            Ok(0) => break Ok(back),
            Ok(n) => back.extend_from_slice(&buf[..n]),
            Err(e) => break Err(e),
        }
    };
    co_return!((rd, result))
}

#[coro::coroutine]
fn big_echo(len: usize) -> Task<io::Result<bool>> {
    let listener = TcpListener::bind(localhost())?;
    let addr = listener.local_addr()?;
    let server = spawn_local(echo_server(listener, 1));
    let mut s = co_await!(TcpStream::connect(addr))?;
    let data = payload(1, len);
    let (rd, wr) = s.split();
    let ((_, back), (_, sent)) = co_await!(when_all((receive_half(rd, len), send_half(wr, &data))));
    sent?;
    let echoed = co_await!(server)?;
    co_return!(Ok(back? == data && echoed == len as u64))
}

#[test]
fn split_halves_write_and_read_eight_megabytes_at_once_through_an_echo() {
    let rt = EventLoop::new().unwrap();
    assert!(rt.block_on(big_echo(8 << 20)).unwrap());
    assert_eq!((rt.sources(), rt.registrations()), (0, 0));
}

/// A connected pair on this thread's loop: (client, server side).
#[coro::coroutine]
fn pair() -> Task<io::Result<(TcpStream, TcpStream)>> {
    let listener = TcpListener::bind(localhost())?;
    let client = co_await!(TcpStream::connect(listener.local_addr()?))?;
    let (server, peer) = co_await!(listener.accept())?;
    let local = client.local_addr()?;
    assert_eq!(peer, local);
    co_return!(Ok((client, server)))
}

#[coro::coroutine]
fn read_after_close() -> Task<io::Result<(usize, usize, io::ErrorKind)>> {
    let (client, mut server) = co_await!(pair())?;
    let reader = {
        let mut buf = [0u8; 16];
        // The client sends 3 bytes and closes: 3, then end of stream, and
        // end of stream again.
        let writer = spawn_local(write_and_close(client, b"abc"));
        let first = co_await!(server.read(&mut buf))?;
        let mut rest = first;
        while rest < 3 {
            rest += co_await!(server.read(&mut buf[rest..]))?;
        }
        co_await!(writer)?;
        let eof = co_await!(server.read(&mut buf))?;
        let mut exact = [0u8; 4];
        let err = co_await!(server.read_exact(&mut exact)).unwrap_err().kind();
        (rest, eof, err)
    };
    co_return!(Ok(reader))
}

#[coro::coroutine]
fn write_and_close(mut s: TcpStream, data: &'static [u8]) -> Task<io::Result<()>> {
    co_await!(s.write_all(data))?;
    co_return!(Ok(()))
}

#[test]
fn end_of_stream_reads_zero_and_read_exact_reports_unexpected_eof() {
    let rt = EventLoop::new().unwrap();
    let (got, eof, err) = rt.block_on(read_after_close()).unwrap();
    assert_eq!((got, eof, err), (3, 0, io::ErrorKind::UnexpectedEof));
}

#[coro::coroutine]
fn half_close() -> Task<io::Result<(Vec<u8>, Vec<u8>)>> {
    let (mut client, mut server) = co_await!(pair())?;
    co_await!(client.write_all(b"request"))?;
    client.shutdown(Shutdown::Write)?;
    // The server reads to end of stream...
    let mut request = Vec::new();
    let mut buf = [0u8; 64];
    loop {
        let n = co_await!(server.read(&mut buf))?;
        if n == 0 {
            break;
        }
        request.extend_from_slice(&buf[..n]);
    }
    // ...and can still answer on its own side, which the client reads.
    co_await!(server.write_all(b"response"))?;
    drop(server);
    let mut response = Vec::new();
    loop {
        let n = co_await!(client.read(&mut buf))?;
        if n == 0 {
            break;
        }
        response.extend_from_slice(&buf[..n]);
    }
    co_return!(Ok((request, response)))
}

#[test]
fn half_close_the_peer_reads_end_of_stream_and_can_still_write_back() {
    let rt = EventLoop::new().unwrap();
    let (request, response) = rt.block_on(half_close()).unwrap();
    assert_eq!((&request[..], &response[..]), (&b"request"[..], &b"response"[..]));
}

#[coro::coroutine]
fn dial(addr: SocketAddr) -> Task<io::Result<TcpStream>> {
    co_return!(co_await!(TcpStream::connect(addr)))
}

#[test]
fn connecting_to_a_closed_port_is_connection_refused() {
    let rt = EventLoop::new().unwrap();
    // A port that was just free: nobody listens on it.
    let addr = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let err = rt.block_on(dial(addr)).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused);
    // The failed socket left the poller.
    assert_eq!((rt.sources(), rt.registrations()), (0, 0));
}

/// The server reads a partial request, acknowledges it, and waits for the
/// rest: the client aborts instead (`SO_LINGER` 0: a reset).
#[coro::coroutine]
fn server_sees_reset() -> Task<io::Result<io::ErrorKind>> {
    let (client, mut server) = co_await!(pair())?;
    let aborter = spawn_local(abort_after_ack(client));
    let mut buf = [0u8; 64];
    let n = co_await!(server.read(&mut buf))?;
    assert_eq!(&buf[..n], b"GET /");
    co_await!(server.write_all(b"ack"))?;
    let kind = loop {
        match co_await!(server.read(&mut buf)) {
            Ok(0) => panic!("a reset is not an end of stream"),
            Ok(_) => continue,
            Err(e) => break e.kind(),
        }
    };
    co_await!(aborter)?;
    co_return!(Ok(kind))
}

#[coro::coroutine]
fn abort_after_ack(mut s: TcpStream) -> Task<io::Result<()>> {
    co_await!(s.write_all(b"GET /"))?;
    let mut ack = [0u8; 3];
    co_await!(s.read_exact(&mut ack))?;
    socket2::SockRef::from(&s).set_linger(Some(std::time::Duration::ZERO))?;
    drop(s); // RST, not FIN
    co_return!(Ok(()))
}

#[test]
fn a_peer_that_resets_mid_request_gives_the_server_connection_reset() {
    let rt = EventLoop::new().unwrap();
    assert_eq!(rt.block_on(server_sees_reset()).unwrap(), io::ErrorKind::ConnectionReset);
    assert_eq!((rt.sources(), rt.registrations()), (0, 0));
}

#[coro::coroutine]
fn write_to_reset_peer() -> Task<io::Result<io::ErrorKind>> {
    let (client, mut server) = co_await!(pair())?;
    socket2::SockRef::from(&client).set_linger(Some(std::time::Duration::ZERO))?;
    drop(client);
    // Writes fail once the reset has arrived (the first may still be
    // taken); never a SIGPIPE.
    let chunk = [7u8; 4096];
    let kind = loop {
        match co_await!(server.write(&chunk)) {
            Ok(_) => co_await!(yield_now()),
            Err(e) => break e.kind(),
        }
    };
    co_return!(Ok(kind))
}

#[test]
fn writing_to_a_peer_that_reset_fails_with_broken_pipe_or_reset_not_a_signal() {
    let rt = EventLoop::new().unwrap();
    let kind = rt.block_on(write_to_reset_peer()).unwrap();
    assert!(matches!(kind, io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset), "{kind:?}");
}

#[coro::coroutine]
fn owned_buffers() -> Task<io::Result<(Vec<u8>, Vec<u8>)>> {
    let (mut client, mut server) = co_await!(pair())?;
    let (sent, out) = co_await!(client.write_all_owned(b"owned bytes".to_vec()));
    sent?;
    // Read into the spare capacity after a prefix, until 11 bytes came.
    let mut buf = Vec::with_capacity(64);
    buf.extend_from_slice(b">>");
    while buf.len() < 2 + 11 {
        let (n, back) = co_await!(server.read_owned(buf));
        buf = back;
        let n = n?;
        assert!(n > 0);
    }
    // No spare capacity: nothing is read, `Ok(0)`, the vector unchanged.
    let full = vec![1u8; 4];
    let (n, full) = co_await!(server.read_owned(full));
    let n = n?;
    assert_eq!((n, full.len(), full.capacity()), (0, 4, 4));
    co_return!(Ok((out, buf)))
}

#[test]
fn owned_buffers_go_in_and_come_back_with_the_bytes_appended() {
    let rt = EventLoop::new().unwrap();
    let (out, buf) = rt.block_on(owned_buffers()).unwrap();
    assert_eq!(out, b"owned bytes");
    assert_eq!(buf, b">>owned bytes");
}

#[coro::coroutine]
fn count_sources(probe: Rc<Cell<Vec<usize>>>, sample: Rc<dyn Fn() -> usize>) -> Task<io::Result<()>> {
    use std::io::Write as _;
    let mut seen = Vec::new();
    let listener = TcpListener::bind(localhost())?;
    let addr = listener.local_addr()?;
    seen.push(sample()); // bound, not awaited: not registered
    let acceptor = spawn_local(accept_task(listener));
    co_await!(yield_now());
    seen.push(sample()); // the listener waits
    let mut client = std::net::TcpStream::connect(addr)?;
    let server = co_await!(acceptor)?;
    seen.push(sample()); // the listener is gone with its task
    client.write_all(b"x")?;
    let mut server = server;
    let mut one = [0u8; 1];
    co_await!(server.read_exact(&mut one))?; // there already: no wait, no registration
    seen.push(sample());
    let reader = spawn_local(read_one(server));
    co_await!(yield_now());
    seen.push(sample()); // the server side waits
    client.write_all(b"y")?;
    let got = co_await!(reader)?;
    assert_eq!(got, b'y');
    seen.push(sample()); // dropped with the reader task
    probe.set(seen);
    co_return!(Ok(()))
}

#[coro::coroutine]
fn accept_task(listener: TcpListener) -> Task<io::Result<TcpStream>> {
    let (s, _) = co_await!(listener.accept())?;
    co_return!(Ok(s))
}

#[coro::coroutine]
fn read_one(mut s: TcpStream) -> Task<io::Result<u8>> {
    let mut one = [0u8; 1];
    co_await!(s.read_exact(&mut one))?;
    co_return!(Ok(one[0]))
}

#[test]
fn sockets_register_with_the_loop_at_their_first_wait_and_leave_it_when_dropped() {
    let rt = Rc::new(EventLoop::new().unwrap());
    let probe = Rc::new(Cell::new(Vec::new()));
    let sample: Rc<dyn Fn() -> usize> = {
        let rt = Rc::downgrade(&rt);
        Rc::new(move || rt.upgrade().map_or(usize::MAX, |rt| rt.sources()))
    };
    rt.block_on(count_sources(probe.clone(), sample)).unwrap();
    assert_eq!(probe.take(), [0, 1, 0, 0, 1, 0]);
    assert_eq!((rt.sources(), rt.registrations()), (0, 0));
}
