use coro::{co_await, co_return, Task};

#[coro::coroutine]
fn counter() -> Task<u32> {
    static START: u32 = co_await!(coro::SuspendNever);
    co_return!(START)
}

fn main() {}
