use coro::{co_await, co_return, Task};

macro_rules! wait {
    () => {
        co_await!(coro::SuspendNever)
    };
}

#[coro::coroutine]
fn waits() -> Task<u32> {
    wait!();
    co_return!(1)
}

fn main() {}
