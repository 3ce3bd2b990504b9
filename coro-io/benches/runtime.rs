//! Cross-thread wake-ups between two loops of a `coro_io::Runtime`, beside
//! tokio doing the same.
//!
//! ```text
//! cargo bench -p coro-io --bench runtime                      # ~1 min after the build
//! CORO_BENCH_QUICK=1 cargo bench -p coro-io --bench runtime   # a few seconds: a smoke test
//! ```
//!
//! Rows (every one: side A on one thread, side B on another):
//!
//! - **(a) latency**: A sets an event B waits for, B sets one A waits for;
//!   the round trip (two cross-thread wake-ups) timed by A, median and p99
//!   of the samples of a run.
//! - **(b) throughput**: 64 such pairs at once between the same two
//!   threads; wake-ups per second over the whole run.
//! - **(c) ping-pong**: one `u64` passed back and forth through two
//!   channels of capacity 1 (B adds one), round trips per second; the
//!   final value is checked.
//! - **(d) allocations per cross-thread wake-up**, steady state: (a)'s
//!   loop, counted by a counting global allocator after a warm-up.
//!
//! Candidates:
//! - `coro-io`: a `Runtime` of 2 loops; each side is a thread-bound `Task`
//!   spawned on its loop (`spawn_local`), waiting on
//!   `coro::sync::AutoResetEvent` (a, b, d) or `coro::sync::Channel` (c):
//!   a release from the other thread posts the `Task` to its loop's wake
//!   queue and wakes the loop's `mio::Waker`.
//! - `tokio 2×current_thread`: two current-thread runtimes, one per thread,
//!   each running one side (`tokio::sync::Notify`, `tokio::sync::mpsc`):
//!   the same shape as two loops.
//! - `tokio multi_thread(2)`: one runtime with two workers running both
//!   sides (tokio may run both on one worker: its own placement).
//!
//! Method (../shared/benchmarking.md): the candidates are interleaved,
//! each round runs each once (rotating who goes first), a warm-up round is
//! dropped, and the tables give the median over rounds and the median of
//! the per-round ratios against `coro-io`. 2 shared cores: absolute
//! figures move by tens of percent between runs; ratios hold better.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::thread;
use std::time::Instant;

use coro::sync::{AutoResetEvent, Channel};
use coro::{co_await, co_return, sync_wait, SendTask, Task};
use coro_io::{spawn_local, Runtime};

/// Counts allocations (all threads); out of line, so that none is elided
/// under LTO while still being counted.
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

const PAIRS: usize = 64;

struct Config {
    rounds: usize,
    /// Round trips per latency run.
    latency_n: usize,
    /// Round trips per throughput run (over all pairs).
    throughput_n: usize,
    /// Round trips per ping-pong run.
    pingpong_n: usize,
}

/// What a latency run gives: round-trip samples (ns) and allocations per
/// wake-up over the measured part.
struct Latency {
    samples: Vec<u64>,
    allocs_per_wake: f64,
}

// ---------------------------------------------------------------------------
// coro-io
// ---------------------------------------------------------------------------

#[coro::coroutine]
fn coro_side_a(ping: Arc<AutoResetEvent>, pong: Arc<AutoResetEvent>, warm: usize, n: usize) -> Task<Latency> {
    for _ in 0..warm {
        ping.set();
        co_await!(pong.wait());
    }
    let mut samples = Vec::with_capacity(n);
    let before = ALLOCS.load(Relaxed);
    for _ in 0..n {
        let t = Instant::now();
        ping.set();
        co_await!(pong.wait());
        samples.push(t.elapsed().as_nanos() as u64);
    }
    let allocs = ALLOCS.load(Relaxed) - before;
    co_return!(Latency { samples, allocs_per_wake: allocs as f64 / (2 * n) as f64 })
}

#[coro::coroutine]
fn coro_side_b(ping: Arc<AutoResetEvent>, pong: Arc<AutoResetEvent>, n: usize) -> Task<()> {
    for _ in 0..n {
        co_await!(ping.wait());
        pong.set();
    }
    co_return!(())
}

#[coro::coroutine]
fn on_a(ping: Arc<AutoResetEvent>, pong: Arc<AutoResetEvent>, warm: usize, n: usize) -> SendTask<Latency> {
    co_return!(co_await!(spawn_local(coro_side_a(ping, pong, warm, n))))
}

#[coro::coroutine]
fn on_b(ping: Arc<AutoResetEvent>, pong: Arc<AutoResetEvent>, n: usize) -> SendTask<()> {
    co_return!(co_await!(spawn_local(coro_side_b(ping, pong, n))))
}

fn events() -> (Arc<AutoResetEvent>, Arc<AutoResetEvent>) {
    (Arc::new(AutoResetEvent::new()), Arc::new(AutoResetEvent::new()))
}

fn coro_latency(rt: &Runtime, n: usize) -> Latency {
    let warm = n / 10;
    let (ping, pong) = events();
    let b = rt.handle(1).spawn(on_b(ping.clone(), pong.clone(), warm + n));
    let a = rt.handle(0).spawn(on_a(ping, pong, warm, n));
    let lat = sync_wait(a);
    sync_wait(b);
    lat
}

fn coro_throughput(rt: &Runtime, n: usize) -> f64 {
    let per = n / PAIRS;
    let start = Instant::now();
    let handles: Vec<_> = (0..PAIRS)
        .map(|_| {
            let (ping, pong) = events();
            let b = rt.handle(1).spawn(on_b(ping.clone(), pong.clone(), per));
            let a = rt.handle(0).spawn(on_a(ping, pong, 0, per));
            (a, b)
        })
        .collect();
    for (a, b) in handles {
        assert_eq!(sync_wait(a).samples.len(), per);
        sync_wait(b);
    }
    (2 * per * PAIRS) as f64 / start.elapsed().as_secs_f64()
}

type Chan = Arc<Channel<u64>>;

#[coro::coroutine]
fn coro_ping(to: Chan, from: Chan, n: usize) -> Task<u64> {
    let mut x = 0;
    for _ in 0..n {
        co_await!(to.send(x)).unwrap();
        x = co_await!(from.recv()).unwrap();
    }
    co_return!(x)
}

#[coro::coroutine]
fn coro_pong(from: Chan, to: Chan, n: usize) -> Task<()> {
    for _ in 0..n {
        let x = co_await!(from.recv()).unwrap();
        co_await!(to.send(x + 1)).unwrap();
    }
    co_return!(())
}

#[coro::coroutine]
fn ping_on_a(to: Chan, from: Chan, n: usize) -> SendTask<u64> {
    co_return!(co_await!(spawn_local(coro_ping(to, from, n))))
}

#[coro::coroutine]
fn pong_on_b(from: Chan, to: Chan, n: usize) -> SendTask<()> {
    co_return!(co_await!(spawn_local(coro_pong(from, to, n))))
}

fn coro_pingpong(rt: &Runtime, n: usize) -> f64 {
    let there: Chan = Arc::new(Channel::new(1));
    let back: Chan = Arc::new(Channel::new(1));
    let start = Instant::now();
    let b = rt.handle(1).spawn(pong_on_b(there.clone(), back.clone(), n));
    let a = rt.handle(0).spawn(ping_on_a(there, back, n));
    assert_eq!(sync_wait(a), n as u64);
    sync_wait(b);
    n as f64 / start.elapsed().as_secs_f64()
}

// ---------------------------------------------------------------------------
// tokio
// ---------------------------------------------------------------------------

type Notify = Arc<tokio::sync::Notify>;

async fn tokio_side_a(ping: Notify, pong: Notify, warm: usize, n: usize) -> Latency {
    for _ in 0..warm {
        ping.notify_one();
        pong.notified().await;
    }
    let mut samples = Vec::with_capacity(n);
    let before = ALLOCS.load(Relaxed);
    for _ in 0..n {
        let t = Instant::now();
        ping.notify_one();
        pong.notified().await;
        samples.push(t.elapsed().as_nanos() as u64);
    }
    let allocs = ALLOCS.load(Relaxed) - before;
    Latency { samples, allocs_per_wake: allocs as f64 / (2 * n) as f64 }
}

async fn tokio_side_b(ping: Notify, pong: Notify, n: usize) {
    for _ in 0..n {
        ping.notified().await;
        pong.notify_one();
    }
}

fn notifies() -> (Notify, Notify) {
    (Arc::new(tokio::sync::Notify::new()), Arc::new(tokio::sync::Notify::new()))
}

/// Runs `a` on a current-thread runtime on this thread and the future `b`
/// makes on one on another thread.
fn two_current_threads<A, B, F>(a: A, b: F) -> A::Output
where
    A: std::future::Future,
    B: std::future::Future,
    F: FnOnce() -> B + Send + 'static,
{
    let rt = || tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let other = thread::spawn(move || drop(rt().block_on(b())));
    let out = rt().block_on(a);
    other.join().unwrap();
    out
}

fn tokio_ct_latency(n: usize) -> Latency {
    let warm = n / 10;
    let (ping, pong) = notifies();
    two_current_threads(tokio_side_a(ping.clone(), pong.clone(), warm, n), move || tokio_side_b(ping, pong, warm + n))
}

fn tokio_mt_latency(rt: &tokio::runtime::Runtime, n: usize) -> Latency {
    let warm = n / 10;
    let (ping, pong) = notifies();
    let b = rt.spawn(tokio_side_b(ping.clone(), pong.clone(), warm + n));
    let a = rt.spawn(tokio_side_a(ping, pong, warm, n));
    rt.block_on(async move {
        let lat = a.await.unwrap();
        b.await.unwrap();
        lat
    })
}

async fn tokio_pairs_a(pairs: Vec<(Notify, Notify)>, per: usize) {
    let tasks: Vec<_> =
        pairs.into_iter().map(|(ping, pong)| tokio::task::spawn_local(tokio_side_a(ping, pong, 0, per))).collect();
    for t in tasks {
        assert_eq!(t.await.unwrap().samples.len(), per);
    }
}

async fn tokio_pairs_b(pairs: Vec<(Notify, Notify)>, per: usize) {
    let tasks: Vec<_> =
        pairs.into_iter().map(|(ping, pong)| tokio::task::spawn_local(tokio_side_b(ping, pong, per))).collect();
    for t in tasks {
        t.await.unwrap();
    }
}

fn tokio_ct_throughput(n: usize) -> f64 {
    let per = n / PAIRS;
    let pairs: Vec<_> = (0..PAIRS).map(|_| notifies()).collect();
    let b_pairs = pairs.clone();
    let start = Instant::now();
    two_current_threads(
        async move { tokio::task::LocalSet::new().run_until(tokio_pairs_a(pairs, per)).await },
        move || async move { tokio::task::LocalSet::new().run_until(tokio_pairs_b(b_pairs, per)).await },
    );
    (2 * per * PAIRS) as f64 / start.elapsed().as_secs_f64()
}

fn tokio_mt_throughput(rt: &tokio::runtime::Runtime, n: usize) -> f64 {
    let per = n / PAIRS;
    let start = Instant::now();
    let handles: Vec<_> = (0..PAIRS)
        .map(|_| {
            let (ping, pong) = notifies();
            let b = rt.spawn(tokio_side_b(ping.clone(), pong.clone(), per));
            let a = rt.spawn(tokio_side_a(ping, pong, 0, per));
            (a, b)
        })
        .collect();
    rt.block_on(async move {
        for (a, b) in handles {
            assert_eq!(a.await.unwrap().samples.len(), per);
            b.await.unwrap();
        }
    });
    (2 * per * PAIRS) as f64 / start.elapsed().as_secs_f64()
}

type Tx = tokio::sync::mpsc::Sender<u64>;
type Rx = tokio::sync::mpsc::Receiver<u64>;

async fn tokio_ping(to: Tx, mut from: Rx, n: usize) -> u64 {
    let mut x = 0;
    for _ in 0..n {
        to.send(x).await.unwrap();
        x = from.recv().await.unwrap();
    }
    x
}

async fn tokio_pong(mut from: Rx, to: Tx, n: usize) {
    for _ in 0..n {
        let x = from.recv().await.unwrap();
        to.send(x + 1).await.unwrap();
    }
}

fn tokio_channels() -> ((Tx, Rx), (Tx, Rx)) {
    (tokio::sync::mpsc::channel(1), tokio::sync::mpsc::channel(1))
}

fn tokio_ct_pingpong(n: usize) -> f64 {
    let ((there_tx, there_rx), (back_tx, back_rx)) = tokio_channels();
    let start = Instant::now();
    let x = two_current_threads(tokio_ping(there_tx, back_rx, n), move || tokio_pong(there_rx, back_tx, n));
    assert_eq!(x, n as u64);
    n as f64 / start.elapsed().as_secs_f64()
}

fn tokio_mt_pingpong(rt: &tokio::runtime::Runtime, n: usize) -> f64 {
    let ((there_tx, there_rx), (back_tx, back_rx)) = tokio_channels();
    let start = Instant::now();
    let b = rt.spawn(tokio_pong(there_rx, back_tx, n));
    let a = rt.spawn(tokio_ping(there_tx, back_rx, n));
    let x = rt.block_on(async move {
        let x = a.await.unwrap();
        b.await.unwrap();
        x
    });
    assert_eq!(x, n as u64);
    n as f64 / start.elapsed().as_secs_f64()
}

// ---------------------------------------------------------------------------
// The harness
// ---------------------------------------------------------------------------

const NAMES: [&str; 3] = ["coro-io Runtime(2)", "tokio 2×current_thread", "tokio multi_thread(2)"];

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn percentile(sorted: &[u64], p: f64) -> u64 {
    sorted[((sorted.len() as f64 * p) as usize).min(sorted.len() - 1)]
}

/// Per candidate, per measured round: one figure each.
struct Rows {
    figures: Vec<Vec<Vec<f64>>>,
}

impl Rows {
    fn new(metrics: usize) -> Rows {
        Rows { figures: vec![vec![Vec::new(); NAMES.len()]; metrics] }
    }

    /// Median over rounds, and median of per-round ratios to candidate 0.
    fn summary(&self, metric: usize, candidate: usize) -> (f64, f64) {
        let rounds = &self.figures[metric];
        let mut values = rounds[candidate].clone();
        let mut ratios: Vec<f64> = rounds[candidate].iter().zip(&rounds[0]).map(|(c, base)| c / base).collect();
        (median(&mut values), median(&mut ratios))
    }
}

fn main() {
    let quick = std::env::var_os("CORO_BENCH_QUICK").is_some();
    let cfg = if quick {
        Config { rounds: 2, latency_n: 2_000, throughput_n: 6_400, pingpong_n: 2_000 }
    } else {
        Config { rounds: 8, latency_n: 20_000, throughput_n: 128_000, pingpong_n: 20_000 }
    };
    let coro_rt = Runtime::new(2).unwrap();
    let tokio_mt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();

    // Metrics: 0 latency median (ns), 1 latency p99 (ns), 2 throughput
    // (wake-ups/s), 3 ping-pong (round trips/s), 4 allocations per wake-up.
    let mut rows = Rows::new(5);
    for round in 0..cfg.rounds {
        for k in 0..NAMES.len() {
            let c = (round + k) % NAMES.len();
            let lat = match c {
                0 => coro_latency(&coro_rt, cfg.latency_n),
                1 => tokio_ct_latency(cfg.latency_n),
                _ => tokio_mt_latency(&tokio_mt, cfg.latency_n),
            };
            let thr = match c {
                0 => coro_throughput(&coro_rt, cfg.throughput_n),
                1 => tokio_ct_throughput(cfg.throughput_n),
                _ => tokio_mt_throughput(&tokio_mt, cfg.throughput_n),
            };
            let pp = match c {
                0 => coro_pingpong(&coro_rt, cfg.pingpong_n),
                1 => tokio_ct_pingpong(cfg.pingpong_n),
                _ => tokio_mt_pingpong(&tokio_mt, cfg.pingpong_n),
            };
            if round == 0 && !quick {
                continue; // warm-up round
            }
            let mut samples = lat.samples;
            samples.sort_unstable();
            let figures =
                [percentile(&samples, 0.5) as f64, percentile(&samples, 0.99) as f64, thr, pp, lat.allocs_per_wake];
            for (m, f) in figures.into_iter().enumerate() {
                rows.figures[m][c].push(f);
            }
        }
    }

    let measured = if quick { cfg.rounds } else { cfg.rounds - 1 };
    println!(
        "cross-thread wake-ups, 2 threads; {measured} rounds (medians; ratio = median of per-round ratios to coro-io)"
    );
    println!(
        "| candidate | (a) round trip median, µs | ratio | (a) p99, µs | ratio | (b) wake-ups/s, {PAIRS} pairs | ratio | (c) ping-pong round trips/s | ratio | (d) allocations / wake-up |"
    );
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    for (c, name) in NAMES.iter().enumerate() {
        let (med, med_r) = rows.summary(0, c);
        let (p99, p99_r) = rows.summary(1, c);
        let (thr, thr_r) = rows.summary(2, c);
        let (pp, pp_r) = rows.summary(3, c);
        let (allocs, _) = rows.summary(4, c);
        println!(
            "| {name} | {:.1} | {med_r:.2} | {:.1} | {p99_r:.2} | {:.0} | {thr_r:.2} | {:.0} | {pp_r:.2} | {allocs:.2} |",
            med / 1e3,
            p99 / 1e3,
            thr,
            pp,
        );
    }
    drop(coro_rt);
    drop(tokio_mt);
}
