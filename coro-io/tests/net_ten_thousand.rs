//! Ten thousand connections held open at once on one loop, each still
//! served. The clients run in a child process (this binary again, told so
//! by an environment variable), so that each process needs 10,000
//! descriptors and a few, not 20,000: the test raises its soft
//! `RLIMIT_NOFILE` to that, and prints why it skips if the hard limit is
//! lower. No test harness (`harness = false` in Cargo.toml): `main` is the
//! test, or the child.

use std::cell::Cell;
use std::io::{self, BufRead as _};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::rc::Rc;
use std::time::{Duration, Instant};

use coro::sync::local::Event;
use coro::{co_await, co_return, Task};
use coro_io::{spawn_local, EventLoop, JoinHandle, TcpListener, TcpStream};

const CONNECTIONS: usize = 10_000;
/// The clients connect in waves, each waiting until the server has
/// accepted it: the listen queue (backlog 1024) never overflows.
const WAVE: usize = 500;
const CHILD: &str = "CORO_IO_TEN_THOUSAND_SERVER";

/// Raises the soft limit to `need` (up to the hard limit).
fn raise_nofile(need: u64) -> Result<(), String> {
    let mut r = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: `getrlimit` writes the limit into the struct it is given.
    assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut r) }, 0);
    if r.rlim_cur >= need {
        return Ok(());
    }
    let wanted = libc::rlimit { rlim_cur: need, rlim_max: r.rlim_max.max(need) };
    // SAFETY: `setrlimit` only reads the struct it is given.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &wanted) } == 0 {
        Ok(())
    } else {
        Err(format!(
            "RLIMIT_NOFILE is {}/{}, below the {need} this test needs: {}",
            r.rlim_cur,
            r.rlim_max,
            io::Error::last_os_error()
        ))
    }
}

/// The server side of one connection: welcomes the client, counts itself
/// open, echoes one request, and waits for the client to close.
#[coro::coroutine]
fn serve(mut s: TcpStream, open: Rc<Cell<usize>>, peak: Rc<Cell<usize>>) -> Task<io::Result<()>> {
    co_await!(s.write_all(b"w"))?;
    open.set(open.get() + 1);
    peak.set(peak.get().max(open.get()));
    let mut request = [0u8; 8];
    co_await!(s.read_exact(&mut request))?;
    co_await!(s.write_all(&request))?;
    let mut rest = [0u8; 1];
    let eof = co_await!(s.read(&mut rest))?;
    open.set(open.get() - 1);
    assert_eq!(eof, 0);
    co_return!(Ok(()))
}

#[coro::coroutine]
fn server(listener: TcpListener, peak: Rc<Cell<usize>>) -> Task<io::Result<usize>> {
    let open = Rc::new(Cell::new(0));
    let mut served: Vec<JoinHandle<io::Result<()>>> = Vec::with_capacity(CONNECTIONS);
    for _ in 0..CONNECTIONS {
        let (s, _) = co_await!(listener.accept())?;
        served.push(spawn_local(serve(s, open.clone(), peak.clone())));
    }
    for h in served {
        co_await!(h)?;
    }
    co_return!(Ok(open.get()))
}

/// One client: connects, waits for the welcome, tells `connected`, waits
/// for `go`, sends its id and checks the echo.
#[coro::coroutine]
fn client(
    addr: SocketAddr,
    id: u64,
    connected: Rc<Cell<usize>>,
    wave: Rc<Event>,
    go: Rc<Event>,
) -> Task<io::Result<bool>> {
    let mut s = co_await!(TcpStream::connect(addr))?;
    let mut welcome = [0u8; 1];
    co_await!(s.read_exact(&mut welcome))?;
    connected.set(connected.get() + 1);
    if connected.get() % WAVE == 0 {
        wave.set();
    }
    co_await!(go.wait());
    let request = id.to_le_bytes();
    co_await!(s.write_all(&request))?;
    let mut back = [0u8; 8];
    co_await!(s.read_exact(&mut back))?;
    co_return!(Ok(back == request))
}

#[coro::coroutine]
fn clients(addr: SocketAddr) -> Task<io::Result<usize>> {
    let connected = Rc::new(Cell::new(0));
    let go = Rc::new(Event::new());
    let mut all = Vec::with_capacity(CONNECTIONS);
    for first in (0..CONNECTIONS).step_by(WAVE) {
        let wave = Rc::new(Event::new());
        for id in first..first + WAVE {
            all.push(spawn_local(client(addr, id as u64, connected.clone(), wave.clone(), go.clone())));
        }
        co_await!(wave.wait());
    }
    // Every connection is open on both sides now.
    go.set();
    let mut echoed = 0;
    for c in all {
        echoed += usize::from(co_await!(c)?);
    }
    co_return!(Ok(echoed))
}

/// The child: runs the clients, prints how many were echoed intact.
fn child(addr: &str) {
    raise_nofile(CONNECTIONS as u64 + 256).expect("the parent checked the limit");
    let rt = EventLoop::new().unwrap();
    let echoed = rt.block_on(clients(addr.parse().unwrap())).unwrap();
    println!("echoed {echoed}");
}

fn main() {
    if let Ok(addr) = std::env::var(CHILD) {
        return child(&addr);
    }
    let name = "ten_thousand_connections_held_open_at_once_on_one_loop_are_each_served";
    if std::env::args().any(|a| a == "--list") {
        println!("{name}: test");
        return;
    }
    if let Err(why) = raise_nofile(CONNECTIONS as u64 + 256) {
        println!("test {name} ... skipped: {why}");
        return;
    }
    let t = Instant::now();
    let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).unwrap();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .env(CHILD, listener.local_addr().unwrap().to_string())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let rt = EventLoop::new().unwrap();
    let peak = Rc::new(Cell::new(0));
    let open_after = rt.block_on(server(listener, peak.clone())).unwrap();
    let status = child.wait().unwrap();
    let mut report = String::new();
    io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut report).unwrap();
    assert!(status.success(), "the client process failed: {status}");
    assert_eq!(report.trim(), format!("echoed {CONNECTIONS}"));
    assert_eq!((peak.get(), open_after), (CONNECTIONS, 0), "every connection open at once, then closed");
    assert_eq!((rt.sources(), rt.registrations(), rt.tasks()), (0, 0, 0));
    assert!(t.elapsed() < Duration::from_secs(60));
    println!("test {name} ... ok ({CONNECTIONS} connections in {:?})", t.elapsed());
}
