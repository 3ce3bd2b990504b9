use std::pin::pin;

use coro::co_yield;
use coro::generator::InlineGenerator;

#[coro::coroutine]
fn range(n: u32) -> InlineGenerator<u32> {
    for i in 0..n {
        co_yield!(i);
    }
}

fn main() {
    let mut g = Box::pin(range(3));
    let _ = g.next();
    // Moving the frame out of its pin would move a started body.
    let moved = *std::pin::Pin::into_inner(g);
    let _ = pin!(moved).next();
}
