//! A sleep allocates nothing once the loop is warm: the timer entry lives
//! in the awaiter, and the loop's slab, heap and ready queue keep their
//! capacity. Its own binary: it installs a counting global allocator.

use std::time::Duration;

use coro::{co_await, co_return, Task};
use coro_io::{sleep, EventLoop};

#[path = "common/counting_alloc.rs"]
mod counting_alloc;
use counting_alloc::allocations;

#[coro::coroutine]
fn sleeps(warm_up: u32, measured: u32) -> Task<u64> {
    for _ in 0..warm_up {
        co_await!(sleep(Duration::ZERO));
    }
    let before = allocations();
    for _ in 0..measured {
        co_await!(sleep(Duration::ZERO));
    }
    co_return!(allocations() - before)
}

#[test]
fn ten_thousand_zero_sleeps_after_warm_up_allocate_nothing() {
    let rt = EventLoop::new().unwrap();
    let allocated = rt.block_on(sleeps(100, 10_000));
    assert_eq!(allocated, 0, "allocations over 10,000 sleeps");
}

#[coro::coroutine]
fn ticks(warm_up: u32, measured: u32) -> Task<u64> {
    // A period far shorter than a loop turn: every tick is due at once
    // (missed ticks burst), so 10,000 of them take no wall-clock time.
    let mut iv = coro_io::interval(Duration::from_nanos(1));
    for _ in 0..warm_up {
        co_await!(iv.tick());
    }
    let before = allocations();
    for _ in 0..measured {
        co_await!(iv.tick());
    }
    co_return!(allocations() - before)
}

#[test]
fn ten_thousand_interval_ticks_after_warm_up_allocate_nothing() {
    let rt = EventLoop::new().unwrap();
    let allocated = rt.block_on(ticks(100, 10_000));
    assert_eq!(allocated, 0, "allocations over 10,000 ticks");
}
