//! `ThreadPool::spawn`'s join handle (awaited, `sync_wait`ed, detached,
//! dropped; panics) and the pool's graceful `shutdown`.

mod common;

use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Weak};
use std::thread;
use std::time::Duration;

use common::{expect_panic, Counted, Log, PLANNED};
use coro::schedule::PoolJoinHandle;
use coro::{co_await, co_return, sync_wait, SendTask, Task, ThreadPool};

#[coro::coroutine]
fn square(c: Counted, x: u64) -> SendTask<u64> {
    let _c = c;
    co_return!(x * x)
}

#[coro::coroutine]
fn boom(c: Counted) -> SendTask<u64> {
    let _c = c;
    panic!("spawned {PLANNED}");
}

/// Finishes once `pool`'s shutdown has begun, so that what is spawned
/// after it stays queued until then (a one-worker pool).
#[coro::coroutine]
fn hold_until_shutdown(pool: Arc<ThreadPool>) -> SendTask<()> {
    while !pool.is_shut_down() {
        thread::sleep(Duration::from_millis(1));
    }
    co_return!(())
}

fn on_worker() -> bool {
    thread::current().name().is_some_and(|n| n.starts_with("coro-pool-"))
}

#[test]
fn the_handle_gives_the_value_to_a_send_task_that_co_awaits_it() {
    let log = Log::new();
    #[coro::coroutine]
    fn add(a: PoolJoinHandle<u64>, b: PoolJoinHandle<u64>) -> SendTask<u64> {
        co_return!(co_await!(a) + co_await!(b))
    }
    let pool = ThreadPool::new(2);
    let (a, b) = (pool.spawn(square(log.counted("a"), 3)), pool.spawn(square(log.counted("b"), 4)));
    assert_eq!(sync_wait(add(a, b)), 25);
    pool.shutdown();
    log.assert_each_dropped_once();
}

#[test]
fn the_handle_gives_the_value_through_sync_wait() {
    let log = Log::new();
    let pool = ThreadPool::new(2);
    let h = pool.spawn(square(log.counted("param"), 7));
    assert_eq!(sync_wait(h), 49);
    log.assert_each_dropped_once();
}

#[test]
fn a_spawned_task_starts_at_once_without_being_awaited() {
    let pool = ThreadPool::new(1);
    let (tx, rx) = mpsc::channel();
    #[coro::coroutine]
    fn report(tx: mpsc::Sender<bool>) -> SendTask<u8> {
        tx.send(on_worker()).unwrap();
        co_return!(1)
    }
    let h = pool.spawn(report(tx));
    assert!(rx.recv().unwrap(), "ran on a worker before anyone joined it");
    assert_eq!(sync_wait(h), 1);
}

#[test]
fn a_thread_bound_task_awaiting_the_handle_is_resumed_on_its_own_thread() {
    let log = Log::new();
    #[coro::coroutine]
    fn local(h: PoolJoinHandle<u64>, r: Rc<u64>) -> Task<(u64, bool)> {
        let me = thread::current().id();
        let v = co_await!(h); // finishes on a worker
        co_return!((v + *r, thread::current().id() == me))
    }
    let pool = ThreadPool::new(2);
    for i in 0..50 {
        let h = pool.spawn(square(log.counted(format!("param {i}")), i));
        assert_eq!(sync_wait(local(h, Rc::new(1))), (i * i + 1, true));
    }
    pool.shutdown();
    log.assert_each_dropped_once();
}

#[test]
fn a_panic_in_a_spawned_task_reaches_whoever_joins_it() {
    common::quiet_planned_panics();
    let log = Log::new();
    #[coro::coroutine]
    fn joiner(h: PoolJoinHandle<u64>) -> SendTask<u64> {
        co_return!(co_await!(h) + 1)
    }
    let pool = ThreadPool::new(2);
    let msg = expect_panic(|| sync_wait(pool.spawn(boom(log.counted("sync_wait")))));
    assert!(msg.contains("spawned"), "{msg}");
    let msg = expect_panic(|| sync_wait(joiner(pool.spawn(boom(log.counted("co_await"))))));
    assert!(msg.contains("spawned"), "{msg}");
    assert_eq!(pool.panics(), 0, "joined panics are not the pool's");
    pool.shutdown();
    log.assert_each_dropped_once();
}

#[test]
fn a_panic_in_a_task_whose_handle_was_dropped_is_counted_by_the_pool() {
    common::quiet_planned_panics();
    let log = Log::new();
    let pool = ThreadPool::new(1);
    drop(pool.spawn(boom(log.counted("param"))));
    pool.spawn(boom(log.counted("param"))).detach();
    pool.shutdown();
    assert_eq!(pool.panics(), 2);
    log.assert_each_dropped_once();
}

#[test]
fn a_detached_task_still_runs_to_completion_before_shutdown_returns() {
    let log = Log::new();
    #[coro::coroutine]
    fn slow(c: Counted, pool: Arc<ThreadPool>) -> SendTask<()> {
        co_await!(pool.schedule());
        thread::sleep(Duration::from_millis(5));
        co_await!(pool.schedule());
        c.log().push("finished");
        co_return!(())
    }
    let pool = Arc::new(ThreadPool::new(2));
    pool.spawn(slow(log.counted("param"), pool.clone())).detach();
    pool.shutdown();
    assert_eq!(log.count("finished"), 1);
    log.assert_each_dropped_once();
}

#[test]
fn a_dropped_handle_does_not_cancel_its_task() {
    let log = Log::new();
    #[coro::coroutine]
    fn record(c: Counted) -> SendTask<Counted> {
        c.log().push("ran");
        co_return!(c) // the value is dropped on the worker
    }
    let pool = ThreadPool::new(1);
    for i in 0..20 {
        drop(pool.spawn(record(log.counted(format!("param {i}")))));
    }
    pool.shutdown();
    assert_eq!(log.count("ran"), 20);
    log.assert_each_dropped_once();
}

#[test]
fn shutdown_finishes_all_six_tasks_queued_when_it_begins_dropping_each_local_once() {
    let log = Log::new();
    #[coro::coroutine]
    fn job(c: Counted) -> SendTask<()> {
        let local = c.log().counted("local");
        c.log().push("ran");
        drop(local);
        co_return!(())
    }
    let pool = Arc::new(ThreadPool::new(1));
    pool.spawn(hold_until_shutdown(pool.clone()));
    let handles: Vec<_> = (0..6).map(|i| pool.spawn(job(log.counted(format!("param {i}"))))).collect();
    pool.shutdown();
    assert_eq!(log.count("ran"), 6, "every queued task ran");
    assert!(handles.iter().all(PoolJoinHandle::is_finished));
    for h in handles {
        sync_wait(h);
    }
    assert_eq!(log.created(), 12);
    log.assert_each_dropped_once();
}

#[test]
fn coroutines_that_hop_back_or_spawn_from_a_worker_while_the_pool_drains_are_finished() {
    let done = Arc::new(AtomicUsize::new(0));
    #[coro::coroutine]
    fn hops(pool: Arc<ThreadPool>, done: Arc<AtomicUsize>, depth: u32) -> SendTask<()> {
        for _ in 0..3 {
            co_await!(pool.schedule());
        }
        if depth > 0 {
            // Spawned by a worker while the pool may be draining: accepted.
            let child = pool.spawn(hops(pool.clone(), done.clone(), depth - 1));
            co_await!(child);
        }
        done.fetch_add(1, Ordering::Relaxed);
        co_return!(())
    }
    let pool = Arc::new(ThreadPool::new(2));
    pool.spawn(hold_until_shutdown(pool.clone()));
    for _ in 0..4 {
        pool.spawn(hops(pool.clone(), done.clone(), 3));
    }
    pool.shutdown();
    assert_eq!(done.load(Ordering::Relaxed), 16);
}

#[test]
fn spawn_after_shutdown_panics_and_destroys_the_task_unstarted() {
    let log = Log::new();
    let pool = ThreadPool::new(1);
    pool.shutdown();
    pool.shutdown(); // again: nothing to do
    let msg = expect_panic(|| pool.spawn(square(log.counted("param"), 2)));
    assert!(msg.contains("ThreadPool::spawn after the pool was shut down"), "{msg}");
    log.assert_each_dropped_once();
}

#[test]
fn schedule_after_shutdown_panics_at_the_co_await() {
    let log = Log::new();
    #[coro::coroutine]
    fn hop(c: Counted, pool: Arc<ThreadPool>) -> SendTask<()> {
        let _c = c;
        co_await!(pool.schedule());
        co_return!(())
    }
    let pool = Arc::new(ThreadPool::new(1));
    pool.shutdown();
    let msg = expect_panic(|| sync_wait(hop(log.counted("param"), pool.clone())));
    assert!(msg.contains("ThreadPool::schedule() after the pool was shut down"), "{msg}");
    log.assert_each_dropped_once();
}

#[test]
fn shutdown_called_from_a_worker_panics_instead_of_waiting_for_itself() {
    #[coro::coroutine]
    fn stop(pool: Arc<ThreadPool>) -> SendTask<()> {
        pool.shutdown();
        co_return!(())
    }
    let pool = Arc::new(ThreadPool::new(1));
    let msg = expect_panic(|| sync_wait(pool.spawn(stop(pool.clone()))));
    assert!(msg.contains("from one of the pool's own workers"), "{msg}");
    pool.shutdown();
}

#[test]
fn a_task_still_queued_when_the_pool_is_dropped_is_destroyed_and_joining_it_panics() {
    let log = Log::new();
    /// Blocks the only worker until the pool's drop has begun (its last
    /// `Arc` is gone), and a little later, so that the drop has stopped it.
    #[coro::coroutine]
    fn blocks(pool: Weak<ThreadPool>) -> SendTask<()> {
        while pool.upgrade().is_some() {
            thread::sleep(Duration::from_millis(1));
        }
        thread::sleep(Duration::from_millis(50));
        co_return!(())
    }
    let pool = Arc::new(ThreadPool::new(1));
    pool.spawn(blocks(Arc::downgrade(&pool)));
    let queued = pool.spawn(square(log.counted("param"), 3));
    drop(pool); // waits for the blocked worker, then destroys what is queued
    log.assert_each_dropped_once();
    assert!(queued.is_finished());
    let msg = expect_panic(|| sync_wait(queued));
    assert!(msg.contains("destroyed before it started"), "{msg}");
}

#[test]
fn a_thousand_spawns_are_joined_in_a_loop_on_a_two_worker_pool() {
    let log = Log::new();
    let pool = ThreadPool::new(2);
    for i in 0..1_000 {
        assert_eq!(sync_wait(pool.spawn(square(log.counted("one by one"), i))), i * i);
    }
    let handles: Vec<_> = (0..1_000).map(|i| pool.spawn(square(log.counted("all at once"), i))).collect();
    let sum: u64 = handles.into_iter().map(sync_wait).sum();
    assert_eq!(sum, (0..1_000u64).map(|i| i * i).sum::<u64>());
    pool.shutdown();
    assert_eq!(log.created(), 2_000);
    log.assert_each_dropped_once();
}
