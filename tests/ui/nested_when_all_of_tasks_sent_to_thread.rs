// A combinator nested in a combinator is a task of its children's kind: one
// made of `Task`s stays on its thread (it is not `Send`), however deep.
use coro::{co_return, sync_wait, when_all, when_any, Task};

#[coro::coroutine]
fn one() -> Task<u32> {
    co_return!(1)
}

fn main() {
    let nested = when_all((when_any(vec![one(), one()]), when_all((one(), one()))));
    std::thread::spawn(move || sync_wait(nested));
}
