//! C++ operator co_await = coro IntoAwaiter.
use super::trace::*;
use coro::{co_await, co_return, IntoAwaiter};

pub struct Wrapper {
    pub tag: &'static str,
    pub value: i32,
}

impl IntoAwaiter for Wrapper {
    type Awaiter = AwVoid;
    fn into_awaiter(self) -> AwVoid {
        ev(format!("operator co_await {}", self.tag));
        AwVoid::new(self.tag, self.value)
    }
}

#[coro::coroutine]
fn f() -> Co<ValuePromise> {
    let v = co_await!(Wrapper { tag: "w", value: 3 });
    ev(format!("body: got {v}"));
    let r = co_await!(AwVoid::ready("x", 4));
    ev(format!("body: got {r}"));
    co_return!(v + r)
}

pub fn run() {
    let co = f();
    co.resume();
    co.resume();
    co.done();
    ev(format!("caller: value {}", co.promise().value));
    co.destroy();
}
