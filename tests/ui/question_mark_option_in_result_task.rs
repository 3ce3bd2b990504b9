use coro::{co_return, Task};

#[coro::coroutine]
fn first(v: Vec<u32>) -> Task<Result<u32, String>> {
    let x = v.first().copied()?;
    co_return!(Ok(x))
}

fn main() {}
