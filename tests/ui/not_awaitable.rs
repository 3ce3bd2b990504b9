use coro::{co_await, co_return, Task};

#[coro::coroutine]
fn waits() -> Task<u32> {
    let x = co_await!(5u32);
    co_return!(x)
}

fn main() {}
