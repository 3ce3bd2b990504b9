// SendGenerator: co_yield! of a reference to a body local is rejected for a `'static` item.
use coro::{co_yield, SendGenerator};

#[coro::coroutine]
fn names() -> SendGenerator<&'static str> {
    let s = String::from("hello");
    co_yield!(s.as_str());
}

fn main() {}
