// co_yield!(elements_of(g)): the nested generator's items must be the parent's exact item type, so a borrow of a parent local cannot pass for `'static`.
use coro::{co_yield, elements_of, RecursiveGenerator};

#[coro::coroutine]
fn words<'a>(s: &'a String) -> RecursiveGenerator<&'a str, &'a String> {
    co_yield!(s.as_str());
}

#[coro::coroutine]
fn all() -> RecursiveGenerator<&'static str> {
    let s = String::from("x");
    co_yield!(elements_of(words(&s)));
}

fn main() {}
