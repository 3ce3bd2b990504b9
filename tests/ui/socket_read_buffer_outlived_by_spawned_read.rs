// A read spawned to run on its own cannot borrow a buffer that may be dropped while it is pending.
use coro::{co_await, co_return, Task};
use coro_io::TcpStream;

#[coro::coroutine]
fn read_into<'a>(s: &'a mut TcpStream, buf: &'a mut [u8]) -> Task<&'a [u8]> {
    let n = co_await!(s.read(buf)).unwrap();
    co_return!(&buf[..n])
}

#[coro::coroutine]
fn server(mut s: TcpStream) -> Task<usize> {
    let mut buf = vec![0u8; 64];
    let pending = coro_io::spawn_local(read_into(&mut s, &mut buf));
    drop(buf);
    co_return!(co_await!(pending).len())
}

fn main() {}
