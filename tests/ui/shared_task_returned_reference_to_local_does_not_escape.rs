// SharedTask: co_return! of a reference to a body local is rejected for a `'static` result.
use coro::{co_return, SharedTask};

#[coro::coroutine]
fn f() -> SharedTask<&'static str> {
    let s = String::from("x");
    co_return!(s.as_str())
}

fn main() {}
