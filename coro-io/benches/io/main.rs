//! coro-io's servers beside a tokio server and a hand-written mio server,
//! in one run:
//!
//! ```text
//! cargo bench -p coro-io --bench io                      # ~6 min after the build
//! CORO_BENCH_QUICK=1 cargo bench -p coro-io --bench io   # ~1 min: a smoke test
//! ```
//!
//! Servers (each in a fresh child process, this binary re-run as
//! `io serve NAME`, pinned to core 0 with `taskset -c 0`):
//! - `coro`: the `http_hello` and `echo_server` examples' own code
//!   (`examples/http_hello/server.rs`, `examples/echo_server/server.rs`,
//!   `examples/common/serve.rs`), one `EventLoop`;
//! - `tokio`: `tokio_peer.rs`, a `current_thread` runtime;
//! - `mio`: `mio_peer.rs`, a state machine per connection.
//!
//! All three answer HTTP through the same `http` module (httparse, the same
//! buffers and answer bytes) and echo through the same 4 KiB buffer, with
//! the same timeouts.
//!
//! Rows: HTTP `GET /` driven by the `load` example's client (50
//! connections, one request in flight each, every answer checked byte for
//! byte), the same driven by `wrk` (installed with apt-get if missing; a
//! Lua `response` hook checks status, headers and body of every answer;
//! the rows are skipped with a message if wrk cannot be had), and echo of
//! 64-byte payloads (load client). The load generators run on core 1 (this
//! process pins itself there). For each run: a warm-up, then the server's
//! `utime` and `stime` from `/proc/PID/stat` before and after the measured
//! part, over the requests answered in it; requests/s and latency from the
//! load generator; allocations per request from the server's counting
//! allocator (this binary's, read through the child's stdin/stdout).
//! Rounds rotate which server goes first; the tables give medians over
//! rounds and the median of per-round ratios to mio.
//!
//! The 10,000-connection rows: a fresh server, its `VmRSS` from
//! `/proc/PID/status`, then 10,000 connections opened (256 at a time), one
//! checked request on each, all held open while `VmRSS` is read again.
//!
//! The full run rewrites the generated part of BENCHMARKS.md's "coro-io:
//! servers" section and `BENCHMARKS-io.svg`; the quick run writes only
//! `target/bench-io/`.

#[path = "../../examples/load/client.rs"]
mod client;
#[path = "../../examples/echo_server/server.rs"]
mod coro_echo;
#[path = "../../examples/http_hello/server.rs"]
mod coro_http;
#[path = "../../examples/http_hello/http.rs"]
mod http;
mod mio_peer;
#[path = "../../examples/common/serve.rs"]
mod serve;
#[path = "../../examples/common/timeouts.rs"]
mod timeouts;
mod tokio_peer;

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::{self, BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

use client::{Config, Mode};

pub use coro_echo::ECHO_BUF;

/// Counts allocations (all threads); out of line, so that none is elided.
struct Counting;

static ALLOCS: AtomicU64 = AtomicU64::new(0);

// SAFETY: every method forwards to `System` with the caller's arguments;
// the counter does not affect the memory handed out.
unsafe impl GlobalAlloc for Counting {
    #[inline(never)]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Relaxed);
        // SAFETY: the caller's contract, passed on.
        unsafe { System.alloc(layout) }
    }
    #[inline(never)]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Relaxed);
        // SAFETY: the caller's contract, passed on.
        unsafe { System.alloc_zeroed(layout) }
    }
    #[inline(never)]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract, passed on.
        unsafe { System.dealloc(ptr, layout) }
    }
    #[inline(never)]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Relaxed);
        // SAFETY: the caller's contract, passed on.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const SERVERS: [&str; 3] = ["coro", "tokio", "mio"];

// ---------------------------------------------------------------- servers

/// `io serve NAME-KIND`: runs one server until its stdin closes. Prints
/// `listening ADDR` first; answers each `allocs` line on stdin with the
/// allocation count.
fn serve_child(what: &str) -> io::Result<()> {
    let (name, kind) = what.split_once('-').unwrap_or((what, ""));
    let http = match kind {
        "http" => true,
        "echo" => false,
        _ => panic!("io serve: unknown server {what:?}"),
    };
    let any = SocketAddr::from(([127, 0, 0, 1], 0));
    let control = |addr: SocketAddr| {
        println!("listening {addr}");
        io::stdout().flush().expect("stdout");
        std::thread::spawn(|| {
            let mut line = String::with_capacity(64);
            let stdin = io::stdin();
            let mut stdin = stdin.lock();
            loop {
                line.clear();
                match stdin.read_line(&mut line) {
                    Ok(0) | Err(_) => std::process::exit(0),
                    Ok(_) if line.trim() == "allocs" => {
                        let n = ALLOCS.load(Relaxed);
                        let mut out = io::stdout().lock();
                        let _ = writeln!(out, "allocs {n}");
                        let _ = out.flush();
                    }
                    Ok(_) => {}
                }
            }
        });
    };
    match name {
        "coro" => {
            let listener = coro_io::TcpListener::bind(any)?;
            control(listener.local_addr()?);
            let conn: serve::ConnFn = if http { coro_http::connection } else { coro_echo::connection };
            serve::serve(listener, conn, serve::Config::default(), coro::cancellation::CancellationSource::new())?;
            Ok(())
        }
        "tokio" | "mio" => {
            let listener = std::net::TcpListener::bind(any)?;
            control(listener.local_addr()?);
            if name == "tokio" {
                tokio_peer::serve(listener, http)
            } else {
                mio_peer::serve(listener, http)
            }
        }
        _ => panic!("io serve: unknown server {what:?}"),
    }
}

/// A server child process, stopped (by its PID) when dropped.
struct Server {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
    addr: SocketAddr,
}

impl Server {
    fn start(exe: &Path, what: &str, pin: bool) -> io::Result<Server> {
        let mut cmd = if pin {
            let mut c = Command::new("taskset");
            c.args(["-c", "0"]).arg(exe);
            c
        } else {
            Command::new(exe)
        };
        cmd.args(["serve", what]).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::inherit());
        let mut child = cmd.spawn()?;
        let stdin = child.stdin.take();
        let mut stdout = BufReader::new(child.stdout.take().expect("piped"));
        let mut line = String::new();
        stdout.read_line(&mut line)?;
        let addr = line
            .trim()
            .strip_prefix("listening ")
            .and_then(|a| a.parse().ok())
            .ok_or_else(|| io::Error::other(format!("server {what} said {line:?}")))?;
        Ok(Server { child, stdin, stdout, addr })
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The server's allocation count so far.
    fn allocs(&mut self) -> io::Result<u64> {
        let stdin = self.stdin.as_mut().expect("running");
        stdin.write_all(b"allocs\n")?;
        stdin.flush()?;
        let mut line = String::new();
        self.stdout.read_line(&mut line)?;
        line.trim()
            .strip_prefix("allocs ")
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| io::Error::other(format!("server said {line:?}")))
    }

    /// (utime, stime) in clock ticks, from `/proc/PID/stat`.
    fn cpu(&self) -> io::Result<(u64, u64)> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid()))?;
        // After the command name's closing parenthesis: field 3 is the state;
        // utime and stime are fields 14 and 15.
        let rest = &stat[stat.rfind(')').ok_or_else(|| io::Error::other("odd stat"))? + 2..];
        let f: Vec<&str> = rest.split_whitespace().collect();
        let n = |i: usize| f[i - 3].parse::<u64>().map_err(io::Error::other);
        Ok((n(14)?, n(15)?))
    }

    /// `VmRSS` in bytes, from `/proc/PID/status`.
    fn rss(&self) -> io::Result<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()))?;
        let line = status.lines().find(|l| l.starts_with("VmRSS:")).ok_or_else(|| io::Error::other("no VmRSS"))?;
        let kb: u64 =
            line.split_whitespace().nth(1).and_then(|v| v.parse().ok()).ok_or_else(|| io::Error::other("odd VmRSS"))?;
        Ok(kb * 1024)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // Closing stdin ends it; its own PID is killed if it lingers.
        drop(self.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(2);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------- harness

/// Clock ticks per second of `/proc/PID/stat` (`getconf CLK_TCK`).
fn clk_tck() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

fn have(cmd: &str) -> bool {
    Command::new("sh").args(["-c", &format!("command -v {cmd} >/dev/null 2>&1")]).status().is_ok_and(|s| s.success())
}

/// wrk, installed with apt-get if missing; `None` (with a message) if it
/// cannot be had.
fn find_wrk() -> Option<PathBuf> {
    if std::env::var_os("CORO_BENCH_NO_WRK").is_some() {
        println!("wrk rows skipped: CORO_BENCH_NO_WRK is set");
        return None;
    }
    if !have("wrk") {
        println!("wrk is missing: installing it (apt-get install -y wrk)");
        let ok = Command::new("sh")
            .args(["-c", "(apt-get install -y wrk || (apt-get update && apt-get install -y wrk)) >/dev/null 2>&1"])
            .status()
            .is_ok_and(|s| s.success());
        if !ok || !have("wrk") {
            println!("wrk rows skipped: wrk could not be installed");
            return None;
        }
    }
    Some(PathBuf::from("wrk"))
}

const WRK_CHECK: &str = r#"-- Checks every answer: status, headers and body, byte for byte.
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) checked = 0; bad = 0 end
function response(status, headers, body)
  checked = checked + 1
  local n = 0
  for _ in pairs(headers) do n = n + 1 end
  if status ~= 200 or body ~= "Hello, World!" or n ~= 2
     or headers["Content-Type"] ~= "text/plain" or headers["Content-Length"] ~= "13" then
    bad = bad + 1
  end
end
function done(summary, latency, requests)
  local c, b = 0, 0
  for _, t in ipairs(threads) do c = c + t:get("checked"); b = b + t:get("bad") end
  io.write(string.format("CHECK checked=%d bad=%d\n", c, b))
end
"#;

/// What the load generator saw.
struct Load {
    requests: u64,
    per_sec: f64,
    p50: Duration,
    p99: Duration,
}

/// Runs the load client: `warmup`, then `measure()` (the server's
/// counters), then `duration` measured.
fn run_load(
    addr: SocketAddr,
    mode: Mode,
    connections: usize,
    warmup: Duration,
    duration: Duration,
    measure: &(dyn Fn() + Sync),
) -> io::Result<Load> {
    let cfg =
        Config { addr, mode, connections, warmup, duration, round_trips: None, threads: 1, think: Duration::ZERO };
    let r = client::run_measured(&cfg, measure)?;
    Ok(Load {
        requests: r.round_trips,
        per_sec: r.per_sec(),
        p50: r.latency.quantile(0.5),
        p99: r.latency.quantile(0.99),
    })
}

/// `12.3us`, `1.05ms`, `2s` → a duration.
fn wrk_duration(s: &str) -> Option<Duration> {
    let (num, unit) = s.split_at(s.find(|c: char| c.is_ascii_alphabetic())?);
    let v: f64 = num.parse().ok()?;
    let secs = match unit {
        "us" => v * 1e-6,
        "ms" => v * 1e-3,
        "s" => v,
        "m" => v * 60.0,
        _ => return None,
    };
    Some(Duration::from_secs_f64(secs))
}

fn run_wrk(
    wrk: &Path,
    script: &Path,
    addr: SocketAddr,
    connections: usize,
    duration: Duration,
    pin: bool,
) -> io::Result<Load> {
    let secs = duration.as_secs().max(1);
    let mut cmd = if pin {
        let mut c = Command::new("taskset");
        c.args(["-c", "1"]).arg(wrk);
        c
    } else {
        Command::new(wrk)
    };
    cmd.args(["-t1", &format!("-c{connections}"), &format!("-d{secs}s"), "--latency", "-s"])
        .arg(script)
        .arg(format!("http://{addr}/"));
    let out = cmd.output()?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let fail = |why: &str| io::Error::other(format!("wrk: {why}:\n{text}{}", String::from_utf8_lossy(&out.stderr)));
    if !out.status.success() {
        return Err(fail("failed"));
    }
    let mut load = Load { requests: 0, per_sec: 0.0, p50: Duration::ZERO, p99: Duration::ZERO };
    let (mut checked, mut bad) = (None, None);
    for line in text.lines() {
        let w: Vec<&str> = line.split_whitespace().collect();
        match w.as_slice() {
            [n, "requests", "in", ..] => load.requests = n.parse().map_err(|_| fail("requests"))?,
            ["Requests/sec:", v] => load.per_sec = v.parse().map_err(|_| fail("Requests/sec"))?,
            ["50%", v] => load.p50 = wrk_duration(v).ok_or_else(|| fail("p50"))?,
            ["99%", v] => load.p99 = wrk_duration(v).ok_or_else(|| fail("p99"))?,
            ["CHECK", c, b] => {
                checked = c.strip_prefix("checked=").and_then(|v| v.parse::<u64>().ok());
                bad = b.strip_prefix("bad=").and_then(|v| v.parse::<u64>().ok());
            }
            ["Socket", "errors:", ..] | ["Non-2xx", ..] => return Err(fail("errors")),
            _ => {}
        }
    }
    match (checked, bad) {
        (Some(c), Some(0)) if c > 0 => Ok(load),
        _ => Err(fail("an answer failed the check")),
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Gen {
    Load,
    Wrk,
}

#[derive(Clone, Copy)]
struct Row {
    title: &'static str,
    kind: &'static str,
    gen: Gen,
    mode: Mode,
}

const ROWS: [Row; 3] = [
    Row { title: "HTTP GET / (load client)", kind: "http", gen: Gen::Load, mode: Mode::Http },
    Row { title: "HTTP GET / (wrk)", kind: "http", gen: Gen::Wrk, mode: Mode::Http },
    Row { title: "echo, 64-byte payloads (load client)", kind: "echo", gen: Gen::Load, mode: Mode::Echo(64) },
];

/// One measured run.
#[derive(Clone, Copy, Debug)]
struct Sample {
    user_us: f64,
    sys_us: f64,
    per_sec: f64,
    p50_us: f64,
    p99_us: f64,
    allocs: f64,
}

struct Setup {
    exe: PathBuf,
    pin: bool,
    wrk: Option<(PathBuf, PathBuf)>,
    warm: Duration,
    run: Duration,
    connections: usize,
    tck: f64,
}

fn measure(s: &Setup, row: &Row, server: &str) -> io::Result<Sample> {
    let srv = std::sync::Mutex::new(Server::start(&s.exe, &format!("{server}-{}", row.kind), s.pin)?);
    // The server's allocation count and CPU times at the start of the
    // measured part.
    let start = std::sync::Mutex::new(None);
    let read = || -> io::Result<(u64, (u64, u64))> {
        let mut srv = srv.lock().unwrap();
        Ok((srv.allocs()?, srv.cpu()?))
    };
    let addr = srv.lock().unwrap().addr;
    let load = match row.gen {
        // Warm-up and measured part on the same connections.
        Gen::Load => run_load(addr, row.mode, s.connections, s.warm, s.run, &|| *start.lock().unwrap() = Some(read()))?,
        Gen::Wrk => {
            run_load(addr, row.mode, s.connections, s.warm, Duration::ZERO, &|| {})?;
            *start.lock().unwrap() = Some(read());
            let (wrk, script) = s.wrk.as_ref().expect("wrk rows only with wrk");
            run_wrk(wrk, script, addr, s.connections, s.run, s.pin)?
        }
    };
    let (a1, (u1, s1)) = read()?;
    let (a0, (u0, s0)) = start.into_inner().unwrap().expect("measured")?;
    let n = load.requests.max(1) as f64;
    let us = |ticks: u64| ticks as f64 / s.tck * 1e6 / n;
    Ok(Sample {
        user_us: us(u1 - u0),
        sys_us: us(s1 - s0),
        per_sec: load.per_sec,
        p50_us: load.p50.as_secs_f64() * 1e6,
        p99_us: load.p99.as_secs_f64() * 1e6,
        allocs: (a1 - a0) as f64 / n,
    })
}

/// Bytes of RSS per connection with `n` connections held open.
fn rss_per_connection(s: &Setup, kind: &str, mode: Mode, server: &str, n: usize) -> io::Result<(u64, u64, f64)> {
    let srv = Server::start(&s.exe, &format!("{server}-{kind}"), s.pin)?;
    std::thread::sleep(Duration::from_millis(100));
    let before = srv.rss()?;
    let after = std::sync::Mutex::new(Ok(0));
    let cfg = Config {
        addr: srv.addr,
        mode,
        connections: n,
        warmup: Duration::ZERO,
        duration: Duration::from_secs(3600),
        round_trips: None,
        threads: 1,
        think: Duration::ZERO,
    };
    client::hold(&cfg, &|| {
        // Let the server finish its last answers' bookkeeping.
        std::thread::sleep(Duration::from_millis(200));
        *after.lock().unwrap() = srv.rss();
    })?;
    let after = after.into_inner().unwrap()?;
    Ok((before, after, (after as f64 - before as f64) / n as f64))
}

/// Instructions per request of `server` under callgrind: one connection,
/// 1 ms between requests (so each request finds the server idle in its
/// poller: one loop turn per request); the difference between a run of
/// `n + 1000` and one of 1000 requests, over `n`, so that start-up and
/// shutdown cancel out.
fn callgrind_per_request(s: &Setup, kind: &str, mode: Mode, server: &str, n: u64, dir: &Path) -> io::Result<f64> {
    let mut totals = Vec::new();
    for count in [1000, n + 1000] {
        let out = dir.join(format!("callgrind.{server}-{kind}.{count}.out"));
        let _ = std::fs::remove_file(&out);
        let mut child = Command::new("valgrind")
            .arg("--tool=callgrind")
            .arg(format!("--callgrind-out-file={}", out.display()))
            .arg(&s.exe)
            .args(["serve", &format!("{server}-{kind}")])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()?;
        let stdin = child.stdin.take();
        let mut stdout = BufReader::new(child.stdout.take().expect("piped"));
        let mut line = String::new();
        stdout.read_line(&mut line)?;
        let addr: SocketAddr = line
            .trim()
            .strip_prefix("listening ")
            .and_then(|a| a.parse().ok())
            .ok_or_else(|| io::Error::other(format!("server said {line:?}")))?;
        let cfg = Config {
            addr,
            mode,
            connections: 1,
            warmup: Duration::ZERO,
            duration: Duration::from_secs(600),
            round_trips: Some(count),
            threads: 1,
            // The server goes idle (suspends, back to its poller) before
            // each request: one loop turn per request, whatever the speed.
            think: Duration::from_millis(1),
        };
        let r = client::run(&cfg);
        // Closing stdin ends the server, which writes its profile.
        drop(stdin);
        // Bounded: a server that does not end is killed (by its PID).
        let deadline = Instant::now() + Duration::from_secs(120);
        let status = loop {
            if let Some(status) = child.try_wait()? {
                break status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                break child.wait()?;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        r?;
        if !status.success() {
            return Err(io::Error::other(format!("{server}-{kind} under callgrind: {status}")));
        }
        let text = std::fs::read_to_string(&out)?;
        let total: u64 = text
            .lines()
            .find_map(|l| l.strip_prefix("summary: ").or_else(|| l.strip_prefix("totals: ")))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .ok_or_else(|| io::Error::other("no total in the callgrind profile"))?;
        totals.push(total);
    }
    Ok((totals[1] as f64 - totals[0] as f64) / n as f64)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n == 0 {
        return f64::NAN;
    }
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    // Counted from /proc/cpuinfo: this process is pinned to one core.
    let cores = std::fs::read_to_string("/proc/cpuinfo")
        .map(|c| c.lines().filter(|l| l.starts_with("processor")).count())
        .unwrap_or(0);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    format!("{cpu}, {cores} logical CPUs, Linux {}", kernel.trim())
}

fn now_utc() -> String {
    Command::new("date")
        .args(["-u", "+%Y-%m-%d %H:%M UTC"])
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

/// Pins this process (its threads, and the load generators it starts) to
/// core 1, and raises its soft open-file limit to the hard one.
fn prepare(pin: bool) {
    let pid = std::process::id().to_string();
    if pin {
        let ok = Command::new("taskset")
            .args(["-a", "-p", "-c", "1", &pid])
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            println!("note: could not pin the load generator to core 1");
        }
    }
    let hard = std::fs::read_to_string("/proc/self/limits").ok().and_then(|l| {
        l.lines()
            .find(|l| l.starts_with("Max open files"))
            .and_then(|l| l.split_whitespace().nth(4).map(str::to_string))
    });
    if let Some(hard) = hard {
        let ok = Command::new("prlimit")
            .args(["--pid", &pid, &format!("--nofile={hard}:{hard}")])
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            println!("note: could not raise the open-file limit (prlimit); the 10,000-connection rows may fail");
        }
    }
}

/// A number from the environment (the knobs of a partial run, see
/// BENCHMARKS.md).
fn env_num(name: &str) -> Option<u64> {
    std::env::var(name).ok().map(|v| v.trim().parse().unwrap_or_else(|_| panic!("{name}={v:?}: a number")))
}

fn main() -> io::Result<()> {
    let argv: Vec<String> = std::env::args().collect();
    if argv.get(1).map(String::as_str) == Some("serve") {
        return serve_child(argv.get(2).map(String::as_str).unwrap_or(""));
    }
    let quick = std::env::var_os("CORO_BENCH_QUICK").is_some();
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let pin = cores >= 2 && have("taskset");
    if !pin {
        println!("note: servers and load share the cores (no taskset, or fewer than 2 cores)");
    }
    prepare(pin);
    let out_dir =
        PathBuf::from(std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../target").to_string_lossy().into_owned()
        }))
        .join("bench-io");
    std::fs::create_dir_all(&out_dir)?;
    let wrk = find_wrk().map(|w| {
        let script = out_dir.join("check.lua");
        std::fs::write(&script, WRK_CHECK).expect("write the wrk script");
        (w, script)
    });
    let setup = Setup {
        exe: std::env::current_exe()?,
        pin,
        wrk,
        warm: Duration::from_millis(if quick { 300 } else { 1000 }),
        run: Duration::from_secs(env_num("CORO_BENCH_SECS").unwrap_or(if quick { 2 } else { 8 })),
        connections: 50,
        tck: clk_tck(),
    };
    let rounds = env_num("CORO_BENCH_ROUNDS").unwrap_or(if quick { 1 } else { 5 }) as usize;
    let hold_n = env_num("CORO_BENCH_HOLD").unwrap_or(if quick { 1000 } else { 10_000 }) as usize;
    let only = std::env::var("CORO_BENCH_ROWS").ok();
    let rows: Vec<Row> = ROWS
        .iter()
        .enumerate()
        .filter(|(i, _)| only.as_ref().is_none_or(|o| o.split(',').any(|x| x.trim() == (i + 1).to_string())))
        .map(|(_, r)| *r)
        .filter(|r| r.gen != Gen::Wrk || setup.wrk.is_some())
        .collect();
    println!(
        "io bench: {} round(s), {} s per run, {} connections; servers on core 0, load on core 1",
        rounds,
        setup.run.as_secs(),
        setup.connections
    );
    // samples[row][server] = one per round
    let mut samples: Vec<Vec<Vec<Sample>>> = vec![vec![Vec::new(); SERVERS.len()]; rows.len()];
    for round in 0..rounds {
        for (ri, row) in rows.iter().enumerate() {
            for k in 0..SERVERS.len() {
                let si = (k + round + ri) % SERVERS.len();
                let s = measure(&setup, row, SERVERS[si])?;
                println!(
                    "  round {} {:<38} {:<6} user {:.3} µs/req, sys {:.2} µs/req, {:.0} req/s, p99 {:.0} µs, {:.4} allocs/req",
                    round + 1,
                    row.title,
                    SERVERS[si],
                    s.user_us,
                    s.sys_us,
                    s.per_sec,
                    s.p99_us,
                    s.allocs
                );
                samples[ri][si].push(s);
            }
        }
    }
    let mut rss = Vec::new();
    let kinds: &[(&str, Mode)] = if hold_n == 0 { &[] } else { &[("http", Mode::Http), ("echo", Mode::Echo(64))] };
    for &(kind, mode) in kinds {
        for server in SERVERS {
            let r = rss_per_connection(&setup, kind, mode, server, hold_n)?;
            println!(
                "  {hold_n} connections, {kind:<4} {server:<6} RSS {} → {} bytes: {:.0} bytes/connection",
                r.0, r.1, r.2
            );
            rss.push((kind, server, r));
        }
    }
    let mut ir = Vec::new();
    if std::env::var_os("CORO_BENCH_NO_CALLGRIND").is_some()
        || (quick && std::env::var_os("CORO_BENCH_CALLGRIND").is_none())
    {
        println!("callgrind rows skipped (quick mode, or CORO_BENCH_NO_CALLGRIND)");
    } else if !have("valgrind") {
        println!("callgrind rows skipped: valgrind is missing");
    } else {
        let only = std::env::var("CORO_BENCH_CALLGRIND_SERVERS").ok();
        for (kind, mode) in [("http", Mode::Http), ("echo", Mode::Echo(64))] {
            for server in SERVERS {
                if only.as_ref().is_some_and(|o| !o.split(',').any(|x| x.trim() == server)) {
                    continue;
                }
                let v = callgrind_per_request(&setup, kind, mode, server, 10_000, &out_dir)?;
                println!("  callgrind {kind:<4} {server:<6} {v:.0} instructions/request");
                ir.push((kind, server, v));
            }
        }
    }
    let report = report(&setup, &rows, &samples, &rss, &ir, rounds, hold_n, quick);
    println!("\n{report}");
    std::fs::write(out_dir.join("report.md"), &report)?;
    let chart = chart(&rows, &samples, &rss, &ir, hold_n);
    std::fs::write(out_dir.join("chart.svg"), &chart)?;
    if !quick {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        std::fs::write(root.join("BENCHMARKS-io.svg"), &chart)?;
        let md = root.join("BENCHMARKS.md");
        let text = std::fs::read_to_string(&md)?;
        let (a, b) = ("<!-- io bench: generated, start -->", "<!-- io bench: generated, end -->");
        match (text.find(a), text.find(b)) {
            (Some(i), Some(j)) if i < j => {
                let new = format!("{}{a}\n{report}\n{}", &text[..i], &text[j..]);
                std::fs::write(&md, new)?;
                println!("BENCHMARKS.md and BENCHMARKS-io.svg updated");
            }
            _ => println!("BENCHMARKS.md has no io bench markers: not updated"),
        }
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn report(
    s: &Setup,
    rows: &[Row],
    samples: &[Vec<Vec<Sample>>],
    rss: &[(&str, &str, (u64, u64, f64))],
    ir: &[(&str, &str, f64)],
    rounds: usize,
    hold_n: usize,
    quick: bool,
) -> String {
    let mut o = String::new();
    let cmd = if quick {
        "CORO_BENCH_QUICK=1 cargo bench -p coro-io --bench io"
    } else {
        "cargo bench -p coro-io --bench io"
    };
    o += &format!(
        "Measured {} by `{cmd}`: {rounds} round(s) of {} s per run, {} connections, one request in flight each; \
         medians over rounds, ratios the median of per-round ratios to mio. {}.\n\n",
        now_utc(),
        s.run.as_secs(),
        s.connections,
        machine()
    );
    o += "| row | server | user CPU µs / request | ÷ mio | system CPU µs / request | requests/s | p50 µs | p99 µs | allocations / request |\n";
    o += "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n";
    let mio = SERVERS.iter().position(|&x| x == "mio").expect("mio");
    for (ri, row) in rows.iter().enumerate() {
        for (si, server) in SERVERS.iter().enumerate() {
            let v = &samples[ri][si];
            let m = |f: fn(&Sample) -> f64| median(v.iter().map(f).collect());
            let ratio = median(v.iter().zip(&samples[ri][mio]).map(|(a, b)| a.user_us / b.user_us).collect());
            o += &format!(
                "| {} | {} | {:.3} | {:.2} | {:.2} | {:.0} | {:.0} | {:.0} | {:.4} |\n",
                row.title,
                server,
                m(|x| x.user_us),
                ratio,
                m(|x| x.sys_us),
                m(|x| x.per_sec),
                m(|x| x.p50_us),
                m(|x| x.p99_us),
                m(|x| x.allocs)
            );
        }
    }
    o += &format!("\n{hold_n} idle keep-alive connections held open (each answered once):\n\n");
    o += "| protocol | server | RSS before, KiB | RSS with the connections, KiB | bytes / connection |\n";
    o += "| --- | --- | ---: | ---: | ---: |\n";
    for (kind, server, (b, a, per)) in rss {
        o += &format!("| {kind} | {server} | {} | {} | {:.0} |\n", b / 1024, a / 1024, per);
    }
    if !ir.is_empty() {
        o += "\nInstructions per request under callgrind (user space, exact and repeatable; one connection, 1 ms \
               between requests, so each one wakes an idle server: one loop turn per request; (runs of 11,000 − \
               1,000 requests) ÷ 10,000):\n\n";
        o += "| protocol | server | instructions / request | ÷ mio |\n| --- | --- | ---: | ---: |\n";
        for (kind, server, v) in ir {
            let m = ir.iter().find(|x| x.0 == *kind && x.1 == "mio").map_or(f64::NAN, |x| x.2);
            o += &format!("| {kind} | {server} | {v:.0} | {:.2} |\n", v / m);
        }
    }
    o
}

fn chart(
    rows: &[Row],
    samples: &[Vec<Vec<Sample>>],
    rss: &[(&str, &str, (u64, u64, f64))],
    ir: &[(&str, &str, f64)],
    hold_n: usize,
) -> String {
    const COLORS: [&str; 3] = ["#d9480f", "#1971c2", "#868e96"];
    let bar_h = 16.0;
    let scale_w = 560.0;
    let mut y = 60.0;
    let mut body = String::new();
    let group = |title: &str, values: Vec<(String, f64, String)>, body: &mut String, y: &mut f64| {
        *body += &format!("<text x=\"10\" y=\"{:.0}\" font-weight=\"bold\">{title}</text>\n", *y);
        *y += 8.0;
        let max = values.iter().map(|v| v.1).fold(0.0, f64::max).max(1e-12);
        for (name, v, label) in &values {
            let w = v / max * scale_w;
            let ci = SERVERS.iter().position(|s| s == name).unwrap_or(2);
            *body += &format!(
                "<text x=\"120\" y=\"{:.0}\" text-anchor=\"end\">{name}</text>\n<rect x=\"128\" y=\"{:.0}\" width=\"{w:.1}\" height=\"{bar_h}\" fill=\"{}\"/>\n<text x=\"{:.1}\" y=\"{:.0}\">{label}</text>\n",
                *y + 12.0,
                *y,
                COLORS[ci],
                134.0 + w,
                *y + 12.0
            );
            *y += bar_h + 4.0;
        }
        *y += 18.0;
    };
    let mio = SERVERS.iter().position(|&x| x == "mio").expect("mio");
    for (ri, row) in rows.iter().enumerate() {
        let values = SERVERS
            .iter()
            .enumerate()
            .map(|(si, name)| {
                let v = median(samples[ri][si].iter().map(|x| x.user_us).collect());
                let r =
                    median(samples[ri][si].iter().zip(&samples[ri][mio]).map(|(a, b)| a.user_us / b.user_us).collect());
                (name.to_string(), v, format!("{v:.3} µs · {r:.2}× mio"))
            })
            .collect();
        group(&format!("{} — user CPU µs per request", row.title), values, &mut body, &mut y);
    }
    for kind in ["http", "echo"] {
        let values = rss
            .iter()
            .filter(|r| r.0 == kind)
            .map(|(_, server, (_, _, per))| (server.to_string(), *per, format!("{per:.0} bytes")))
            .collect();
        group(&format!("{hold_n} idle {kind} connections — RSS bytes per connection"), values, &mut body, &mut y);
    }
    for kind in ["http", "echo"] {
        let m = ir.iter().find(|x| x.0 == kind && x.1 == "mio").map_or(f64::NAN, |x| x.2);
        let values: Vec<_> = ir
            .iter()
            .filter(|r| r.0 == kind)
            .map(|(_, server, v)| (server.to_string(), *v, format!("{v:.0} · {:.2}× mio", v / m)))
            .collect();
        if !values.is_empty() {
            group(
                &format!("{kind}: instructions per request under callgrind (1 connection)"),
                values,
                &mut body,
                &mut y,
            );
        }
    }
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"900\" height=\"{:.0}\" viewBox=\"0 0 900 {:.0}\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n<text x=\"10\" y=\"22\" font-size=\"16\" font-weight=\"bold\">coro-io servers beside tokio and mio (shorter is better)</text>\n<text x=\"10\" y=\"40\" fill=\"#495057\">cargo bench -p coro-io --bench io · server on core 0, load on core 1 · {}</text>\n{body}</svg>\n",
        y,
        y,
        machine()
    )
}
