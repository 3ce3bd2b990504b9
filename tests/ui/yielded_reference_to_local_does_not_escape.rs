// co_yield! of a reference to a body local is rejected when the item type is `'static`.
use coro::{co_yield, Generator};

#[coro::coroutine]
fn names() -> Generator<&'static str> {
    let s = String::from("hello");
    co_yield!(s.as_str());
}

fn main() {}
