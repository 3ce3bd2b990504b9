//! Allocation that sees the parameters: AllocateFrameWith (C++
//! operator new(size_t, Args&...)); freed by deallocate_frame.
use std::alloc::Layout;

use super::trace::*;
use coro::promise::{AllocateFrameWith, AwaitDirect, Payload, ReturnValue, ReturnsValue};
use coro::{co_return, Promise};

pub struct ArenaPromise {
    value: i32,
    error: Option<Payload>,
    _t: PromiseTrace,
}

impl Default for ArenaPromise {
    fn default() -> Self {
        ArenaPromise { _t: PromiseTrace::new(), value: 0, error: None }
    }
}

impl Promise for ArenaPromise {
    type ReturnObject = Co<ArenaPromise>;
    type Return = ReturnsValue;
    type Await = AwaitDirect;
    traced_promise_base!();
    unsafe fn get_return_object(&mut self) -> Co<ArenaPromise> {
        ev("get_return_object");
        Co::from_promise(self)
    }
}

impl AllocateFrameWith<(&i32, &Param)> for ArenaPromise {
    fn allocate_frame_with(layout: Layout, (arena, p): (&i32, &Param)) -> Option<::coro::promise::FrameMemory> {
        ev(format!("alloc with params (arena={arena}, p={})", p.value));
        ::coro::promise::FrameMemory::global(layout)
    }
}

impl ReturnValue<i32> for ArenaPromise {
    fn return_value(&mut self, v: i32) {
        ev(format!("return_value {v}"));
        self.value = v;
    }
}

#[coro::coroutine]
fn f(arena: i32, p: Param) -> Co<ArenaPromise> {
    ev(format!("body: arena={arena} p={}", p.value));
    co_return!(arena + p.value)
}

pub fn run() {
    let co = f(7, Param::new("p", 2));
    co.resume();
    ev(format!("caller: value {}", co.promise().value));
    co.destroy();
}
