use coro::{co_yield, Generator};

#[coro::coroutine]
fn one() -> Generator<u32> {
    co_yield!(1);
}

fn main() {
    let g = one();
    g.handle().destroy();
}
