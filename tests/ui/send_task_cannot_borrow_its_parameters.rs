// A SendTask's frame must be 'static: dropped while running on another thread, it is detached and runs on, so it must not borrow.
use coro::{co_return, SendTask};

#[coro::coroutine]
fn first<'a>(s: &'a str) -> SendTask<&'a str> {
    co_return!(&s[..1])
}

fn main() {}
