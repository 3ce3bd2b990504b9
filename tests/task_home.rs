//! A thread-bound `Task` awaiting a `SendTask` that finishes on another
//! thread is brought back to its own thread (a `HomeHop` continuation).

mod common;

use std::cell::Cell;
use std::future::{Future, IntoFuture};
use std::pin::pin;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context, Waker};
use std::thread;

use common::{Log, WakeCount};
use coro::{co_await, co_return, sync_wait, SendTask, Task, ThreadPool};

#[coro::coroutine]
fn square_on_pool(pool: Arc<ThreadPool>, x: u64) -> SendTask<u64> {
    co_await!(pool.schedule());
    co_return!(x * x)
}

#[coro::coroutine]
fn home_task(pool: Arc<ThreadPool>, rc: Rc<Cell<u64>>) -> Task<(u64, thread::ThreadId)> {
    let v = co_await!(square_on_pool(pool, rc.get()));
    rc.set(rc.get() + v); // an `Rc`: this must run on the home thread
    co_return!((rc.get(), thread::current().id()))
}

#[test]
fn a_task_awaiting_a_send_task_that_finished_on_a_pool_resumes_on_its_own_thread() {
    let pool = Arc::new(ThreadPool::new(2));
    for i in 0..50 {
        let (v, ran_on) = sync_wait(home_task(pool.clone(), Rc::new(Cell::new(i))));
        assert_eq!(v, i + i * i);
        assert_eq!(ran_on, thread::current().id());
    }
    assert_eq!(pool.panics(), 0, "no Task was refused on a worker");
}

#[coro::coroutine]
fn square_here(x: u64) -> SendTask<u64> {
    co_return!(x * x)
}

#[coro::coroutine]
fn home_task_same_thread(x: u64) -> Task<u64> {
    co_return!(co_await!(square_here(x)) + 1)
}

#[test]
fn a_send_task_finishing_on_the_awaiting_tasks_thread_transfers_back_directly() {
    assert_eq!(sync_wait(home_task_same_thread(6)), 37);
    assert_eq!(coro::resume_woken(), 0, "nothing went through the queue");
}

#[coro::coroutine]
fn holding(pool: Arc<ThreadPool>, local: common::Counted) -> Task<u64> {
    let _keep = local;
    co_return!(co_await!(square_on_pool(pool, 3)))
}

#[test]
fn a_task_destroyed_while_queued_home_is_freed_once_and_the_stale_wake_up_does_nothing() {
    let log = Log::new();
    let pool = Arc::new(ThreadPool::new(1));
    let flag = WakeCount::new();
    coro::schedule::notify_when_woken(&flag.waker());
    {
        let mut fut = pin!(holding(pool.clone(), log.counted("local")).into_future());
        let mut cx = Context::from_waker(Waker::noop());
        assert!(fut.as_mut().poll(&mut cx).is_pending());
        // The child hops to the worker, finishes, and queues this task home.
        while !flag.woken() {
            thread::yield_now();
        }
    } // dropped before this thread runs its queue
    log.assert_each_dropped_once();
    assert_eq!(coro::resume_woken(), 1, "the stale wake-up ran and did nothing");
    assert_eq!(pool.panics(), 0);
}

#[coro::coroutine]
fn home_when_all(pool: Arc<ThreadPool>, rc: Rc<Cell<u64>>) -> Task<(u64, thread::ThreadId)> {
    let (a, b) = co_await!(coro::when_all((square_on_pool(pool.clone(), 2), square_on_pool(pool, 3))));
    rc.set(a + b);
    co_return!((rc.get(), thread::current().id()))
}

#[coro::coroutine]
fn later(ev: Arc<coro::sync::Event>, c: common::Counted) -> SendTask<u64> {
    co_await!(ev.wait());
    drop(c);
    co_return!(0)
}

#[coro::coroutine]
fn home_when_any(
    pool: Arc<ThreadPool>,
    rc: Rc<Cell<u64>>,
    ev: Arc<coro::sync::Event>,
    c: common::Counted,
) -> Task<(u64, thread::ThreadId)> {
    // The loser stays suspended on `ev`; the winner finishes on the pool,
    // and gives the loser up there: its wait withdrawn, it is destroyed.
    let (_, v) = co_await!(coro::when_any(vec![later(ev, c), square_on_pool(pool, 2)]));
    rc.set(v);
    co_return!((rc.get(), thread::current().id()))
}

#[test]
fn a_task_awaiting_when_all_or_when_any_of_send_tasks_on_a_pool_resumes_on_its_own_thread() {
    let pool = Arc::new(ThreadPool::new(2));
    let log = Log::new();
    for i in 0..20 {
        let (v, ran_on) = sync_wait(home_when_all(pool.clone(), Rc::default()));
        assert_eq!((v, ran_on), (13, thread::current().id()));
        let ev = Arc::new(coro::sync::Event::new());
        let c = log.counted(format!("loser {i}"));
        let (v, ran_on) = sync_wait(home_when_any(pool.clone(), Rc::default(), ev.clone(), c));
        assert_eq!((v, ran_on), (4, thread::current().id()));
        assert_eq!(log.dropped(), i + 1, "the loser was destroyed with the when_any");
        ev.set(); // nobody waits any more
    }
    log.assert_each_dropped_once();
    assert_eq!(pool.panics(), 0);
}
