// when_any's result borrows what its tasks borrowed (a body local): it cannot be co_returned as `'static`.
use coro::{co_await, co_return, when_any, Task};

#[coro::coroutine]
fn first<'a>(s: &'a str) -> Task<&'a str> {
    co_return!(&s[..1])
}

#[coro::coroutine]
fn parent() -> Task<&'static str> {
    let s = String::from("xy");
    let (_i, a) = co_await!(when_any(vec![first(&s), first(&s)]));
    co_return!(a)
}

fn main() {}
