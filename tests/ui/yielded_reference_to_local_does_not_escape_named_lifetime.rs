// With a named lifetime in the item type, a yielded local's borrow still cannot pass for `'a`.
use coro::{co_yield, Generator};

#[coro::coroutine]
fn names<'a>(_x: &'a u32) -> Generator<&'a str, &'a u32> {
    let s = String::from("hello");
    co_yield!(s.as_str());
}

fn main() {}
