//! Giving up a `SendTask` that another thread may be running: its owner (the
//! awaiting coroutine, a combinator, a task future) goes away, the task is
//! detached: destroyed at its next resumption, by whoever resumes it (see
//! `detached_send_task_destroyed_at_next_resumption.rs`), or freed by itself
//! at its end if it finishes first. Nothing is freed under the running
//! thread, and no async backtrace walks into an owner that is gone; a
//! combinator destroyed with its awaiting coroutine is not resumed by a child
//! its destruction releases. A stress campaign races owners going away
//! against tasks finishing on a two-worker pool. Every `Counted` is dropped
//! exactly once; the suite runs these under valgrind and AddressSanitizer.
//!
//! The tasks here are running when their owner goes away: they run on and
//! are cancelled at their next suspension (suspended ones are destroyed at
//! once: `send_task_cancellation.rs`).

mod common;

use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::Arc;
use std::task::{Context, Waker};
use std::time::{Duration, Instant};

use common::{eventually, poll_once, Counted, Log};
use coro::handle::{AsyncBacktrace, CurrentBacktrace};
use coro::sync::Event;
use coro::{co_await, co_return, sync_wait, when_all, when_all_ready, when_any, SendTask, Task, ThreadPool};

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

/// Reuses freed blocks of the sizes the stand-ins have, with bytes that
/// are no valid pointer: a walk that reads a freed stand-in then crashes
/// even without a sanitizer (under one it is reported at the read).
fn scribble_over_freed_blocks() -> Vec<Vec<u8>> {
    (0..64).flat_map(|_| (16..=256).step_by(8).map(|n| vec![0xA5u8; n])).collect()
}

// ---------------------------------------------------------------------------
// The async backtrace of a detached SendTask does not walk into the
// continuation it was given, which its owner freed when it went away.
// ---------------------------------------------------------------------------

/// Hops onto the pool, blocks its worker until released, then walks its
/// async backtrace and reports how many frames it found.
#[coro::coroutine]
fn walks_after_release(
    pool: Arc<ThreadPool>,
    c: Counted,
    running: Sender<()>,
    release: Receiver<()>,
    frames: Sender<usize>,
) -> SendTask<Counted> {
    co_await!(pool.schedule());
    running.send(()).unwrap();
    release.recv().unwrap();
    let bt: AsyncBacktrace = co_await!(CurrentBacktrace);
    frames.send(bt.frames().len()).unwrap();
    co_return!(c)
}

#[coro::coroutine]
fn task_awaits_walker(
    pool: Arc<ThreadPool>,
    c: Counted,
    running: Sender<()>,
    release: Receiver<()>,
    frames: Sender<usize>,
) -> Task<()> {
    let _ = co_await!(walks_after_release(pool, c, running, release, frames));
    co_return!(())
}

#[test]
fn a_detached_send_task_s_backtrace_does_not_walk_into_the_hop_its_gone_task_gave_it() {
    let log = Log::new();
    let pool = Arc::new(ThreadPool::new(2));
    let (running_tx, running_rx) = channel();
    let (release_tx, release_rx) = channel();
    let (frames_tx, frames_rx) = channel();
    let mut fut =
        Box::pin(task_awaits_walker(pool.clone(), log.counted("v"), running_tx, release_rx, frames_tx).into_future());
    assert!(!poll_once(fut.as_mut()));
    running_rx.recv().unwrap();
    // The awaiting `Task` goes: the walker is detached, its hop freed.
    drop(fut);
    let scribbled = scribble_over_freed_blocks();
    release_tx.send(()).unwrap();
    // Only the walker itself: nobody awaits it any more.
    assert_eq!(frames_rx.recv_timeout(Duration::from_secs(10)).unwrap(), 1);
    drop(scribbled);
    eventually("the detached walker frees itself", || log.dropped() == 1);
    log.assert_each_dropped_once();
    assert_eq!(pool.panics(), 0);
}

#[test]
fn a_detached_send_task_future_s_task_does_not_walk_into_the_gone_future_s_stand_in() {
    let log = Log::new();
    let pool = Arc::new(ThreadPool::new(2));
    let (running_tx, running_rx) = channel();
    let (release_tx, release_rx) = channel();
    let (frames_tx, frames_rx) = channel();
    let mut fut =
        Box::pin(walks_after_release(pool.clone(), log.counted("v"), running_tx, release_rx, frames_tx).into_future());
    assert!(!poll_once(fut.as_mut()));
    running_rx.recv().unwrap();
    drop(fut);
    let scribbled = scribble_over_freed_blocks();
    release_tx.send(()).unwrap();
    assert_eq!(frames_rx.recv_timeout(Duration::from_secs(10)).unwrap(), 1);
    drop(scribbled);
    eventually("the detached walker frees itself", || log.dropped() == 1);
    log.assert_each_dropped_once();
}

/// Waits for `gate`, then finishes.
#[coro::coroutine]
fn gated(gate: Arc<Event>, c: Counted) -> SendTask<Counted> {
    co_await!(gate.wait());
    co_return!(c)
}

#[coro::coroutine]
fn walker_loses(
    pool: Arc<ThreadPool>,
    log: Log,
    gate: Arc<Event>,
    running: Sender<()>,
    release: Receiver<()>,
    frames: Sender<usize>,
) -> Task<usize> {
    let tasks = vec![
        walks_after_release(pool, log.counted("loser"), running, release, frames),
        gated(gate, log.counted("winner")),
    ];
    let (w, v) = co_await!(when_any(tasks));
    drop(v);
    co_return!(w)
}

#[test]
fn a_detached_when_any_loser_s_backtrace_does_not_walk_into_the_gone_block() {
    let log = Log::new();
    let pool = Arc::new(ThreadPool::new(2));
    let gate = Arc::new(Event::new());
    let (running_tx, running_rx) = channel();
    let (release_tx, release_rx) = channel();
    let (frames_tx, frames_rx) = channel();
    let mut fut = Box::pin(
        walker_loses(pool.clone(), log.clone(), gate.clone(), running_tx, release_rx, frames_tx).into_future(),
    );
    assert!(!poll_once(fut.as_mut()));
    running_rx.recv().unwrap();
    // The winner finishes here; the loser, blocked on the worker, is
    // detached; the race is over and its block freed.
    gate.set();
    assert!(poll_once(fut.as_mut()));
    drop(fut);
    let scribbled = scribble_over_freed_blocks();
    release_tx.send(()).unwrap();
    assert_eq!(frames_rx.recv_timeout(Duration::from_secs(10)).unwrap(), 1);
    drop(scribbled);
    eventually("the detached loser frees itself", || log.dropped() == 2);
    log.assert_each_dropped_once();
}

/// Backtraces that stay valid keep working: a `SendTask` awaited by a
/// `SendTask` reports it (the awaiting frame cannot be freed while the
/// task it awaits runs), also when a `Task` awaits the outer one.
#[coro::coroutine]
fn send_leaf() -> SendTask<AsyncBacktrace> {
    let bt = co_await!(CurrentBacktrace);
    co_return!(bt)
}

#[coro::coroutine]
fn send_middle() -> SendTask<AsyncBacktrace> {
    let bt = co_await!(send_leaf());
    co_return!(bt)
}

#[coro::coroutine]
fn task_top() -> Task<AsyncBacktrace> {
    let bt = co_await!(send_middle());
    co_return!(bt)
}

#[coro::coroutine]
fn local_root() -> Task<Vec<&'static str>> {
    let bt = co_await!(send_leaf());
    co_return!(bt.frames().iter().map(|p| p.function()).collect())
}

#[test]
fn an_async_backtrace_stops_where_a_task_awaits_a_send_task() {
    // The `Task` awaiting the `SendTask` could be destroyed on its own
    // thread while the `SendTask` walks the chain on another one: the walk
    // does not cross that link.
    assert_eq!(sync_wait(local_root()), ["send_leaf"]);
}

#[test]
fn a_send_task_awaited_by_a_send_task_still_reports_it_in_its_backtrace() {
    let bt = sync_wait(send_middle());
    let names: Vec<_> = bt.frames().iter().map(|p| p.function()).collect();
    assert_eq!(names, ["send_leaf", "send_middle"]);
    let bt = sync_wait(task_top());
    let names: Vec<_> = bt.frames().iter().map(|p| p.function()).collect();
    assert!(names.starts_with(&["send_leaf", "send_middle"]), "{names:?}");
}

// ---------------------------------------------------------------------------
// A local `when_any` gives its losers up in child order, whether they were
// started or not: the order in which a `Task`'s values are dropped is
// observable.
// ---------------------------------------------------------------------------

mod local_order {
    use std::rc::Rc;

    use super::common::{Counted, Log};
    use coro::sync::local::Event;
    use coro::{co_await, co_return, sync_wait, when_any, Task};

    #[coro::coroutine]
    fn waits(e: Rc<Event>, c: Counted) -> Task<Counted> {
        co_await!(e.wait());
        co_return!(c)
    }

    /// Wins `waits` the race from inside, then finishes itself: a loser
    /// that was running when the winner arrived, holding its result.
    #[coro::coroutine]
    fn sets(e: Rc<Event>, c: Counted) -> Task<Counted> {
        e.set();
        co_return!(c)
    }

    #[coro::coroutine]
    fn never_started(c: Counted) -> Task<Counted> {
        co_return!(c)
    }

    #[coro::coroutine]
    fn race(log: Log) -> Task<usize> {
        let e = Rc::new(Event::new());
        let tasks =
            vec![waits(e.clone(), log.counted("a")), sets(e, log.counted("b")), never_started(log.counted("c"))];
        let (w, v) = co_await!(when_any(tasks));
        log.push(format!("won {}", v.name()));
        drop(v);
        co_return!(w)
    }

    #[test]
    fn a_local_when_any_frees_its_children_in_child_order() {
        let log = Log::new();
        assert_eq!(sync_wait(race(log.clone())), 0);
        // With the combinator: `b`, the finished loser's result, then `c`,
        // the parameter of the one never started (child order); then the
        // winner's value.
        assert_eq!(log.drop_order(), ["b", "c", "a"]);
        log.assert_each_dropped_once();
    }
}

// ---------------------------------------------------------------------------
// Stress: owners going away while their SendTasks finish on a two-worker
// pool. Each test runs rounds until a time budget is spent (so that it
// stays bounded under valgrind too), then checks that every `Counted` was
// dropped exactly once.
// ---------------------------------------------------------------------------

mod stress {
    use super::*;
    use common::quiet_planned_panics;
    use std::panic::{catch_unwind, AssertUnwindSafe};

    /// Rounds per test at most, and the time they may take.
    const ROUNDS: u32 = 3000;
    const BUDGET: Duration = Duration::from_millis(1500);

    /// A small deterministic generator (xorshift), one per round.
    pub struct Rng(u64);
    impl Rng {
        pub fn new(seed: u32) -> Rng {
            Rng(0x9E37_79B9_7F4A_7C15 ^ (u64::from(seed) + 1).wrapping_mul(0x2545_F491_4F6C_DD1D))
        }
        pub fn next(&mut self) -> u32 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            (self.0 >> 32) as u32
        }
        pub fn below(&mut self, n: u32) -> u32 {
            self.next() % n
        }
    }

    pub fn spin(n: u32) -> u32 {
        let mut x = 0u32;
        for i in 0..n {
            x = std::hint::black_box(x.wrapping_add(i));
        }
        x
    }

    /// Runs `round` until `ROUNDS` are done or the budget is spent; returns
    /// how many ran.
    pub fn rounds(mut round: impl FnMut(u32)) -> u32 {
        let start = Instant::now();
        let mut n = 0;
        while n < ROUNDS && (n < 8 || start.elapsed() < BUDGET) {
            round(n);
            n += 1;
        }
        n
    }

    /// What a child does: finish at once, hop onto the pool (and maybe
    /// spin and hop again), maybe panic at the end.
    #[derive(Clone, Copy)]
    pub struct Plan {
        pub hops: u32,
        pub spins: u32,
        pub panics: bool,
    }

    impl Plan {
        pub fn random(rng: &mut Rng, may_panic: bool) -> Plan {
            Plan { hops: rng.below(3), spins: rng.below(4000), panics: may_panic && rng.below(5) == 0 }
        }
    }

    #[coro::coroutine]
    pub fn child(pool: Arc<ThreadPool>, c: Counted, plan: Plan) -> SendTask<Counted> {
        for _ in 0..plan.hops {
            co_await!(pool.schedule());
            spin(plan.spins);
        }
        if plan.panics {
            panic!("[planned] child panics");
        }
        co_return!(c)
    }

    /// Polls `fut` once, lets the pool run for a random while (polling
    /// again now and then), then drops it: before, while or after its
    /// tasks finish.
    pub fn poll_then_drop<F: Future + Unpin>(mut fut: F, rng: &mut Rng) {
        let mut cx = Context::from_waker(Waker::noop());
        let mut ready = catch_unwind(AssertUnwindSafe(|| Pin::new(&mut fut).poll(&mut cx).is_ready())).unwrap_or(true);
        let wait = rng.below(3);
        for _ in 0..wait {
            if ready {
                break;
            }
            spin(rng.below(6000));
            ready = catch_unwind(AssertUnwindSafe(|| Pin::new(&mut fut).poll(&mut cx).is_ready())).unwrap_or(true);
        }
        drop(fut);
    }

    pub fn settle(log: &Log, pool: &ThreadPool) {
        eventually("every value dropped", || log.dropped() == log.created());
        log.assert_each_dropped_once();
        assert_eq!(pool.panics(), 0);
    }

    // -- TaskAwaiter: a Task awaiting a SendTask through its hop ------------

    #[coro::coroutine]
    fn task_awaits(pool: Arc<ThreadPool>, c: Counted, plan: Plan) -> Task<usize> {
        let v = co_await!(child(pool, c, plan));
        co_return!(v.name().len())
    }

    #[test]
    fn a_task_dropped_while_the_send_task_it_awaits_finishes() {
        quiet_planned_panics();
        let log = Log::new();
        let pool = Arc::new(ThreadPool::new(2));
        let n = rounds(|round| {
            let mut rng = Rng::new(round);
            let plan = Plan::random(&mut rng, true);
            let fut = Box::pin(task_awaits(pool.clone(), log.counted(format!("t{round}")), plan).into_future());
            poll_then_drop(fut, &mut rng);
        });
        settle(&log, &pool);
        assert_eq!(log.created(), n as usize);
    }

    // -- SendTask awaiting SendTask: the awaiting one detached too -----------

    #[coro::coroutine]
    fn send_awaits(pool: Arc<ThreadPool>, c: Counted, inner: Counted, plan: Plan) -> SendTask<Counted> {
        co_await!(pool.schedule());
        let v = co_await!(child(pool, inner, plan));
        drop(v);
        co_return!(c)
    }

    #[test]
    fn a_send_task_future_dropped_while_its_chain_finishes() {
        quiet_planned_panics();
        let log = Log::new();
        let pool = Arc::new(ThreadPool::new(2));
        let (to_dropper, dropper_rx) = channel::<Pin<Box<dyn Future<Output = Counted> + Send>>>();
        // Half the futures are dropped on another thread than the one that
        // polled them.
        let dropper = std::thread::spawn(move || {
            for fut in dropper_rx {
                drop(fut);
            }
        });
        rounds(|round| {
            let mut rng = Rng::new(round);
            let plan = Plan::random(&mut rng, true);
            let task = if rng.below(2) == 0 {
                send_awaits(pool.clone(), log.counted(format!("o{round}")), log.counted(format!("i{round}")), plan)
            } else {
                child(pool.clone(), log.counted(format!("c{round}")), plan)
            };
            let mut fut: Pin<Box<dyn Future<Output = Counted> + Send>> = Box::pin(task.into_future());
            let mut cx = Context::from_waker(Waker::noop());
            let _ = catch_unwind(AssertUnwindSafe(|| fut.as_mut().poll(&mut cx).is_ready()));
            spin(rng.below(6000));
            if rng.below(2) == 0 {
                to_dropper.send(fut).unwrap();
            } else {
                drop(fut);
            }
        });
        drop(to_dropper);
        dropper.join().unwrap();
        settle(&log, &pool);
    }

    // -- when_all: the join block -------------------------------------------

    #[coro::coroutine]
    fn task_joins(pool: Arc<ThreadPool>, log: Log, round: u32, plans: Vec<Plan>) -> Task<usize> {
        let tasks =
            plans.into_iter().enumerate().map(|(k, p)| child(pool.clone(), log.counted(format!("j{round}.{k}")), p));
        let all = co_await!(when_all_ready(tasks.collect::<Vec<_>>()));
        co_return!(all.len())
    }

    #[coro::coroutine]
    fn send_joins(pool: Arc<ThreadPool>, log: Log, round: u32, plans: Vec<Plan>) -> SendTask<usize> {
        let mut tasks =
            plans.into_iter().enumerate().map(|(k, p)| child(pool.clone(), log.counted(format!("s{round}.{k}")), p));
        let (a, b, c) = (tasks.next().unwrap(), tasks.next().unwrap(), tasks.next().unwrap());
        let (a, b, c) = co_await!(when_all((a, b, c)));
        co_return!(a.name().len() + b.name().len() + c.name().len())
    }

    #[test]
    fn a_when_all_destroyed_while_its_children_finish() {
        quiet_planned_panics();
        let log = Log::new();
        let pool = Arc::new(ThreadPool::new(2));
        rounds(|round| {
            let mut rng = Rng::new(round);
            let plans: Vec<Plan> = (0..3).map(|_| Plan::random(&mut rng, true)).collect();
            if rng.below(2) == 0 {
                poll_then_drop(Box::pin(task_joins(pool.clone(), log.clone(), round, plans).into_future()), &mut rng);
            } else {
                poll_then_drop(Box::pin(send_joins(pool.clone(), log.clone(), round, plans).into_future()), &mut rng);
            }
        });
        settle(&log, &pool);
    }

    // -- when_any: the winner racing the awaiter's drop ---------------------

    #[coro::coroutine]
    fn task_races(pool: Arc<ThreadPool>, log: Log, round: u32, plans: Vec<Plan>) -> Task<usize> {
        let tasks =
            plans.into_iter().enumerate().map(|(k, p)| child(pool.clone(), log.counted(format!("a{round}.{k}")), p));
        let (w, v) = co_await!(when_any(tasks.collect::<Vec<_>>()));
        drop(v);
        co_return!(w)
    }

    #[coro::coroutine]
    fn send_races(pool: Arc<ThreadPool>, log: Log, round: u32, plans: Vec<Plan>) -> SendTask<usize> {
        let tasks =
            plans.into_iter().enumerate().map(|(k, p)| child(pool.clone(), log.counted(format!("b{round}.{k}")), p));
        let (w, v) = co_await!(when_any(tasks.collect::<Vec<_>>()));
        drop(v);
        co_return!(w)
    }

    #[test]
    fn a_when_any_destroyed_while_its_winner_arrives() {
        quiet_planned_panics();
        let log = Log::new();
        let pool = Arc::new(ThreadPool::new(2));
        rounds(|round| {
            let mut rng = Rng::new(round);
            let n = 1 + rng.below(4);
            let plans: Vec<Plan> = (0..n).map(|_| Plan::random(&mut rng, true)).collect();
            if rng.below(2) == 0 {
                poll_then_drop(Box::pin(task_races(pool.clone(), log.clone(), round, plans).into_future()), &mut rng);
            } else {
                poll_then_drop(Box::pin(send_races(pool.clone(), log.clone(), round, plans).into_future()), &mut rng);
            }
        });
        settle(&log, &pool);
    }

    #[test]
    fn when_any_races_run_to_the_end_on_every_thread() {
        // Not dropped early: the awaiting coroutine takes the winner and
        // gives the losers up, from whichever thread the winner finished on.
        quiet_planned_panics();
        let log = Log::new();
        let pool = Arc::new(ThreadPool::new(2));
        rounds(|round| {
            let mut rng = Rng::new(round + 10_000);
            let n = 1 + rng.below(4);
            let plans: Vec<Plan> = (0..n).map(|_| Plan::random(&mut rng, false)).collect();
            let w = if rng.below(2) == 0 {
                sync_wait(task_races(pool.clone(), log.clone(), round, plans))
            } else {
                sync_wait(send_races(pool.clone(), log.clone(), round, plans))
            };
            assert!(w < n as usize);
        });
        settle(&log, &pool);
    }

    // -- when_any with cancellation: losers resumed by the winner's stub ----

    #[coro::coroutine]
    fn cooperative(
        pool: Arc<ThreadPool>,
        token: coro::cancellation::CancellationToken,
        c: Counted,
        plan: Plan,
        waits: bool,
    ) -> SendTask<Counted> {
        co_await!(pool.schedule());
        if waits {
            // Resumed by the winner's cancellation request, on its thread.
            co_await!(token.cancelled());
        } else {
            while !token.is_cancellation_requested() && spin(plan.spins) != 1 {
                co_await!(pool.schedule());
            }
        }
        co_return!(c)
    }

    #[coro::coroutine]
    fn cancelling_race(
        pool: Arc<ThreadPool>,
        log: Log,
        source: coro::cancellation::CancellationSource,
        round: u32,
        plans: Vec<Plan>,
    ) -> Task<usize> {
        let mut tasks = vec![child(pool.clone(), log.counted(format!("k{round}.w")), plans[0])];
        for (k, p) in plans.iter().enumerate().skip(1) {
            let c = log.counted(format!("k{round}.{k}"));
            tasks.push(cooperative(pool.clone(), source.token(), c, *p, k % 2 == 0));
        }
        let (w, v) = co_await!(when_any(tasks).cancel_on_completion(&source));
        drop(v);
        co_return!(w)
    }

    #[test]
    fn a_cancelling_when_any_destroyed_while_its_losers_stop() {
        quiet_planned_panics();
        let log = Log::new();
        let pool = Arc::new(ThreadPool::new(2));
        rounds(|round| {
            let mut rng = Rng::new(round + 40_000);
            let n = 2 + rng.below(3);
            let plans: Vec<Plan> = (0..n).map(|_| Plan::random(&mut rng, false)).collect();
            let source = coro::cancellation::CancellationSource::new();
            let fut = Box::pin(cancelling_race(pool.clone(), log.clone(), source.clone(), round, plans).into_future());
            poll_then_drop(fut, &mut rng);
            // Detached losers that wait for the token (the race was
            // destroyed before a winner cancelled them) are let go.
            source.request_cancellation();
        });
        settle(&log, &pool);
    }

    // -- the hop brought home on its thread, or from elsewhere ---------------

    #[coro::coroutine]
    fn waits_for(gate: Arc<Event>, c: Counted) -> SendTask<Counted> {
        co_await!(gate.wait());
        co_return!(c)
    }

    #[coro::coroutine]
    fn task_awaits_gate(gate: Arc<Event>, c: Counted) -> Task<usize> {
        let v = co_await!(waits_for(gate, c));
        co_return!(v.name().len())
    }

    #[coro::coroutine]
    fn opens(gate: Arc<Event>) -> SendTask<()> {
        gate.set();
        co_return!(())
    }

    #[test]
    fn a_task_dropped_while_its_send_task_is_released_here_or_on_a_worker() {
        let log = Log::new();
        let pool = Arc::new(ThreadPool::new(2));
        rounds(|round| {
            let mut rng = Rng::new(round + 20_000);
            let gate = Arc::new(Event::new());
            let mut fut = Box::pin(task_awaits_gate(gate.clone(), log.counted(format!("h{round}"))).into_future());
            assert!(!poll_once(fut.as_mut()));
            match rng.below(4) {
                // Released here: the task finishes on the home thread and
                // its hop transfers straight back.
                0 => {
                    gate.set();
                    assert!(poll_once(fut.as_mut()));
                }
                // Released here after the owner went away.
                1 => {
                    drop(fut);
                    gate.set();
                    return;
                }
                // Released on a worker, racing the owner going away.
                _ => {
                    pool.spawn(opens(gate.clone()));
                    spin(rng.below(6000));
                    if rng.below(2) == 0 {
                        eventually("the gate opened", || gate.is_set());
                        // Woken home: the queued wake-up runs in the poll.
                        let _ = poll_once(fut.as_mut());
                    }
                }
            }
            drop(fut);
        });
        settle(&log, &pool);
    }

    // -- owners that never give their task up: shared tasks, sync_wait, spawn

    #[coro::coroutine]
    fn shared_body(pool: Arc<ThreadPool>, log: Log, round: u32, plans: Vec<Plan>) -> coro::SendSharedTask<usize> {
        let tasks =
            plans.into_iter().enumerate().map(|(k, p)| child(pool.clone(), log.counted(format!("x{round}.{k}")), p));
        let (w, v) = co_await!(when_any(tasks.collect::<Vec<_>>()));
        drop(v);
        co_return!(w)
    }

    #[test]
    fn shared_tasks_and_spawned_tasks_racing_on_the_pool() {
        let log = Log::new();
        let pool = Arc::new(ThreadPool::new(2));
        let finished = Arc::new(AtomicUsize::new(0));
        let n = rounds(|round| {
            let mut rng = Rng::new(round + 30_000);
            let plans: Vec<Plan> = (0..3).map(|_| Plan::random(&mut rng, false)).collect();
            let shared = shared_body(pool.clone(), log.clone(), round, plans.clone());
            let other = {
                let shared = shared.clone();
                std::thread::spawn(move || sync_wait(shared))
            };
            let here = sync_wait(&shared);
            assert_eq!(other.join().unwrap(), here);
            pool.spawn(counts(send_races(pool.clone(), log.clone(), round + 1_000_000, plans), finished.clone()));
        });
        eventually("every spawned race finished", || finished.load(Ordering::Relaxed) == n as usize);
        settle(&log, &pool);
    }

    #[coro::coroutine]
    fn counts(race: SendTask<usize>, finished: Arc<AtomicUsize>) -> SendTask<()> {
        co_await!(race);
        finished.fetch_add(1, Ordering::Relaxed);
        co_return!(())
    }
}

// ---------------------------------------------------------------------------
// A `Task` future dropped while its task is suspended, the task's
// destruction panicking (a local's drop), still frees the stand-in the task
// was given, with the waker it holds.
// ---------------------------------------------------------------------------

mod panicking_destruction {
    use std::future::{Future, IntoFuture};
    use std::panic::{catch_unwind, AssertUnwindSafe};
    use std::rc::Rc;
    use std::sync::Arc;
    use std::task::Context;

    use super::common::{quiet_planned_panics, WakeCount};
    use coro::sync::local::Event;
    use coro::{co_await, co_return, Task};

    struct PanicsOnDrop;
    impl Drop for PanicsOnDrop {
        fn drop(&mut self) {
            panic!("[planned] a local's drop panics");
        }
    }

    #[coro::coroutine]
    fn holds_a_panicking_local(e: Rc<Event>) -> Task<()> {
        let _guard = PanicsOnDrop;
        co_await!(e.wait());
        co_return!(())
    }

    #[test]
    fn a_task_future_whose_task_panics_while_destroyed_frees_its_stand_in() {
        quiet_planned_panics();
        let wakes = WakeCount::new();
        let waker = wakes.waker();
        let e = Rc::new(Event::new());
        let mut fut = Box::pin(holds_a_panicking_local(e).into_future());
        assert!(fut.as_mut().poll(&mut Context::from_waker(&waker)).is_pending());
        drop(waker);
        assert!(catch_unwind(AssertUnwindSafe(|| drop(fut))).is_err());
        // Neither the stand-in nor the thread's queue keeps the waker.
        assert_eq!(Arc::strong_count(&wakes), 1);
    }
}

// ---------------------------------------------------------------------------
// A combinator destroyed with its awaiting coroutine frees its children; a
// finished child's result (or a destroyed child's local) may, in its drop,
// release a sibling, which finishes at once and is the last one: its
// stand-in must not resume the awaiting coroutine in the middle of its
// destruction.
// ---------------------------------------------------------------------------

mod reentrant_last_child {
    use std::future::IntoFuture;
    use std::rc::Rc;
    use std::sync::Arc;

    use super::common::{poll_once, quiet_planned_panics, Counted, Log};
    use coro::{co_await, co_return, when_all, SendTask, Task};

    /// Sets its event when dropped.
    struct SetsOnDrop<E: Setter>(E);
    trait Setter {
        fn set_it(&self);
    }
    impl Setter for Rc<coro::sync::local::Event> {
        fn set_it(&self) {
            self.set()
        }
    }
    impl Setter for Arc<coro::sync::Event> {
        fn set_it(&self) {
            self.set()
        }
    }
    impl<E: Setter> Drop for SetsOnDrop<E> {
        fn drop(&mut self) {
            self.0.set_it();
        }
    }

    type LocalEvent = Rc<coro::sync::local::Event>;

    #[coro::coroutine]
    fn finishes_with(e: LocalEvent) -> Task<SetsOnDrop<LocalEvent>> {
        co_return!(SetsOnDrop(e))
    }

    #[coro::coroutine]
    fn waits(e: LocalEvent, c: Counted) -> Task<Counted> {
        co_await!(e.wait());
        co_return!(c)
    }

    #[coro::coroutine]
    fn joins(e: LocalEvent, log: Log) -> Task<()> {
        let (a, b) = co_await!(when_all((finishes_with(e.clone()), waits(e, log.counted("b")))));
        log.push("resumed");
        drop((a, b));
        co_return!(())
    }

    #[test]
    fn a_when_all_destroyed_is_not_resumed_by_a_child_its_destruction_releases() {
        quiet_planned_panics();
        let log = Log::new();
        let e = Rc::new(coro::sync::local::Event::new());
        let mut fut = Box::pin(joins(e, log.clone()).into_future());
        assert!(!poll_once(fut.as_mut()));
        // The first child has finished; destroying the join drops its
        // result, which releases the second, the last one.
        drop(fut);
        assert!(!log.events().contains(&"resumed".to_owned()), "{:?}", log.events());
        log.assert_each_dropped_once();
    }

    type SendEvent = Arc<coro::sync::Event>;

    #[coro::coroutine]
    fn send_finishes_with(e: SendEvent) -> SendTask<SetsOnDrop<SendEvent>> {
        co_return!(SetsOnDrop(e))
    }

    #[coro::coroutine]
    fn send_waits(e: SendEvent, c: Counted) -> SendTask<Counted> {
        co_await!(e.wait());
        co_return!(c)
    }

    #[coro::coroutine]
    fn joins_send_tasks(e: SendEvent, log: Log) -> Task<()> {
        let (a, b) = co_await!(when_all((send_finishes_with(e.clone()), send_waits(e, log.counted("b")))));
        log.push("resumed");
        drop((a, b));
        co_return!(())
    }

    #[test]
    fn a_when_all_of_send_tasks_destroyed_is_not_resumed_through_its_hop() {
        quiet_planned_panics();
        let log = Log::new();
        let e = Arc::new(coro::sync::Event::new());
        let mut fut = Box::pin(joins_send_tasks(e, log.clone()).into_future());
        assert!(!poll_once(fut.as_mut()));
        drop(fut);
        assert!(!log.events().contains(&"resumed".to_owned()), "{:?}", log.events());
        log.assert_each_dropped_once();
    }
}
