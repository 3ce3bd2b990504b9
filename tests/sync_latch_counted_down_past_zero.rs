//! A latch counted down past zero (undefined behaviour for `std::latch`)
//! opens — count 0, every waiter resumed — and then panics, instead of
//! panicking with the count unchanged and its waiters suspended forever.
//! Both flavours; `count_down_by` and an `arrive_and_wait` at an open latch.

mod common;
mod sync_helpers;

use std::rc::Rc;

use common::{expect_panic, Job, Log};
use coro::sync::latch::Latch;
use coro::sync::{Flavor, Local, ThreadSafe};
use coro::{co_await, co_return};
use sync_helpers::{for_both_flavours, start};

trait Make: Flavor + Sized {
    fn latch(n: usize) -> Latch<Self>;
}
impl Make for Local {
    fn latch(n: usize) -> Latch<Self> {
        Latch::<Local>::new(n)
    }
}
impl Make for ThreadSafe {
    fn latch(n: usize) -> Latch<Self> {
        Latch::<ThreadSafe>::new(n)
    }
}

#[coro::coroutine]
fn waiter<F: Flavor>(l: Rc<Latch<F>>, log: Log, name: &'static str, arrive: bool) -> Job<()> {
    let _local = log.counted(name);
    if arrive {
        co_await!(l.arrive_and_wait());
    } else {
        co_await!(l.wait());
    }
    log.push(format!("{name} passed"));
    co_return!(())
}

fn counting_down_past_zero_releases_the_waiters_then_panics<F: Make>() {
    let log = Log::new();
    let l = Rc::new(F::latch(2));
    let jobs: Vec<_> = ["a", "b"].map(|n| start(waiter(l.clone(), log.clone(), n, false))).into();
    let msg = expect_panic(|| {
        l.count_down_by(3);
        log.push("count_down_by returned");
    });
    assert!(msg.contains("counted down by 3 with a count of 2"), "{msg}");
    assert_eq!(log.events(), ["a passed", "drop a", "b passed", "drop b"], "released before the panic");
    assert!(l.is_ready());
    assert_eq!(l.count(), 0);
    let late = start(waiter(l.clone(), log.clone(), "late", false));
    assert!(late.done(), "the latch stays open");
    drop((jobs, late));
    log.assert_each_dropped_once();
}

fn counting_down_an_open_latch_panics_and_leaves_it_open<F: Make>() {
    let l = F::latch(1);
    l.count_down();
    let msg = expect_panic(|| l.count_down());
    assert!(msg.contains("counted down by 1 with a count of 0"), "{msg}");
    assert!(l.is_ready());
}

fn counting_down_to_exactly_zero_does_not_panic<F: Make>() {
    let log = Log::new();
    let l = Rc::new(F::latch(3));
    let a = start(waiter(l.clone(), log.clone(), "a", false));
    l.count_down_by(3);
    assert!(a.done());
    drop(a);
    log.assert_each_dropped_once();
}

fn an_arrival_at_an_open_latch_panics_in_its_own_coroutine_only<F: Make>() {
    let log = Log::new();
    let l = Rc::new(F::latch(1));
    let a = start(waiter(l.clone(), log.clone(), "a", false));
    let b = start(waiter(l.clone(), log.clone(), "b", true)); // opens the latch: a passes
    assert!(a.done() && b.done());
    // A third party arriving at the open latch: its own `co_await!` panics
    // (stored in its promise); nobody else is affected.
    let c = start(waiter(l.clone(), log.clone(), "c", true));
    assert!(c.done());
    let msg = c.panic_message().expect("the late arrival panicked");
    assert!(msg.contains("counted down by 1 with a count of 0"), "{msg}");
    assert_eq!(log.count("c passed"), 0);
    assert!(l.is_ready());
    drop((a, b, c));
    log.assert_each_dropped_once();
}

fn a_waiter_destroyed_before_the_overdraw_is_not_resumed<F: Make>() {
    let log = Log::new();
    let l = Rc::new(F::latch(1));
    let a = start(waiter(l.clone(), log.clone(), "a", false));
    let b = start(waiter(l.clone(), log.clone(), "b", false));
    drop(a);
    let _ = expect_panic(|| l.count_down_by(2));
    assert_eq!(log.events(), ["drop a", "b passed", "drop b"]);
    drop(b);
    log.assert_each_dropped_once();
}

for_both_flavours!(
    counting_down_past_zero_releases_the_waiters_then_panics,
    counting_down_an_open_latch_panics_and_leaves_it_open,
    counting_down_to_exactly_zero_does_not_panic,
    an_arrival_at_an_open_latch_panics_in_its_own_coroutine_only,
    a_waiter_destroyed_before_the_overdraw_is_not_resumed,
);
