//! An inline generator borrows its parameter, is pinned on the stack or
//! boxed, and is covariant in what it borrows.
use std::pin::pin;

use coro::co_yield;
use coro::generator::InlineGenerator;

#[coro::coroutine]
fn words<'a>(text: &'a str) -> InlineGenerator<&'a str, &'a str> {
    for w in text.split(' ') {
        co_yield!(w);
    }
}

fn longest<'a>(text: &'a str) -> Option<&'a str> {
    pin!(words(text)).max_by_key(|w| w.len())
}

fn boxed(text: &str) -> impl Iterator<Item = &str> {
    Box::pin(words(text))
}

fn main() {
    let text = String::from("an inline generator");
    assert_eq!(longest(&text), Some("generator"));
    assert_eq!(boxed(&text).count(), 3);
    let mut g = pin!(words(&text));
    assert_eq!(g.next(), Some("an"));
    assert_eq!(g.as_mut().last(), Some("generator"));
}
