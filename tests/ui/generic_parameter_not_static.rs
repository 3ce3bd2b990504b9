use coro::{co_return, Task};

#[coro::coroutine]
fn keep<T>(x: T) -> Task<T> {
    co_return!(x)
}

fn main() {}
