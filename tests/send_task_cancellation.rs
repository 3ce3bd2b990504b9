//! A started `SendTask` whose owner goes away (a `when_any` loser, a task
//! future dropped, an awaiting coroutine destroyed) is destroyed **before
//! the owner's drop returns** when the awaiter it is suspended on can
//! withdraw its registration (`Awaiter::await_cancel`): every `coro::sync`
//! wait, a `SendSharedTask` wait, a Rust future, a `SendTask` it awaits
//! (recursively), a combinator of `SendTask`s, a cancellation token, a pool
//! join. Each frame's locals and parameters are dropped exactly once, and
//! counted right after the owner went away; a wait on something nobody ever
//! releases leaks nothing (valgrind runs this binary too).
//!
//! The stress tests race owners going away against releases on another
//! thread (a mutex unlock, a semaphore release, a channel send, an event
//! set) and check that whatever was granted is handed on.

mod common;

use std::future::IntoFuture;
use std::sync::{Arc, Barrier};

use common::{poll_once, Counted, Log};
use coro::cancellation::{CancellationSource, CancellationToken};
use coro::sync::{AutoResetEvent, Channel, Condvar, Event, Latch, Mutex, RwLock, Semaphore, SingleConsumerEvent};
use coro::{
    co_await, co_return, sync_wait, when_all, when_all_ready, when_any, SendSharedTask, SendTask, Task, ThreadPool,
};

#[coro::coroutine]
fn quick() -> SendTask<u32> {
    co_return!(1)
}

/// `loser` against `quick()`: `quick` wins, `loser` (suspended) is given up.
#[coro::coroutine]
fn race(loser: SendTask<u32>) -> Task<u32> {
    let (i, v) = co_await!(when_any(vec![loser, quick()]));
    assert_eq!(i, 1);
    co_return!(v)
}

/// An owner that is itself a coroutine: destroyed while it awaits `t`.
#[coro::coroutine]
fn owner(t: SendTask<u32>) -> Task<u32> {
    co_return!(co_await!(t))
}

/// The three ways a started `SendTask`'s owner goes away, each asserting
/// that the task's two `Counted`s (a parameter and a local) are dropped by
/// the time it is gone. `make` builds the task (suspended at its first
/// `co_await!`, on something never released).
fn destroyed_with_each_owner(what: &str, mut make: impl FnMut(Log) -> SendTask<u32>) {
    // A `when_any` loser.
    let log = Log::new();
    assert_eq!(sync_wait(race(make(log.clone()))), 1, "{what}");
    assert_eq!(log.dropped(), 2, "{what}: the loser is destroyed before the when_any resumes its caller");
    assert_eq!(log.count("ran on"), 0, "{what}");
    log.assert_each_dropped_once();

    // A task future polled once, then dropped.
    let log = Log::new();
    let mut fut = Box::pin(make(log.clone()).into_future());
    assert!(!poll_once(fut.as_mut()), "{what}: suspended");
    assert_eq!(log.dropped(), 0, "{what}");
    drop(fut);
    assert_eq!(log.dropped(), 2, "{what}: destroyed before the future's drop returns");
    log.assert_each_dropped_once();

    // A `Task` awaiting it, destroyed while it waits.
    let log = Log::new();
    let mut fut = Box::pin(owner(make(log.clone())).into_future());
    assert!(!poll_once(fut.as_mut()), "{what}: suspended");
    drop(fut);
    assert_eq!(log.dropped(), 2, "{what}: destroyed with its awaiting coroutine");
    assert_eq!(log.count("ran on"), 0, "{what}");
    log.assert_each_dropped_once();
}

// ---------------------------------------------------------------------------
// coro::sync waits
// ---------------------------------------------------------------------------

#[coro::coroutine]
fn on_event(ev: Arc<Event>, log: Log, p: Counted) -> SendTask<u32> {
    let local = log.counted("local");
    co_await!(ev.wait());
    log.push("ran on");
    drop((local, p));
    co_return!(2)
}

#[test]
fn a_send_task_waiting_on_an_event_nobody_sets_is_destroyed_when_its_owner_goes_away() {
    let ev = Arc::new(Event::new());
    destroyed_with_each_owner("event", |log| on_event(ev.clone(), log.clone(), log.counted("param")));
    ev.set(); // nobody waits: nothing runs
}

#[coro::coroutine]
fn on_auto_reset(ev: Arc<AutoResetEvent>, log: Log, p: Counted) -> SendTask<u32> {
    let local = log.counted("local");
    co_await!(ev.wait());
    log.push("ran on");
    drop((local, p));
    co_return!(2)
}

#[test]
fn a_send_task_waiting_on_an_auto_reset_event_is_destroyed_when_its_owner_goes_away() {
    let ev = Arc::new(AutoResetEvent::new());
    destroyed_with_each_owner("auto-reset event", |log| on_auto_reset(ev.clone(), log.clone(), log.counted("param")));
    ev.set();
    assert!(ev.is_set(), "no waiter took the set");
}

#[coro::coroutine]
fn on_single_consumer(ev: Arc<SingleConsumerEvent>, log: Log, p: Counted) -> SendTask<u32> {
    let local = log.counted("local");
    co_await!(ev.wait());
    log.push("ran on");
    drop((local, p));
    co_return!(2)
}

#[test]
fn a_send_task_waiting_on_a_single_consumer_event_is_destroyed_when_its_owner_goes_away() {
    let ev = Arc::new(SingleConsumerEvent::new());
    destroyed_with_each_owner("single-consumer event", |log| {
        on_single_consumer(ev.clone(), log.clone(), log.counted("param"))
    });
}

#[coro::coroutine]
fn on_mutex(m: Arc<Mutex<u32>>, log: Log, p: Counted) -> SendTask<u32> {
    let local = log.counted("local");
    let g = co_await!(m.lock());
    log.push("ran on");
    drop((local, p));
    co_return!(*g)
}

#[test]
fn a_send_task_waiting_for_a_mutex_is_destroyed_when_its_owner_goes_away() {
    let m = Arc::new(Mutex::new(7));
    let held = m.try_lock().unwrap();
    destroyed_with_each_owner("mutex", |log| on_mutex(m.clone(), log.clone(), log.counted("param")));
    drop(held);
    assert!(!m.is_locked(), "no withdrawn waiter was handed the lock");
}

#[coro::coroutine]
fn on_semaphore(s: Arc<Semaphore>, log: Log, p: Counted) -> SendTask<u32> {
    let local = log.counted("local");
    let permit = co_await!(s.acquire());
    log.push("ran on");
    drop((local, p, permit));
    co_return!(2)
}

#[test]
fn a_send_task_waiting_for_a_semaphore_permit_is_destroyed_when_its_owner_goes_away() {
    let s = Arc::new(Semaphore::new(0));
    destroyed_with_each_owner("semaphore", |log| on_semaphore(s.clone(), log.clone(), log.counted("param")));
    s.release(1);
    assert_eq!(s.available_permits(), 1, "no withdrawn waiter took the permit");
}

#[coro::coroutine]
fn on_write(l: Arc<RwLock<u32>>, log: Log, p: Counted) -> SendTask<u32> {
    let local = log.counted("local");
    let g = co_await!(l.write());
    log.push("ran on");
    drop((local, p));
    co_return!(*g)
}

#[coro::coroutine]
fn on_read(l: Arc<RwLock<u32>>, log: Log, p: Counted) -> SendTask<u32> {
    let local = log.counted("local");
    let g = co_await!(l.read());
    log.push("ran on");
    drop((local, p));
    co_return!(*g)
}

#[test]
fn a_send_task_waiting_for_a_read_write_lock_is_destroyed_when_its_owner_goes_away() {
    let l = Arc::new(RwLock::new(3));
    let reading = l.try_read().unwrap();
    destroyed_with_each_owner("rw write", |log| on_write(l.clone(), log.clone(), log.counted("param")));
    // No writer is queued any more: another reader gets in at once.
    assert!(l.try_read().is_some());
    drop(reading);
    let writing = l.try_write().unwrap();
    destroyed_with_each_owner("rw read", |log| on_read(l.clone(), log.clone(), log.counted("param")));
    drop(writing);
    assert!(l.try_write().is_some(), "free: no withdrawn waiter holds it");
}

#[coro::coroutine]
fn on_condvar(m: Arc<Mutex<bool>>, cv: Arc<Condvar>, log: Log, p: Counted) -> SendTask<u32> {
    let local = log.counted("local");
    let mut g = co_await!(m.lock());
    while !*g {
        g = co_await!(cv.wait(g));
    }
    log.push("ran on");
    drop((local, p));
    co_return!(2)
}

#[test]
fn a_send_task_waiting_on_a_condition_variable_is_destroyed_when_its_owner_goes_away() {
    let m = Arc::new(Mutex::new(false));
    let cv = Arc::new(Condvar::new());
    destroyed_with_each_owner("condvar", |log| on_condvar(m.clone(), cv.clone(), log.clone(), log.counted("param")));
    cv.notify_all();
    assert!(!m.is_locked());
}

#[coro::coroutine]
fn on_latch(l: Arc<Latch>, log: Log, p: Counted) -> SendTask<u32> {
    let local = log.counted("local");
    co_await!(l.wait());
    log.push("ran on");
    drop((local, p));
    co_return!(2)
}

#[test]
fn a_send_task_waiting_on_a_latch_is_destroyed_when_its_owner_goes_away() {
    let l = Arc::new(Latch::new(1));
    destroyed_with_each_owner("latch", |log| on_latch(l.clone(), log.clone(), log.counted("param")));
    l.count_down();
}

#[coro::coroutine]
fn on_recv(ch: Arc<Channel<Counted>>, log: Log, p: Counted) -> SendTask<u32> {
    let local = log.counted("local");
    let v = co_await!(ch.recv());
    log.push("ran on");
    drop((local, p, v));
    co_return!(2)
}

#[coro::coroutine]
fn on_send(ch: Arc<Channel<Counted>>, log: Log, p: Counted) -> SendTask<u32> {
    let local = log.counted("local");
    // The value is `p`: withdrawn with the sender, dropped with its frame.
    let r = co_await!(ch.send(p));
    log.push("ran on");
    drop((local, r));
    co_return!(2)
}

#[test]
fn a_send_task_waiting_on_a_channel_is_destroyed_when_its_owner_goes_away() {
    let ch = Arc::new(Channel::new(0));
    destroyed_with_each_owner("channel recv", |log| on_recv(ch.clone(), log.clone(), log.counted("param")));
    destroyed_with_each_owner("channel send", |log| on_send(ch.clone(), log.clone(), log.counted("param")));
    assert!(ch.try_recv().is_err(), "no withdrawn sender's value is left");
}

// ---------------------------------------------------------------------------
// Shared tasks, futures, tasks, combinators, tokens, pool joins
// ---------------------------------------------------------------------------

#[coro::coroutine]
fn shared_source(ev: Arc<Event>) -> SendTask<u32> {
    co_await!(ev.wait());
    co_return!(5)
}

#[coro::coroutine]
fn on_shared(s: SendSharedTask<u32>, log: Log, p: Counted) -> SendTask<u32> {
    let local = log.counted("local");
    let v = co_await!(&s);
    log.push("ran on");
    drop((local, p));
    co_return!(v)
}

#[test]
fn a_send_task_waiting_on_a_send_shared_task_is_destroyed_when_its_owner_goes_away() {
    let ev = Arc::new(Event::new());
    let shared = shared_source(ev.clone()).shared();
    destroyed_with_each_owner("send shared task", |log| on_shared(shared.clone(), log.clone(), log.counted("param")));
    // The shared task runs on for its other awaiters.
    ev.set();
    assert_eq!(sync_wait(&shared), 5);
}

#[coro::coroutine]
fn on_future(rx: futures::channel::oneshot::Receiver<u32>, log: Log, p: Counted) -> SendTask<u32> {
    let local = log.counted("local");
    let v = co_await!(rx).unwrap_or(0);
    log.push("ran on");
    drop((local, p));
    co_return!(v)
}

#[coro::coroutine]
fn on_pending(log: Log, p: Counted) -> SendTask<u32> {
    let local = log.counted("local");
    co_await!(std::future::pending::<()>());
    log.push("ran on");
    drop((local, p));
    co_return!(2)
}

#[test]
fn a_send_task_awaiting_a_future_is_destroyed_when_its_owner_goes_away() {
    let mut senders = Vec::new();
    destroyed_with_each_owner("future", |log| {
        let (tx, rx) = futures::channel::oneshot::channel();
        senders.push(tx);
        on_future(rx, log.clone(), log.counted("param"))
    });
    for tx in senders {
        assert!(tx.send(1).is_err(), "the receiver went with its task");
    }
    // A future that keeps no waker: nothing could ever wake it.
    destroyed_with_each_owner("pending future", |log| on_pending(log.clone(), log.counted("param")));
}

#[coro::coroutine]
fn awaits_child(ev: Arc<Event>, log: Log, p: Counted) -> SendTask<u32> {
    let local = log.counted("local");
    let v = co_await!(on_event(ev, log.clone(), log.counted("child param")));
    log.push("ran on");
    drop((local, p));
    co_return!(v)
}

#[test]
fn a_send_task_awaiting_a_send_task_is_destroyed_with_it_when_its_owner_goes_away() {
    let ev = Arc::new(Event::new());
    let log = Log::new();
    assert_eq!(sync_wait(race(awaits_child(ev.clone(), log.clone(), log.counted("param")))), 1);
    // Parent (param, local) and child (param, local): all four.
    assert_eq!(log.dropped(), 4, "the whole chain is destroyed at once");
    log.assert_each_dropped_once();

    let log = Log::new();
    let mut fut = Box::pin(awaits_child(ev.clone(), log.clone(), log.counted("param")).into_future());
    assert!(!poll_once(fut.as_mut()));
    drop(fut);
    assert_eq!(log.dropped(), 4);
    log.assert_each_dropped_once();
    ev.set();
    assert_eq!(log.count("ran on"), 0);
}

#[coro::coroutine]
fn awaits_all(ev: Arc<Event>, log: Log, p: Counted) -> SendTask<u32> {
    let local = log.counted("local");
    let (a, b) = co_await!(when_all((
        on_event(ev.clone(), log.clone(), log.counted("a")),
        on_event(ev, log.clone(), log.counted("b"))
    )));
    log.push("ran on");
    drop((local, p));
    co_return!(a + b)
}

#[coro::coroutine]
fn awaits_all_ready(ev: Arc<Event>, log: Log, p: Counted) -> SendTask<u32> {
    let local = log.counted("local");
    let v = co_await!(when_all_ready(vec![on_event(ev, log.clone(), log.counted("a")), quick()]));
    log.push("ran on");
    drop((local, p));
    co_return!(v.len() as u32)
}

#[coro::coroutine]
fn awaits_any(ev: Arc<Event>, log: Log, p: Counted) -> SendTask<u32> {
    let local = log.counted("local");
    let (_, v) = co_await!(when_any(vec![
        on_event(ev.clone(), log.clone(), log.counted("a")),
        on_event(ev, log.clone(), log.counted("b"))
    ]));
    log.push("ran on");
    drop((local, p));
    co_return!(v)
}

#[test]
fn a_send_task_awaiting_a_combinator_of_send_tasks_is_destroyed_with_them() {
    let ev = Arc::new(Event::new());
    for (what, expected) in [("when_all", 6), ("when_all_ready", 4), ("when_any", 6)] {
        let log = Log::new();
        let p = log.counted("param");
        let task = match what {
            "when_all" => awaits_all(ev.clone(), log.clone(), p),
            "when_all_ready" => awaits_all_ready(ev.clone(), log.clone(), p),
            _ => awaits_any(ev.clone(), log.clone(), p),
        };
        assert_eq!(sync_wait(race(task)), 1, "{what}");
        assert_eq!(log.dropped(), expected, "{what}: the parent and every child, at once");
        log.assert_each_dropped_once();
    }
    ev.set();
}

#[coro::coroutine]
fn on_token(token: CancellationToken, log: Log, p: Counted) -> SendTask<u32> {
    let local = log.counted("local");
    co_await!(token.cancelled());
    log.push("ran on");
    drop((local, p));
    co_return!(2)
}

#[test]
fn a_send_task_waiting_for_a_cancellation_request_is_destroyed_when_its_owner_goes_away() {
    let src = CancellationSource::new();
    destroyed_with_each_owner("token", |log| on_token(src.token(), log.clone(), log.counted("param")));
    src.request_cancellation();
    // A token that can never be cancelled: nothing will ever resume it.
    destroyed_with_each_owner("uncancellable token", |log| {
        on_token(CancellationToken::none(), log.clone(), log.counted("param"))
    });
}

#[coro::coroutine]
fn on_pool_join(h: coro::schedule::PoolJoinHandle<u32>, log: Log, p: Counted) -> SendTask<u32> {
    let local = log.counted("local");
    let v = co_await!(h);
    log.push("ran on");
    drop((local, p));
    co_return!(v)
}

#[test]
fn a_send_task_joining_a_pool_task_is_destroyed_when_its_owner_goes_away() {
    let pool = ThreadPool::new(1);
    let ev = Arc::new(Event::new());
    destroyed_with_each_owner("pool join", |log| {
        on_pool_join(pool.spawn(shared_source(ev.clone())), log.clone(), log.counted("param"))
    });
    ev.set();
    pool.shutdown();
}

// ---------------------------------------------------------------------------
// Stress: owners going away against releases on another thread
// ---------------------------------------------------------------------------

const ROUNDS: usize = 2_000;

/// Polls `task` once on this thread (it suspends on its primitive), then
/// drops it while `release` runs on another thread, started together.
fn race_drop_against(task: SendTask<u32>, release: impl FnOnce() + Send) {
    let mut fut = Box::pin(task.into_future());
    assert!(!poll_once(fut.as_mut()));
    let start = Barrier::new(2);
    std::thread::scope(|s| {
        s.spawn(|| {
            start.wait();
            release();
        });
        start.wait();
        drop(fut);
    });
}

#[coro::coroutine]
fn locks_and_counts(m: Arc<Mutex<u32>>, p: Counted) -> SendTask<u32> {
    let mut g = co_await!(m.lock());
    *g += 1;
    drop(p);
    co_return!(*g)
}

#[test]
fn owners_going_away_while_a_mutex_is_unlocked_leave_it_unlocked() {
    let log = Log::new();
    let m = Arc::new(Mutex::new(0));
    for i in 0..ROUNDS {
        let held = m.try_lock().unwrap();
        race_drop_against(locks_and_counts(m.clone(), log.counted(format!("m{i}"))), move || drop(held));
        // Every frame is gone (destroyed, or finished on the unlocking
        // thread), and the lock was handed on, not lost.
        assert_eq!(log.dropped(), i + 1);
        assert!(!m.is_locked(), "round {i}: the lock was lost");
    }
    log.assert_each_dropped_once();
}

#[coro::coroutine]
fn acquires_and_counts(s: Arc<Semaphore>, p: Counted) -> SendTask<u32> {
    let permit = co_await!(s.acquire());
    drop((p, permit));
    co_return!(1)
}

#[test]
fn owners_going_away_while_a_semaphore_is_released_get_every_permit_back() {
    let log = Log::new();
    let s = Arc::new(Semaphore::new(0));
    for i in 0..ROUNDS {
        let s2 = s.clone();
        race_drop_against(acquires_and_counts(s.clone(), log.counted(format!("s{i}"))), move || s2.release(1));
        assert_eq!(log.dropped(), i + 1);
        assert_eq!(s.available_permits(), 1, "round {i}: the permit was lost");
        // Taken for good, so that the next round's waiter suspends.
        s.try_acquire().expect("the permit").forget();
    }
    log.assert_each_dropped_once();
}

#[coro::coroutine]
fn receives_and_counts(ch: Arc<Channel<Counted>>, p: Counted) -> SendTask<u32> {
    let v = co_await!(ch.recv());
    drop((p, v));
    co_return!(1)
}

#[test]
fn owners_going_away_while_a_value_is_sent_lose_no_value() {
    let log = Log::new();
    let ch = Arc::new(Channel::new(1));
    for i in 0..ROUNDS {
        let ch2 = ch.clone();
        let v = log.counted(format!("v{i}"));
        race_drop_against(receives_and_counts(ch.clone(), log.counted(format!("r{i}"))), move || {
            ch2.try_send(v).map_err(|_| ()).expect("a capacity-1 channel takes it");
        });
        // The value was received (and dropped by the task) or is still in
        // the channel: never lost, never duplicated.
        drop(ch.try_recv());
        assert_eq!(log.dropped(), 2 * (i + 1), "round {i}");
    }
    log.assert_each_dropped_once();
}

#[coro::coroutine]
fn waits_and_counts(ev: Arc<Event>, p: Counted) -> SendTask<u32> {
    co_await!(ev.wait());
    drop(p);
    co_return!(1)
}

#[test]
fn owners_going_away_while_an_event_is_set_destroy_each_frame_once() {
    let log = Log::new();
    for i in 0..ROUNDS {
        let ev = Arc::new(Event::new());
        let ev2 = ev.clone();
        race_drop_against(waits_and_counts(ev, log.counted(format!("e{i}"))), move || ev2.set());
        assert_eq!(log.dropped(), i + 1, "round {i}");
    }
    log.assert_each_dropped_once();
}

#[coro::coroutine]
fn hops_then_waits(pool: Arc<ThreadPool>, ev: Arc<Event>, p: Counted) -> SendTask<u32> {
    co_await!(pool.schedule());
    co_await!(ev.wait());
    drop(p);
    co_return!(1)
}

#[test]
fn owners_going_away_while_the_task_runs_elsewhere_have_it_cancel_itself_as_it_suspends() {
    let log = Log::new();
    let pool = Arc::new(ThreadPool::new(2));
    let ev = Arc::new(Event::new()); // never set
    for i in 0..ROUNDS / 4 {
        let mut fut = Box::pin(hops_then_waits(pool.clone(), ev.clone(), log.counted(format!("p{i}"))).into_future());
        assert!(!poll_once(fut.as_mut()));
        // Gone while the task is queued on the pool, running there, or
        // suspended on the event: it is destroyed at once, or by the
        // worker (its next suspension cancels itself).
        drop(fut);
        common::eventually("the frame is destroyed", || log.dropped() == i + 1);
    }
    log.assert_each_dropped_once();
    assert_eq!(pool.panics(), 0);
}

#[test]
fn a_task_awaited_by_a_dropped_owner_is_destroyed_even_while_it_is_being_granted() {
    // The grant lands between the owner's release and the resume: the
    // `RESUME_PENDING` hand-off. Not deterministic, hence the rounds.
    let log = Log::new();
    let s = Arc::new(Semaphore::new(0));
    for i in 0..ROUNDS {
        let s2 = s.clone();
        let task = owner(acquires_and_counts(s.clone(), log.counted(format!("o{i}"))));
        let mut fut = Box::pin(task.into_future());
        assert!(!poll_once(fut.as_mut()));
        let start = Barrier::new(2);
        std::thread::scope(|sc| {
            sc.spawn(|| {
                start.wait();
                s2.release(1);
            });
            start.wait();
            drop(fut);
        });
        assert_eq!(log.dropped(), i + 1);
        assert_eq!(s.available_permits(), 1, "round {i}");
        // Taken for good, so that the next round's waiter suspends.
        s.try_acquire().expect("the permit").forget();
    }
    log.assert_each_dropped_once();
}
