//! Destroying an unstarted coroutine: promise, parameters, frame.
use super::trace::*;
use coro::co_return;

#[coro::coroutine]
fn never(p: Param) -> Co<ValuePromise> {
    let _a = Local::new("a");
    ev(format!("body: never printed {}", p.value));
    co_return!(0)
}

pub fn run() {
    let co = never(Param::new("p", 1));
    ev("caller: got return object");
    co.done();
    co.destroy();
}
