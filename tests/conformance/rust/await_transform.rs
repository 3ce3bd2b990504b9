//! A promise with await_transform: every co_await! operand goes through it;
//! initial/final suspend and co_yield! do not.
use super::operator_co_await::Wrapper;
use super::trace::*;
use coro::promise::{AwaitTransform, AwaitTransformed, Payload, ReturnValue, ReturnsValue, YieldValue};
use coro::{co_await, co_return, co_yield, Promise};

pub struct TransformPromise {
    value: i32,
    error: Option<Payload>,
    _t: PromiseTrace,
}

impl Default for TransformPromise {
    fn default() -> Self {
        TransformPromise { _t: PromiseTrace::new(), value: 0, error: None }
    }
}

impl Promise for TransformPromise {
    type ReturnObject = Co<TransformPromise>;
    type Return = ReturnsValue;
    type Await = AwaitTransformed;
    traced_promise_base!();
    unsafe fn get_return_object(&mut self) -> Co<TransformPromise> {
        ev("get_return_object");
        Co::from_promise(self)
    }
}

impl ReturnValue<i32> for TransformPromise {
    fn return_value(&mut self, v: i32) {
        ev(format!("return_value {v}"));
        self.value = v;
    }
}

impl AwaitTransform<i32> for TransformPromise {
    type Awaitable = AwVoid;
    fn await_transform(&mut self, v: i32) -> AwVoid {
        ev(format!("await_transform {v}"));
        AwVoid::new("t", v * 10)
    }
}

impl AwaitTransform<Wrapper> for TransformPromise {
    type Awaitable = Wrapper;
    fn await_transform(&mut self, w: Wrapper) -> Wrapper {
        ev(format!("await_transform {}", w.tag));
        Wrapper { tag: "w2", value: w.value + 1 }
    }
}

impl YieldValue<i32> for TransformPromise {
    type Awaitable = AwVoid;
    fn yield_value(&mut self, v: i32) -> AwVoid {
        ev(format!("yield_value {v}"));
        AwVoid::new("yield", 0)
    }
}

#[coro::coroutine]
fn f() -> Co<TransformPromise> {
    let a = co_await!(5);
    ev(format!("body: got {a}"));
    let b = co_await!(Wrapper { tag: "w", value: 6 });
    ev(format!("body: got {b}"));
    co_yield!(7);
    co_return!(a + b)
}

pub fn run() {
    let co = f();
    co.resume();
    co.resume();
    co.resume();
    co.resume();
    co.done();
    ev(format!("caller: value {}", co.promise().value));
    co.destroy();
}
