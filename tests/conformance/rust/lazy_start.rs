//! Lazy start: nothing of the body runs until the caller resumes.
use super::trace::*;
use coro::co_return;

#[coro::coroutine]
fn answer() -> Co<ValuePromise> {
    ev("body: start");
    co_return!(42)
}

pub fn run() {
    ev("caller: call");
    let co = answer();
    ev("caller: got return object");
    co.done();
    co.resume();
    co.done();
    ev(format!("caller: value {}", co.promise().value));
    co.destroy();
}
