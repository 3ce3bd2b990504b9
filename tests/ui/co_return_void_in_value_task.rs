use coro::{co_return, Task};

#[coro::coroutine]
fn nothing() -> Task<u32> {
    co_return!()
}

fn main() {}
