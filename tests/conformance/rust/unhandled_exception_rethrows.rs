//! A rethrowing unhandled_exception: done() is true, final_suspend is not
//! evaluated, and the panic reaches the resumer.
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
    set_cfg(|c| c.rethrow = true);
    let co = f(Param::new("p", 1));
    co.resume();
    catching(|| co.resume());
    co.done();
    co.destroy();
}
