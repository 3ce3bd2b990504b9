// await_transform's operand: a promise that keeps its operand cannot be handed a body local's borrow for `'static`.
use coro::{
    co_await, promise::AwaitTransform, promise::AwaitTransformed, CoroutineHandle, promise::Payload, Promise, promise::ReturnVoid, promise::ReturnsVoid, SuspendAlways, SuspendNever,
    UniqueCoroutineHandle,
};

#[derive(Default)]
struct Keep<'x> {
    kept: Option<&'x str>,
}

impl<'x> Promise for Keep<'x> {
    type ReturnObject = UniqueCoroutineHandle<Keep<'x>>;
    type InitialSuspend = SuspendNever;
    type FinalSuspend = SuspendAlways;
    type Return = ReturnsVoid;
    type Await = AwaitTransformed;
    unsafe fn get_return_object(&mut self) -> Self::ReturnObject {
        // SAFETY: the return object is the frame's only owner.
        unsafe { UniqueCoroutineHandle::from_raw(CoroutineHandle::from_promise(self)) }
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

impl ReturnVoid for Keep<'_> {
    fn return_void(&mut self) {}
}

impl<'x> AwaitTransform<&'x str> for Keep<'x> {
    type Awaitable = SuspendNever;
    fn await_transform(&mut self, s: &'x str) -> SuspendNever {
        self.kept = Some(s);
        SuspendNever
    }
}

#[coro::coroutine(promise = Keep<'static>)]
fn keeper() -> UniqueCoroutineHandle<Keep<'static>> {
    let s = String::from("x");
    co_await!(s.as_str());
}

fn main() {}
