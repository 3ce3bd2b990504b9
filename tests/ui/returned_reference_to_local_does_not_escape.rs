// co_return! of a reference to a body local is rejected when the result type is `'static`.
use coro::{co_return, Task};

#[coro::coroutine]
fn f() -> Task<&'static str> {
    let s = String::from("x");
    co_return!(s.as_str())
}

fn main() {}
