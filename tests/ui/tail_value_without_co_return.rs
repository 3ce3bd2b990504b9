use coro::Task;

#[coro::coroutine]
fn double(x: u32) -> Task<u32> {
    let v = x;
    v * 2
}

fn main() {}
