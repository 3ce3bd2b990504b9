use coro::{co_yield, Generator};

#[coro::coroutine]
fn both<'a, 'b>(a: &'a str, b: &'b str) -> Generator<char, &'a str> {
    for c in a.chars().chain(b.chars()) {
        co_yield!(c);
    }
}

fn main() {}
