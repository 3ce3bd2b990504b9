use coro::{co_yield, Generator};

#[coro::coroutine]
fn counter() -> Generator<u32> {
    co_yield!(1);
}

fn main() {
    let gen = counter();
    std::thread::spawn(move || gen.count());
}
