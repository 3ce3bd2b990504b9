use coro::{co_return, Task};

#[coro::coroutine]
fn main() -> Task<()> {
    co_return!(())
}
