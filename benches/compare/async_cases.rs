//! The Rust async/await candidates, polled with a no-op waker: inline (the
//! future's concrete type, on the stack) and boxed (`Pin<Box<dyn Future>>`,
//! passed through `black_box` so the allocation and the dynamic calls stay).
//!
//! async has no `co_yield`: a generator is an async block that stores each
//! value in a slot and then awaits a future that is pending once.

use std::cell::Cell;
use std::future::Future;
use std::hint::black_box;
use std::pin::{pin, Pin};
use std::task::{Context, Poll, Waker};

use crate::consume;

pub type Boxed<'a, T> = Pin<Box<dyn Future<Output = T> + 'a>>;

#[inline(always)]
pub fn poll_once<F: Future + ?Sized>(f: Pin<&mut F>) -> Poll<F::Output> {
    f.poll(&mut Context::from_waker(Waker::noop()))
}

/// Polls a future that completes without suspending.
#[inline(always)]
pub fn ready_now<F: Future + ?Sized>(f: Pin<&mut F>) -> F::Output {
    match poll_once(f) {
        Poll::Ready(v) => v,
        Poll::Pending => panic!("the future suspended"),
    }
}

#[inline(always)]
pub fn boxed<'a, T>(f: impl Future<Output = T> + 'a) -> Boxed<'a, T> {
    black_box(Box::pin(f))
}

/// Pending once, then ready: the suspension point of async code.
pub struct YieldNow(bool);

impl Future for YieldNow {
    type Output = ();
    #[inline(always)]
    fn poll(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            Poll::Ready(())
        } else {
            self.0 = true;
            Poll::Pending
        }
    }
}

#[inline(always)]
pub fn yield_now() -> YieldNow {
    YieldNow(false)
}

// --- generator ------------------------------------------------------------------

pub async fn range(n: u64, slot: &Cell<Option<u64>>) {
    let mut i = 0;
    while i < n {
        slot.set(Some(i));
        yield_now().await;
        i += 1;
    }
}

/// Drives a slot-yielding future as an iterator.
pub struct Iter<'a, F: ?Sized, T> {
    fut: Pin<&'a mut F>,
    slot: &'a Cell<Option<T>>,
}

impl<F: Future<Output = ()> + ?Sized, T> Iterator for Iter<'_, F, T> {
    type Item = T;
    #[inline(always)]
    fn next(&mut self) -> Option<T> {
        match poll_once(self.fut.as_mut()) {
            Poll::Ready(()) => None,
            Poll::Pending => self.slot.take(),
        }
    }
}

pub fn generator_inline(n: u64) -> u64 {
    let slot = Cell::new(None);
    let fut = pin!(range(n, &slot));
    consume(Iter { fut, slot: &slot })
}

pub async fn fib(n: u64, slot: &Cell<Option<u64>>) {
    let (mut a, mut b) = (0u64, 1u64);
    for _ in 0..n {
        slot.set(Some(a));
        yield_now().await;
        (a, b) = (b, a.wrapping_add(b));
    }
}

pub fn fibonacci_inline(n: u64) -> u64 {
    let slot = Cell::new(None);
    let fut = pin!(fib(n, &slot));
    consume(Iter { fut, slot: &slot })
}

pub fn generator_boxed(n: u64) -> u64 {
    let slot = Cell::new(None);
    let mut fut: Boxed<'_, ()> = boxed(range(n, &slot));
    consume(Iter { fut: fut.as_mut(), slot: &slot })
}

// --- await of a ready future ---------------------------------------------------------

pub async fn ready_loop(n: u64) -> u64 {
    let mut s = 0u64;
    let mut i = 0;
    while i < n {
        s = s.wrapping_add(black_box(std::future::ready(i).await));
        i += 1;
    }
    s
}

pub fn ready_inline(n: u64) -> u64 {
    ready_now(pin!(ready_loop(n)))
}

pub fn ready_boxed(n: u64) -> u64 {
    ready_now(boxed(ready_loop(n)).as_mut())
}

// --- suspend + resume round trip --------------------------------------------------

pub async fn ticker(c: *mut u64) {
    loop {
        // SAFETY: the driver's counter outlives the future.
        unsafe { *c += 1 };
        yield_now().await;
    }
}

pub fn resume_inline(n: u64) -> u64 {
    let mut c = 0u64;
    {
        let mut f = pin!(ticker(&mut c));
        for _ in 0..n {
            // Opaque on every resume, as a future resumed by an event loop
            // is: without it the loop folds into `c += n`.
            let _ = poll_once(black_box(f.as_mut()));
        }
    }
    c
}

pub fn resume_boxed(n: u64) -> u64 {
    let mut c = 0u64;
    {
        let mut f: Boxed<'_, ()> = boxed(ticker(&mut c));
        for _ in 0..n {
            let _ = poll_once(f.as_mut());
        }
    }
    c
}

// --- task chain -------------------------------------------------------------------------

pub async fn child(i: u64) -> u64 {
    i
}

pub async fn chain_loop(n: u64) -> u64 {
    let mut s = 0u64;
    let mut i = 0;
    while i < n {
        s = s.wrapping_add(black_box(child(i).await));
        i += 1;
    }
    s
}

pub async fn chain_loop_boxed(n: u64) -> u64 {
    let mut s = 0u64;
    let mut i = 0;
    while i < n {
        s = s.wrapping_add(black_box(boxed(child(i)).await));
        i += 1;
    }
    s
}

pub fn chain_inline(n: u64) -> u64 {
    ready_now(pin!(chain_loop(n)))
}

pub fn chain_boxed(n: u64) -> u64 {
    ready_now(boxed(chain_loop_boxed(n)).as_mut())
}

// --- recursion (boxed only: a recursive async fn must box) ------------------------------

pub fn depth(n: u64) -> Boxed<'static, u64> {
    boxed(async move {
        if n == 0 {
            0
        } else {
            depth(n - 1).await + 1
        }
    })
}

pub fn recursion_boxed(n: u64) -> u64 {
    ready_now(depth(n).as_mut())
}

// --- create + run + destroy ---------------------------------------------------------

pub async fn minimal() {}

pub fn create_inline(n: u64) -> u64 {
    let mut s = 0;
    for _ in 0..n {
        let mut f = pin!(minimal());
        // Opaque to the optimiser: the poll must really read the state.
        let f = black_box(f.as_mut());
        s += poll_once(f).is_ready() as u64;
    }
    s
}

pub fn create_boxed(n: u64) -> u64 {
    let mut s = 0;
    for _ in 0..n {
        let mut f: Boxed<'_, ()> = boxed(minimal());
        s += poll_once(f.as_mut()).is_ready() as u64;
    }
    s
}
