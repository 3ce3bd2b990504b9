// FromParams: a promise constructor that keeps a borrow of a by-value parameter cannot make it `'static`.
use coro::promise::{AwaitTransformed, FromParams, ReturnVoid, ReturnsVoid};
use coro::{Promise, SuspendNever, UniqueCoroutineHandle};

struct Keep<'x> {
    kept: Option<&'x str>,
}

#[coro::promise_type]
impl<'x> Promise for Keep<'x> {
    type InitialSuspend = SuspendNever;
    type Return = ReturnsVoid;
    type Await = AwaitTransformed;
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
