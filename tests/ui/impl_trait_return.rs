use coro::co_yield;

#[coro::coroutine]
fn numbers() -> impl Iterator<Item = u32> {
    co_yield!(1);
}

fn main() {
    for n in numbers() {
        println!("{n}");
    }
}
