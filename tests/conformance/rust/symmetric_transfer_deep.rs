//! 100000 nested awaits, each a symmetric transfer: constant stack. An
//! untraced task promise, the mirror of the C++ program's.
use super::trace::*;
use coro::promise::{AwaitDirect, Payload, ReturnValue, ReturnsValue};
use coro::{
    co_await, co_return, noop_coroutine, AwaitSuspend, Awaiter, CoroutineHandle, CoroutineTraits, Promise,
    SuspendAlways,
};

#[derive(Default)]
pub struct DeepPromise {
    value: i64,
    continuation: Option<CoroutineHandle>,
}

pub struct Deep {
    h: CoroutineHandle<DeepPromise>,
}

impl CoroutineTraits for Deep {
    type Promise = DeepPromise;
}

pub struct Final(Option<CoroutineHandle>);

impl Awaiter for Final {
    type Output = ();
    fn await_ready(&mut self) -> bool {
        false
    }
    unsafe fn await_suspend(&mut self, _: CoroutineHandle) -> impl AwaitSuspend {
        self.0.unwrap_or_else(noop_coroutine)
    }
    fn await_resume(self) {}
}

impl Promise for DeepPromise {
    type ReturnObject = Deep;
    type InitialSuspend = SuspendAlways;
    type FinalSuspend = Final;
    type Return = ReturnsValue;
    type Await = AwaitDirect;
    unsafe fn get_return_object(&mut self) -> Deep {
        Deep { h: CoroutineHandle::from_promise(self) }
    }
    fn initial_suspend(&mut self) -> SuspendAlways {
        SuspendAlways
    }
    fn final_suspend(&mut self) -> Final {
        Final(self.continuation)
    }
    fn unhandled_exception(&mut self, _: Payload) {
        std::process::abort()
    }
}

impl ReturnValue<i64> for DeepPromise {
    fn return_value(&mut self, v: i64) {
        self.value = v;
    }
}

pub struct DeepAwait {
    child: Deep,
}

impl Awaiter for DeepAwait {
    type Output = i64;
    fn await_ready(&mut self) -> bool {
        false
    }
    unsafe fn await_suspend(&mut self, parent: CoroutineHandle) -> impl AwaitSuspend {
        // SAFETY: the child is suspended at its initial point, owned by us.
        unsafe { self.child.h.promise() }.continuation = Some(parent);
        self.child.h
    }
    fn await_resume(self) -> i64 {
        // SAFETY: the child is done; we own it and destroy it once.
        unsafe {
            let v = self.child.h.promise().value;
            self.child.h.destroy();
            v
        }
    }
}

#[coro::coroutine]
fn depth(n: i64) -> Deep {
    if n == 0 {
        co_return!(0)
    }
    let below = co_await!(DeepAwait { child: depth(n - 1) });
    co_return!(below + 1)
}

pub fn run() {
    let n = 100_000;
    ev(format!("caller: depth({n})"));
    let d = depth(n);
    // SAFETY: `d` owns a live, suspended frame, resumed and destroyed once.
    unsafe {
        d.h.resume();
        ev(format!("caller: done() -> {}", b(d.h.done())));
        ev(format!("caller: value {}", d.h.promise().value));
        d.h.destroy();
    }
}
