//! Mirrors C++'s `range` generator written with a hand-made `task<T>`
//! (seed 004), and what generators compose into.
//!
//! The seed writes its own `task<T>` whose promise stores each `co_yield`ed
//! value (`yield_value` returns `suspend_always`), starts eagerly
//! (`initial_suspend` = `suspend_never`), and is driven by hand:
//!
//! ```cpp
//! auto range(int n) -> task<int> { for (auto i = 0; i < n; ++i) co_yield i; }
//! auto co = range(10);
//! while (!co.coro_.done()) { std::cout << co.coro_.promise().val_ << "\n"; co.coro_.resume(); }
//! ```
//!
//! Part 1 ports that promise literally. One fix was needed: the seed's promise
//! has no `return_void`, so `range` flowing off its end is undefined
//! behaviour in C++ ([stmt.return.coroutine]); coro rejects it at compile
//! time, so the port adds `return_void`.
//!
//! Part 2 uses the library's `Generator<T>` (C++23 `std::generator`): lazy,
//! an `Iterator`, so `take`, `zip`, `sum` and friends just work, including on
//! an infinite generator.

use std::cell::Cell;

use coro::promise::{AwaitDirect, Payload, ReturnVoid, ReturnsVoid, YieldValue};
use coro::{
    co_yield, CoroutineHandle, CoroutineTraits, Generator, Promise, SuspendAlways, SuspendNever, UniqueCoroutineHandle,
};

// --- part 1: the seed's hand-written task<T> ---------------------------------
//
// (`pub(crate)`: benches/compare/seeds.rs includes this file to measure
// `seed_range` and `range`.)

/// The seed's `task<T>`; owning here (the seed leaks its frame).
pub(crate) struct SeedTask<T> {
    coro: UniqueCoroutineHandle<SeedPromise<T>>,
}

pub(crate) struct SeedPromise<T> {
    val: Option<T>,
}

impl<T> Default for SeedPromise<T> {
    fn default() -> Self {
        SeedPromise { val: None }
    }
}

impl<T> Promise for SeedPromise<T> {
    type ReturnObject = SeedTask<T>;
    type InitialSuspend = SuspendNever;
    type FinalSuspend = SuspendAlways;
    type Return = ReturnsVoid;
    type Await = AwaitDirect;
    unsafe fn get_return_object(&mut self) -> SeedTask<T> {
        // SAFETY: the task becomes the frame's only owner, and only its
        // owner resumes it.
        let coro = unsafe { UniqueCoroutineHandle::from_raw(CoroutineHandle::from_promise(self)) };
        SeedTask { coro }
    }
    fn initial_suspend(&mut self) -> SuspendNever {
        SuspendNever
    }
    fn final_suspend(&mut self) -> SuspendAlways {
        SuspendAlways
    }
    fn unhandled_exception(&mut self, payload: Payload) {
        std::panic::resume_unwind(payload)
    }
}

impl<T> YieldValue<T> for SeedPromise<T> {
    type Awaitable = SuspendAlways;
    fn yield_value(&mut self, value: T) -> SuspendAlways {
        self.val = Some(value);
        SuspendAlways
    }
}

/// Missing from the seed (see the header).
impl<T> ReturnVoid for SeedPromise<T> {
    fn return_void(&mut self) {}
}

impl<T> CoroutineTraits for SeedTask<T> {
    type Promise = SeedPromise<T>;
}

#[coro::coroutine]
pub(crate) fn seed_range(n: i32) -> SeedTask<i32> {
    for i in 0..n {
        co_yield!(i);
    }
}

// --- part 2: Generator<T> -------------------------------------------------------

#[coro::coroutine]
pub(crate) fn range(n: u32) -> Generator<u32> {
    for i in 0..n {
        co_yield!(i);
    }
}

thread_local! {
    static PRODUCED: Cell<u64> = const { Cell::new(0) };
    static DROPPED: Cell<bool> = const { Cell::new(false) };
}

struct OnDrop;
impl Drop for OnDrop {
    fn drop(&mut self) {
        DROPPED.set(true);
    }
}

/// Never ends: the consumer decides how much of it exists.
#[coro::coroutine]
fn fibonacci() -> Generator<u64> {
    let _guard = OnDrop; // dropped when the suspended generator is destroyed
    let (mut a, mut b) = (0u64, 1u64);
    loop {
        PRODUCED.set(PRODUCED.get() + 1);
        co_yield!(a);
        (a, b) = (b, a + b);
    }
}

fn main() {
    println!("part 1, the seed's loop over range(10):");
    let mut co = seed_range(10); // eager: already suspended at the first co_yield
    let mut seen = Vec::new();
    while !co.coro.done() {
        // SAFETY: the coroutine is suspended (not running); no other promise
        // reference exists while this one is used.
        let val = unsafe { co.coro.promise_mut() }.val.take().unwrap();
        seen.push(val);
        // SAFETY: `co` owns the frame, which is suspended at a co_yield (not
        // done, checked above); nothing else resumes it.
        unsafe { co.coro.resume() };
    }
    println!("  {seen:?}");
    assert_eq!(seen, (0..10).collect::<Vec<_>>());

    println!("part 2, Generator<T>:");
    let v: Vec<u32> = range(5).collect();
    println!("  range(5).collect()                    = {v:?}");
    assert_eq!(v, [0, 1, 2, 3, 4]);

    let s: u32 = range(101).sum();
    println!("  range(101).sum()                      = {s}");
    assert_eq!(s, 5050);

    let pairs: Vec<(u32, char)> = range(3).zip("abc".chars()).collect();
    println!("  range(3).zip(\"abc\".chars())           = {pairs:?}");
    assert_eq!(pairs, [(0, 'a'), (1, 'b'), (2, 'c')]);

    let odd_squares: Vec<u32> = range(10).filter(|i| i % 2 == 1).map(|i| i * i).collect();
    println!("  range(10) odd squares                 = {odd_squares:?}");
    assert_eq!(odd_squares, [1, 9, 25, 49, 81]);

    let first: Vec<u64> = fibonacci().take(10).collect();
    println!("  fibonacci().take(10)                  = {first:?}");
    assert_eq!(first, [0, 1, 1, 2, 3, 5, 8, 13, 21, 34]);
    assert_eq!(PRODUCED.get(), 10, "lazy: only what was asked for was computed");
    assert!(DROPPED.get(), "dropping the suspended generator destroyed its locals");

    let big = fibonacci().find(|&f| f > 1_000_000).unwrap();
    println!("  first fibonacci number over 1,000,000 = {big}");
    assert_eq!(big, 1_346_269);
}
