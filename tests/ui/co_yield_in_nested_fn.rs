use coro::{co_yield, Generator};

#[coro::coroutine]
fn evens() -> Generator<u32> {
    fn emit(n: u32) {
        co_yield!(n * 2);
    }
    for n in 0..3 {
        emit(n);
    }
}

fn main() {}
