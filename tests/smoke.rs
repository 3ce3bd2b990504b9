use coro::{co_await, co_return, co_yield, sync_wait, Generator, Task};

#[coro::coroutine]
fn range(n: u32) -> Generator<u32> {
    for i in 0..n {
        co_yield!(i);
    }
}

#[coro::coroutine]
fn answer() -> Task<u32> {
    co_return!(42)
}

#[coro::coroutine]
fn main_task() -> Task<u32> {
    let a = co_await!(answer());
    co_return!(a + range(3).sum::<u32>())
}

#[test]
fn smoke() {
    assert_eq!(range(5).collect::<Vec<_>>(), vec![0, 1, 2, 3, 4]);
    assert_eq!(sync_wait(main_task()), 45);
}
