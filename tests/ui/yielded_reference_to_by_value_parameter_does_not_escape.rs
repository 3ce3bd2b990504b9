// co_yield! of a reference into a by-value parameter (owned by the frame) is rejected for a `'static` item.
use coro::{co_yield, Generator};

#[coro::coroutine]
fn chars(s: String) -> Generator<&'static str> {
    co_yield!(s.as_str());
}

fn main() {}
