use coro::{co_return, sync_wait, Task};

#[coro::coroutine]
fn local() -> Task<u32> {
    co_return!(1)
}

fn main() {
    let t = local();
    std::thread::spawn(move || sync_wait(t));
}
