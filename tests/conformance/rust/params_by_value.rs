//! By-value parameters move into the frame.
use super::trace::*;
use coro::{co_await, co_return};

#[coro::coroutine]
fn sum(a: Param, b: Param) -> Co<ValuePromise> {
    ev(format!("body: a={} b={}", a.value, b.value));
    co_await!(AwVoid::new("x", 0));
    co_return!(a.value + b.value)
}

pub fn run() {
    ev("caller: call");
    let co = sum(Param::new("a", 1), Param::new("b", 2));
    ev("caller: got return object");
    co.resume();
    co.resume();
    ev(format!("caller: value {}", co.promise().value));
    co.destroy();
}
