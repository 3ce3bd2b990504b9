//! The benchmark harness: coro beside its peers, in one run, on one machine.
//!
//! ```sh
//! cargo bench --bench compare                        # the whole harness (a few minutes)
//! CORO_BENCH_QUICK=1 cargo bench --bench compare     # smoke test: every checksum, no timing claims
//! ```
//!
//! For every row: coro, the hand-written Rust equivalent (the floor),
//! genawaiter where it applies, Rust async/await polled with a no-op waker
//! (inline, and boxed as `Pin<Box<dyn Future>>`), and C++20 built by
//! `g++ -std=c++20 -O2` from benches/cpp/bench.cpp (skipped, with a note,
//! without g++). Candidates are interleaved in rounds; the report gives
//! medians and medians of per-round ratios. A full run writes the figures
//! into BENCHMARKS.md (between its `compare:begin`/`compare:end` markers)
//! and the chart into BENCHMARKS-chart.svg; every run writes
//! `target/bench-compare/report.md`.
//!
//! Other invocations of the built binary (`cargo bench --bench compare
//! --no-run` prints its path):
//!
//! - `compare --only ROW/CANDIDATE [N]`: one run of one candidate, for
//!   `valgrind --tool=callgrind`;
//! - `compare --callgrind`: instructions per operation of every candidate,
//!   counted by callgrind (also part of a full run when valgrind is present);
//! - `compare mem VARIANT N`: the memory row's child process.

#[path = "compare/alloc.rs"]
mod alloc;
#[path = "compare/async_cases.rs"]
mod async_cases;
#[path = "compare/callgrind.rs"]
mod callgrind;
#[path = "compare/coro_cases.rs"]
mod coro_cases;
#[path = "compare/floor.rs"]
mod floor;
#[path = "compare/genawaiter_cases.rs"]
mod genawaiter_cases;
#[path = "compare/main_stack.rs"]
mod main_stack;
#[path = "compare/memory.rs"]
mod memory;
#[path = "compare/peer.rs"]
mod peer;
#[path = "compare/report.rs"]
mod report;
#[path = "compare/runner.rs"]
mod runner;
#[path = "compare/seeds.rs"]
mod seeds;
#[path = "compare/stream_cases.rs"]
mod stream_cases;

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Instant;

use peer::Peers;
use runner::{Candidate, Plan, Role, Row};

#[global_allocator]
static GLOBAL: alloc::Counting = alloc::Counting;

/// The one consumer every generator-like row feeds, so that no row can be
/// folded to a formula and every row pays the same consumer cost.
#[inline(always)]
pub fn consume(it: impl IntoIterator<Item = u64>) -> u64 {
    let mut s = 0u64;
    for x in it {
        s = s.wrapping_add(black_box(x));
    }
    s
}

/// Sum of 0..n.
fn tri(n: u64) -> u64 {
    n.wrapping_mul(n.wrapping_sub(1)) / 2
}

/// Sum of the first n Fibonacci numbers (0, 1, 1, 2, ...), wrapping:
/// F(n + 1) - 1, by fast doubling, so that checking a run's checksum costs
/// nothing per item (the callgrind counts include it).
fn fib_sum(n: u64) -> u64 {
    // (F(k), F(k + 1)) for k = the bits of m read so far.
    fn pair(m: u64) -> (u64, u64) {
        let (mut a, mut b) = (0u64, 1u64);
        for bit in (0..64 - m.leading_zeros()).rev() {
            let c = a.wrapping_mul(b.wrapping_mul(2).wrapping_sub(a));
            let d = a.wrapping_mul(a).wrapping_add(b.wrapping_mul(b));
            (a, b) = if (m >> bit) & 1 == 1 { (d, c.wrapping_add(d)) } else { (c, d) };
        }
        (a, b)
    }
    pair(n).1.wrapping_sub(1)
}

fn same(n: u64) -> u64 {
    n
}

/// Operation counts per run.
#[derive(Debug, Clone, Copy)]
pub struct Sizes {
    pub generator: u64,
    pub ready: u64,
    pub resume: u64,
    pub chain: u64,
    pub recursion: u64,
    pub create: u64,
    pub memory: [u64; 2],
}

const FULL: Sizes = Sizes {
    generator: 10_000_000,
    ready: 10_000_000,
    resume: 10_000_000,
    chain: 1_000_000,
    recursion: 100_000,
    create: 1_000_000,
    memory: [1_000_000, 10_000_000],
};

/// Quick mode: checksums only. The recursion stays 100,000 deep: the depth
/// is what it checks.
const QUICK: Sizes = Sizes {
    generator: 10_000,
    ready: 10_000,
    resume: 10_000,
    chain: 1_000,
    recursion: 100_000,
    create: 1_000,
    memory: [10_000, 100_000],
};

/// Adds the peer programs' candidates that exist, and notes the others.
struct RowBuilder<'a> {
    row: Row,
    peers: &'a Peers,
}

impl RowBuilder<'_> {
    fn rust(mut self, name: &'static str, role: Role, what: &'static str, f: fn(u64) -> u64) -> Self {
        self.row.candidates.push(Candidate::rust(name, role, what, f));
        self
    }
    fn peer(mut self, process: &'static str, name: &'static str, case: &'static str, what: &'static str) -> Self {
        if self.peers.has(process) {
            let role = if process == "g++" { Role::Cpp } else { Role::Peer };
            self.row.candidates.push(Candidate::peer(name, role, what, process, case));
        }
        self
    }
    fn vs(mut self, cpp: &'static str) -> Self {
        let last = self.row.candidates.pop().unwrap();
        self.row.candidates.push(last.vs(cpp));
        self
    }
    fn absent(mut self, name: &'static str, why: &'static str) -> Self {
        self.row.absent.push((name, why));
        self
    }
    fn done(self) -> Row {
        self.row
    }
}

fn row<'a>(
    peers: &'a Peers,
    id: &'static str,
    title: &'static str,
    op: &'static str,
    n: u64,
    expected: fn(u64) -> u64,
) -> RowBuilder<'a> {
    RowBuilder { row: Row { id, title, op, n, expected, candidates: Vec::new(), absent: Vec::new() }, peers }
}

fn rows(s: Sizes, peers: &Peers) -> Vec<Row> {
    use Role::*;
    vec![
        row(peers, "generator", "generator: sum of 0..N through `co_yield!`", "item", s.generator, tri)
            .rust("floor", Floor, "a hand-written `Iterator`", floor::generator)
            .rust("coro", Coro, "`Generator<u64>`", coro_cases::generator)
            .rust("coro inline", Coro, "`InlineGenerator<u64>`, pinned on the stack", coro_cases::generator_inline)
            .rust("genawaiter", Peer, "`genawaiter::stack`", genawaiter_cases::generator)
            .rust(
                "async-stream",
                Peer,
                "`async_stream::stream!`, pinned, `poll_next` with a no-op waker",
                stream_cases::generator,
            )
            .rust("async inline", Peer, "an async block yielding through a slot", async_cases::generator_inline)
            .rust("async boxed", Peer, "the same, as `Pin<Box<dyn Future>>`", async_cases::generator_boxed)
            .peer("g++", "g++", "generator", "a C++20 `generator<T>` (lazy, `suspend_always`)")
            .peer("nightly", "nightly", "generator", "a native `#[coroutine]` closure (nightly)")
            .done(),
        row(
            peers,
            "fibonacci",
            "Fibonacci: sum of the first N Fibonacci numbers (wrapping) through `co_yield!`",
            "item",
            s.generator,
            fib_sum,
        )
        .rust("floor", Floor, "a hand-written `Iterator`", floor::fibonacci)
        .rust("coro", Coro, "`Generator<u64>`", coro_cases::fibonacci)
        .rust("coro inline", Coro, "`InlineGenerator<u64>`, pinned on the stack", coro_cases::fibonacci_inline)
        .rust("genawaiter", Peer, "`genawaiter::stack`", genawaiter_cases::fibonacci)
        .rust(
            "async-stream",
            Peer,
            "`async_stream::stream!`, pinned, `poll_next` with a no-op waker",
            stream_cases::fibonacci,
        )
        .rust("async inline", Peer, "an async block yielding through a slot", async_cases::fibonacci_inline)
        .peer("g++", "g++", "fibonacci", "a C++20 `generator<T>` (lazy, `suspend_always`)")
        .peer("nightly", "nightly", "fibonacci", "a native `#[coroutine]` closure (nightly)")
        .done(),
        row(peers, "ready", "`co_await!` of a ready awaiter (sum of 0..N)", "co_await!", s.ready, tri)
            .rust("floor", Floor, "a direct call of `await_resume`", floor::ready)
            .rust("coro", Coro, "`co_await!(Ready(i))` in a `Task`", coro_cases::ready)
            .rust(
                "coro direct call",
                Peer,
                "the same `Task`, calling `Ready(i).await_resume()` instead",
                coro_cases::ready_direct,
            )
            .rust(
                "coro future",
                Peer,
                "`co_await!(std::future::ready(i))` in a `Task`: a Rust future, no allocation",
                coro_cases::ready_future,
            )
            .rust(
                "coro async block",
                Peer,
                "`co_await!(async move { i })` in a `Task`: a future that is not `Unpin`, no allocation",
                coro_cases::ready_async_block,
            )
            .rust("async inline", Peer, "`ready(i).await`", async_cases::ready_inline)
            .rust("async boxed", Peer, "the same, the async fn boxed", async_cases::ready_boxed)
            .peer("g++", "g++", "ready", "`co_await ready{i}` in a `task<T>`")
            .absent("genawaiter", "a genawaiter body can only await its own `yield_`")
            .done(),
        row(peers, "resume", "suspend + resume round trip", "resume", s.resume, same)
            .rust("floor", Floor, "an indirect call into a state machine", floor::resume)
            .rust(
                "coro",
                Coro,
                "`h.resume()` on an erased handle; the body loops on `co_await!(SuspendAlways)`",
                coro_cases::resume,
            )
            .rust("genawaiter", Peer, "`genawaiter::stack`, `resume()`", genawaiter_cases::resume)
            .rust("async inline", Peer, "`poll` of a future pending once per loop", async_cases::resume_inline)
            .rust("async boxed", Peer, "the same, `Pin<Box<dyn Future>>`", async_cases::resume_boxed)
            .peer("g++", "g++", "resume", "`h.resume()` on a `coroutine_handle<>`")
            .peer("nightly", "nightly", "resume", "`Coroutine::resume` of a boxed native coroutine")
            .done(),
        row(
            peers,
            "chain",
            "task chain: `co_await!` of a child task that completes synchronously",
            "await",
            s.chain,
            tri,
        )
        .rust("floor", Floor, "a direct (out-of-line) call", floor::chain)
        .rust("coro", Coro, "`co_await!(child(i))`, child a `Task<u64>`", coro_cases::chain)
        .rust("async inline", Peer, "`child(i).await`, child an async fn", async_cases::chain_inline)
        .rust("async boxed", Peer, "the child boxed", async_cases::chain_boxed)
        .peer("g++", "g++", "chain", "`co_await child(i)`, child a `task<T>`")
        .absent("genawaiter", "genawaiter has no tasks")
        .done(),
        row(peers, "recursion", "100,000-deep recursion: each level awaits the next", "level", s.recursion, same)
            .rust("floor", Floor, "a recursive function", floor::recursion)
            .rust("coro", Coro, "`Task<u64>` awaiting itself", coro_cases::recursion)
            .rust("async boxed", Peer, "a boxed recursive async block", async_cases::recursion_boxed)
            .peer("g++", "g++", "recursion", "`task<T>` awaiting itself (symmetric transfer)")
            .absent("async inline", "a recursive async fn must box")
            .absent("genawaiter", "genawaiter has no tasks")
            .done(),
        row(peers, "create", "create + run + destroy a minimal coroutine", "coroutine", s.create, same)
            .rust("floor", Floor, "`Box<dyn Resume>`: allocate, call, free", floor::create)
            .rust("coro", Coro, "lazy, empty body: the default allocator", |n| {
                coro_cases::create(n, coro_cases::minimal)
            })
            .rust("coro recycling", Coro, "a promise allocator reusing freed frames", |n| {
                coro_cases::create(n, coro_cases::minimal_recycled)
            })
            .vs("g++ recycling")
            .rust("genawaiter", Peer, "`genawaiter::stack` (on the stack)", genawaiter_cases::create)
            .rust("async inline", Peer, "`async fn` future on the stack", async_cases::create_inline)
            .rust("async boxed", Peer, "`Pin<Box<dyn Future>>`", async_cases::create_boxed)
            .peer("g++", "g++", "create", "lazy, `co_return;`: global `operator new`")
            .peer("g++", "g++ recycling", "create_recycling", "promise `operator new` with a free list")
            .peer("nightly", "nightly", "create", "a boxed native coroutine")
            .done(),
    ]
}

fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    // target/release/deps/compare-HASH
    exe.ancestors()
        .nth(3)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"))
}

fn arg_after(args: &[String], flag: &str) -> Option<String> {
    args.iter().position(|a| a == flag).and_then(|i| args.get(i + 1).cloned())
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("mem") {
        let n = args.get(2).and_then(|n| n.parse().ok()).expect("usage: compare mem VARIANT N");
        memory::child(&args[1], n);
        return;
    }
    let run = move || {
        if let Some(spec) = arg_after(&args, "--only") {
            only(&spec, args.iter().skip_while(|a| *a != "--only").nth(2).and_then(|n| n.parse().ok()));
        } else if args.iter().any(|a| a == "--callgrind") {
            let mut peers = Peers::start(&target_dir(), false);
            let rows = rows(FULL, &peers);
            let counts = callgrind::count_all(&rows, &mut peers);
            println!("{}", report::callgrind_table(&counts));
        } else {
            harness();
        }
    };
    // Deep recursion (the floor, boxed async) needs a deep stack; coro and
    // g++ run in constant stack. The candidates run on the main thread of a
    // process with no other thread, as the g++ peer's do: a second thread
    // would put glibc's malloc on its multi-threaded path (an arena lock)
    // and give the worker thread a non-main arena (a lookup in every
    // `free`), which the allocating rows would pay and g++ would not.
    if main_stack::deep_enough() {
        run();
    } else {
        let worker = std::thread::Builder::new().stack_size(main_stack::DEEP).spawn(run);
        worker.expect("spawn").join().expect("the harness panicked");
    }
}

/// `--only ROW/CANDIDATE [N]`: one run of one candidate.
fn only(spec: &str, n: Option<u64>) {
    let (row_id, cand) = spec.split_once('/').expect("--only ROW/CANDIDATE");
    let mut peers = Peers::default();
    let mut rows = rows(FULL, &peers);
    let row = rows.iter_mut().find(|r| r.id == row_id).unwrap_or_else(|| panic!("no row {row_id}"));
    let n = n.unwrap_or(row.n);
    let r = runner::run_single(row, cand, n, &mut peers);
    println!(
        "{row_id}/{cand} n={n}: {:.3} ns per {}, checksum {}, {} allocations",
        r.ns / n as f64,
        row.op,
        r.checksum,
        r.allocs
    );
}

fn harness() {
    let quick = std::env::var_os("CORO_BENCH_QUICK").is_some_and(|v| v != "0");
    let started = Instant::now();
    let target = target_dir();
    // The nightly column is optional: built when `cargo +nightly` works,
    // never in quick mode, and not at all with CORO_BENCH_NIGHTLY=0.
    let want_nightly = !quick && std::env::var_os("CORO_BENCH_NIGHTLY").is_none_or(|v| v != "0");
    let mut peers = Peers::start(&target, want_nightly);
    for note in &peers.notes {
        eprintln!("note: {note}");
    }
    let (sizes, plan) = if quick {
        (QUICK, Plan { warmup: 0, rounds: 1, best_of: 1 })
    } else {
        (FULL, Plan { warmup: 1, rounds: 7, best_of: 3 })
    };

    let mut results = Vec::new();
    for mut row in rows(sizes, &peers) {
        let t = Instant::now();
        let r = runner::measure(&mut row, plan, &mut peers);
        eprintln!("{:<10} {:>6.1} s", row.id, t.elapsed().as_secs_f64());
        if !quick {
            print!("{}", report::row_table(&r));
        }
        results.push(r);
    }

    let mut frames = seeds::frames();
    let cpp_frames: Vec<Option<u64>> = frames.iter().map(|f| peers.size("g++", f.cpp_case)).collect();
    frames.iter_mut().for_each(|f| assert!(f.coro > 0 && f.future > 0));

    let t = Instant::now();
    let mem = memory::measure(&sizes.memory, &peers);
    eprintln!("{:<10} {:>6.1} s", "memory", t.elapsed().as_secs_f64());

    let counts = if quick || !callgrind::available() {
        None
    } else {
        let t = Instant::now();
        let c = callgrind::count_all(&rows(FULL, &peers), &mut peers);
        eprintln!("{:<10} {:>6.1} s", "callgrind", t.elapsed().as_secs_f64());
        Some(c)
    };

    let rep = report::Report {
        quick,
        sizes,
        plan,
        rows: results,
        frames,
        cpp_frames,
        mem,
        counts,
        notes: peers.notes.clone(),
        peers: peers.peers.iter().map(|p| (p.name, p.version.clone())).collect(),
        elapsed: started.elapsed().as_secs_f64(),
    };
    let md = report::markdown(&rep);
    let out = target.join("bench-compare");
    std::fs::create_dir_all(&out).expect("target/bench-compare");
    std::fs::write(out.join("report.md"), &md).expect("report.md");
    let svg = report::svg(&rep);
    std::fs::write(out.join("chart.svg"), &svg).expect("chart.svg");
    if quick {
        println!(
            "bench smoke: {} rows, every checksum correct; {} passed, 0 failed",
            rep.rows.len() + 2,
            rep.rows.iter().map(|r| r.measured.len()).sum::<usize>() + rep.frames.len() + rep.mem.len()
        );
    } else {
        let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        std::fs::write(repo.join("BENCHMARKS-chart.svg"), &svg).expect("BENCHMARKS-chart.svg");
        report::update_benchmarks_md(&repo.join("BENCHMARKS.md"), &md);
        println!("{}", report::summary(&rep));
        println!("wrote BENCHMARKS.md and BENCHMARKS-chart.svg in {:.0} s", rep.elapsed);
    }
}
