//! A promise whose `await_transform` accepts only `Ticket`s: awaiting
//! anything else is ill-formed, as in C++.
use coro::{
    co_await, promise::AwaitTransform, promise::AwaitTransformed, promise::Payload, Promise, promise::ReturnVoid, promise::ReturnsVoid, SuspendAlways,
    SuspendNever, UniqueCoroutineHandle,
};

struct Ticket;

#[derive(Default)]
struct Gate;

impl Promise for Gate {
    type ReturnObject = UniqueCoroutineHandle<Gate>;
    type InitialSuspend = SuspendNever;
    type FinalSuspend = SuspendAlways;
    type Return = ReturnsVoid;
    type Await = AwaitTransformed;
    unsafe fn get_return_object(&mut self) -> Self::ReturnObject {
        // SAFETY: the return object is the frame's only owner.
        unsafe { UniqueCoroutineHandle::from_raw(coro::CoroutineHandle::from_promise(self)) }
    }
    fn initial_suspend(&mut self) -> SuspendNever {
        SuspendNever
    }
    fn final_suspend(&mut self) -> SuspendAlways {
        SuspendAlways
    }
    fn unhandled_exception(&mut self, payload: Payload) {
        std::panic::resume_unwind(payload)
    }
}

impl ReturnVoid for Gate {
    fn return_void(&mut self) {}
}

impl AwaitTransform<Ticket> for Gate {
    type Awaitable = SuspendAlways;
    fn await_transform(&mut self, _: Ticket) -> SuspendAlways {
        SuspendAlways
    }
}

#[coro::coroutine(promise = Gate)]
fn guarded() -> UniqueCoroutineHandle<Gate> {
    co_await!(Ticket);
    co_await!(SuspendAlways);
}

fn main() {}
