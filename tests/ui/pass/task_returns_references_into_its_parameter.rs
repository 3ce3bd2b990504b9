// Task and SharedTask may return references into data they borrow, and a parent may await them on its own locals.
use coro::{co_await, co_return, sync_wait, when_all, when_any, SharedTask, Task};

#[coro::coroutine]
fn first<'a>(s: &'a str) -> Task<&'a str> {
    co_return!(&s[..1])
}

#[coro::coroutine]
fn shared_first<'a>(s: &'a str) -> SharedTask<&'a str> {
    co_return!(&s[..1])
}

#[coro::coroutine]
fn parent() -> Task<usize> {
    let s = String::from("xy");
    let a = co_await!(first(&s));
    let (b, c) = co_await!(when_all((first(&s), first(&s))));
    let (_, d) = co_await!(when_any(vec![first(&s)]));
    let e = co_await!(shared_first(&s));
    co_return!(a.len() + b.len() + c.len() + d.len() + e.len())
}

#[coro::coroutine]
fn forward<'a>(s: &'a str) -> Task<&'a str> {
    co_return!(co_await!(first(s)))
}

fn main() {
    assert_eq!(sync_wait(parent()), 5);
    let s = String::from("hello");
    assert_eq!(sync_wait(forward(&s)), "h");
}
