//! await_suspend returning false: resume at once.
use super::trace::*;
use coro::{co_await, co_return};

#[coro::coroutine]
fn no_wait() -> Co<ValuePromise> {
    let v = co_await!(AwBool { tag: "x", value: 5, result: false });
    ev(format!("body: got {v}"));
    let w = co_await!(AwBool { tag: "y", value: 6, result: false });
    ev(format!("body: got {w}"));
    co_return!(v + w)
}

pub fn run() {
    let co = no_wait();
    co.resume();
    co.done();
    ev(format!("caller: value {}", co.promise().value));
    co.destroy();
}
