use coro::{co_await, SuspendAlways};

fn not_a_coroutine() {
    co_await!(SuspendAlways);
}

fn main() {}
