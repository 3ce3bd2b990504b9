//! Deadlines, a timeout and a cancellation on coro-io's event loop, with
//! what happens printed; each claim is asserted.
//!
//! `cargo run --example timers -p coro-io`

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::{Duration, Instant};

use coro::{co_await, co_return, Task};
use coro_io::{sleep, sleep_until, spawn_local, timeout, Elapsed, EventLoop};

/// Prints when it is dropped: shows a destroyed task's locals going.
struct Noisy(&'static str, Rc<Cell<u32>>);

impl Drop for Noisy {
    fn drop(&mut self) {
        println!("  drop: {}", self.0);
        self.1.set(self.1.get() + 1);
    }
}

#[coro::coroutine]
fn wake_at(ms: u64, start: Instant, log: Rc<RefCell<Vec<u64>>>) -> Task<()> {
    // An absolute deadline, fixed before the sleepers start.
    co_await!(sleep_until(start + Duration::from_millis(ms)));
    println!("  {ms:>3} ms sleeper woke after {:?}", start.elapsed());
    log.borrow_mut().push(ms);
    co_return!(())
}

#[coro::coroutine]
fn slow_answer(ms: u64, drops: Rc<Cell<u32>>) -> Task<u32> {
    let _local = Noisy("slow_answer's local", drops);
    co_await!(sleep(Duration::from_millis(ms)));
    co_return!(42)
}

#[coro::coroutine]
fn with_timeout(limit_ms: u64, work_ms: u64, drops: Rc<Cell<u32>>) -> Task<Result<u32, Elapsed>> {
    co_return!(co_await!(timeout(Duration::from_millis(limit_ms), slow_answer(work_ms, drops))))
}

#[coro::coroutine]
fn tick() -> Task<()> {
    co_await!(coro_io::yield_now());
    co_return!(())
}

fn main() {
    let rt = EventLoop::new().expect("an event loop");

    println!("1. deadlines: five sleepers spawned out of order wake in deadline order");
    let start = Instant::now();
    let log = Rc::new(RefCell::new(Vec::new()));
    for ms in [40, 10, 30, 0, 20] {
        spawn_local(wake_at(ms, start, log.clone())).detach();
    }
    rt.run();
    assert_eq!(*log.borrow(), [0, 10, 20, 30, 40]);

    println!("2. timeout: work of 1 h under a 10 ms limit");
    let drops = Rc::new(Cell::new(0));
    let r = rt.block_on(with_timeout(10, 3_600_000, drops.clone()));
    println!("  result: {r:?}");
    assert_eq!(r, Err(Elapsed::default()));
    assert_eq!(drops.get(), 1, "the inner task was destroyed, its local dropped once");
    assert_eq!(rt.timers(), 0, "its sleep was withdrawn");

    println!("3. timeout: work of 1 ms under a 1 h limit");
    let r = rt.block_on(with_timeout(3_600_000, 1, drops.clone()));
    println!("  result: {r:?}; timers left: {}", rt.timers());
    assert_eq!(r, Ok(42));
    assert_eq!(rt.timers(), 0, "the finished work withdrew the hour-long timer");

    println!("4. cancellation: a task sleeping for an hour, cancelled");
    let drops = Rc::new(Cell::new(0));
    let h = rt.spawn_local(slow_answer(3_600_000, drops.clone()));
    rt.block_on(tick());
    println!("  before cancel: {} task, {} timer", rt.tasks(), rt.timers());
    h.cancel();
    println!("  after cancel:  {} tasks, {} timers", rt.tasks(), rt.timers());
    assert_eq!((rt.tasks(), rt.timers(), drops.get()), (0, 0, 1));
    println!("all claims hold");
}
