use coro::{co_yield, Generator};

#[coro::coroutine]
fn firsts() -> Generator<u32> {
    let mut values = vec![1, 2, 3];
    let first = &values[0];
    co_yield!(*first);
    values.push(4);
    co_yield!(*first);
}

fn main() {}
