use coro::{co_return, Task};

#[coro::coroutine]
fn f() -> Task<(u32, u32)> {
    co_return!(1, 2)
}

fn main() {}
