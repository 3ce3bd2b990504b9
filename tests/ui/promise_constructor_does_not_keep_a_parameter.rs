// FromParams: a promise constructor that keeps a borrow of a by-value parameter cannot make it `'static`.
use coro::{
    promise::AwaitTransformed, promise::FromParams, CoroutineHandle, promise::Payload, Promise, promise::ReturnVoid, promise::ReturnsVoid, SuspendAlways, SuspendNever,
    UniqueCoroutineHandle,
};

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

impl<'x> FromParams<(&'x mut String,)> for Keep<'x> {
    fn from_params((s,): (&'x mut String,)) -> Self {
        Keep { kept: Some(s.as_str()) }
    }
}

#[coro::coroutine(promise = Keep<'static>)]
fn keeper(s: String) -> UniqueCoroutineHandle<Keep<'static>> {
    let _ = s.len();
}

fn main() {}
