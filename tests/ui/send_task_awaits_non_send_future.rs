use std::rc::Rc;

use coro::{co_await, co_return, SendTask};

async fn uses_rc(r: Rc<u32>) -> u32 {
    std::future::ready(()).await;
    *r
}

// The future lives in the frame while it is pending: a `SendTask` cannot
// hold one that is not `Send`.
#[coro::coroutine]
fn awaits_rc_future() -> SendTask<u32> {
    co_return!(co_await!(uses_rc(Rc::new(1))))
}

fn main() {}
