use coro::co_yield;
use coro::generator::InlineGenerator;

#[coro::coroutine]
fn escape<'a>(s: &'a str) -> InlineGenerator<&'a str, &'a str> {
    let local = String::from(s);
    co_yield!(local.as_str());
}

fn main() {
    let _ = std::pin::pin!(escape("x")).count();
}
