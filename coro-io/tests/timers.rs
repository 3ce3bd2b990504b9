//! Timers: ordering, timeout, yield_now.

mod common;

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::{Duration, Instant};

use common::Counted;
use coro::{co_await, co_return, Task};
use coro_io::{sleep, sleep_until, spawn_local, timeout, yield_now, Elapsed, EventLoop};

#[coro::coroutine]
fn sleeper(start: Instant, ms: u64, log: Rc<RefCell<Vec<u64>>>) -> Task<()> {
    // An absolute deadline, fixed before any task starts: the order under
    // test does not depend on how long starting them takes.
    co_await!(sleep_until(start + Duration::from_millis(ms)));
    log.borrow_mut().push(ms);
    co_return!(())
}

#[test]
fn many_coroutines_sleeping_with_different_deadlines_wake_in_deadline_order() {
    let rt = EventLoop::new().unwrap();
    let log = Rc::new(RefCell::new(Vec::new()));
    // Spawned in a scrambled order; each deadline is distinct.
    let mut order: Vec<u64> = (0..40).map(|i| (i * 17) % 40).collect();
    let start = Instant::now();
    for &ms in &order {
        rt.spawn_local(sleeper(start, ms, log.clone())).detach();
    }
    rt.run();
    order.sort();
    assert_eq!(*log.borrow(), order);
    assert_eq!((rt.tasks(), rt.timers(), rt.registrations()), (0, 0, 0));
}

#[coro::coroutine]
fn slow(drops: Rc<Cell<u32>>, reached_end: Rc<Cell<bool>>) -> Task<u32> {
    let _a = Counted(drops.clone());
    co_await!(sleep(Duration::from_secs(3600)));
    let _b = Counted(drops);
    reached_end.set(true);
    co_return!(1)
}

#[coro::coroutine]
fn impatient(drops: Rc<Cell<u32>>, reached_end: Rc<Cell<bool>>) -> Task<Result<u32, Elapsed>> {
    co_return!(co_await!(timeout(Duration::from_millis(5), slow(drops, reached_end))))
}

#[test]
fn a_timeout_that_runs_out_destroys_the_inner_task_dropping_each_local_once() {
    let rt = EventLoop::new().unwrap();
    let drops = Rc::new(Cell::new(0));
    let reached_end = Rc::new(Cell::new(false));
    assert_eq!(rt.block_on(impatient(drops.clone(), reached_end.clone())), Err(Elapsed::default()));
    // `_a` (the only live local) dropped once; the inner task never resumed.
    assert_eq!(drops.get(), 1);
    assert!(!reached_end.get());
    // Its hour-long sleep was withdrawn with it.
    assert_eq!((rt.tasks(), rt.timers(), rt.registrations()), (0, 0, 0));
}

#[coro::coroutine]
fn quick(x: u32) -> Task<u32> {
    co_await!(yield_now());
    co_return!(x)
}

#[coro::coroutine]
fn patient() -> Task<Result<u32, Elapsed>> {
    co_return!(co_await!(timeout(Duration::from_secs(3600), quick(7))))
}

#[test]
fn a_completed_operation_cancels_its_timer_so_the_loop_ends_promptly() {
    let rt = EventLoop::new().unwrap();
    // `run` returns only when nothing is registered: a timer left behind
    // would keep it waiting for an hour.
    rt.spawn_local(patient()).detach();
    rt.run();
    assert_eq!(rt.block_on(patient()), Ok(7));
    assert_eq!((rt.tasks(), rt.timers(), rt.registrations()), (0, 0, 0));
}

#[coro::coroutine]
fn panics_quickly() -> Task<u32> {
    co_await!(yield_now());
    panic!("inner panic")
}

#[coro::coroutine]
fn awaits_panicking() -> Task<Result<u32, Elapsed>> {
    co_return!(co_await!(timeout(Duration::from_secs(3600), panics_quickly())))
}

#[test]
fn a_panic_inside_a_timeout_resumes_in_the_awaiting_coroutine() {
    let rt = EventLoop::new().unwrap();
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| rt.block_on(awaits_panicking())));
    let payload = caught.expect_err("the inner panic propagates");
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"inner panic"));
    drop(rt);
}

#[coro::coroutine]
fn worker(id: u32, rounds: u32, log: Rc<RefCell<Vec<u32>>>) -> Task<()> {
    for _ in 0..rounds {
        log.borrow_mut().push(id);
        co_await!(yield_now());
    }
    co_return!(())
}

#[test]
fn yield_now_lets_the_other_ready_tasks_run() {
    let rt = EventLoop::new().unwrap();
    let log = Rc::new(RefCell::new(Vec::new()));
    for id in 1..=3 {
        spawn_local(worker(id, 3, log.clone())).detach();
    }
    rt.run();
    assert_eq!(*log.borrow(), [1, 2, 3, 1, 2, 3, 1, 2, 3]);
}

#[coro::coroutine]
fn zero_sleeps_interleave(id: u32, log: Rc<RefCell<Vec<u32>>>) -> Task<()> {
    for _ in 0..2 {
        log.borrow_mut().push(id);
        co_await!(sleep(Duration::ZERO));
    }
    co_return!(())
}

#[test]
fn a_zero_sleep_suspends_and_lets_the_others_run() {
    let rt = EventLoop::new().unwrap();
    let log = Rc::new(RefCell::new(Vec::new()));
    spawn_local(zero_sleeps_interleave(1, log.clone())).detach();
    spawn_local(zero_sleeps_interleave(2, log.clone())).detach();
    rt.run();
    assert_eq!(*log.borrow(), [1, 2, 1, 2]);
}
