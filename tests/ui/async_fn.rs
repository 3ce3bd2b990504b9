use coro::{co_return, Task};

#[coro::coroutine]
async fn f() -> Task<u32> {
    co_return!(1)
}

fn main() {}
