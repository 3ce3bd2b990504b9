// A socket operation borrows its buffer for the co_await!: a frame local read into and used after, split halves with a buffer each at once, and an owned buffer handed back.
use std::net::SocketAddr;

use coro::{co_await, co_return, when_all, Task};
use coro_io::net::{ReadHalf, WriteHalf};
use coro_io::{EventLoop, TcpListener, TcpStream};

#[coro::coroutine]
fn read_into<'a>(s: &'a mut TcpStream, buf: &'a mut [u8]) -> Task<&'a [u8]> {
    let n = co_await!(s.read(buf)).unwrap();
    co_return!(&buf[..n])
}

#[coro::coroutine]
fn receive<'a>(mut rd: ReadHalf<'a>, buf: &'a mut [u8]) -> Task<ReadHalf<'a>> {
    co_await!(rd.read_exact(buf)).unwrap();
    co_return!(rd)
}

#[coro::coroutine]
fn send<'a>(mut wr: WriteHalf<'a>, buf: &'a [u8]) -> Task<WriteHalf<'a>> {
    co_await!(wr.write_all(buf)).unwrap();
    co_return!(wr)
}

#[coro::coroutine]
fn demo() -> Task<(Vec<u8>, [u8; 4])> {
    let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).unwrap();
    let mut client = co_await!(TcpStream::connect(listener.local_addr().unwrap())).unwrap();
    let (mut server, _) = co_await!(listener.accept()).unwrap();
    co_await!(client.write_all(b"ping")).unwrap();
    let mut buf = [0u8; 4];
    let got = co_await!(read_into(&mut server, &mut buf)).to_vec();
    // The client's halves at once, each with its own buffer.
    let (rd, wr) = client.split();
    let mut back = [0u8; 4];
    let out = *b"pong";
    let (server_rd, server_wr) = server.split();
    let (_, _) = co_await!(when_all((send(server_wr, &out), receive(rd, &mut back))));
    let mut wr = wr;
    let (sent, owned) = co_await!(wr.write_all_owned(got));
    sent.unwrap();
    let mut echo = [0u8; 4];
    let _ = co_await!(receive(server_rd, &mut echo));
    assert_eq!(echo, *b"ping");
    co_return!((owned, back))
}

fn main() {
    assert_eq!(EventLoop::new().unwrap().block_on(demo()), (b"ping".to_vec(), *b"pong"));
}
