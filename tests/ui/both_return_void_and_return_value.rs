//! C++ [dcl.fct.def.coroutine]: a promise type may not have both
//! `return_void` and `return_value`. `Promise::Return` names one of them.
use coro::{
    promise::AwaitDirect, promise::Payload, Promise, promise::ReturnValue, promise::ReturnVoid, promise::ReturnsValue, SuspendAlways, UniqueCoroutineHandle,
};

#[derive(Default)]
struct Both(Option<u32>);

impl Promise for Both {
    type ReturnObject = UniqueCoroutineHandle<Both>;
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

impl ReturnValue<u32> for Both {
    fn return_value(&mut self, v: u32) {
        self.0 = Some(v);
    }
}

impl ReturnVoid for Both {
    fn return_void(&mut self) {}
}

fn main() {}
