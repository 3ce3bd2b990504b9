// AsyncGenerator: co_yield! of a reference to a body local is rejected for a `'static` item.
use coro::{co_yield, AsyncGenerator};

#[coro::coroutine]
fn names() -> AsyncGenerator<&'static str> {
    let s = String::from("hello");
    co_yield!(s.as_str());
}

fn main() {}
