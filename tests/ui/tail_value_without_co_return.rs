use coro::Task;

#[coro::coroutine]
fn double(x: u32) -> Task<u32> {
    x * 2
}

fn main() {}
