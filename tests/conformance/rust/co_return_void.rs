//! co_return!(): return_void, then the locals, then final suspend.
use super::trace::*;
use coro::co_return;

#[coro::coroutine]
fn nothing() -> Co<VoidPromise> {
    let _a = Local::new("a");
    let _b = Local::new("b");
    co_return!();
}

pub fn run() {
    let co = nothing();
    co.resume();
    co.destroy();
}
