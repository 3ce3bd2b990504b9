use coro::{co_await, co_return, SuspendAlways, Task};

#[coro::coroutine]
fn outer() -> Task<()> {
    let f = || co_await!(SuspendAlways);
    f();
    co_return!(())
}

fn main() {}
