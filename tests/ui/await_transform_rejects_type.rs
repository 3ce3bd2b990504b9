//! A promise whose `await_transform` accepts only `Ticket`s: awaiting
//! anything else is ill-formed, as in C++.
use coro::promise::{AwaitTransform, AwaitTransformed, ReturnVoid, ReturnsVoid};
use coro::{co_await, Promise, SuspendAlways, SuspendNever, UniqueCoroutineHandle};

struct Ticket;

#[derive(Default)]
struct Gate;

#[coro::promise_type]
impl Promise for Gate {
    type InitialSuspend = SuspendNever;
    type Return = ReturnsVoid;
    type Await = AwaitTransformed;
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
