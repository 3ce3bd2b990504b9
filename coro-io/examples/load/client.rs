//! The closed-loop load client, on coro-io: `connections` connections, each
//! with one message in flight (an HTTP `GET`, or an echo payload), each
//! answer checked byte for byte before the next message goes, and every
//! round trip's latency recorded. Shared by the `load` example and the io
//! bench.
//!
//! One [`EventLoop`] per client thread (`threads`), the connections split
//! between them; each connection is a `Task` spawned on its thread's loop.

// Each includer uses its share of the module.
#![allow(dead_code)]

use std::cell::{Cell, RefCell};
use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};

use coro::{co_await, co_return, Task};
use coro_io::{spawn_local, EventLoop, JoinHandle, TcpStream};

/// The answer an HTTP `GET /` must get, byte for byte.
pub const HTTP_ANSWER: &[u8] =
    b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\nHello, World!";

/// What each connection sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// `GET /` with keep-alive; the answer must be [`HTTP_ANSWER`].
    Http,
    /// A payload of this many bytes (different at each round trip), which
    /// must come back unchanged.
    Echo(usize),
}

/// What to run.
#[derive(Clone, Debug)]
pub struct Config {
    pub addr: SocketAddr,
    pub mode: Mode,
    pub connections: usize,
    /// Round trips before the measured part (neither counted nor timed).
    pub warmup: Duration,
    /// Stop sending after this long (after the warm-up)...
    pub duration: Duration,
    /// ...or after this many round trips in all, whichever comes first.
    pub round_trips: Option<u64>,
    /// A pause after each round trip (zero: none): with it, a server has
    /// gone idle again before the next request comes.
    pub think: Duration,
    pub threads: usize,
}

/// Latencies: a log-linear histogram of nanoseconds (16 buckets per
/// power of two: values within 1/16 of each other share a bucket).
#[derive(Clone)]
pub struct Histogram {
    counts: Vec<u64>,
    total: u64,
    max: u64,
}

const SUB: u32 = 4; // 2^4 buckets per power of two

impl Default for Histogram {
    fn default() -> Self {
        Histogram { counts: vec![0; (64 << SUB) as usize], total: 0, max: 0 }
    }
}

impl fmt::Debug for Histogram {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Histogram").field("total", &self.total).field("max", &self.max).finish()
    }
}

impl Histogram {
    fn index(v: u64) -> usize {
        if v < (1 << SUB) {
            return v as usize;
        }
        let e = 63 - v.leading_zeros();
        let sub = (v >> (e - SUB)) & ((1 << SUB) - 1);
        (((e - SUB + 1) << SUB) as u64 + sub) as usize
    }

    /// The middle of bucket `i`'s range.
    fn value(i: usize) -> u64 {
        let i = i as u64;
        if i < (1 << SUB) {
            return i;
        }
        let e = (i >> SUB) + u64::from(SUB) - 1;
        let sub = i & ((1 << SUB) - 1);
        let low = (1u64 << e) + (sub << (e - u64::from(SUB)));
        low + (1u64 << (e - u64::from(SUB))) / 2
    }

    pub fn record(&mut self, d: Duration) {
        let v = d.as_nanos().min(u128::from(u64::MAX)) as u64;
        self.counts[Self::index(v)] += 1;
        self.total += 1;
        self.max = self.max.max(v);
    }

    pub fn merge(&mut self, other: &Histogram) {
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
        self.total += other.total;
        self.max = self.max.max(other.max);
    }

    /// How many values it holds.
    pub fn len(&self) -> u64 {
        self.total
    }

    /// The `q` quantile (0..=1), within 1/32 of the true value.
    pub fn quantile(&self, q: f64) -> Duration {
        if self.total == 0 {
            return Duration::ZERO;
        }
        let rank = ((q * self.total as f64).ceil() as u64).clamp(1, self.total);
        let mut seen = 0;
        for (i, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return Duration::from_nanos(Self::value(i).min(self.max));
            }
        }
        Duration::from_nanos(self.max)
    }

    pub fn max(&self) -> Duration {
        Duration::from_nanos(self.max)
    }
}

/// What a run measured.
#[derive(Clone, Debug)]
pub struct Report {
    /// Round trips completed, each answer checked.
    pub round_trips: u64,
    /// From the end of the warm-up (or the first connect) to the last answer.
    pub elapsed: Duration,
    pub latency: Histogram,
}

impl Report {
    pub fn per_sec(&self) -> f64 {
        self.round_trips as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let us = |d: Duration| d.as_secs_f64() * 1e6;
        write!(
            f,
            "{} round trips in {:.2} s: {:.0}/s; latency p50 {:.1} µs, p99 {:.1} µs, max {:.1} µs",
            self.round_trips,
            self.elapsed.as_secs_f64(),
            self.per_sec(),
            us(self.latency.quantile(0.5)),
            us(self.latency.quantile(0.99)),
            us(self.latency.max()),
        )
    }
}

/// The request of [`Mode::Http`].
pub fn http_request(addr: SocketAddr) -> Vec<u8> {
    format!("GET / HTTP/1.1\r\nHost: {addr}\r\n\r\n").into_bytes()
}

/// The payload of round trip `seq` of connection `conn` ([`Mode::Echo`]).
pub fn echo_payload(conn: usize, seq: u64, out: &mut [u8]) {
    let mut x = (conn as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ seq.wrapping_mul(0xD1B5_4A32_D192_ED03);
    for b in out {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        *b = x as u8;
    }
}

fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg)
}

/// How long after the end of the run (or for a held connection, after its
/// start) a connection may still wait for an answer.
const ANSWER_GRACE: Duration = Duration::from_secs(30);

/// What the connections of one thread share.
struct Shared {
    addr: SocketAddr,
    mode: Mode,
    request: Vec<u8>,
    think: Duration,
    end: Instant,
    /// Round trips left to start (`u64::MAX`: no limit).
    budget: Cell<u64>,
    /// Past the warm-up: round trips are counted and timed.
    measuring: Cell<bool>,
    measured: Cell<u64>,
    latency: RefCell<Histogram>,
}

impl Shared {
    /// Takes one round trip from the budget, if time and budget are left.
    fn next(&self, now: Instant) -> bool {
        let b = self.budget.get();
        if b == 0 || now >= self.end {
            return false;
        }
        self.budget.set(b - 1);
        true
    }
}

/// One connection: connects, then round trips until the time or budget is
/// up; gives the stream back (kept open) and its count.
#[coro::coroutine]
fn connection(id: usize, shared: Rc<Shared>, keep: bool) -> Task<Outcome> {
    let mut stream = co_await!(TcpStream::connect(shared.addr))?;
    stream.set_nodelay(true)?;
    let mut buf = vec![
        0u8;
        match shared.mode {
            Mode::Http => HTTP_ANSWER.len(),
            Mode::Echo(size) => 2 * size,
        }
    ];
    let mut seq = 0;
    loop {
        let start = Instant::now();
        if !shared.next(start) {
            break;
        }
        match shared.mode {
            Mode::Http => {
                co_await!(stream.write_all(&shared.request))?;
                let want = HTTP_ANSWER;
                let mut got = 0;
                while got < want.len() {
                    let n = co_await!(stream.read(&mut buf[got..]))?;
                    if n == 0 {
                        Err(invalid(format!("connection {id}: closed after {got} bytes of an answer")))?;
                    }
                    if buf[got..got + n] != want[got..got + n] {
                        Err(invalid(format!(
                            "connection {id}: answer {seq} differs: {:?}",
                            String::from_utf8_lossy(&buf[..got + n])
                        )))?;
                    }
                    got += n;
                }
            }
            Mode::Echo(size) => {
                let (out, back) = buf.split_at_mut(size);
                echo_payload(id, seq, out);
                co_await!(stream.write_all(out))?;
                co_await!(stream.read_exact(back))?;
                if out != back {
                    Err(invalid(format!("connection {id}: echo {seq} differs")))?;
                }
            }
        }
        if shared.measuring.get() {
            shared.latency.borrow_mut().record(start.elapsed());
            shared.measured.set(shared.measured.get() + 1);
        }
        seq += 1;
        if !shared.think.is_zero() {
            co_await!(coro_io::sleep(shared.think));
        }
    }
    co_return!(Ok((seq, keep.then_some(stream))))
}

/// What a connection gives: its round trips, and its stream if kept.
type Outcome = io::Result<(u64, Option<TcpStream>)>;

/// `h`'s outcome, unless `limit` passes first (then `h`'s task is destroyed).
#[coro::coroutine]
fn bounded(limit: Duration, h: JoinHandle<Outcome>) -> Task<Result<Outcome, coro_io::Elapsed>> {
    co_return!(co_await!(coro_io::timeout(limit, h)))
}

/// Sleeps until `t` (the connections run meanwhile).
#[coro::coroutine]
fn until(t: Instant) -> Task<()> {
    co_await!(coro_io::sleep_until(t));
    co_return!(())
}

/// Runs the connections `ids` on this thread's new loop, at most `batch`
/// connecting at once; calls `measure` at the end of the warm-up, and
/// gives their round trips, latencies and (if `keep`) open streams to
/// `hold` before they close.
#[allow(clippy::too_many_arguments)]
fn run_thread(
    cfg: &Config,
    ids: std::ops::Range<usize>,
    budget: u64,
    warm_end: Instant,
    end: Instant,
    keep: bool,
    hold: &(dyn Fn() + Sync),
    measure: &(dyn Fn() + Sync),
) -> io::Result<(u64, Histogram, Instant)> {
    let lp = EventLoop::new()?;
    let shared = Rc::new(Shared {
        addr: cfg.addr,
        mode: cfg.mode,
        request: http_request(cfg.addr),
        think: cfg.think,
        end,
        budget: Cell::new(budget),
        measuring: Cell::new(cfg.warmup.is_zero()),
        measured: Cell::new(0),
        latency: RefCell::new(Histogram::default()),
    });
    let mut mark = Instant::now();
    let mut streams = Vec::new();
    // Holding: open them in batches, so that the listen backlog is never
    // overrun; otherwise all at once (the round trips start together).
    let batch = if keep { 256 } else { usize::MAX };
    let mut next = ids.start;
    while next < ids.end {
        let upto = ids.end.min(next.saturating_add(batch));
        let handles: Vec<JoinHandle<_>> =
            (next..upto).map(|id| spawn_local(connection(id, shared.clone(), keep))).collect();
        if !shared.measuring.get() {
            lp.block_on(until(warm_end));
            measure();
            mark = Instant::now();
            shared.measuring.set(true);
        }
        for h in handles {
            // Bounded: a server that stops answering ends the run with an
            // error (the connection is destroyed at once) instead of
            // hanging it. One timer per connection, none per round trip.
            let limit = end.saturating_duration_since(Instant::now()).min(Duration::from_secs(3600)) + ANSWER_GRACE;
            match lp.block_on(bounded(limit, h)) {
                Ok(r) => streams.extend(r?.1),
                Err(_) => {
                    return Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        format!("a connection got no answer within {} s of the end", ANSWER_GRACE.as_secs()),
                    ))
                }
            }
        }
        next = upto;
    }
    if keep {
        hold();
    }
    drop(streams);
    let latency = shared.latency.borrow().clone();
    Ok((shared.measured.get(), latency, mark))
}

/// Runs the load; the first error (a refused connect, a wrong byte, a
/// connection closed early) ends it.
pub fn run(cfg: &Config) -> io::Result<Report> {
    run_inner(cfg, false, &|| {}, &|| {})
}

/// [`run`], calling `measure` when the warm-up ends (with one client
/// thread: before the first measured round trip starts, on every
/// connection; the bench reads the server's counters there).
pub fn run_measured(cfg: &Config, measure: &(dyn Fn() + Sync)) -> io::Result<Report> {
    run_inner(cfg, false, &|| {}, measure)
}

/// Opens `cfg.connections` connections, does one checked round trip on
/// each (so each is a keep-alive connection the server has answered), then
/// calls `hold` while all of them stay open, and closes them. On one client
/// thread (`cfg.threads` is not used).
pub fn hold(cfg: &Config, hold: &(dyn Fn() + Sync)) -> io::Result<Report> {
    let cfg = Config {
        round_trips: Some(cfg.connections as u64),
        warmup: Duration::ZERO,
        duration: Duration::from_secs(120),
        threads: 1,
        ..cfg.clone()
    };
    run_inner(&cfg, true, hold, &|| {})
}

fn run_inner(cfg: &Config, keep: bool, hold: &(dyn Fn() + Sync), measure: &(dyn Fn() + Sync)) -> io::Result<Report> {
    let threads = cfg.threads.clamp(1, cfg.connections.max(1));
    let start = Instant::now();
    let warm_end = start + cfg.warmup;
    let end = warm_end + cfg.duration;
    let budget = cfg.round_trips.unwrap_or(u64::MAX);
    let per = |t: usize, n: u64| n / threads as u64 + u64::from((t as u64) < n % threads as u64);
    let split = |t: usize| {
        let (n, k) = (cfg.connections, threads);
        (t * n / k)..((t + 1) * n / k)
    };
    // `hold` (one thread: see `hold`) and `measure` run on the first thread.
    let results: Vec<io::Result<(u64, Histogram, Instant)>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let ids = split(t);
                let budget = if budget == u64::MAX { u64::MAX } else { per(t, budget) };
                let (hold, measure): (&(dyn Fn() + Sync), &(dyn Fn() + Sync)) =
                    if t == 0 { (hold, measure) } else { (&|| {}, &|| {}) };
                s.spawn(move || run_thread(cfg, ids, budget, warm_end, end, keep, hold, measure))
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("a load thread panicked")).collect()
    });
    let done = Instant::now();
    let mut report = Report { round_trips: 0, elapsed: Duration::ZERO, latency: Histogram::default() };
    for r in results {
        let (n, h, mark) = r?;
        report.round_trips += n;
        report.latency.merge(&h);
        report.elapsed = report.elapsed.max(done - mark);
    }
    Ok(report)
}
