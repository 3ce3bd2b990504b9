// A user's `YieldValue<U>` for the inline body's stand-in promise does not
// change what an inline generator's `co_yield!` parks: it takes a `T`, and
// anything else is a type error, not a foreign awaiter read as a value.
use coro::awaiter::{AwaitSuspend, Awaiter};
use coro::generator::{InlineGenerator, InlineGeneratorPromise};
use coro::promise::{AwaitTransform, YieldValue};
use coro::{co_await, co_yield, CoroutineHandle};

pub struct Mine;
pub struct Other(usize);

impl Awaiter for Other {
    type Output = ();
    fn await_ready(&mut self) -> bool {
        false
    }
    unsafe fn await_suspend(&mut self, _: CoroutineHandle) -> impl AwaitSuspend {}
    fn await_resume(self) {}
}

impl YieldValue<Mine> for InlineGeneratorPromise<Box<u64>> {
    type Awaitable = Other;
    fn yield_value(&mut self, _: Mine) -> Other {
        Other(0x1000)
    }
}

impl AwaitTransform<Mine> for InlineGeneratorPromise<Box<u64>> {
    type Awaitable = Other;
    fn await_transform(&mut self, _: Mine) -> Other {
        Other(0x1000)
    }
}

#[coro::coroutine]
fn yields_a_foreign_value() -> InlineGenerator<Box<u64>> {
    co_yield!(Mine);
}

#[coro::coroutine]
fn awaits_through_a_user_transform() -> InlineGenerator<Box<u64>> {
    co_await!(Mine);
    co_yield!(Box::new(1));
}

fn main() {}
