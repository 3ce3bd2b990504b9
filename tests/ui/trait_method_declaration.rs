use coro::Task;

trait Service {
    #[coro::coroutine]
    fn handle(&self, request: u32) -> Task<u32>;
}

fn main() {}
