//! `interval`: tick order and counts, first tick, missed-tick bursts,
//! cancellation. No timing assertions beyond "not before the deadline".

mod common;

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::{Duration, Instant};

use common::Counted;
use coro::{co_await, co_return, Task};
use coro_io::{interval, interval_at, sleep, timeout, EventLoop};

#[coro::coroutine]
fn ticks(period_ms: u64, n: u32) -> Task<Vec<Instant>> {
    let mut iv = interval(Duration::from_millis(period_ms));
    let mut seen = Vec::new();
    for _ in 0..n {
        let t = co_await!(iv.tick());
        assert!(Instant::now() >= t, "resumed before its deadline");
        seen.push(t);
    }
    co_return!(seen)
}

#[test]
fn ticks_come_on_the_grid_of_the_period() {
    let rt = EventLoop::new().unwrap();
    let before = Instant::now();
    let seen = rt.block_on(ticks(1, 5));
    assert_eq!(seen.len(), 5);
    // The first tick is at once: its deadline is when `interval` was called.
    assert!(seen[0] >= before);
    for w in seen.windows(2) {
        assert_eq!(w[1] - w[0], Duration::from_millis(1));
    }
    assert_eq!((rt.tasks(), rt.timers(), rt.registrations()), (0, 0, 0));
}

#[coro::coroutine]
fn first_tick_at(start: Instant) -> Task<Instant> {
    let mut iv = interval_at(start, Duration::from_secs(3600));
    co_return!(co_await!(iv.tick()))
}

#[test]
fn interval_at_starts_at_its_start() {
    let rt = EventLoop::new().unwrap();
    let start = Instant::now() + Duration::from_millis(3);
    assert_eq!(rt.block_on(first_tick_at(start)), start);
    assert!(Instant::now() >= start);
}

#[coro::coroutine]
fn ticker(id: u32, period_ms: u64, n: u32, start: Instant, log: Rc<RefCell<Vec<(Instant, u32)>>>) -> Task<()> {
    let mut iv = interval_at(start, Duration::from_millis(period_ms));
    for _ in 0..n {
        let t = co_await!(iv.tick());
        log.borrow_mut().push((t, id));
    }
    co_return!(())
}

#[test]
fn two_intervals_on_one_loop_each_tick_on_their_grid() {
    let rt = EventLoop::new().unwrap();
    let log = Rc::new(RefCell::new(Vec::new()));
    let start = Instant::now() + Duration::from_millis(2);
    // Periods 2 and 3 ms from the same start: deadlines 0,2,4,6 and 0,3,6.
    rt.spawn_local(ticker(2, 2, 4, start, log.clone())).detach();
    rt.spawn_local(ticker(3, 3, 3, start, log.clone())).detach();
    rt.run();
    let log = log.borrow();
    assert_eq!(log.len(), 7);
    let counts = |id| log.iter().filter(|(_, i)| *i == id).count();
    assert_eq!((counts(2), counts(3)), (4, 3));
    // Each interval ticks on its own grid, in order, whatever the other
    // does (how the two interleave depends on how punctual the loop is).
    for (id, period) in [(2, 2), (3, 3)] {
        let mine: Vec<Instant> = log.iter().filter(|(_, i)| *i == id).map(|(t, _)| *t).collect();
        for (k, t) in mine.iter().enumerate() {
            assert_eq!(*t, start + Duration::from_millis(period * k as u64));
        }
    }
}

#[coro::coroutine]
fn late_ticker(period_ms: u64) -> Task<(Vec<Instant>, u32)> {
    let start = Instant::now();
    let mut iv = interval_at(start, Duration::from_millis(period_ms));
    let first = co_await!(iv.tick());
    // Busy for five periods: four ticks are missed.
    std::thread::sleep(Duration::from_millis(5 * period_ms));
    let mut seen = vec![first];
    let mut burst = 0;
    // The missed deadlines have passed: they complete at once, one per
    // turn, until the interval catches up with the clock.
    while iv.next_tick() <= Instant::now() {
        seen.push(co_await!(iv.tick()));
        burst += 1;
        assert!(burst < 1000);
    }
    co_return!((seen, burst))
}

#[test]
fn missed_ticks_burst_on_the_grid() {
    let rt = EventLoop::new().unwrap();
    let (seen, burst) = rt.block_on(late_ticker(2));
    // At least the four missed ticks and the one due when it woke.
    assert!(burst >= 5, "burst of {burst}");
    for (k, t) in seen.iter().enumerate() {
        assert_eq!(*t - seen[0], Duration::from_millis(2) * k as u32);
    }
}

// The borrows held across a tick are the point: no one else takes them.
#[allow(clippy::await_holding_refcell_ref)]
#[coro::coroutine]
fn tick_with_timeout(drops: Rc<Cell<u32>>) -> Task<(bool, Instant, Instant)> {
    let _a = Counted(drops);
    let start = Instant::now() + Duration::from_millis(20);
    let iv = Rc::new(RefCell::new(interval_at(start, Duration::from_secs(3600))));
    // A tick cut short by a timeout does not consume its deadline.
    let cut = co_await!(timeout(Duration::from_millis(1), cut_short(iv.clone())));
    let mut iv = iv.borrow_mut();
    let next = iv.next_tick();
    let t = co_await!(iv.tick());
    co_return!((cut.is_err(), next, t))
}

// A helper task sharing the interval: the timeout destroys it (and its
// `Tick`, then the borrow) while it is suspended.
#[allow(clippy::await_holding_refcell_ref)]
#[coro::coroutine]
fn cut_short(iv: Rc<RefCell<coro_io::Interval>>) -> Task<Instant> {
    let mut iv = iv.borrow_mut();
    co_return!(co_await!(iv.tick()))
}

#[test]
fn a_dropped_tick_withdraws_its_timer_and_keeps_its_deadline() {
    let rt = EventLoop::new().unwrap();
    let drops = Rc::new(Cell::new(0));
    let start_min = Instant::now() + Duration::from_millis(20);
    let (timed_out, next, t) = rt.block_on(tick_with_timeout(drops.clone()));
    assert!(timed_out);
    assert_eq!(next, t);
    assert!(t >= start_min);
    assert_eq!(drops.get(), 1);
    assert_eq!((rt.tasks(), rt.timers(), rt.registrations()), (0, 0, 0));
}

#[coro::coroutine]
fn forever_ticking(count: Rc<Cell<u32>>, drops: Rc<Cell<u32>>) -> Task<()> {
    let _a = Counted(drops);
    let mut iv = interval(Duration::from_millis(1));
    loop {
        co_await!(iv.tick());
        count.set(count.get() + 1);
    }
}

#[coro::coroutine]
fn wait_ms(ms: u64) -> Task<()> {
    co_await!(sleep(Duration::from_millis(ms)));
    co_return!(())
}

#[test]
fn cancelling_a_ticking_task_destroys_it_and_its_timer() {
    let rt = EventLoop::new().unwrap();
    let count = Rc::new(Cell::new(0));
    let drops = Rc::new(Cell::new(0));
    let h = rt.spawn_local(forever_ticking(count.clone(), drops.clone()));
    rt.block_on(wait_ms(5));
    assert!(count.get() >= 1);
    // Suspended on its tick: in the heap, or due and on the ready queue.
    assert_eq!(rt.registrations(), 1);
    h.cancel();
    assert_eq!(drops.get(), 1);
    assert_eq!((rt.tasks(), rt.timers(), rt.registrations()), (0, 0, 0));
}

#[test]
#[should_panic(expected = "period must be non-zero")]
fn a_zero_period_panics() {
    let _ = interval(Duration::ZERO);
}
