//! await_suspend returning (): stay suspended.
use super::trace::*;
use coro::{co_await, co_return};

#[coro::coroutine]
fn waits() -> Co<ValuePromise> {
    let v = co_await!(AwVoid::new("x", 5));
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
