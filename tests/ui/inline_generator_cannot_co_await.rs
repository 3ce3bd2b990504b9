use coro::generator::InlineGenerator;
use coro::{co_await, co_yield, SuspendAlways};

#[coro::coroutine]
fn waits() -> InlineGenerator<u32> {
    co_await!(SuspendAlways);
    co_yield!(1);
}

fn main() {}
