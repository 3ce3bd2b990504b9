//! await_suspend returning another coroutine's handle: symmetric transfer.
use super::trace::*;
use coro::{co_await, co_return, CoroutineHandle};

#[coro::coroutine]
fn other() -> Co<VoidPromise> {
    ev("body: other runs");
    co_return!();
}

#[coro::coroutine]
fn first(target: CoroutineHandle) -> Co<ValuePromise> {
    ev("body: first runs");
    let v = co_await!(AwHandle { tag: "x", value: 3, target: Some(target), target_name: "other" });
    ev(format!("body: first got {v}"));
    co_return!(v)
}

pub fn run() {
    let o = other();
    let f = first(o.h.erase());
    f.resume();
    o.done();
    f.done();
    f.resume();
    f.done();
    f.destroy();
    o.destroy();
}
