//! A socket operation allocates nothing once the loop is warm: its state
//! (the buffer borrow, the registration key) lives in the awaiter, in the
//! coroutine's frame, and the loop's slabs and queues keep their capacity.
//! Its own binary: it installs a counting global allocator.
//!
//! Echo round trips over one loopback connection, client and server
//! coroutines on one loop: every read waits for the peer's write (a
//! suspension, a readiness event, a resumption), so the count covers the
//! whole path of a wait, not only operations that complete at once.

use std::io;
use std::net::SocketAddr;

use coro::{co_await, co_return, Task};
use coro_io::{spawn_local, EventLoop, TcpListener, TcpStream};

#[path = "common/counting_alloc.rs"]
mod counting_alloc;
use counting_alloc::allocations;

/// Under valgrind (`.ci/memcheck`) the same path runs fewer times.
fn under_valgrind() -> bool {
    std::env::var_os("LD_PRELOAD").is_some_and(|p| p.to_string_lossy().contains("vgpreload"))
}

const MESSAGE: usize = 64;

#[coro::coroutine]
fn echo(mut s: TcpStream, rounds: u32) -> Task<io::Result<()>> {
    let mut buf = [0u8; MESSAGE];
    for _ in 0..rounds {
        co_await!(s.read_exact(&mut buf))?;
        co_await!(s.write_all(&buf))?;
    }
    co_return!(Ok(()))
}

/// `warm_up` round trips, then `measured` more, counting allocations on
/// this thread (the loop's: both ends run here) over the measured ones,
/// then one more: the server task's end (its first wake-up through the
/// loop's injection queue, which allocates its buffer once) is not an
/// operation's cost.
#[coro::coroutine]
fn round_trips(warm_up: u32, measured: u32) -> Task<io::Result<u64>> {
    let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))?;
    let mut client = co_await!(TcpStream::connect(listener.local_addr()?))?;
    let (server, _) = co_await!(listener.accept())?;
    let server = spawn_local(echo(server, warm_up + measured + 1));
    let mut out = [0u8; MESSAGE];
    let mut back = [0u8; MESSAGE];
    let mut before = 0;
    let mut allocated = 0;
    for i in 0..warm_up + measured + 1 {
        if i == warm_up {
            before = allocations();
        }
        if i == warm_up + measured {
            allocated = allocations() - before;
        }
        out[..4].copy_from_slice(&i.to_le_bytes());
        co_await!(client.write_all(&out))?;
        co_await!(client.read_exact(&mut back))?;
        assert_eq!(back, out);
    }
    co_await!(server)?;
    co_return!(Ok(allocated))
}

#[test]
fn a_hundred_thousand_echo_round_trips_after_warm_up_allocate_nothing() {
    // Each round trip is 4 operations (2 writes, 2 reads), 2 of which wait.
    let measured = if under_valgrind() { 2_000 } else { 100_000 };
    let rt = EventLoop::new().unwrap();
    let allocated = rt.block_on(round_trips(1_000, measured)).unwrap();
    assert_eq!(allocated, 0, "allocations over {measured} round trips");
}
