//! The genawaiter candidates: `genawaiter::stack` (the allocation-free
//! flavour) for the timed rows, `genawaiter::rc` where generators must be
//! held by the million.

use std::cell::Cell;
use std::hint::black_box;

use genawaiter::stack::{Co, Gen, Shelf};
use genawaiter::GeneratorState;

use crate::consume;

pub fn generator(n: u64) -> u64 {
    let mut shelf = Shelf::new();
    // SAFETY: `co` stays inside the producer's future.
    let gen = unsafe {
        Gen::new(&mut shelf, |co: Co<'_, u64>| async move {
            let mut i = 0;
            while i < n {
                co.yield_(i).await;
                i += 1;
            }
        })
    };
    consume(gen)
}

pub fn fibonacci(n: u64) -> u64 {
    let mut shelf = Shelf::new();
    // SAFETY: `co` stays inside the producer's future.
    let gen = unsafe {
        Gen::new(&mut shelf, |co: Co<'_, u64>| async move {
            let (mut a, mut b) = (0u64, 1u64);
            for _ in 0..n {
                co.yield_(a).await;
                (a, b) = (b, a.wrapping_add(b));
            }
        })
    };
    consume(gen)
}

pub fn resume(n: u64) -> u64 {
    let c = Cell::new(0u64);
    {
        let c = &c;
        let mut shelf = Shelf::new();
        // SAFETY: `co` stays inside the producer's future.
        let mut gen = unsafe {
            Gen::new(&mut shelf, |co: Co<'_, ()>| async move {
                loop {
                    c.set(c.get() + 1);
                    co.yield_(()).await;
                }
            })
        };
        let gen = black_box(&mut gen);
        for _ in 0..n {
            let _ = gen.resume();
        }
    }
    c.get()
}

pub fn create(n: u64) -> u64 {
    let mut s = 0;
    for _ in 0..n {
        let mut shelf = Shelf::new();
        // SAFETY: `co` stays inside the producer's future.
        let mut gen = unsafe { Gen::new(&mut shelf, |_: Co<'_, ()>| async move {}) };
        let gen = black_box(&mut gen);
        s += matches!(gen.resume(), GeneratorState::Complete(())) as u64;
    }
    s
}

/// A minimal `genawaiter::rc` generator, not yet started.
pub fn minimal_rc() -> genawaiter::rc::Gen<(), (), impl std::future::Future<Output = ()>> {
    genawaiter::rc::Gen::new(|_co: genawaiter::rc::Co<()>| async move {})
}
