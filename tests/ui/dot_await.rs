use coro::{co_return, Task};

#[coro::coroutine]
fn f() -> Task<u32> {
    let v = async { 1 }.await;
    co_return!(v)
}

fn main() {}
