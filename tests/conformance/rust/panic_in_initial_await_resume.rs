//! A panic from the initial awaiter's await_resume goes to
//! unhandled_exception, like a panic in the body.
use super::trace::*;
use coro::co_return;

#[coro::coroutine]
fn f(p: Param) -> Co<ValuePromise> {
    ev(format!("body: never runs {}", p.value));
    co_return!(0)
}

pub fn run() {
    set_cfg(|c| c.fail = Fail::InitialAwaitResume);
    let co = f(Param::new("p", 1));
    co.resume();
    co.done();
    ev(format!("caller: promise holds {}", what_of(co.promise().error.as_ref().unwrap())));
    co.destroy();
}
