//! `ThreadPool` beside tokio's multi-threaded runtime and rayon, in one run:
//! the cost of scheduling work across worker threads.
//!
//! ```sh
//! cargo bench --bench thread_pool                     # 7 interleaved rounds
//! CORO_BENCH_QUICK=1 cargo bench --bench thread_pool  # smoke test: every checksum, 1 round
//! ```
//!
//! Rows (each candidate on 2 worker threads, the machine's 2 cores):
//!
//! - **tree**: a binary tree of 2^16 - 1 tasks. Each node moves onto the
//!   pool and starts its two children, which run concurrently, then joins
//!   them: work that workers post to themselves, which work stealing shares
//!   out. coro: `co_await!(pool.schedule())` + `when_all` of two
//!   `SendTask`s; tokio: `tokio::spawn` of the two children + join; rayon:
//!   `rayon::join`, the floor (no allocation per task, no hop).
//! - **inject**: 100,000 trivial tasks spawned from outside the pool, then
//!   joined: the shared queue. coro: `ThreadPool::spawn` + `sync_wait` of
//!   each handle; tokio: `Runtime::spawn` + `block_on` of each handle;
//!   rayon: `rayon::scope` + `spawn`.
//!
//! Reported: the median time per task over the rounds (each round keeps the
//! best of 3 runs), and the median of per-round ratios to coro.

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use coro::{co_await, co_return, sync_wait, when_all, SendTask, ThreadPool};

const THREADS: usize = 2;

// ---------------------------------------------------------------- tree

#[coro::coroutine]
fn coro_tree(pool: Arc<ThreadPool>, depth: u32) -> SendTask<u64> {
    co_await!(pool.schedule());
    if depth == 0 {
        co_return!(1)
    }
    let (a, b) = co_await!(when_all((coro_tree(pool.clone(), depth - 1), coro_tree(pool.clone(), depth - 1))));
    co_return!(a + b + 1)
}

fn tokio_tree(depth: u32) -> std::pin::Pin<Box<dyn std::future::Future<Output = u64> + Send>> {
    Box::pin(async move {
        if depth == 0 {
            return 1;
        }
        let a = tokio::spawn(tokio_tree(depth - 1));
        let b = tokio::spawn(tokio_tree(depth - 1));
        a.await.unwrap() + b.await.unwrap() + 1
    })
}

fn rayon_tree(depth: u32) -> u64 {
    if depth == 0 {
        return black_box(1);
    }
    let (a, b) = rayon::join(|| rayon_tree(depth - 1), || rayon_tree(depth - 1));
    a + b + 1
}

// -------------------------------------------------------------- inject

#[coro::coroutine]
fn coro_leaf(x: u64) -> SendTask<u64> {
    co_return!(black_box(x))
}

struct Peers {
    pool: Arc<ThreadPool>,
    tokio: tokio::runtime::Runtime,
    rayon: rayon::ThreadPool,
}

type Run = fn(&Peers, u32) -> u64;

fn tree_coro(p: &Peers, depth: u32) -> u64 {
    sync_wait(coro_tree(p.pool.clone(), depth))
}
fn tree_tokio(p: &Peers, depth: u32) -> u64 {
    p.tokio.block_on(tokio_tree(depth))
}
fn tree_rayon(p: &Peers, depth: u32) -> u64 {
    p.rayon.install(|| rayon_tree(depth))
}

fn inject_coro(p: &Peers, n: u32) -> u64 {
    let handles: Vec<_> = (0..n as u64).map(|x| p.pool.spawn(coro_leaf(x))).collect();
    handles.into_iter().map(sync_wait).sum()
}
fn inject_tokio(p: &Peers, n: u32) -> u64 {
    let handles: Vec<_> = (0..n as u64).map(|x| p.tokio.spawn(async move { black_box(x) })).collect();
    handles.into_iter().map(|h| p.tokio.block_on(h).unwrap()).sum()
}
fn inject_rayon(p: &Peers, n: u32) -> u64 {
    let sum = AtomicU64::new(0);
    p.rayon.scope(|s| {
        for x in 0..n as u64 {
            let sum = &sum;
            s.spawn(move |_| {
                sum.fetch_add(black_box(x), Ordering::Relaxed);
            });
        }
    });
    sum.into_inner()
}

struct Row {
    name: &'static str,
    arg: u32,
    tasks: u64,
    expect: u64,
    candidates: [(&'static str, Run); 3],
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn main() {
    let quick = std::env::var_os("CORO_BENCH_QUICK").is_some();
    let peers = Peers {
        pool: Arc::new(ThreadPool::new(THREADS)),
        tokio: tokio::runtime::Builder::new_multi_thread().worker_threads(THREADS).build().unwrap(),
        rayon: rayon::ThreadPoolBuilder::new().num_threads(THREADS).build().unwrap(),
    };
    let depth = 15;
    let n = 100_000;
    let rows = [
        Row {
            name: "tree",
            arg: depth,
            tasks: (1 << (depth + 1)) - 1,
            expect: (1 << (depth + 1)) - 1,
            candidates: [("coro ThreadPool", tree_coro), ("tokio", tree_tokio), ("rayon", tree_rayon)],
        },
        Row {
            name: "inject",
            arg: n,
            tasks: n as u64,
            expect: (n as u64) * (n as u64 - 1) / 2,
            candidates: [("coro ThreadPool", inject_coro), ("tokio", inject_tokio), ("rayon", inject_rayon)],
        },
    ];
    let rounds = if quick { 1 } else { 8 };
    println!("ThreadPool beside tokio and rayon, {THREADS} worker threads each; {rounds} rounds (first one dropped)\n");
    println!("| row | candidate | median ns/task | median ratio to coro |");
    println!("| --- | --- | ---: | ---: |");
    for row in &rows {
        // times[c] per round, ns per task.
        let mut times: Vec<Vec<f64>> = vec![Vec::new(); 3];
        for round in 0..rounds {
            let mut this: [f64; 3] = [0.0; 3];
            for k in 0..3 {
                let c = (round + k) % 3;
                let (_, run) = row.candidates[c];
                let mut best = Duration::MAX;
                for _ in 0..if quick { 1 } else { 3 } {
                    let t = Instant::now();
                    let got = run(&peers, row.arg);
                    best = best.min(t.elapsed());
                    assert_eq!(got, row.expect, "{} / {}: wrong checksum", row.name, row.candidates[c].0);
                }
                this[c] = best.as_nanos() as f64 / row.tasks as f64;
            }
            if round > 0 || quick {
                for c in 0..3 {
                    times[c].push(this[c]);
                }
            }
        }
        let mut ratios: Vec<Vec<f64>> =
            (0..3).map(|c| times[c].iter().zip(&times[0]).map(|(t, base)| t / base).collect()).collect();
        for c in 0..3 {
            let med = median(&mut times[c].clone());
            let ratio = median(&mut ratios[c]);
            println!("| {} | {} | {:.0} | {:.2} |", row.name, row.candidates[c].0, med, ratio);
        }
    }
}
