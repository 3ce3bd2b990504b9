// SendTask: co_return! of a reference to a body local is rejected for a `'static` result.
use coro::{co_return, SendTask};

#[coro::coroutine]
fn f() -> SendTask<&'static str> {
    let s = String::from("x");
    co_return!(s.as_str())
}

fn main() {}
