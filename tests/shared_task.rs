//! `SharedTask`, `LocalScheduler`, `schedule()` and `spawn_detached`:
//! results, order, panics, cancellation, and drop accounting (every frame
//! and captured value dropped exactly once) on every path.

mod common;

use std::cell::Cell;
use std::rc::Rc;

use common::{expect_panic, on_small_stack, panic_message, Counted, Log, PLANNED};
use coro::schedule::{spawn_detached, LocalScheduler, Scheduler};
use coro::sync::local::Event;
use coro::{co_await, co_return, sync_wait, when_all, when_all_ready, when_any, SharedTask, Task};

/// A shared task that waits for `e`, then gives a value that counts its drops.
#[coro::coroutine]
fn gated(c: Counted, e: Rc<Event>, value: Rc<Counted>) -> SharedTask<Rc<Counted>> {
    let _c = c;
    co_await!(e.wait());
    co_return!(value)
}

#[coro::coroutine]
fn waiter(log: Log, name: &'static str, s: SharedTask<Rc<Counted>>) -> Task<String> {
    log.push(format!("wait {name}"));
    let v = co_await!(s);
    log.push(format!("got {name}"));
    co_return!(v.name().to_string())
}

#[coro::coroutine]
fn setter(e: Rc<Event>) -> Task<String> {
    e.set();
    co_return!(String::new())
}

#[test]
fn every_awaiter_gets_a_clone_of_the_value_and_they_resume_in_fifo_order() {
    let log = Log::new();
    let e = Rc::new(Event::new());
    let s = gated(log.counted("frame"), e.clone(), Rc::new(log.counted("value")));
    let all = when_all(vec![
        waiter(log.clone(), "a", s.clone()),
        waiter(log.clone(), "b", s.clone()),
        waiter(log.clone(), "c", s.clone()),
        setter(e),
    ]);
    #[coro::coroutine]
    fn run(
        all: coro::combinators::WhenAll<Vec<coro::combinators::Child<String, coro::task::Local>>>,
    ) -> Task<Vec<String>> {
        co_return!(co_await!(all))
    }
    assert_eq!(sync_wait(run(all)), ["value", "value", "value", ""]);
    let got: Vec<_> = log.events().into_iter().filter(|e| e.starts_with("got")).collect();
    assert_eq!(got, ["got a", "got b", "got c"]);
    // The task's frame was destroyed when it finished; the value lives in `s`.
    assert_eq!(log.live(), ["value"]);
    drop(s);
    log.assert_each_dropped_once();
}

#[test]
fn many_awaiters_resume_in_bounded_stack() {
    on_small_stack(|| {
        let log = Log::new();
        let e = Rc::new(Event::new());
        let s = gated(log.counted("frame"), e.clone(), Rc::new(log.counted("value")));
        let mut children: Vec<Task<String>> = (0..5_000).map(|_| waiter(log.clone(), "w", s.clone())).collect();
        children.push(setter(e));
        #[coro::coroutine]
        fn run(children: Vec<Task<String>>) -> Task<usize> {
            co_return!(co_await!(when_all(children)).len())
        }
        assert_eq!(sync_wait(run(children)), 5_001);
        assert_eq!(log.count("got w"), 5_000);
        drop(s);
        log.assert_each_dropped_once();
    });
}

#[test]
fn awaiting_a_finished_shared_task_returns_a_clone_at_once() {
    let log = Log::new();
    #[coro::coroutine]
    fn value(c: Counted, v: Rc<Counted>) -> Task<Rc<Counted>> {
        let _c = c;
        co_return!(v)
    }
    let s = value(log.counted("frame"), Rc::new(log.counted("value"))).shared();
    #[coro::coroutine]
    fn twice(s: SharedTask<Rc<Counted>>) -> Task<bool> {
        let a = co_await!(&s);
        assert!(s.is_ready());
        let b = co_await!(s);
        co_return!(Rc::ptr_eq(&a, &b))
    }
    assert!(!s.is_ready());
    assert!(sync_wait(twice(s.clone())));
    assert!(s.is_ready());
    assert_eq!(log.live(), ["value"]);
    drop(s);
    log.assert_each_dropped_once();
}

#[test]
fn a_panic_in_the_task_reaches_every_awaiter() {
    let log = Log::new();
    #[coro::coroutine]
    fn boom(c: Counted, e: Rc<Event>) -> SharedTask<Rc<Counted>> {
        let _c = c;
        co_await!(e.wait());
        panic!("boom {PLANNED}");
    }
    let e = Rc::new(Event::new());
    let s = boom(log.counted("frame"), e.clone());
    #[coro::coroutine]
    fn run(log: Log, s: SharedTask<Rc<Counted>>, e: Rc<Event>) -> Task<Vec<Result<String, coro::promise::Payload>>> {
        co_return!(co_await!(when_all_ready(vec![
            waiter(log.clone(), "a", s.clone()),
            waiter(log.clone(), "b", s),
            setter(e),
        ])))
    }
    common::quiet_planned_panics();
    let r = sync_wait(run(log.clone(), s.clone(), e));
    let msgs: Vec<_> = r.iter().take(2).map(|r| panic_message(&**r.as_ref().unwrap_err())).collect();
    assert_eq!(msgs[0], format!("boom {PLANNED}"));
    assert_eq!(msgs[1], format!("SharedTask panicked: boom {PLANNED}"));
    // A later awaiter panics too.
    let later = expect_panic(|| sync_wait(waiter(log.clone(), "late", s.clone())));
    assert_eq!(later, format!("SharedTask panicked: boom {PLANNED}"));
    drop((r, s));
    log.assert_each_dropped_once();
}

#[test]
fn a_waiter_destroyed_while_queued_leaves_the_line() {
    let log = Log::new();
    let e = Rc::new(Event::new());
    let s = gated(log.counted("frame"), e.clone(), Rc::new(log.counted("value")));
    #[coro::coroutine]
    fn quick() -> Task<String> {
        co_return!("quick".to_string())
    }
    #[coro::coroutine]
    fn loser(log: Log, s: SharedTask<Rc<Counted>>) -> Task<String> {
        // `b` queues, then loses the race to `quick` and is destroyed.
        let (_, r) = co_await!(when_any(vec![waiter(log, "b", s), quick()]));
        co_return!(r)
    }
    #[coro::coroutine]
    fn run(log: Log, s: SharedTask<Rc<Counted>>, e: Rc<Event>) -> Task<(String, String, String)> {
        co_return!(co_await!(when_all((waiter(log.clone(), "a", s.clone()), loser(log, s), setter(e)))))
    }
    let r = sync_wait(run(log.clone(), s.clone(), e));
    assert_eq!(r.0, "value");
    assert!(log.count("wait b") == 1 && log.count("got b") == 0, "{log:?}");
    assert_eq!(log.count("got a"), 1);
    drop((r, s));
    log.assert_each_dropped_once();
}

#[test]
fn dropping_the_last_handle_of_an_unstarted_shared_task_drops_its_parameters() {
    let log = Log::new();
    #[coro::coroutine]
    fn never(c: Counted, log: Log) -> SharedTask<u32> {
        let _c = c;
        log.push("ran");
        co_return!(1)
    }
    let s = never(log.counted("param"), log.clone());
    let t = s.clone();
    drop(s);
    assert_eq!(log.live(), ["param"]);
    drop(t);
    assert_eq!(log.count("ran"), 0);
    log.assert_each_dropped_once();
}

#[test]
fn a_task_and_a_shared_task_convert_with_from() {
    #[coro::coroutine]
    fn five() -> Task<u32> {
        co_return!(5)
    }
    let s: SharedTask<u32> = SharedTask::from(five());
    #[coro::coroutine]
    fn add(a: SharedTask<u32>, b: SharedTask<u32>) -> Task<u32> {
        co_return!(co_await!(a) + co_await!(b))
    }
    assert_eq!(sync_wait(add(s.clone(), s)), 10);
}

// ---------------------------------------------------------------------------
// Schedulers and detached tasks
// ---------------------------------------------------------------------------

#[coro::coroutine]
fn hopper(c: Counted, s: Rc<LocalScheduler>, log: Log, hops: u32) -> Task<Counted> {
    let _c = c;
    for i in 0..hops {
        log.push(format!("hop {i}"));
        co_await!(s.schedule());
    }
    log.push("done");
    co_return!(log.counted("result"))
}

#[test]
fn a_detached_task_completes_later_through_the_local_scheduler() {
    let log = Log::new();
    let s = Rc::new(LocalScheduler::new());
    spawn_detached(hopper(log.counted("param"), s.clone(), log.clone(), 3), &*s);
    assert_eq!(s.len(), 1);
    assert!(log.events().is_empty(), "nothing runs before the scheduler does");
    assert_eq!(s.run_until_idle(), 4);
    assert_eq!(log.events().iter().filter(|e| !e.starts_with("drop")).count(), 4);
    assert!(s.is_empty());
    log.assert_each_dropped_once();
}

#[test]
fn detached_tasks_interleave_in_fifo_order() {
    let log = Log::new();
    let s = Rc::new(LocalScheduler::new());
    #[coro::coroutine]
    fn worker(s: Rc<LocalScheduler>, log: Log, name: &'static str) -> Task<()> {
        for i in 0..2 {
            log.push(format!("{name}{i}"));
            co_await!(s.schedule());
        }
        co_return!(())
    }
    spawn_detached(worker(s.clone(), log.clone(), "a"), &*s);
    spawn_detached(worker(s.clone(), log.clone(), "b"), &*s);
    s.run_until_idle();
    assert_eq!(log.take(), ["a0", "b0", "a1", "b1"]);
}

#[test]
fn a_panic_in_a_detached_task_propagates_out_of_run_until_idle_after_its_frame_is_dropped() {
    let log = Log::new();
    let s = Rc::new(LocalScheduler::new());
    #[coro::coroutine]
    fn boom(c: Counted, s: Rc<LocalScheduler>) -> Task<()> {
        let _c = c;
        co_await!(s.schedule());
        panic!("detached {PLANNED}");
    }
    spawn_detached(boom(log.counted("param"), s.clone()), &*s);
    spawn_detached(hopper(log.counted("other"), s.clone(), log.clone(), 1), &*s);
    let msg = expect_panic(|| s.run_until_idle());
    assert_eq!(msg, format!("detached {PLANNED}"));
    assert_eq!(log.live(), ["other"]);
    // The rest of the queue is still there.
    s.run_until_idle();
    log.assert_each_dropped_once();
}

#[test]
fn dropping_the_scheduler_destroys_detached_tasks_that_never_started() {
    let log = Log::new();
    #[coro::coroutine]
    fn body(c: Counted, log: Log) -> Task<()> {
        let _c = c;
        log.push("ran");
        co_return!(())
    }
    let s = LocalScheduler::new();
    spawn_detached(body(log.counted("param"), log.clone()), &s);
    assert_eq!(s.len(), 1);
    drop(s);
    assert_eq!(log.count("ran"), 0);
    log.assert_each_dropped_once();
}

#[test]
fn a_started_detached_task_queued_on_a_dropped_scheduler_is_leaked_not_resumed() {
    let log = Log::new();
    #[coro::coroutine]
    fn hop_once(c: Counted, s: &'static LocalScheduler, log: Log) -> Task<()> {
        let _c = c;
        co_await!(s.schedule());
        log.push("resumed");
        co_return!(())
    }
    let starter = LocalScheduler::new();
    let hops: &'static LocalScheduler = Box::leak(Box::new(LocalScheduler::new()));
    spawn_detached(hop_once(log.counted("param"), hops, log.clone()), &starter);
    assert_eq!(starter.run_until_idle(), 1);
    assert_eq!(hops.len(), 1);
    // SAFETY: the box was leaked just above and `hops` is not used afterwards
    // (the leaked task's frame keeps a copy it never uses again).
    drop(unsafe { Box::from_raw(hops as *const LocalScheduler as *mut LocalScheduler) });
    assert_eq!(log.count("resumed"), 0);
    assert_eq!(log.live(), ["param"], "documented: a started detached task suspended there is leaked");
}

#[test]
fn a_coroutine_destroyed_while_queued_on_the_scheduler_is_never_resumed() {
    let log = Log::new();
    let s = Rc::new(LocalScheduler::new());
    #[coro::coroutine]
    fn quick() -> Task<Counted> {
        co_return!(Log::new().counted("x"))
    }
    #[coro::coroutine]
    fn race(c: Counted, s: Rc<LocalScheduler>, log: Log) -> Task<()> {
        let _c = c;
        let (i, _) = co_await!(when_any(vec![hopper(log.counted("loser"), s, log.clone(), 1), quick()]));
        assert_eq!(i, 1);
        co_return!(())
    }
    sync_wait(race(log.counted("param"), s.clone(), log.clone()));
    assert_eq!(s.len(), 1, "the hop stand-in is still queued");
    assert_eq!(s.run_until_idle(), 1);
    assert_eq!(log.count("done"), 0);
    log.assert_each_dropped_once();
}

#[test]
fn a_shared_task_can_be_awaited_by_detached_tasks() {
    let log = Log::new();
    let s = Rc::new(LocalScheduler::new());
    let total = Rc::new(Cell::new(0));
    #[coro::coroutine]
    fn answer(c: Counted, s: Rc<LocalScheduler>) -> SharedTask<u32> {
        let _c = c;
        co_await!(s.schedule());
        co_return!(21)
    }
    #[coro::coroutine]
    fn add(shared: SharedTask<u32>, total: Rc<Cell<u32>>) -> Task<()> {
        let v = co_await!(shared);
        total.set(total.get() + v);
        co_return!(())
    }
    let shared = answer(log.counted("frame"), s.clone());
    spawn_detached(add(shared.clone(), total.clone()), &*s);
    spawn_detached(add(shared, total.clone()), &*s);
    s.run_until_idle();
    assert_eq!(total.get(), 42);
    log.assert_each_dropped_once();
    let d: &dyn Scheduler = &*s;
    let _ = coro::schedule::Schedule::new(d);
}
