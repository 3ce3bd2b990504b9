// A SendSharedTask's frame must be 'static, as a SendTask's: it may be detached while running on another thread.
use coro::{co_return, SendSharedTask};

#[coro::coroutine]
fn first<'a>(s: &'a str) -> SendSharedTask<&'a str> {
    co_return!(&s[..1])
}

fn main() {}
