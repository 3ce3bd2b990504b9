// get_return_object: the return object carries the frame's borrow and cannot outlive the borrowed data.
use coro::{
    promise::AwaitTransformed, CoroutineHandle, promise::Payload, Promise, promise::ReturnVoid, promise::ReturnsVoid, SuspendAlways, SuspendNever,
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

#[coro::coroutine(promise = Keep<'a>)]
fn keeper<'a>(n: &'a u32) -> UniqueCoroutineHandle<Keep<'a>> {
    let _ = *n;
}

fn main() {
    let h = {
        let n = 1;
        keeper(&n)
    };
    assert!(h.done());
}
