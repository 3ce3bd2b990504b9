// A combinator's children and `sync_wait`'s operand are tasks (or
// combinators): anything else is one error each (not two), at the operand,
// saying how to wrap it.
use coro::{sync_wait, when_all, when_all_ready, when_any, SuspendAlways, Task};

#[coro::coroutine]
fn one() -> Task<u32> {
    coro::co_return!(1)
}

fn main() {
    let _ = when_all((one(), SuspendAlways));
    let _ = when_all_ready(vec![SuspendAlways]);
    let _ = when_any(vec![SuspendAlways]);
    let _ = sync_wait(SuspendAlways);
}
