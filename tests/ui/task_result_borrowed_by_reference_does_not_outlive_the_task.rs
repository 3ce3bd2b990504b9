// `sync_wait(&mut task)` gives `&T` into the task's frame: the task cannot
// be dropped (nor moved) while the reference is used.
use coro::{co_return, sync_wait, Task};

#[coro::coroutine]
fn name() -> Task<String> {
    co_return!("coro".to_string())
}

fn main() {
    let mut t = name();
    let r: &String = sync_wait(&mut t);
    drop(t);
    println!("{r}");
}
