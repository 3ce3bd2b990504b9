//! One loop, N coroutines sleeping at once: what each costs in memory, and
//! what a `sleep` allocates once the loop is warm.
//!
//! ```text
//! cargo bench -p coro-io --bench sleepers                      # N = 10,000 and 1,000,000
//! CORO_BENCH_QUICK=1 cargo bench -p coro-io --bench sleepers   # N = 10,000 only
//! ```
//!
//! Each N runs in a fresh child process (this binary, re-run with
//! `CORO_SLEEPERS_CHILD=N`), which:
//!
//! 1. makes the `EventLoop` and reads its resident set (`/proc/self/statm`)
//!    and its allocator's live bytes and allocation count;
//! 2. starts N sleepers, either as the children of one task
//!    (`when_all(vec![sleeper(); N])`, spawned) or as N spawned tasks
//!    (`spawn_local(sleeper()).detach()`), and a driver spawned last: when
//!    the driver first runs, every sleeper has run to
//!    its first `co_await!(sleep(1 ms))`, so N coroutines are registered
//!    in the timer heap at once. The driver reads the three figures again:
//!    the differences over N are the cost of one sleeping coroutine, all
//!    included (its frame, its slab entry, heap entry and ready-queue
//!    slot with the loop's spare capacity; for `spawn_local` the spawned
//!    task and its waker; for `when_all` the combinator's per-child state);
//! 3. lets every sleeper wake and sleep again for a few warm-up rounds,
//!    then counts allocations over the next rounds against the number of
//!    sleeps they made: allocations per `sleep` in steady state.
//!
//! Time per sleep is printed for information only (2 shared cores: it moves
//! by tens of percent between runs; see ../shared/benchmarking.md).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

use coro::{co_await, co_return, when_all, Task};
use coro_io::{sleep, EventLoop};

/// Counts allocations and live bytes; out of line, so that no allocation
/// is elided under LTO while still being counted (benchmarking.md).
struct Counting;

static ALLOCS: AtomicU64 = AtomicU64::new(0);
static LIVE: AtomicU64 = AtomicU64::new(0);

// The measured code runs on one thread: plain loads and stores.
fn add(counter: &AtomicU64, by: u64) {
    counter.store(counter.load(Relaxed).wrapping_add(by), Relaxed);
}
fn sub(counter: &AtomicU64, by: u64) {
    counter.store(counter.load(Relaxed).wrapping_sub(by), Relaxed);
}

// SAFETY: every method forwards to `System` with the caller's arguments, so
// `System`'s guarantees hold; the counters do not affect the memory handed
// out.
unsafe impl GlobalAlloc for Counting {
    #[inline(never)]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        add(&ALLOCS, 1);
        add(&LIVE, layout.size() as u64);
        // SAFETY: the caller's contract, passed on.
        unsafe { System.alloc(layout) }
    }
    #[inline(never)]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        add(&ALLOCS, 1);
        add(&LIVE, layout.size() as u64);
        // SAFETY: the caller's contract, passed on.
        unsafe { System.alloc_zeroed(layout) }
    }
    #[inline(never)]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        sub(&LIVE, layout.size() as u64);
        // SAFETY: the caller's contract, passed on.
        unsafe { System.dealloc(ptr, layout) }
    }
    #[inline(never)]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        add(&ALLOCS, 1);
        sub(&LIVE, layout.size() as u64);
        add(&LIVE, new_size as u64);
        // SAFETY: the caller's contract, passed on.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

thread_local! {
    // Thread-locals rather than `Rc`s in the frame: the sleeper's frame
    // holds only its awaiter.
    static STOP: Cell<bool> = const { Cell::new(false) };
    static SLEEPS: Cell<u64> = const { Cell::new(0) };
}

const NAP: Duration = Duration::from_millis(1);
const WARM_ROUNDS: u32 = 2;
const MEASURED_ROUNDS: u32 = 3;

/// The `when_all` variant's root: N sleepers as children of one task.
#[coro::coroutine]
fn all_of(n: u64) -> Task<()> {
    co_await!(when_all((0..n).map(|_| sleeper()).collect::<Vec<_>>()));
    co_return!(())
}

#[coro::coroutine]
fn sleeper() -> Task<()> {
    while !STOP.with(Cell::get) {
        co_await!(sleep(NAP));
        SLEEPS.with(|s| s.set(s.get() + 1));
    }
    co_return!(())
}

fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("/proc/self/statm");
    let resident: u64 = statm.split_whitespace().nth(1).and_then(|x| x.parse().ok()).expect("statm");
    resident * 4096
}

#[derive(Clone, Copy)]
struct Snapshot {
    rss: u64,
    live: u64,
    allocs: u64,
}

fn snapshot() -> Snapshot {
    Snapshot { rss: rss_bytes(), live: LIVE.load(Relaxed), allocs: ALLOCS.load(Relaxed) }
}

/// What the driver saw: the snapshot with N asleep, then (allocations,
/// sleeps, elapsed) over the measured rounds.
#[coro::coroutine]
fn driver(n: u64) -> Task<(Snapshot, u64, u64, Duration)> {
    // Spawned after the sleepers: each has run to its first sleep.
    let asleep = snapshot();
    assert_eq!(SLEEPS.with(Cell::get), 0);
    for _ in 0..WARM_ROUNDS {
        co_await!(sleep(NAP));
    }
    let (a0, s0, t0) = (ALLOCS.load(Relaxed), SLEEPS.with(Cell::get), Instant::now());
    for _ in 0..MEASURED_ROUNDS {
        co_await!(sleep(NAP));
    }
    let (a1, s1, t1) = (ALLOCS.load(Relaxed), SLEEPS.with(Cell::get), Instant::now());
    // Every sleeper woke at least once per round it saw (checksum).
    assert!(s1 - s0 >= n, "{} sleeps by {n} sleepers", s1 - s0);
    STOP.with(|s| s.set(true));
    co_return!((asleep, a1 - a0, s1 - s0, t1 - t0))
}

/// The child: prints `rss_bytes live_bytes allocs steady_allocs steady_sleeps ns`.
fn child(variant: &str, n: u64) {
    let rt = EventLoop::new().expect("EventLoop");
    let before = snapshot();
    match variant {
        "spawn_local" => {
            for _ in 0..n {
                rt.spawn_local(sleeper()).detach();
            }
        }
        // One task whose first poll starts all N children, each running
        // to its first sleep, before the driver's first poll.
        "when_all" => rt.spawn_local(all_of(n)).detach(),
        _ => panic!("unknown variant {variant:?}"),
    }
    let (asleep, allocs, sleeps, elapsed) = rt.block_on(driver(n));
    // Let the sleepers see STOP and finish: a clean end, and the loop's
    // accounting says nothing is left.
    rt.run();
    assert_eq!((rt.tasks(), rt.timers(), rt.registrations()), (0, 0, 0));
    println!(
        "{} {} {} {} {} {}",
        asleep.rss - before.rss,
        asleep.live - before.live,
        asleep.allocs - before.allocs,
        allocs,
        sleeps,
        elapsed.as_nanos()
    );
}

fn main() {
    if let Ok(arg) = std::env::var("CORO_SLEEPERS_CHILD") {
        let (variant, n) = arg.split_once(' ').expect("CORO_SLEEPERS_CHILD=\"VARIANT N\"");
        child(variant, n.parse().expect("N"));
        return;
    }
    let quick = std::env::var_os("CORO_BENCH_QUICK").is_some();
    let rows: &[(&str, u64)] = if quick {
        &[("when_all", 10_000), ("spawn_local", 10_000)]
    } else {
        &[("when_all", 10_000), ("when_all", 1_000_000), ("spawn_local", 10_000), ("spawn_local", 1_000_000)]
    };
    let exe = std::env::current_exe().expect("current_exe");
    println!("coro-io: N coroutines sleeping at once on one EventLoop (one fresh process per N)");
    println!();
    println!("| sleepers | N | RSS bytes / sleeper | allocator bytes / sleeper | allocations / sleeper | allocations / sleep, steady state | ns / sleep + wake-up |");
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
    for &(variant, n) in rows {
        let out =
            Command::new(&exe).env("CORO_SLEEPERS_CHILD", format!("{variant} {n}")).output().expect("run the child");
        assert!(out.status.success(), "child N = {n} failed: {}", String::from_utf8_lossy(&out.stderr));
        let text = String::from_utf8(out.stdout).expect("utf-8");
        let f: Vec<u64> = text.split_whitespace().map(|x| x.parse().expect("a number")).collect();
        let [rss, live, allocs, steady_allocs, sleeps, ns_total] = f[..] else { panic!("child printed {text:?}") };
        let per = |x: u64| x as f64 / n as f64;
        println!(
            "| {variant} | {} | {:.1} | {:.1} | {:.2} | {:.4} | {:.0} |",
            group(n),
            per(rss),
            per(live),
            per(allocs),
            steady_allocs as f64 / sleeps as f64,
            ns_total as f64 / sleeps as f64
        );
    }
}

/// `1000000` → `1,000,000`.
fn group(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}
