//! Flowing off the end is co_return!(): return_void, then the locals.
use super::trace::*;
use coro::co_await;

#[coro::coroutine]
fn falls_off() -> Co<VoidPromise> {
    let _a = Local::new("a");
    co_await!(AwVoid::ready("x", 0));
    let _b = Local::new("b");
    ev("body: end");
}

pub fn run() {
    let co = falls_off();
    co.resume();
    co.destroy();
}
