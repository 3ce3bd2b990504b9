//! Allocations per request of the example servers once warm: none. A
//! counting global allocator (all threads) is read before and after a run
//! of requests on warm connections; the clients are blocking std sockets
//! with fixed buffers, which allocate nothing per request themselves.

#[path = "../examples/http_hello/http.rs"]
mod http;
#[path = "../examples/common/serve.rs"]
mod serve;
#[path = "../examples/http_hello/server.rs"]
mod server;
#[path = "../examples/common/timeouts.rs"]
mod timeouts;

#[path = "../examples/echo_server/server.rs"]
mod echo;

mod common_servers;

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::{Read, Write};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Mutex;

use common_servers::{connect, Running};
use serve::Config;

struct Counting;

static ALLOCS: AtomicU64 = AtomicU64::new(0);

// SAFETY: every method forwards to `System` with the caller's arguments;
// the counter does not affect the memory handed out.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Relaxed);
        // SAFETY: the caller's contract, passed on.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract, passed on.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Relaxed);
        // SAFETY: the caller's contract, passed on.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// The counter is global: the tests of this file run one at a time.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Runs `round(i)` `warm` times, then counts the allocations of `n` more.
fn allocations_over(warm: usize, n: usize, mut round: impl FnMut(usize)) -> u64 {
    for i in 0..warm {
        round(i);
    }
    let before = ALLOCS.load(Relaxed);
    for i in 0..n {
        round(warm + i);
    }
    ALLOCS.load(Relaxed) - before
}

const GET: &[u8] = b"GET / HTTP/1.1\r\nHost: test\r\n\r\n";

#[test]
fn http_hello_allocates_nothing_per_request_once_warm() {
    let _one = ONE_AT_A_TIME.lock().unwrap();
    let srv = Running::start(server::connection, Config::default());
    let mut conns: Vec<_> = (0..4).map(|_| connect(srv.addr)).collect();
    let mut answer = [0u8; http::HELLO.len()];
    let allocs = allocations_over(200, 5_000, |i| {
        let c = &mut conns[i % 4];
        c.write_all(GET).unwrap();
        c.read_exact(&mut answer).unwrap();
        assert_eq!(answer, http::HELLO);
    });
    assert_eq!(allocs, 0, "allocations over 5,000 requests on warm connections");
    srv.stop();
}

#[test]
fn http_hello_allocates_nothing_per_pipelined_batch_or_large_head_once_warm() {
    let _one = ONE_AT_A_TIME.lock().unwrap();
    let srv = Running::start(server::connection, Config::default());
    let mut c = connect(srv.addr);
    let batch: Vec<u8> = GET.repeat(20);
    // A 3 KiB head: it takes a large buffer from the loop's pool and gives
    // it back.
    let mut big = b"GET / HTTP/1.1\r\n".to_vec();
    big.extend_from_slice(format!("X-Filler: {}\r\n\r\n", "f".repeat(3000)).as_bytes());
    let mut answers = vec![0u8; 20 * http::HELLO.len()];
    let allocs = allocations_over(50, 500, |_| {
        c.write_all(&batch).unwrap();
        c.read_exact(&mut answers).unwrap();
        assert!(answers.chunks(http::HELLO.len()).all(|a| a == http::HELLO));
        c.write_all(&big).unwrap();
        c.read_exact(&mut answers[..http::HELLO.len()]).unwrap();
    });
    assert_eq!(allocs, 0, "allocations over 500 batches of 20 pipelined requests and 500 large heads");
    srv.stop();
}

#[test]
fn echo_server_allocates_nothing_per_echo_once_warm() {
    let _one = ONE_AT_A_TIME.lock().unwrap();
    let srv = Running::start(echo::connection, Config::default());
    let mut c = connect(srv.addr);
    let msg = [7u8; 64];
    let mut back = [0u8; 64];
    let allocs = allocations_over(200, 5_000, |_| {
        c.write_all(&msg).unwrap();
        c.read_exact(&mut back).unwrap();
        assert_eq!(back, msg);
    });
    assert_eq!(allocs, 0, "allocations over 5,000 echoes on a warm connection");
    srv.stop();
}
