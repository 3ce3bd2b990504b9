//! `co_await!(&mut task)` and `sync_wait(&mut task)`: the first starts the
//! task, the result stays in it and every later await by reference gives it
//! again; a panic reaches the first awaiter; an awaiter destroyed while the
//! task it started is suspended destroys that task.

mod common;

use std::rc::Rc;

use common::{expect_panic, Counted, Log, PLANNED};
use coro::sync::local::Event;
use coro::task::Task;
use coro::{co_await, co_return, sync_wait, when_any};

#[coro::coroutine]
fn counted_run(log: Log, v: u32) -> Task<u32> {
    log.push("run");
    co_return!(v)
}

#[coro::coroutine]
fn fails() -> Task<u32> {
    panic!("{PLANNED} by reference")
}

#[coro::coroutine]
fn gated(c: Counted, e: Rc<Event>) -> Task<u32> {
    let _c = c;
    co_await!(e.wait());
    co_return!(5)
}

/// Awaits `t` by reference twice; gives both results.
#[coro::coroutine]
fn await_twice<'a>(t: &'a mut Task<u32>) -> Task<(u32, &'a u32)> {
    let a = *co_await!(&mut *t);
    let b = co_await!(t);
    co_return!((a, b))
}

#[coro::coroutine]
fn by_ref<'a>(t: &'a mut Task<u32>) -> Task<&'a u32> {
    co_return!(co_await!(t))
}

#[coro::coroutine]
fn quick<'a>(v: &'a u32) -> Task<&'a u32> {
    co_return!(v)
}

#[test]
fn awaiting_by_reference_starts_the_task_once_and_gives_the_result_again() {
    let log = Log::new();
    let mut t = counted_run(log.clone(), 7);
    assert!(log.events().is_empty());
    assert_eq!(sync_wait(await_twice(&mut t)), (7, &7));
    assert_eq!(log.events(), ["run"]);
    // Still there, for a coroutine or for `sync_wait`.
    assert!(t.is_ready());
    assert_eq!(*sync_wait(&mut t), 7);
    assert_eq!(sync_wait(await_twice(&mut t)), (7, &7));
    assert_eq!(log.events(), ["run"]);
    // And by value, once.
    assert_eq!(sync_wait(t), 7);
}

#[test]
fn sync_wait_by_reference_runs_an_unstarted_task_and_keeps_the_result() {
    let log = Log::new();
    let c = log.counted("result");
    #[coro::coroutine]
    fn gives(c: Counted) -> Task<Counted> {
        co_return!(c)
    }
    let mut t = gives(c);
    assert_eq!(sync_wait(&mut t).name(), "result");
    assert_eq!(sync_wait(&mut t).name(), "result");
    assert_eq!(log.dropped(), 0, "the result stays in the task");
    drop(t);
    log.assert_each_dropped_once();
}

#[test]
fn a_panic_reaches_the_first_awaiter_and_later_ones_are_told() {
    let mut t = fails();
    assert!(expect_panic(|| sync_wait(by_ref(&mut t)).to_owned()).contains("by reference"));
    let again = expect_panic(|| *sync_wait(&mut t));
    assert!(again.contains("after it panicked"), "{again}");
}

#[test]
fn an_awaiter_destroyed_while_the_task_is_suspended_destroys_the_task() {
    let log = Log::new();
    let e = Rc::new(Event::new());
    let mut t = gated(log.counted("task local"), e.clone());
    let five = 5;
    // `by_ref` starts `t`, which suspends on the event; `quick` wins, and
    // the loser is destroyed with its awaiter.
    let (i, v) = sync_wait(when_any(vec![by_ref(&mut t), quick(&five)]));
    assert_eq!((i, *v), (1, 5));
    log.assert_each_dropped_once(); // `t`'s frame is gone
    assert!(!t.is_ready());
    e.set(); // nothing to resume
    let msg = expect_panic(|| *sync_wait(&mut t));
    assert!(msg.contains("destroyed while awaited by reference"), "{msg}");
}
