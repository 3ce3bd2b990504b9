//! A sleep allocates nothing once the loop is warm: the timer entry lives
//! in the awaiter, and the loop's slab, heap and ready queue keep their
//! capacity. Its own binary: it installs a counting global allocator.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::time::Duration;

use coro::{co_await, co_return, Task};
use coro_io::{sleep, EventLoop};

struct Counting;

thread_local! {
    // `const`, no destructor: reading it never allocates.
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

// SAFETY: forwards to the system allocator; the counter is a plain
// thread-local cell, which never allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
        // SAFETY: the caller's contract, passed on.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract, passed on.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
        // SAFETY: the caller's contract, passed on.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations() -> u64 {
    ALLOCATIONS.with(Cell::get)
}

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
