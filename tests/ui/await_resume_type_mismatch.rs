use coro::{co_await, co_return, AwaitSuspend, Awaiter, CoroutineHandle, Task};

struct Num;

impl Awaiter for Num {
    type Output = u32;
    fn await_ready(&mut self) -> bool {
        true
    }
    unsafe fn await_suspend(&mut self, _: CoroutineHandle) -> impl AwaitSuspend {}
    fn await_resume(self) -> u32 {
        7
    }
}

#[coro::coroutine]
fn label() -> Task<String> {
    let s: String = co_await!(Num);
    co_return!(s)
}

fn main() {}
