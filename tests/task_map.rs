//! `map` / `and_then` / `fmap` on `Task` and `SendTask`: lazy (nothing runs
//! before the mapped task is awaited), results, panics reaching the
//! awaiter, `Send`-ness, and drop accounting when dropped unstarted.

mod common;

use std::sync::Arc;
use std::sync::Mutex;

use common::{expect_panic, value_is_send, Counted, Log, PLANNED};
use coro::schedule::ThreadPool;
use coro::task::{fmap, SendTask, Task};
use coro::{co_await, co_return, sync_wait, when_all};

#[coro::coroutine]
fn logged(log: Log, v: u32) -> Task<u32> {
    log.push(format!("task {v}"));
    co_return!(v)
}

#[coro::coroutine]
fn send_logged(log: Log, v: u32) -> SendTask<u32> {
    log.push(format!("send task {v}"));
    co_return!(v)
}

#[coro::coroutine]
fn holding(c: Counted, v: u32) -> Task<u32> {
    let _c = c;
    co_return!(v)
}

#[coro::coroutine]
fn send_holding(c: Counted, v: u32) -> SendTask<u32> {
    let _c = c;
    co_return!(v)
}

#[coro::coroutine]
fn fails() -> Task<u32> {
    panic!("{PLANNED} inner task")
}

#[coro::coroutine]
fn send_fails() -> SendTask<u32> {
    panic!("{PLANNED} inner send task")
}

#[coro::coroutine]
fn awaits(t: Task<String>) -> Task<String> {
    co_return!(co_await!(t))
}

#[test]
fn nothing_runs_before_the_mapped_task_is_awaited() {
    let log = Log::new();
    let l = log.clone();
    let mapped = logged(log.clone(), 1).map(move |v| {
        l.push("map");
        v + 1
    });
    assert!(!mapped.is_ready());
    assert!(log.events().is_empty());
    assert_eq!(sync_wait(mapped), 2);
    assert_eq!(log.events(), ["task 1", "map"]);
}

#[test]
fn nothing_runs_before_a_chain_is_awaited() {
    let log = Log::new();
    let l = log.clone();
    let chained = logged(log.clone(), 1).and_then(move |v| logged(l, v + 10));
    assert!(log.events().is_empty());
    assert_eq!(sync_wait(chained), 11);
    assert_eq!(log.events(), ["task 1", "task 11"]);

    let l = log.clone();
    let chained = send_logged(log.clone(), 2).and_then(move |v| send_logged(l, v * 3));
    assert!(log.take().len() == 2);
    assert_eq!(sync_wait(chained), 6);
    assert_eq!(log.events(), ["send task 2", "send task 6"]);
}

#[test]
fn mapped_task_awaited_by_a_coroutine_gives_the_mapped_value() {
    let t = holding(Log::new().counted("c"), 20).map(|v| format!("<{v}>"));
    assert_eq!(sync_wait(awaits(t)), "<20>");
    // In a combinator, and mapped twice.
    let (a, b) = sync_wait(when_all((
        holding(Log::new().counted("a"), 1).map(|v| v * 2).map(|v| v + 1),
        send_holding(Log::new().counted("b"), 5).map(|v| v.to_string()),
    )));
    assert_eq!((a, b.as_str()), (3, "5"));
}

#[test]
fn free_fmap_maps_both_task_kinds() {
    let log = Log::new();
    assert_eq!(sync_wait(fmap(|v: u32| v * 7, logged(log.clone(), 6))), 42);
    let s: SendTask<String> = fmap(|v: u32| format!("{v}"), send_logged(log, 9));
    assert_eq!(sync_wait(s), "9");
}

#[test]
fn a_panic_in_the_closure_reaches_the_awaiter() {
    let log = Log::new();
    let c = log.counted("captured");
    let t = holding(log.counted("inner"), 1).map(move |_| -> u32 {
        let _c = c;
        panic!("{PLANNED} in map")
    });
    assert!(expect_panic(|| sync_wait(t)).contains("in map"));
    log.assert_each_dropped_once();

    let t = send_holding(log.counted("inner"), 1).and_then(|_| -> SendTask<u32> { panic!("{PLANNED} in and_then") });
    assert!(expect_panic(|| sync_wait(t)).contains("in and_then"));
    log.assert_each_dropped_once();
}

#[test]
fn a_panic_in_the_inner_task_reaches_the_awaiter_and_the_closure_is_not_called() {
    let called = Arc::new(Mutex::new(false));
    let c = called.clone();
    let t = fails().map(move |v| {
        *c.lock().unwrap() = true;
        v
    });
    assert!(expect_panic(|| sync_wait(awaits(t.map(|v| v.to_string())))).contains("inner task"));
    let t = send_fails().and_then(|v| send_holding(Log::new().counted("never"), v));
    assert!(expect_panic(|| sync_wait(t)).contains("inner send task"));
    assert!(!*called.lock().unwrap());
}

#[test]
fn a_mapped_task_dropped_unstarted_drops_the_inner_task_and_the_closure_once() {
    let log = Log::new();
    let c = log.counted("closure");
    let t = holding(log.counted("task"), 1).map(move |v| {
        let _c = &c;
        v
    });
    drop(t);
    log.assert_each_dropped_once();
    assert_eq!(log.created(), 2);

    let c = log.counted("send closure");
    let l = log.clone();
    let t = send_holding(log.counted("send task"), 1).and_then(move |v| {
        let _c = &c;
        send_holding(l.counted("never made"), v)
    });
    drop(t);
    log.assert_each_dropped_once();
    assert_eq!(log.created(), 4);
}

#[test]
fn a_mapped_send_task_stays_send_and_runs_on_another_thread() {
    let pool = Arc::new(ThreadPool::new(1));
    #[coro::coroutine]
    fn on_pool(pool: Arc<ThreadPool>, v: u32) -> SendTask<(u32, std::thread::ThreadId)> {
        co_await!(pool.schedule());
        co_return!((v, std::thread::current().id()))
    }
    let t = on_pool(pool.clone(), 4).map(|(v, id)| (v * 10, id, std::thread::current().id()));
    assert!(value_is_send!(t));
    let (v, ran_on, mapped_on) = std::thread::spawn(move || sync_wait(t)).join().unwrap();
    assert_eq!(v, 40);
    assert_eq!(ran_on, mapped_on, "the closure runs where the inner task finished");
}
