// await_transform's operand: a promise that keeps its operand cannot be handed a body local's borrow for `'static`.
use coro::promise::{AwaitTransform, AwaitTransformed, ReturnVoid, ReturnsVoid};
use coro::{co_await, Promise, SuspendNever, UniqueCoroutineHandle};

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
