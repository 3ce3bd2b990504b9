use coro::co_yield;
use coro::generator::InlineGenerator;

#[coro::coroutine(promise = coro::generator::GeneratorPromise<u32>)]
fn named() -> InlineGenerator<u32> {
    co_yield!(1);
}

fn main() {
    let _ = std::pin::pin!(named()).count();
}
