use coro::Task;

#[coro::coroutine]
fn forgets_to_return(x: u32) -> Task<u32> {
    let _y = x + 1;
}

fn main() {}
