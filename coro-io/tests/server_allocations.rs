//! Allocations per request of the example servers once warm: none. A
//! counting global allocator counts the allocations of the server's thread
//! (not the test harness's, which may be reporting another test meanwhile)
//! before and after a run of requests on warm connections; the clients are
//! blocking std sockets with fixed buffers.

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
use std::cell::Cell;
use std::io::{Read, Write};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use coro::cancellation::CancellationSource;
use serve::{Config, ConnFn};

use common_servers::connect;

struct Counting;

static ALLOCS: AtomicU64 = AtomicU64::new(0);

thread_local! {
    /// This thread's allocations are counted: a server's thread.
    static COUNTED: Cell<bool> = const { Cell::new(false) };
}

fn count() {
    // `try_with`: not while the thread's locals are being torn down.
    if COUNTED.try_with(Cell::get).unwrap_or(false) {
        ALLOCS.fetch_add(1, Relaxed);
    }
}

// SAFETY: every method forwards to `System` with the caller's arguments;
// the counter does not affect the memory handed out.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: the caller's contract, passed on.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract, passed on.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        // SAFETY: the caller's contract, passed on.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// The counter is global: the tests of this file run one at a time.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn one_at_a_time() -> MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

/// A server on a thread whose allocations are counted.
struct Counted {
    addr: SocketAddr,
    stop: CancellationSource,
    thread: Option<JoinHandle<()>>,
}

impl Counted {
    fn start(conn: ConnFn) -> Counted {
        let listener = coro_io::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).expect("bind");
        let addr = listener.local_addr().expect("local_addr");
        let stop = CancellationSource::new();
        let s = stop.clone();
        let thread = std::thread::spawn(move || {
            COUNTED.with(|c| c.set(true));
            // The sweeper ticks every 5 ms: the warm-up sees many ticks, and
            // so does the counted part (a tick allocates nothing either).
            let timeouts = timeouts::Timeouts { tick: Duration::from_millis(5), ..Default::default() };
            serve::serve(listener, conn, Config { timeouts, ..Config::default() }, s).expect("serve");
            COUNTED.with(|c| c.set(false));
        });
        Counted { addr, stop, thread: Some(thread) }
    }
}

impl Counted {
    /// Shuts the server down and waits for it (20 s at most).
    fn stop(mut self) {
        self.stop.request_cancellation();
        let t = self.thread.take().expect("running");
        let deadline = Instant::now() + Duration::from_secs(20);
        while !t.is_finished() {
            assert!(Instant::now() < deadline, "the server did not stop within 20 s");
            std::thread::sleep(Duration::from_millis(5));
        }
        t.join().expect("the server thread panicked");
    }
}

/// A test that fails still stops its server (without waiting for it).
impl Drop for Counted {
    fn drop(&mut self) {
        self.stop.request_cancellation();
    }
}

/// Runs `round(i)` `warm` times and for at least 300 ms (a slow machine,
/// valgrind: the loop's queues and the sweeper's timer reach their steady
/// state), then counts the allocations of `n` more.
fn allocations_over(warm: usize, n: usize, mut round: impl FnMut(usize)) -> u64 {
    let start = Instant::now();
    let mut i = 0;
    while i < warm || start.elapsed() < Duration::from_millis(300) {
        round(i);
        i += 1;
    }
    let warm = i;
    let before = ALLOCS.load(Relaxed);
    for i in 0..n {
        round(warm + i);
    }
    ALLOCS.load(Relaxed) - before
}

const GET: &[u8] = b"GET / HTTP/1.1\r\nHost: test\r\n\r\n";

#[test]
fn http_hello_allocates_nothing_per_request_once_warm() {
    let _one = one_at_a_time();
    let srv = Counted::start(server::connection);
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
    let _one = one_at_a_time();
    let srv = Counted::start(server::connection);
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
    let _one = one_at_a_time();
    let srv = Counted::start(echo::connection);
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
