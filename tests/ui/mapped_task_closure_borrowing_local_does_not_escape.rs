// `Task::map`: the mapped task cannot keep a closure that borrows a local
// (its `Task<U>` names no lifetime of the closure's).
use coro::{co_return, sync_wait, Task};

#[coro::coroutine]
fn one() -> Task<u32> {
    co_return!(1)
}

fn main() {
    let t = {
        let local = String::from("gone");
        one().map(|v| v as usize + local.len())
    };
    sync_wait(t);
}
