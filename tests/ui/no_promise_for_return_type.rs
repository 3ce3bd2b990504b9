use coro::co_return;

#[coro::coroutine]
fn plain() -> String {
    co_return!(String::new())
}

fn main() {}
