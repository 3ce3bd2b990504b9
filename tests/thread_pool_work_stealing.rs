//! `ThreadPool` work stealing: work a worker posts to its own queue is
//! taken by idle workers, and a worker asleep is woken for it.

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Barrier, Mutex};
use std::time::Duration;

use coro::{co_await, co_return, sync_wait, when_all, SendTask, ThreadPool};

/// Blocks its worker until `n` such jobs run at once: only possible if
/// the jobs one worker queued were stolen by the others.
#[coro::coroutine]
fn meet(pool: Arc<ThreadPool>, barrier: Arc<Barrier>, seen: Arc<Mutex<HashSet<String>>>) -> SendTask<()> {
    co_await!(pool.schedule());
    seen.lock().unwrap().insert(std::thread::current().name().unwrap_or("").to_string());
    barrier.wait();
    co_return!(())
}

/// Spawns `n` jobs from one worker (into its own queue), then waits for
/// them.
#[coro::coroutine]
fn fan_out(pool: Arc<ThreadPool>, n: usize, seen: Arc<Mutex<HashSet<String>>>) -> SendTask<()> {
    co_await!(pool.schedule());
    let barrier = Arc::new(Barrier::new(n));
    let jobs: Vec<_> = (0..n).map(|_| meet(pool.clone(), barrier.clone(), seen.clone())).collect();
    co_await!(when_all(jobs));
    co_return!(())
}

fn within<T: Send + 'static>(secs: u64, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(Duration::from_secs(secs)).expect("the pool did not share the work out (timed out)")
}

#[test]
fn jobs_one_worker_queues_are_stolen_by_sleeping_workers() {
    let seen = within(30, || {
        let pool = Arc::new(ThreadPool::new(3));
        let seen = Arc::new(Mutex::new(HashSet::new()));
        for _ in 0..20 {
            sync_wait(fan_out(pool.clone(), 3, seen.clone()));
        }
        let seen = seen.lock().unwrap().clone();
        seen
    });
    assert_eq!(seen.len(), 3, "all three workers ran jobs: {seen:?}");
}

#[coro::coroutine]
fn count(pool: Arc<ThreadPool>, depth: u32, done: Arc<AtomicUsize>) -> SendTask<()> {
    co_await!(pool.schedule());
    if depth > 0 {
        let children = vec![count(pool.clone(), depth - 1, done.clone()), count(pool.clone(), depth - 1, done.clone())];
        co_await!(when_all(children));
    }
    done.fetch_add(1, Ordering::Relaxed);
    co_return!(())
}

#[test]
fn a_tree_of_hops_spawned_from_workers_runs_every_node_once() {
    let done = within(60, || {
        let pool = Arc::new(ThreadPool::new(4));
        let done = Arc::new(AtomicUsize::new(0));
        sync_wait(count(pool.clone(), 12, done.clone()));
        done.load(Ordering::Relaxed)
    });
    assert_eq!(done, (1 << 13) - 1);
}

#[coro::coroutine]
fn hop_and_count(pool: Arc<ThreadPool>, done: Arc<AtomicUsize>) -> SendTask<()> {
    co_await!(pool.schedule());
    co_await!(pool.schedule());
    done.fetch_add(1, Ordering::Relaxed);
    co_return!(())
}

#[test]
fn shutdown_finishes_work_queued_on_every_workers_own_queue() {
    let (done, n) = within(60, || {
        let pool = Arc::new(ThreadPool::new(3));
        let done = Arc::new(AtomicUsize::new(0));
        let n = 2_000;
        for _ in 0..n {
            pool.spawn(hop_and_count(pool.clone(), done.clone())).detach();
        }
        pool.shutdown();
        (done.load(Ordering::Relaxed), n)
    });
    assert_eq!(done, n);
}
