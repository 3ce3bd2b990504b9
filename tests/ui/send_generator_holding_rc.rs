use std::rc::Rc;

use coro::{co_yield, SendGenerator};

#[coro::coroutine]
fn shared_counts(n: u32) -> SendGenerator<usize> {
    let counter = Rc::new(n);
    co_yield!(Rc::strong_count(&counter));
    co_yield!(*counter as usize);
}

fn main() {
    let gen = shared_counts(2);
    std::thread::spawn(move || gen.count());
}
