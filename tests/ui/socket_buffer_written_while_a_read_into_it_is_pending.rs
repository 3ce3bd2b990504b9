// The buffer of a pending read is borrowed mutably until the read completes: the other half cannot send it meanwhile.
use coro::{co_await, co_return, when_all, Task};
use coro_io::net::{ReadHalf, WriteHalf};
use coro_io::TcpStream;

#[coro::coroutine]
fn read_into<'a>(mut rd: ReadHalf<'a>, buf: &'a mut [u8]) -> Task<(ReadHalf<'a>, usize)> {
    let n = co_await!(rd.read(buf)).unwrap();
    co_return!((rd, n))
}

#[coro::coroutine]
fn send<'a>(mut wr: WriteHalf<'a>, buf: &'a [u8]) -> Task<WriteHalf<'a>> {
    co_await!(wr.write_all(buf)).unwrap();
    co_return!(wr)
}

#[coro::coroutine]
fn echo_at_once(mut s: TcpStream) -> Task<()> {
    let mut buf = [0u8; 64];
    let (rd, wr) = s.split();
    let _ = co_await!(when_all((read_into(rd, &mut buf), send(wr, &buf))));
    co_return!(())
}

fn main() {}
