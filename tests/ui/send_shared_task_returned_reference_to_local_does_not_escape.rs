// SendSharedTask: co_return! of a reference to a body local is rejected for a `'static` result.
use coro::{co_return, SendSharedTask};

#[coro::coroutine]
fn f() -> SendSharedTask<&'static str> {
    let s = String::from("x");
    co_return!(s.as_str())
}

fn main() {}
