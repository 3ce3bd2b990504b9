//! Final suspend never: the frame destroys itself when the body finishes.
use super::trace::*;
use coro::co_return;

#[coro::coroutine]
fn once() -> Co<ValuePromise> {
    let _a = Local::new("a");
    ev("body: start");
    co_return!(1)
}

pub fn run() {
    set_cfg(|c| c.final_ready = true);
    ev("caller: call");
    let co = once();
    ev("caller: got return object");
    co.resume();
    ev("caller: end");
}
