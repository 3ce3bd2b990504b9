use coro::co_yield;
use coro::generator::InlineGenerator;

#[coro::coroutine]
fn three() -> InlineGenerator<u32, (), ()> {
    co_yield!(1);
}

fn main() {
    let _ = std::pin::pin!(three()).count();
}
