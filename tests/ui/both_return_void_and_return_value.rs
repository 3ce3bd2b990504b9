//! C++ [dcl.fct.def.coroutine]: a promise type may not have both
//! `return_void` and `return_value`. `Promise::Return` names one of them.
use coro::promise::{ReturnValue, ReturnVoid, ReturnsValue};
use coro::Promise;

#[derive(Default)]
struct Both(Option<u32>);

#[coro::promise_type]
impl Promise for Both {
    type Return = ReturnsValue;
}

impl ReturnValue<u32> for Both {
    fn return_value(&mut self, v: u32) {
        self.0 = Some(v);
    }
}

impl ReturnVoid for Both {
    fn return_void(&mut self) {}
}

fn main() {}
