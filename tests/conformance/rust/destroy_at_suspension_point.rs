//! Destroying a coroutine suspended in its body drops exactly its live locals.
use super::trace::*;
use coro::{co_await, co_return};

#[coro::coroutine]
fn parked(p: Param) -> Co<ValuePromise> {
    let _a = Local::new("a");
    let _b = Local::new("b");
    co_await!(AwVoid::new("x", 0));
    let _c = Local::new("c");
    co_return!(p.value)
}

pub fn run() {
    let co = parked(Param::new("p", 1));
    co.resume();
    co.done();
    co.destroy();
}
