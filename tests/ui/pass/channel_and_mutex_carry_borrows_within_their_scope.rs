// A channel or mutex that lives no longer than the data it carries may hold references to it.
use coro::sync::local::{Channel, Mutex};
use coro::{co_await, co_return, sync_wait, Task};

#[coro::coroutine]
fn echo() -> Task<usize> {
    let s = String::from("hello");
    let ch = Channel::new(1);
    co_await!(ch.send(s.as_str())).unwrap();
    let got = co_await!(ch.recv()).unwrap();
    let m = Mutex::new("");
    *co_await!(m.lock()) = got;
    let n = co_await!(m.lock()).len();
    co_return!(n)
}

#[coro::coroutine]
fn relay<'a>(ch: &'a Channel<&'a str>, s: &'a str) -> Task<Option<&'a str>> {
    co_await!(ch.send(s)).unwrap();
    co_return!(co_await!(ch.recv()))
}

fn main() {
    assert_eq!(sync_wait(echo()), 5);
    let s = String::from("x");
    let ch = Channel::new(1);
    assert_eq!(sync_wait(relay(&ch, &s)), Some("x"));
}
