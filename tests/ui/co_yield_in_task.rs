use coro::{co_return, co_yield, Task};

#[coro::coroutine]
fn numbers() -> Task<u32> {
    co_yield!(1u32);
    co_return!(2)
}

fn main() {}
