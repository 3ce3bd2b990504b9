// A reference to a body local cannot be stored through a mutex guard into a Mutex of `'static` references.
use std::rc::Rc;

use coro::sync::local::Mutex;
use coro::{co_await, co_return, Task};

#[coro::coroutine]
fn writer(m: Rc<Mutex<&'static str>>) -> Task<()> {
    let s = String::from("x");
    let mut g = co_await!(m.lock());
    *g = s.as_str();
    co_return!(())
}

fn main() {}
