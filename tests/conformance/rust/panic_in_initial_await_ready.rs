//! A panic at the initial suspend point before initial-await-resume-called
//! (InitialAwaitReady): it reaches the caller; the frame is freed exactly once (the
//! return object owns it here, yet its drop does not free it a second time).
use super::trace::*;
use coro::co_return;

#[coro::coroutine]
fn f(p: Param) -> TracedRo {
    ev(format!("body: never runs {}", p.value));
    co_return!();
}

pub fn run() {
    set_cfg(|c| c.fail = Fail::InitialAwaitReady);
    catching(|| {
        ev("caller: call");
        let _ro = f(Param::new("p", 1));
        ev("caller: got return object");
    });
    ev("caller: end");
}
