// get_return_object: the return object carries the frame's borrow and cannot outlive the borrowed data.
use coro::promise::{AwaitTransformed, ReturnVoid, ReturnsVoid};
use coro::{Promise, SuspendNever, UniqueCoroutineHandle};

#[derive(Default)]
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
