// `#[coro::promise_type]` fills in the common members, but not the choice
// between `return_value` and `return_void`: C++ makes every promise say it.
use coro::Promise;

#[derive(Default)]
struct P;

#[coro::promise_type]
impl Promise for P {
    type InitialSuspend = coro::SuspendNever;
}

fn main() {}
