//! await_ready() true: no suspension.
use super::trace::*;
use coro::{co_await, co_return};

#[coro::coroutine]
fn ready() -> Co<ValuePromise> {
    let v = co_await!(AwVoid::ready("x", 5));
    ev(format!("body: got {v}"));
    co_return!(v)
}

pub fn run() {
    let co = ready();
    co.resume();
    co.done();
    co.destroy();
}
