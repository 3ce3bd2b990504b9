use coro::{co_yield, Generator};

#[coro::coroutine]
fn chars<'a>(s: &'a str) -> Generator<char, &'a str> {
    for c in s.chars() {
        co_yield!(c);
    }
}

fn main() {
    let g = {
        let text = String::from("dangling");
        chars(&text)
    };
    for c in g {
        println!("{c}");
    }
}
