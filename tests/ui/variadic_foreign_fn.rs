use coro::Task;

extern "C" {
    #[coro::coroutine]
    fn log_all(format: *const u8, ...) -> Task<()>;
}

fn main() {}
