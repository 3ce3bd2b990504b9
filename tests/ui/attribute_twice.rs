use coro::{co_return, Task};

#[coro::coroutine]
#[coro::coroutine]
fn answer() -> Task<u32> {
    co_return!(42)
}

fn main() {
    let _task = answer();
}
