//! await_suspend returning true: stay suspended.
use super::trace::*;
use coro::{co_await, co_return};

#[coro::coroutine]
fn waits() -> Co<ValuePromise> {
    let v = co_await!(AwBool { tag: "x", value: 5, result: true });
    ev(format!("body: got {v}"));
    co_return!(v)
}

pub fn run() {
    let co = waits();
    co.resume();
    co.done();
    co.resume();
    co.done();
    co.destroy();
}
