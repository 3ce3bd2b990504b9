//! The floor: what each row's work costs written by hand in plain Rust.

use std::hint::black_box;

use coro::Awaiter;

use crate::coro_cases::Ready;

/// A hand-written resumable state machine, called through `dyn`.
pub trait Resume {
    fn resume(&mut self);
    fn done(&self) -> bool;
}

/// generator: a hand-written iterator.
pub struct Count {
    i: u64,
    n: u64,
}

impl Iterator for Count {
    type Item = u64;
    #[inline]
    fn next(&mut self) -> Option<u64> {
        if self.i < self.n {
            self.i += 1;
            Some(self.i - 1)
        } else {
            None
        }
    }
}

pub fn generator(n: u64) -> u64 {
    crate::consume(Count { i: 0, n })
}

/// Fibonacci: a hand-written iterator over the first `n` numbers.
pub struct Fib {
    a: u64,
    b: u64,
    left: u64,
}

impl Iterator for Fib {
    type Item = u64;
    #[inline]
    fn next(&mut self) -> Option<u64> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let a = self.a;
        (self.a, self.b) = (self.b, self.a.wrapping_add(self.b));
        Some(a)
    }
}

pub fn fibonacci(n: u64) -> u64 {
    crate::consume(Fib { a: 0, b: 1, left: n })
}

/// ready co_await: the awaiter's result, by a direct call.
pub fn ready(n: u64) -> u64 {
    let mut s = 0u64;
    let mut i = 0;
    while i < n {
        s = s.wrapping_add(black_box(Ready(i).await_resume()));
        i += 1;
    }
    s
}

/// round trip: one indirect call into a state machine that counts.
struct Tick(*mut u64);

impl Resume for Tick {
    fn resume(&mut self) {
        // SAFETY: the driver's counter outlives the state machine.
        unsafe { *self.0 += 1 }
    }
    fn done(&self) -> bool {
        false
    }
}

pub fn resume(n: u64) -> u64 {
    let mut c = 0u64;
    {
        let mut t = Tick(&mut c);
        let r: &mut dyn Resume = black_box(&mut t);
        for _ in 0..n {
            r.resume();
        }
    }
    c
}

/// task chain: a direct (out-of-line) call. `black_box` keeps LLVM from
/// seeing that it returns its argument and deleting the call.
#[inline(never)]
fn child(i: u64) -> u64 {
    black_box(i)
}

pub fn chain(n: u64) -> u64 {
    let mut s = 0u64;
    let mut i = 0;
    while i < n {
        s = s.wrapping_add(black_box(child(i)));
        i += 1;
    }
    s
}

/// recursion: a recursive function.
#[inline(never)]
fn depth(n: u64) -> u64 {
    if n == 0 {
        0
    } else {
        black_box(depth(n - 1)) + 1
    }
}

pub fn recursion(n: u64) -> u64 {
    depth(n)
}

/// create + run + destroy: a boxed one-state machine behind `dyn`.
pub struct Once(bool);

impl Resume for Once {
    fn resume(&mut self) {
        self.0 = true;
    }
    fn done(&self) -> bool {
        self.0
    }
}

pub fn boxed_once() -> Box<dyn Resume> {
    black_box(Box::new(Once(false)))
}

pub fn create(n: u64) -> u64 {
    let mut s = 0;
    for _ in 0..n {
        let mut b = boxed_once();
        b.resume();
        s += b.done() as u64;
    }
    s
}
