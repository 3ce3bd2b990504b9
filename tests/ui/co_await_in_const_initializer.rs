use coro::{co_await, co_return, SuspendNever, Task};

#[coro::coroutine]
fn configured() -> Task<()> {
    const LIMIT: () = co_await!(SuspendNever);
    co_return!(LIMIT)
}

fn main() {}
