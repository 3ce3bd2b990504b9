//! UDP over 127.0.0.1: round trips, a connected socket, several receivers
//! waiting on one socket at once.

use std::io;
use std::net::SocketAddr;
use std::rc::Rc;

use coro::{co_await, co_return, Task};
use coro_io::{spawn_local, yield_now, EventLoop, UdpSocket};

fn localhost() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

#[coro::coroutine]
fn answer_once(s: Rc<UdpSocket>) -> Task<io::Result<SocketAddr>> {
    let mut buf = [0u8; 64];
    let (n, from) = co_await!(s.recv_from(&mut buf))?;
    let mut reply = buf[..n].to_vec();
    reply.reverse();
    co_await!(s.send_to(&reply, from))?;
    co_return!(Ok(from))
}

#[coro::coroutine]
fn round_trip() -> Task<io::Result<(Vec<u8>, bool)>> {
    let server = Rc::new(UdpSocket::bind(localhost())?);
    let client = UdpSocket::bind(localhost())?;
    // The server waits first: its receive suspends, the datagram wakes it.
    let answered = spawn_local(answer_once(server.clone()));
    co_await!(yield_now());
    co_await!(client.send_to(b"stressed", server.local_addr()?))?;
    let mut buf = [0u8; 64];
    let (n, from) = co_await!(client.recv_from(&mut buf))?;
    let seen_from = co_await!(answered)?;
    let addresses_match = from == server.local_addr()? && seen_from == client.local_addr()?;
    co_return!(Ok((buf[..n].to_vec(), addresses_match)))
}

#[test]
fn send_to_and_recv_from_round_trip_with_the_senders_addresses() {
    let rt = EventLoop::new().unwrap();
    let (reply, addresses_match) = rt.block_on(round_trip()).unwrap();
    assert_eq!(reply, b"desserts");
    assert!(addresses_match);
    assert_eq!((rt.sources(), rt.registrations()), (0, 0));
}

#[coro::coroutine]
fn connected() -> Task<io::Result<Vec<u8>>> {
    let a = UdpSocket::bind(localhost())?;
    let b = UdpSocket::bind(localhost())?;
    a.connect(b.local_addr()?)?;
    b.connect(a.local_addr()?)?;
    co_await!(a.send(b"one"))?;
    let mut buf = [0u8; 16];
    let n = co_await!(b.recv(&mut buf))?;
    co_await!(b.send(&buf[..n]))?;
    let n = co_await!(a.recv(&mut buf))?;
    co_return!(Ok(buf[..n].to_vec()))
}

#[test]
fn a_connected_socket_sends_to_and_receives_from_its_peer() {
    let rt = EventLoop::new().unwrap();
    assert_eq!(rt.block_on(connected()).unwrap(), b"one");
}

#[coro::coroutine]
fn receive_one(s: Rc<UdpSocket>) -> Task<io::Result<u8>> {
    let mut buf = [0u8; 8];
    let (n, _) = co_await!(s.recv_from(&mut buf))?;
    assert_eq!(n, 1);
    co_return!(Ok(buf[0]))
}

#[coro::coroutine]
fn three_receivers() -> Task<io::Result<Vec<u8>>> {
    let s = Rc::new(UdpSocket::bind(localhost())?);
    let receivers: Vec<_> = (0..3).map(|_| spawn_local(receive_one(s.clone()))).collect();
    co_await!(yield_now());
    let sender = UdpSocket::bind(localhost())?;
    for b in [b'a', b'b', b'c'] {
        let one = [b];
        co_await!(sender.send_to(&one, s.local_addr()?))?;
    }
    let mut got = Vec::new();
    for r in receivers {
        got.push(co_await!(r)?);
    }
    got.sort_unstable();
    co_return!(Ok(got))
}

#[test]
fn three_coroutines_receiving_on_one_socket_each_get_one_datagram() {
    let rt = EventLoop::new().unwrap();
    assert_eq!(rt.block_on(three_receivers()).unwrap(), b"abc");
    assert_eq!((rt.sources(), rt.registrations()), (0, 0));
}
