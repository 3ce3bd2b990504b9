//! A panic in await_suspend is rethrown at the co_await, inside the body.
use super::trace::*;
use coro::{co_await, co_return, AwaitSuspend, Awaiter, CoroutineHandle};

pub struct ThrowingSuspend {
    tag: &'static str,
}

impl Awaiter for ThrowingSuspend {
    type Output = ();
    fn await_ready(&mut self) -> bool {
        ev(format!("await_ready {} -> false", self.tag));
        false
    }
    unsafe fn await_suspend(&mut self, _: CoroutineHandle) -> impl AwaitSuspend {
        ev(format!("await_suspend {}", self.tag));
        raise("await_suspend");
    }
    fn await_resume(self) {
        ev(format!("await_resume {}", self.tag));
    }
}

#[coro::coroutine]
fn f() -> Co<ValuePromise> {
    let _a = Local::new("a");
    co_await!(ThrowingSuspend { tag: "x" });
    ev("body: never printed");
    co_return!(1)
}

pub fn run() {
    let co = f();
    co.resume();
    co.done();
    ev(format!("caller: promise holds {}", what_of(co.promise().error.as_ref().unwrap())));
    co.destroy();
}
