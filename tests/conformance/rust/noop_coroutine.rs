//! noop_coroutine(): "stay suspended, return to the resumer"; resuming or
//! destroying it does nothing; it is never done.
use super::trace::*;
use coro::{co_await, co_return, noop_coroutine};

#[coro::coroutine]
fn to_noop() -> Co<ValuePromise> {
    let v = co_await!(AwHandle { tag: "x", value: 8, target: Some(noop_coroutine()), target_name: "noop" });
    ev(format!("body: got {v}"));
    co_return!(v)
}

pub fn run() {
    let n = noop_coroutine();
    // SAFETY: the no-op coroutine may be resumed and destroyed at will.
    unsafe {
        n.resume();
        ev(format!("caller: noop resumed, done() -> {}", b(n.done())));
        n.destroy();
        ev(format!("caller: noop destroyed, done() -> {}", b(n.done())));
    }
    let co = to_noop();
    co.resume();
    co.done();
    co.resume();
    co.done();
    co.destroy();
}
