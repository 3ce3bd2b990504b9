//! A by-reference parameter: the frame holds only the reference, and the
//! return object borrows the referent (CoRef<'a, _>).
use std::cell::Cell;

use super::trace::*;
use coro::{co_await, co_return};

/// The C++ program changes `p` between resumptions through its own
/// reference; here the shared value is a `Cell`.
pub struct Shared {
    pub p: Param,
    pub value: Cell<i32>,
}

#[coro::coroutine]
fn read<'a>(s: &'a Shared) -> CoRef<'a, ValuePromise> {
    ev(format!("body: p={}", s.value.get()));
    co_await!(AwVoid::new("x", 0));
    ev(format!("body: p={}", s.value.get()));
    co_return!(s.value.get())
}

pub fn run() {
    let s = Shared { p: Param::new("p", 5), value: Cell::new(5) };
    ev("caller: call");
    let r = read(&s);
    let co = &r.co;
    ev("caller: got return object");
    co.resume();
    s.value.set(6);
    ev("caller: set p=6");
    co.resume();
    ev(format!("caller: value {}", co.promise().value));
    co.destroy();
    ev("caller: end of scope");
    drop(s);
}
