use coro::{co_return, Task};

#[coro::coroutine]
fn length<'a>(text: &'a str) -> Task<usize> {
    co_return!(text.len())
}

fn main() {}
