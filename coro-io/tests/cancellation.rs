//! Cancelling tasks: each local dropped once, registrations withdrawn.

mod common;

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use common::Counted;
use coro::{co_await, co_return, Task};
use coro_io::{sleep, spawn_local, yield_now, EventLoop, JoinHandle};

#[coro::coroutine]
fn sleeps_for_an_hour(drops: Rc<Cell<u32>>) -> Task<u32> {
    let _a = Counted(drops.clone());
    co_await!(sleep(Duration::from_secs(3600)));
    let _b = Counted(drops);
    co_return!(1)
}

#[coro::coroutine]
fn tick() -> Task<()> {
    co_await!(yield_now());
    co_return!(())
}

#[test]
fn cancelling_a_task_suspended_in_a_sleep_drops_its_locals_once_and_withdraws_the_timer() {
    let rt = EventLoop::new().unwrap();
    let drops = Rc::new(Cell::new(0));
    let h = rt.spawn_local(sleeps_for_an_hour(drops.clone()));
    rt.block_on(tick());
    assert_eq!((rt.tasks(), rt.timers(), drops.get()), (1, 1, 0));
    h.cancel();
    assert_eq!(drops.get(), 1);
    assert_eq!((rt.tasks(), rt.timers(), rt.registrations()), (0, 0, 0));
    rt.run(); // nothing left: returns at once
}

#[coro::coroutine]
fn awaits_handle(h: JoinHandle<u32>, drops: Rc<Cell<u32>>) -> Task<u32> {
    let _c = Counted(drops);
    co_return!(co_await!(h))
}

#[test]
fn cancelling_a_task_suspended_awaiting_a_join_handle_cancels_the_awaited_task_too() {
    let rt = EventLoop::new().unwrap();
    let inner_drops = Rc::new(Cell::new(0));
    let outer_drops = Rc::new(Cell::new(0));
    let inner = rt.spawn_local(sleeps_for_an_hour(inner_drops.clone()));
    let outer = rt.spawn_local(awaits_handle(inner, outer_drops.clone()));
    rt.block_on(tick());
    assert_eq!((rt.tasks(), rt.registrations()), (2, 2)); // a sleep and a join await
    outer.cancel();
    assert_eq!((outer_drops.get(), inner_drops.get()), (1, 1));
    assert_eq!((rt.tasks(), rt.timers(), rt.registrations()), (0, 0, 0));
}

#[test]
fn a_detached_task_survives_its_handle_and_a_dropped_handle_cancels() {
    let rt = EventLoop::new().unwrap();
    let kept = Rc::new(Cell::new(0));
    let dropped = Rc::new(Cell::new(0));
    rt.spawn_local(sleeps_for_an_hour(kept.clone())).detach();
    // Cancelled before it started: destroyed with its parameters, so
    // its `_a` never existed.
    drop(rt.spawn_local(sleeps_for_an_hour(dropped.clone())));
    assert_eq!(Rc::strong_count(&dropped), 1);
    rt.block_on(tick());
    assert_eq!((rt.tasks(), rt.timers(), kept.get(), dropped.get()), (1, 1, 0, 0));
    drop(rt);
    assert_eq!(kept.get(), 1);
}

#[coro::coroutine]
fn spawns_children(drops: Rc<Cell<u32>>) -> Task<()> {
    let _own = Counted(drops.clone());
    let a = spawn_local(sleeps_for_an_hour(drops.clone()));
    let b = spawn_local(sleeps_for_an_hour(drops));
    let _ = co_await!(a) + co_await!(b);
    co_return!(())
}

#[test]
fn a_loop_dropped_with_tasks_still_registered_frees_them_each_local_once() {
    let drops = Rc::new(Cell::new(0));
    {
        let rt = EventLoop::new().unwrap();
        rt.spawn_local(spawns_children(drops.clone())).detach();
        rt.spawn_local(sleeps_for_an_hour(drops.clone())).detach();
        rt.block_on(tick());
        // Not started yet when the loop goes: destroyed with its parameters.
        rt.spawn_local(sleeps_for_an_hour(drops.clone())).detach();
        assert_eq!(rt.tasks(), 5);
        assert_eq!(drops.get(), 0);
    }
    // spawns_children's `_own`, its two children's `_a` and the first
    // sleeper's `_a`, each once; the unstarted one had none.
    assert_eq!(drops.get(), 4);
    assert_eq!(Rc::strong_count(&drops), 1);
    // The thread can have a new loop.
    drop(EventLoop::new().unwrap());
}

#[coro::coroutine]
fn panics() -> Task<u32> {
    co_await!(yield_now());
    panic!("boom")
}

#[coro::coroutine]
fn awaits_panicking(h: JoinHandle<u32>) -> Task<bool> {
    let v = co_await!(h);
    co_return!(v == 0)
}

#[test]
fn a_panic_in_a_spawned_task_reaches_whoever_joins_it() {
    let rt = EventLoop::new().unwrap();
    let h = rt.spawn_local(panics());
    let joined = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| rt.block_on(awaits_panicking(h))));
    assert_eq!(joined.expect_err("propagates").downcast_ref::<&str>(), Some(&"boom"));
    // The loop is still usable.
    assert_eq!(rt.block_on(rt.spawn_local(panics_not())), 3);
}

#[coro::coroutine]
fn panics_not() -> Task<u32> {
    co_return!(3)
}
