//! A promise built from the parameters (FromParams) sees and changes them.
use super::trace::*;
use coro::promise::{AwaitDirect, FromParams, Payload, ReturnValue, ReturnsValue};
use coro::{co_return, Promise};

pub struct ParamsPromise {
    value: i32,
    error: Option<Payload>,
    _t: PromiseTrace,
}

impl FromParams<(&mut i32, &mut Param)> for ParamsPromise {
    fn from_params((n, p): (&mut i32, &mut Param)) -> Self {
        let t = PromiseTrace::new();
        ev(format!("promise ctor sees n={} p={}, sets n={} p={}", n, p.value, *n + 1, p.value * 10));
        *n += 1;
        p.value *= 10;
        ParamsPromise { _t: t, value: 0, error: None }
    }
}

impl Promise for ParamsPromise {
    type ReturnObject = Co<ParamsPromise>;
    type Return = ReturnsValue;
    type Await = AwaitDirect;
    traced_promise_base!();
    unsafe fn get_return_object(&mut self) -> Co<ParamsPromise> {
        ev("get_return_object");
        Co::from_promise(self)
    }
}

impl ReturnValue<i32> for ParamsPromise {
    fn return_value(&mut self, v: i32) {
        ev(format!("return_value {v}"));
        self.value = v;
    }
}

#[coro::coroutine]
fn f(n: i32, p: Param) -> Co<ParamsPromise> {
    ev(format!("body: n={n} p={}", p.value));
    co_return!(n + p.value)
}

pub fn run() {
    let n = 1;
    let co = f(n, Param::new("p", 2));
    ev(format!("caller: n={n}"));
    co.resume();
    ev(format!("caller: value {}", co.promise().value));
    co.destroy();
}
