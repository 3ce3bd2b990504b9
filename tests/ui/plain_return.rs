use coro::{co_return, Task};

#[coro::coroutine]
fn early(x: u32) -> Task<u32> {
    if x == 0 {
        return 0;
    }
    co_return!(x)
}

fn main() {}
