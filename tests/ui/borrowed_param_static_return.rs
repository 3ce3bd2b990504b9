use coro::{co_yield, Generator};

#[coro::coroutine]
fn chars(s: &str) -> Generator<char> {
    for c in s.chars() {
        co_yield!(c);
    }
}

fn main() {}
