// A reference to a body local cannot be sent into a channel of `'static` references that outlives the frame.
use std::rc::Rc;

use coro::sync::local::Channel;
use coro::{co_await, co_return, Task};

#[coro::coroutine]
fn producer(ch: Rc<Channel<&'static str>>) -> Task<()> {
    let s = String::from("x");
    let _ = co_await!(ch.send(s.as_str()));
    co_return!(())
}

fn main() {}
