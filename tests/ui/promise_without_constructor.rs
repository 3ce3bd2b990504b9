//! No promise constructor for these parameters (C++: no viable
//! `promise_type(Args&...)` and no default constructor).
use coro::promise::{ReturnValue, ReturnsValue};
use coro::{co_return, Promise, UniqueCoroutineHandle};

struct Needs(u32);

#[coro::promise_type]
impl Promise for Needs {
    type Return = ReturnsValue;
}

impl ReturnValue<u32> for Needs {
    fn return_value(&mut self, v: u32) {
        self.0 = v;
    }
}

#[coro::coroutine(promise = Needs)]
fn compute(x: u32) -> UniqueCoroutineHandle<Needs> {
    co_return!(x + 1)
}

fn main() {}
