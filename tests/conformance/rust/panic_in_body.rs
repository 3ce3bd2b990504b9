//! A panic in the body: locals unwound, unhandled_exception, final suspend.
use super::trace::*;
use coro::co_await;

#[coro::coroutine]
fn f(_p: Param) -> Co<ValuePromise> {
    let _a = Local::new("a");
    co_await!(AwVoid::new("x", 0));
    let _b = Local::new("b");
    throw_boom("body")
}

pub fn run() {
    let co = f(Param::new("p", 1));
    co.resume();
    co.resume();
    co.done();
    ev(format!("caller: promise holds {}", what_of(co.promise().error.as_ref().unwrap())));
    co.destroy();
}
