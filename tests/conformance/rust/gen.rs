//! The range generator of the generator scenarios (mirror of gen.hpp).
use super::trace::*;
use coro::promise::{AwaitDirect, Payload, ReturnVoid, ReturnsVoid, YieldValue};
use coro::{co_return, co_yield, Promise};

pub struct GenPromise {
    current: i32,
    error: Option<Payload>,
    _t: PromiseTrace,
}

impl Default for GenPromise {
    fn default() -> Self {
        GenPromise { _t: PromiseTrace::new(), current: 0, error: None }
    }
}

impl Promise for GenPromise {
    type ReturnObject = Co<GenPromise>;
    type Return = ReturnsVoid;
    type Await = AwaitDirect;
    traced_promise_base!();
    unsafe fn get_return_object(&mut self) -> Co<GenPromise> {
        ev("get_return_object");
        Co::from_promise(self)
    }
}

impl ReturnVoid for GenPromise {
    fn return_void(&mut self) {
        ev("return_void");
    }
}

impl YieldValue<i32> for GenPromise {
    type Awaitable = Sus;
    fn yield_value(&mut self, v: i32) -> Sus {
        ev(format!("yield_value {v}"));
        self.current = v;
        Sus { tag: "yield", ready: false }
    }
}

pub type Gen = Co<GenPromise>;

/// Ends with an explicit co_return!(): flowing off the end is scenario
/// flow_off_end.
#[coro::coroutine]
pub fn range(n: i32) -> Gen {
    let _guard = Local::new("guard");
    for i in 0..n {
        co_yield!(i);
    }
    co_return!();
}

/// The consumer's `next()`.
pub fn next(g: &Gen) -> Option<i32> {
    g.resume();
    if g.done() {
        return None;
    }
    let v = g.promise().current;
    ev(format!("caller: got {v}"));
    Some(v)
}
