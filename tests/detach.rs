//! Giving up a `SendTask` that another thread may be running: its owner (the
//! awaiting coroutine, a combinator, a task future) goes away, the task is
//! detached: destroyed at its next resumption, by whoever resumes it, or
//! freed by itself at its end if it finishes first. Nothing is freed under
//! the running thread: the suite runs these under valgrind and
//! AddressSanitizer.

mod common;

use std::future::{Future, IntoFuture};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::Arc;
use std::task::{Context, Waker};

use common::{eventually, Counted, Log};
use coro::{co_await, co_return, sync_wait, when_all, when_any, SendTask, Task, ThreadPool};

/// Hops onto the pool, says so, then blocks its worker until released.
#[coro::coroutine]
fn blocks_on_pool(pool: Arc<ThreadPool>, c: Counted, running: Sender<()>, release: Receiver<()>) -> SendTask<Counted> {
    co_await!(pool.schedule());
    running.send(()).unwrap();
    release.recv().unwrap();
    co_return!(c)
}

#[coro::coroutine]
fn awaits_blocker(pool: Arc<ThreadPool>, c: Counted, running: Sender<()>, release: Receiver<()>) -> Task<usize> {
    let v = co_await!(blocks_on_pool(pool, c, running, release));
    co_return!(v.name().len())
}

fn poll_once<F: Future + ?Sized>(f: std::pin::Pin<&mut F>) -> bool {
    f.poll(&mut Context::from_waker(Waker::noop())).is_ready()
}

#[test]
fn dropping_a_task_while_a_worker_runs_the_send_task_it_awaits_detaches_that_task() {
    let log = Log::new();
    let pool = Arc::new(ThreadPool::new(1));
    let (running_tx, running_rx) = channel();
    let (release_tx, release_rx) = channel();
    let mut fut = Box::pin(awaits_blocker(pool.clone(), log.counted("value"), running_tx, release_rx).into_future());
    assert!(!poll_once(fut.as_mut()));
    running_rx.recv().unwrap();
    // The awaiting `Task` is destroyed here while the worker runs the
    // `SendTask`: its frame must not be freed under the worker.
    drop(fut);
    assert_eq!(log.dropped(), 0, "the running task's value is still alive");
    release_tx.send(()).unwrap();
    // It finishes on the worker and frees itself there, dropping its value.
    eventually("the detached task frees itself", || log.dropped() == 1);
    log.assert_each_dropped_once();
    assert_eq!(pool.panics(), 0);
}

#[test]
fn dropping_a_send_task_future_while_a_worker_runs_it_detaches_the_task() {
    let log = Log::new();
    let pool = Arc::new(ThreadPool::new(1));
    let (running_tx, running_rx) = channel();
    let (release_tx, release_rx) = channel();
    let mut fut = Box::pin(blocks_on_pool(pool.clone(), log.counted("value"), running_tx, release_rx).into_future());
    assert!(!poll_once(fut.as_mut()));
    running_rx.recv().unwrap();
    drop(fut); // a lost `select`: the future goes, the task runs on
    release_tx.send(()).unwrap();
    eventually("the detached task frees itself", || log.dropped() == 1);
    log.assert_each_dropped_once();
}

#[coro::coroutine]
fn both_block(pool: Arc<ThreadPool>, log: Log, gates: Vec<(Sender<()>, Receiver<()>)>) -> Task<usize> {
    let tasks: Vec<_> = gates
        .into_iter()
        .enumerate()
        .map(|(i, (running, release))| blocks_on_pool(pool.clone(), log.counted(format!("v{i}")), running, release))
        .collect();
    let all = co_await!(when_all(tasks));
    co_return!(all.len())
}

#[test]
fn destroying_a_when_all_whose_send_tasks_run_on_a_pool_detaches_them() {
    let log = Log::new();
    let pool = Arc::new(ThreadPool::new(2));
    let (mut releases, mut runnings, mut gates) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..2 {
        let (running_tx, running_rx) = channel();
        let (release_tx, release_rx) = channel();
        gates.push((running_tx, release_rx));
        runnings.push(running_rx);
        releases.push(release_tx);
    }
    let mut fut = Box::pin(both_block(pool.clone(), log.clone(), gates).into_future());
    assert!(!poll_once(fut.as_mut()));
    for r in &runnings {
        r.recv().unwrap();
    }
    // Release one: it finishes while the awaiting coroutine goes away, the
    // other is still blocked.
    releases[0].send(()).unwrap();
    drop(fut);
    releases[1].send(()).unwrap();
    eventually("both detached children free themselves", || log.dropped() == 2);
    log.assert_each_dropped_once();
}

/// Hops onto the pool and spins a little: losers are caught queued,
/// running, or finishing when the winner arrives.
#[coro::coroutine]
fn racer(pool: Arc<ThreadPool>, c: Counted, spins: u32) -> SendTask<u32> {
    co_await!(pool.schedule());
    let mut x = 0u32;
    for i in 0..spins {
        x = std::hint::black_box(x.wrapping_add(i));
    }
    co_await!(pool.schedule());
    drop(c);
    co_return!(x)
}

#[coro::coroutine]
fn race(pool: Arc<ThreadPool>, log: Log, round: u32) -> Task<usize> {
    let tasks = (0..4)
        .map(|k| racer(pool.clone(), log.counted(format!("r{round}.{k}")), (k * 997 + round * 31) % 3000))
        .collect();
    let (winner, _) = co_await!(when_any(tasks));
    co_return!(winner)
}

#[test]
fn when_any_losers_running_on_a_pool_are_detached_not_freed_under_the_worker() {
    let log = Log::new();
    let pool = Arc::new(ThreadPool::new(2));
    let rounds = 200;
    for round in 0..rounds {
        let w = sync_wait(race(pool.clone(), log.clone(), round));
        assert!(w < 4);
    }
    // Every loser, detached, finishes on the pool and frees itself.
    eventually("every racer finished", || log.dropped() == 4 * rounds as usize);
    log.assert_each_dropped_once();
    assert_eq!(pool.panics(), 0);
}

#[coro::coroutine]
fn send_race(pool: Arc<ThreadPool>, log: Log, round: u32) -> SendTask<usize> {
    let tasks = (0..3)
        .map(|k| racer(pool.clone(), log.counted(format!("s{round}.{k}")), (k * 1499 + round * 17) % 2000))
        .collect();
    let (winner, _) = co_await!(when_any(tasks));
    co_return!(winner)
}

#[test]
fn a_send_task_racing_send_tasks_on_a_pool_detaches_its_losers() {
    let log = Log::new();
    let pool = Arc::new(ThreadPool::new(2));
    let rounds = 200;
    for round in 0..rounds {
        assert!(sync_wait(send_race(pool.clone(), log.clone(), round)) < 3);
    }
    eventually("every racer finished", || log.dropped() == 3 * rounds as usize);
    log.assert_each_dropped_once();
}

#[coro::coroutine]
fn send_leaf() -> SendTask<Vec<&'static str>> {
    let bt = co_await!(coro::handle::CurrentBacktrace);
    co_return!(bt.frames().iter().map(|p| p.function()).collect())
}

#[coro::coroutine]
fn local_root() -> Task<Vec<&'static str>> {
    co_return!(co_await!(send_leaf()))
}

#[test]
fn an_async_backtrace_stops_where_a_task_awaits_a_send_task() {
    // The `Task` awaiting the `SendTask` could be destroyed on its own
    // thread while the `SendTask` walks the chain on another one: the walk
    // does not cross that link.
    assert_eq!(sync_wait(local_root()), ["send_leaf"]);
}

// ---------------------------------------------------------------------------
// A detached task is destroyed at its next resumption
// ---------------------------------------------------------------------------

mod next_resumption {
    use super::*;
    use coro::sync::{Event, Mutex};

    #[coro::coroutine]
    fn quick() -> SendTask<u32> {
        co_return!(1)
    }

    #[coro::coroutine]
    fn waits_on_event(ev: Arc<Event>, log: Log, c: Counted) -> SendTask<u32> {
        co_await!(ev.wait());
        log.push("ran on");
        drop(c);
        co_return!(2)
    }

    #[coro::coroutine]
    fn race_event(ev: Arc<Event>, log: Log) -> Task<u32> {
        let c = log.counted("loser");
        let (_, v) = co_await!(when_any(vec![waits_on_event(ev, log.clone(), c), quick()]));
        co_return!(v)
    }

    #[test]
    fn a_detached_loser_waiting_on_an_event_is_destroyed_when_the_event_is_set() {
        let log = Log::new();
        let ev = Arc::new(Event::new());
        assert_eq!(sync_wait(race_event(ev.clone(), log.clone())), 1);
        assert_eq!(log.dropped(), 0, "detached, still waiting");
        ev.set(); // grants it a resumption: it is destroyed instead
        assert_eq!(log.dropped(), 1);
        assert_eq!(log.count("ran on"), 0, "{:?}", log.events());
        log.assert_each_dropped_once();
    }

    #[coro::coroutine]
    fn waits_for_lock(m: Arc<Mutex<u32>>, log: Log, c: Counted) -> SendTask<u32> {
        let mut g = co_await!(m.lock());
        log.push("locked");
        *g += 1;
        drop(c);
        co_return!(*g)
    }

    #[coro::coroutine]
    fn race_lock(m: Arc<Mutex<u32>>, log: Log) -> Task<u32> {
        let c = log.counted("loser");
        let (_, v) = co_await!(when_any(vec![waits_for_lock(m, log.clone(), c), quick()]));
        co_return!(v)
    }

    #[coro::coroutine]
    fn locks(m: Arc<Mutex<u32>>) -> SendTask<u32> {
        let g = co_await!(m.lock());
        co_return!(*g)
    }

    #[test]
    fn a_detached_loser_granted_a_mutex_hands_the_lock_on() {
        let log = Log::new();
        let m = Arc::new(Mutex::new(7));
        let held = m.try_lock().unwrap();
        assert_eq!(sync_wait(race_lock(m.clone(), log.clone())), 1);
        // Unlocking grants the lock to the detached loser, which is
        // destroyed instead of resumed: the lock goes on to the next one.
        drop(held);
        assert_eq!(log.count("locked"), 0, "{:?}", log.events());
        assert_eq!(log.dropped(), 1);
        assert!(!m.is_locked());
        assert_eq!(sync_wait(locks(m)), 7);
        log.assert_each_dropped_once();
    }

    #[coro::coroutine]
    fn waits_on_future(rx: futures::channel::oneshot::Receiver<u32>, log: Log, c: Counted) -> SendTask<u32> {
        let v = co_await!(rx).unwrap_or(0);
        log.push("ran on");
        drop(c);
        co_return!(v)
    }

    #[coro::coroutine]
    fn race_future(rx: futures::channel::oneshot::Receiver<u32>, log: Log) -> Task<u32> {
        let c = log.counted("loser");
        let (_, v) = co_await!(when_any(vec![waits_on_future(rx, log.clone(), c), quick()]));
        co_return!(v)
    }

    #[test]
    fn a_detached_loser_woken_by_a_future_is_destroyed_not_resumed() {
        let log = Log::new();
        let (tx, rx) = futures::channel::oneshot::channel();
        assert_eq!(sync_wait(race_future(rx, log.clone())), 1);
        let sender = std::thread::spawn(move || tx.send(5).unwrap());
        sender.join().unwrap();
        // The wake-up was queued for this thread (the driver that ran it).
        eventually("the wake-up is queued here and run", || {
            coro::resume_woken();
            log.dropped() == 1
        });
        assert_eq!(log.count("ran on"), 0, "{:?}", log.events());
        log.assert_each_dropped_once();
    }

    #[coro::coroutine]
    fn hops(pool: Arc<ThreadPool>, log: Log, c: Counted) -> SendTask<u32> {
        co_await!(pool.schedule());
        log.push("ran on");
        drop(c);
        co_return!(3)
    }

    #[coro::coroutine]
    fn awaits_hop(pool: Arc<ThreadPool>, log: Log, c: Counted) -> Task<u32> {
        co_return!(co_await!(hops(pool, log, c)))
    }

    #[coro::coroutine]
    fn blocks(pool: Arc<ThreadPool>, release: Receiver<()>) -> SendTask<()> {
        co_await!(pool.schedule());
        release.recv().unwrap();
        co_return!(())
    }

    #[test]
    fn a_task_dropped_while_its_send_task_is_queued_on_a_pool_has_it_destroyed_there() {
        let log = Log::new();
        let pool = Arc::new(ThreadPool::new(1));
        // Keep the one worker busy, so that the hop below stays queued.
        let (release_tx, release_rx) = channel();
        let mut blocker = Box::pin(blocks(pool.clone(), release_rx).into_future());
        assert!(!poll_once(blocker.as_mut()));
        let mut fut = Box::pin(awaits_hop(pool.clone(), log.clone(), log.counted("hopper")).into_future());
        assert!(!poll_once(fut.as_mut()));
        drop(fut); // detaches the queued `SendTask`
        release_tx.send(()).unwrap();
        // The worker takes the hop: the resumption destroys it.
        eventually("the queued task is destroyed on the worker", || log.dropped() == 1);
        assert_eq!(log.count("ran on"), 0, "{:?}", log.events());
        drop(blocker);
        log.assert_each_dropped_once();
        assert_eq!(pool.panics(), 0);
    }
}
