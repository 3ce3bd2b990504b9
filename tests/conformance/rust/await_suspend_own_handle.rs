//! await_suspend returning the coroutine's own handle: resumed at once.
use super::trace::*;
use coro::{co_await, co_return};

#[coro::coroutine]
fn self_transfer() -> Co<ValuePromise> {
    let v = co_await!(AwHandle { tag: "x", value: 4, target: None, target_name: "self" });
    ev(format!("body: got {v}"));
    co_return!(v)
}

pub fn run() {
    let co = self_transfer();
    co.resume();
    co.done();
    co.destroy();
}
