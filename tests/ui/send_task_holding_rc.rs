use std::rc::Rc;

use coro::{co_await, co_return, SendTask, SuspendNever};

#[coro::coroutine]
fn holds_rc() -> SendTask<u32> {
    let r = Rc::new(1);
    co_await!(SuspendNever);
    co_return!(*r)
}

fn main() {}
