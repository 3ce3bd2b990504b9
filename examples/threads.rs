//! Coroutines across threads: a `SendGenerator` made here and iterated on
//! another thread, a `ThreadPool` that `SendTask`s hop onto, and a
//! `SendSharedTask` awaited by coroutines on several workers at once.
//!
//! `cargo run --release --example threads`

use std::sync::Arc;
use std::thread;

use coro::{co_await, co_return, co_yield, sync_wait, when_all, SendGenerator, SendSharedTask, SendTask, ThreadPool};

/// The range generator of `examples/range_generator.rs`, sendable: its frame holds only a `u64`.
#[coro::coroutine]
fn range(n: u64) -> SendGenerator<u64> {
    for i in 0..n {
        co_yield!(i);
    }
}

/// Computed once, on whichever worker first awaits it.
#[coro::coroutine]
fn table(pool: Arc<ThreadPool>) -> SendSharedTask<Arc<Vec<u64>>> {
    co_await!(pool.schedule());
    co_return!(Arc::new((0..1_000).map(|i| i * i).collect()))
}

/// Hops onto the pool, then reads the shared table.
#[coro::coroutine]
fn lookup(pool: Arc<ThreadPool>, table: SendSharedTask<Arc<Vec<u64>>>, i: usize) -> SendTask<(u64, String)> {
    co_await!(pool.schedule());
    let t = co_await!(table);
    co_return!((t[i], thread::current().name().unwrap_or("?").to_string()))
}

#[coro::coroutine]
fn lookups(pool: Arc<ThreadPool>, table: SendSharedTask<Arc<Vec<u64>>>) -> SendTask<Vec<(u64, String)>> {
    let tasks = (0..64).map(|i| lookup(pool.clone(), table.clone(), i)).collect::<Vec<_>>();
    co_return!(co_await!(when_all(tasks)))
}

fn main() {
    // 1. A generator created on this thread, consumed on another.
    let gen = range(10);
    let sum = thread::spawn(move || gen.sum::<u64>()).join().unwrap();
    assert_eq!(sum, 45);
    println!("SendGenerator summed on another thread: {sum}");

    // 2. 64 tasks hop onto a 4-thread pool and share one computation.
    let pool = Arc::new(ThreadPool::new(4));
    let shared = table(pool.clone());
    let results = sync_wait(lookups(pool.clone(), shared.clone()));
    assert!(results.iter().enumerate().all(|(i, (v, _))| *v == (i * i) as u64));
    assert!(results.iter().all(|(_, name)| name.starts_with("coro-pool-")));
    let mut workers: Vec<_> = results.iter().map(|(_, n)| n.as_str()).collect();
    workers.sort();
    workers.dedup();
    println!("64 lookups of one SendSharedTask ran on {} worker(s): {workers:?}", workers.len());

    // 3. The shared result, from this thread: finished, so a clone at once.
    assert_eq!(sync_wait(&shared)[31], 961);
    drop(pool);
    println!("ok");
}
