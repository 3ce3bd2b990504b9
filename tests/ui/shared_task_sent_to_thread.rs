use coro::{co_return, sync_wait, SharedTask};

#[coro::coroutine]
fn answer() -> SharedTask<u32> {
    co_return!(42)
}

fn main() {
    let task = answer();
    std::thread::spawn(move || sync_wait(task));
}
