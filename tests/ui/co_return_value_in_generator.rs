use coro::{co_return, Generator};

#[coro::coroutine]
fn gen() -> Generator<u32> {
    co_return!(5u32)
}

fn main() {}
