use std::rc::Rc;

use coro::{co_await, co_return, sync_wait, SuspendAlways, Task};

#[coro::coroutine]
fn shared_count() -> Task<usize> {
    let counter = Rc::new(5);
    co_await!(SuspendAlways);
    co_return!(Rc::strong_count(&counter))
}

fn main() {
    let task = shared_count();
    std::thread::spawn(move || sync_wait(task));
}
