//! Final suspend always: done() only at the final suspend point.
use super::trace::*;
use coro::{co_await, co_return};

#[coro::coroutine]
fn twice() -> Co<ValuePromise> {
    let _a = Local::new("a");
    let v = co_await!(AwVoid::new("x", 1));
    co_return!(v + 1)
}

pub fn run() {
    let co = twice();
    co.done();
    co.resume();
    co.done();
    co.resume();
    co.done();
    ev(format!("caller: value {}", co.promise().value));
    co.destroy();
}
