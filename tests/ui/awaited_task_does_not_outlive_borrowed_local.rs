// An awaiter held across a suspension (a task borrowing a local) cannot outlive that local.
use coro::{co_await, co_return, Task};

#[coro::coroutine]
fn first<'a>(s: &'a str) -> Task<&'a str> {
    co_return!(&s[..1])
}

#[coro::coroutine]
fn parent() -> Task<usize> {
    let t;
    {
        let s = String::from("xy");
        t = first(&s);
    }
    co_return!(co_await!(t).len())
}

fn main() {}
