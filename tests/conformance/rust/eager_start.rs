//! Eager start: the body runs inside the call until its first suspension.
use super::trace::*;
use coro::{co_await, co_return};

#[coro::coroutine]
fn eager() -> Co<ValuePromise> {
    ev("body: start");
    let v = co_await!(AwVoid::new("x", 7));
    ev(format!("body: got {v}"));
    co_return!(v)
}

pub fn run() {
    set_cfg(|c| c.initial_ready = true);
    ev("caller: call");
    let co = eager();
    ev("caller: got return object");
    co.done();
    co.resume();
    co.done();
    co.destroy();
}
