//! Seed 001's event-loop sample, as coro code.
//!
//! The seed (notes of a Q&A on how asyncio and coroutines work) sketches
//! an event loop over epoll in pseudo-Python,
//!
//! ```text
//! while True:
//!     events = epoll_wait(epoll_fd, timeout)
//!     for fd, event in events:
//!         callback = fd_to_callback[fd]
//!         callback()
//! ```
//!
//! and the seven steps of `await socket.read()`: (1) the coroutine calls
//! read, (2) the loop registers the socket with epoll, (3) the coroutine is
//! suspended, (4) the loop runs other coroutines, (5) the kernel reports
//! the data and `epoll_wait` returns the event, (6) the loop calls what was
//! registered for the descriptor, (7) the coroutine continues where it
//! was. Its third round asks what happens to the frames of `A`, which
//! calls `B`, which awaits `post_http_request()`.
//!
//! This program mirrors that, on coro-io: the `while True` is
//! [`EventLoop`] (a `mio::Poll`, epoll on Linux); the "callback" a
//! descriptor's event leads to is the handle of the coroutine suspended on
//! it (the loop keeps registration keys, never raw callbacks); `A`, `B`
//! and `post_http_request` are three coroutines, each awaiting the next,
//! each a frame of its own on the heap (stackless: nothing is copied off a
//! stack at a suspension, and `B`'s local survives it in `B`'s frame); a
//! ticker coroutine keeps running while the three wait on the socket, and
//! the server that answers them is one more coroutine on the same loop. It
//! prints the steps as they happen and asserts each claim.
//!
//! `cargo run --release -p coro-io --example event_loop_seed001`

use std::cell::{Cell, RefCell};
use std::io;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};

use coro::{co_await, co_return, Task};
use coro_io::{sleep, spawn_local, EventLoop, TcpListener, TcpStream};

/// What happened, in order (also printed as it happens).
#[derive(Clone, Default)]
struct Log {
    lines: Rc<RefCell<Vec<String>>>,
    start: Rc<Cell<Option<Instant>>>,
    /// `post_http_request` is suspended in its read.
    waiting: Rc<Cell<bool>>,
}

impl Log {
    fn say(&self, line: impl Into<String>) {
        let start = self.start.get().unwrap_or_else(|| {
            let now = Instant::now();
            self.start.set(Some(now));
            now
        });
        let line = line.into();
        println!("{:>7.2} ms  {line}", start.elapsed().as_secs_f64() * 1e3);
        self.lines.borrow_mut().push(line);
    }

    fn position(&self, prefix: &str) -> usize {
        self.lines.borrow().iter().position(|l| l.starts_with(prefix)).unwrap_or_else(|| panic!("no line {prefix:?}"))
    }
}

/// The server: answers one request after a 30 ms pause (a slow backend).
#[coro::coroutine]
fn server(listener: TcpListener, log: Log) -> Task<io::Result<()>> {
    let (mut conn, _) = co_await!(listener.accept())?;
    let mut buf = [0u8; 1024];
    let mut got = 0;
    while !buf[..got].windows(4).any(|w| w == b"\r\n\r\n") {
        let n = co_await!(conn.read(&mut buf[got..]))?;
        if n == 0 {
            Err(io::Error::new(io::ErrorKind::UnexpectedEof, "the client left"))?;
        }
        got += n;
    }
    log.say("server: request read; answering in 30 ms");
    co_await!(sleep(Duration::from_millis(30)));
    log.say("server: writes the answer (the kernel will report it readable to the client's socket)");
    co_await!(conn.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"))?;
    co_return!(Ok(()))
}

/// Another coroutine, to show that the loop runs while the others wait;
/// counts the ticks that came while they were suspended.
#[coro::coroutine]
fn ticker(ticks: Rc<Cell<u32>>, stop: Rc<Cell<bool>>, log: Log) -> Task<()> {
    while !stop.get() {
        co_await!(sleep(Duration::from_millis(5)));
        if log.waiting.get() {
            ticks.set(ticks.get() + 1);
            log.say(format!("(4) ticker: tick {}, while A, B and post_http_request are suspended", ticks.get()));
        }
    }
    co_return!(())
}

#[coro::coroutine]
fn post_http_request(addr: SocketAddr, log: Log) -> Task<io::Result<String>> {
    let mut stream = co_await!(TcpStream::connect(addr))?;
    co_await!(stream.write_all(b"POST /submit HTTP/1.1\r\nHost: seed001\r\nContent-Length: 0\r\n\r\n"))?;
    log.say("post_http_request: request sent");
    let mut buf = [0u8; 256];
    let mut got = 0;
    loop {
        log.say(
            "(1) post_http_request: co_await!(stream.read(..)) -- (2) registered with the loop's poller, (3) suspended",
        );
        log.waiting.set(true);
        let n = co_await!(stream.read(&mut buf[got..]))?;
        log.waiting.set(false);
        log.say(format!("(5)(6)(7) post_http_request: resumed by the readiness event, read {n} bytes"));
        if n == 0 {
            break;
        }
        got += n;
        if buf[..got].ends_with(b"hello") {
            break;
        }
    }
    let text = String::from_utf8_lossy(&buf[..got]).into_owned();
    co_return!(Ok(text.rsplit("\r\n\r\n").next().unwrap_or_default().to_string()))
}

#[coro::coroutine]
fn b(addr: SocketAddr, log: Log) -> Task<io::Result<String>> {
    // Lives in B's frame across the suspension below.
    let local = format!("B's local at {:p}", &log);
    log.say("B: awaits post_http_request()");
    let body = co_await!(post_http_request(addr, log.clone()))?;
    log.say(format!("B: resumed; its local is intact: {local:?}"));
    assert!(local.starts_with("B's local"));
    co_return!(Ok(body))
}

#[coro::coroutine]
fn a(addr: SocketAddr, log: Log) -> Task<io::Result<String>> {
    log.say("A: awaits B()");
    let body = co_await!(b(addr, log.clone()))?;
    log.say(format!("A: resumed with the body {body:?}"));
    co_return!(Ok(body))
}

fn main() -> io::Result<()> {
    let lp = EventLoop::new()?; // the `while True: epoll_wait(...)`
    let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))?;
    let addr = listener.local_addr()?;
    let log = Log::default();
    let (ticks, stop) = (Rc::new(Cell::new(0)), Rc::new(Cell::new(false)));
    let srv = spawn_local(server(listener, log.clone()));
    let tick = spawn_local(ticker(ticks.clone(), stop.clone(), log.clone()));
    let body = lp.block_on(a(addr, log.clone()))?;
    stop.set(true);
    lp.block_on(srv)?;
    lp.block_on(tick);

    assert_eq!(body, "hello");
    assert!(ticks.get() >= 3, "the loop ran the ticker while the chain waited ({} ticks)", ticks.get());
    // The chain suspended before the ticker ran, and resumed innermost first.
    let suspended = log.position("(1) post_http_request");
    let first_tick = log.position("(4) ticker");
    let resumed = log.position("(5)(6)(7)");
    let (b_back, a_back) = (log.position("B: resumed"), log.position("A: resumed"));
    assert!(suspended < first_tick && first_tick < resumed && resumed < b_back && b_back < a_back);
    println!("all claims hold: three frames suspended on one socket, the loop ran {} ticks meanwhile", ticks.get());
    Ok(())
}
