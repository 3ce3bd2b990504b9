use coro::co_yield;
use coro::generator::InlineGenerator;

#[coro::coroutine]
fn range(n: u32) -> InlineGenerator<u32> {
    for i in 0..n {
        co_yield!(i);
    }
}

fn main() {
    for i in range(3) {
        println!("{i}");
    }
}
