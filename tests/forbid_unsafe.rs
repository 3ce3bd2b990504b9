//! The macro's expansion contains no `unsafe`: a crate that forbids unsafe
//! code can define and use coroutines of every library type.
#![forbid(unsafe_code)]

use coro::{co_await, co_return, co_yield, sync_wait, Generator, SendTask, Task};

#[coro::coroutine]
fn numbers(n: u32) -> Generator<u32> {
    for i in 0..n {
        co_yield!(i);
    }
}

#[coro::coroutine]
fn child(x: u32) -> SendTask<u32> {
    co_return!(x + co_await!(std::future::ready(1)))
}

#[coro::coroutine]
fn parent(xs: Vec<u32>) -> Task<u32> {
    let mut total = 0;
    for x in xs {
        total += co_await!(child(x));
    }
    co_return!(total)
}

#[test]
fn coroutines_compile_and_run_under_forbid_unsafe_code() {
    assert_eq!(numbers(4).sum::<u32>(), 6);
    assert_eq!(sync_wait(parent(vec![1, 2, 3])), 9);
}
