// when_all's results borrow what its tasks borrowed (a body local): they cannot be co_returned as `'static`.
use coro::{co_await, co_return, when_all, Task};

#[coro::coroutine]
fn first<'a>(s: &'a str) -> Task<&'a str> {
    co_return!(&s[..1])
}

#[coro::coroutine]
fn parent() -> Task<&'static str> {
    let s = String::from("xy");
    let (a, _b) = co_await!(when_all((first(&s), first(&s))));
    co_return!(a)
}

fn main() {}
