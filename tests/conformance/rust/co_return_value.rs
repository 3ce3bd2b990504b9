//! co_return!(v): return_value, then the locals, then final suspend.
use super::trace::*;
use coro::co_return;

#[coro::coroutine]
fn seven() -> Co<ValuePromise> {
    let _a = Local::new("a");
    let _b = Local::new("b");
    co_return!(7)
}

pub fn run() {
    let co = seven();
    co.resume();
    ev(format!("caller: value {}", co.promise().value));
    co.destroy();
}
