//! No promise constructor for these parameters (C++: no viable
//! `promise_type(Args&...)` and no default constructor).
use coro::{co_return, promise::AwaitDirect, promise::Payload, Promise, promise::ReturnValue, promise::ReturnsValue, SuspendAlways, UniqueCoroutineHandle};

struct Needs(u32);

impl Promise for Needs {
    type ReturnObject = UniqueCoroutineHandle<Needs>;
    type InitialSuspend = SuspendAlways;
    type FinalSuspend = SuspendAlways;
    type Return = ReturnsValue;
    type Await = AwaitDirect;
    unsafe fn get_return_object(&mut self) -> Self::ReturnObject {
        // SAFETY: the return object is the frame's only owner.
        unsafe { UniqueCoroutineHandle::from_raw(coro::CoroutineHandle::from_promise(self)) }
    }
    fn initial_suspend(&mut self) -> SuspendAlways {
        SuspendAlways
    }
    fn final_suspend(&mut self) -> SuspendAlways {
        SuspendAlways
    }
    fn unhandled_exception(&mut self, payload: Payload) {
        std::panic::resume_unwind(payload)
    }
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
