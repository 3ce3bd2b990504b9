// co_yield!(elements_of(g)) may nest a generator that borrows a local of the parent: the parent's awaiter owns it and drops it first.
use coro::{co_yield, elements_of, RecursiveGenerator};

#[coro::coroutine]
fn lens<'a>(words: &'a [String]) -> RecursiveGenerator<usize, &'a [String]> {
    for w in words {
        co_yield!(w.len());
    }
}

#[coro::coroutine]
fn all() -> RecursiveGenerator<usize> {
    let words = vec![String::from("a"), String::from("bc")];
    co_yield!(elements_of(lens(&words)));
    co_yield!(words.len());
}

#[coro::coroutine]
fn refs<'a>(s: &'a str) -> RecursiveGenerator<&'a str, &'a str> {
    co_yield!(&s[..1]);
    co_yield!(elements_of(refs_tail(s)));
}

#[coro::coroutine]
fn refs_tail<'a>(s: &'a str) -> RecursiveGenerator<&'a str, &'a str> {
    co_yield!(&s[1..]);
}

fn main() {
    assert_eq!(all().collect::<Vec<_>>(), [1, 2, 2]);
    let mut half = all();
    assert_eq!(half.next(), Some(1));
    drop(half);
    let s = String::from("xyz");
    assert_eq!(refs(&s).collect::<Vec<_>>(), ["x", "yz"]);
}
