// await_resume's result borrows what the awaited task borrowed (a body local): it cannot be co_returned as `'static`.
use coro::{co_await, co_return, Task};

#[coro::coroutine]
fn first<'a>(s: &'a str) -> Task<&'a str> {
    co_return!(&s[..1])
}

#[coro::coroutine]
fn parent() -> Task<&'static str> {
    let s = String::from("xy");
    let r = co_await!(first(&s));
    co_return!(r)
}

fn main() {}
