//! A panic in the ramp before the first suspension (PromiseCtor).
use super::trace::*;
use coro::co_return;

#[coro::coroutine]
fn f(p: Param) -> Co<ValuePromise> {
    ev(format!("body: never runs {}", p.value));
    co_return!(0)
}

pub fn run() {
    set_cfg(|c| c.fail = Fail::PromiseCtor);
    catching(|| {
        ev("caller: call");
        let _co = f(Param::new("p", 1));
        ev("caller: got return object");
    });
    ev("caller: end");
}
