use coro::{co_await, co_return, Task};

#[coro::coroutine]
fn waits() -> Task<()> {
    co_await!();
    co_return!(())
}

fn main() {}
