use coro::Task;

#[coro::coroutine]
fn total(x: u32) -> Task<u32> {
    let sum = x + 1;
    sum
}

fn main() {}
