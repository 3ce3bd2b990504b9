use coro::{co_return, Task};

#[coro::coroutine(promis = Task<u32>)]
fn f() -> Task<u32> {
    co_return!(1)
}

fn main() {}
