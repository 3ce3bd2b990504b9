use coro::{co_await, Generator, SuspendAlways};

#[coro::coroutine]
fn gen() -> Generator<u32> {
    co_await!(SuspendAlways);
}

fn main() {}
