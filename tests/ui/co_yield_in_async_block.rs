use coro::{co_yield, Generator};

#[coro::coroutine]
fn numbers() -> Generator<u32> {
    let later = async {
        co_yield!(1);
    };
    drop(later);
}

fn main() {}
