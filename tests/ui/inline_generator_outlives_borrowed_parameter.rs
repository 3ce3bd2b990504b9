use std::pin::pin;

use coro::co_yield;
use coro::generator::InlineGenerator;

#[coro::coroutine]
fn chars<'a>(s: &'a str) -> InlineGenerator<char, &'a str> {
    for c in s.chars() {
        co_yield!(c);
    }
}

fn main() {
    let g = {
        let text = String::from("dangling");
        chars(&text)
    };
    for c in pin!(g) {
        println!("{c}");
    }
}
