//! First figures for the core (issue 5 builds the full harness against
//! peers): ns per generator item, ns per resume round trip, ns per
//! create + run + destroy, and the frame size of a minimal coroutine.
//!
//! Run: `cargo bench --bench core`

use std::alloc::Layout;
use std::cell::Cell;
use std::hint::black_box;
use std::time::Instant;

use coro::{
    co_return, co_yield, sync_wait, AwaitDirect, CoroutineHandle, Generator, Payload, Promise, ReturnVoid, ReturnsVoid,
    SuspendAlways, Task, UniqueCoroutineHandle, YieldValue,
};

thread_local! {
    static LAST_LAYOUT: Cell<usize> = const { Cell::new(0) };
}

/// A minimal lazily started promise that records its frame's size.
#[derive(Default)]
struct Minimal;

impl Promise for Minimal {
    type ReturnObject = UniqueCoroutineHandle<Minimal>;
    type InitialSuspend = SuspendAlways;
    type FinalSuspend = SuspendAlways;
    type Return = ReturnsVoid;
    type Await = AwaitDirect;
    fn get_return_object(&mut self) -> Self::ReturnObject {
        // SAFETY: the returned wrapper is the only owner.
        unsafe { UniqueCoroutineHandle::from_raw(CoroutineHandle::from_promise(self)) }
    }
    fn initial_suspend(&mut self) -> SuspendAlways {
        SuspendAlways
    }
    fn final_suspend(&mut self) -> SuspendAlways {
        SuspendAlways
    }
    fn unhandled_exception(&mut self, p: Payload) {
        std::panic::resume_unwind(p)
    }
    fn allocate_frame(layout: Layout) -> Option<::coro::FrameMemory> {
        LAST_LAYOUT.with(|l| l.set(layout.size()));
        ::coro::FrameMemory::global(layout)
    }
}
impl ReturnVoid for Minimal {
    fn return_void(&mut self) {}
}
impl YieldValue<()> for Minimal {
    type Awaitable = SuspendAlways;
    fn yield_value(&mut self, (): ()) -> SuspendAlways {
        SuspendAlways
    }
}

#[coro::coroutine(promise = Minimal)]
fn minimal() -> UniqueCoroutineHandle<Minimal> {}

#[coro::coroutine(promise = Minimal)]
fn ticker() -> UniqueCoroutineHandle<Minimal> {
    loop {
        co_yield!(());
    }
}

#[coro::coroutine]
fn range(n: u64) -> Generator<u64> {
    let mut i = 0;
    while i < n {
        co_yield!(i);
        i += 1;
    }
}

#[coro::coroutine]
fn one() -> Task<u64> {
    co_return!(1)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn time<F: FnMut() -> u64>(n: u64, mut f: F) -> f64 {
    let rounds: Vec<f64> = (0..7)
        .map(|_| {
            let t = Instant::now();
            black_box(f());
            t.elapsed().as_nanos() as f64 / n as f64
        })
        .collect();
    median(rounds)
}

fn main() {
    let n = if std::env::var_os("CORO_BENCH_QUICK").is_some() { 10_000 } else { 10_000_000 };

    if std::env::var_os("CORO_BENCH_GEN_ONLY").is_some() {
        // For `valgrind --tool=callgrind`: instructions per generator item.
        let mut s = 0u64;
        for x in range(n) {
            s = s.wrapping_add(black_box(x));
        }
        assert_eq!(s, n * (n - 1) / 2);
        return;
    }
    let gen = time(n, || {
        let mut s = 0u64;
        for x in range(n) {
            s = s.wrapping_add(black_box(x));
        }
        assert_eq!(s, n * (n - 1) / 2);
        s
    });
    let floor = time(n, || {
        let mut s = 0u64;
        for x in 0..n {
            s = s.wrapping_add(black_box(x));
        }
        s
    });
    let resume = time(n, || {
        let h = ticker();
        for _ in 0..n {
            // SAFETY: owned, suspended, resumed only here.
            unsafe { h.resume() };
        }
        n
    });
    let create = time(n / 10, || {
        let mut s = 0;
        for _ in 0..n / 10 {
            s += sync_wait(black_box(one()));
        }
        s
    });
    drop(minimal());
    let frame = LAST_LAYOUT.with(|l| l.get());

    println!("generator item (sum of 0..N)      {gen:6.2} ns   (plain loop {floor:.2} ns)");
    println!("resume round trip (co_yield loop) {resume:6.2} ns");
    println!("Task create + sync_wait + destroy {create:6.2} ns");
    println!("minimal coroutine frame           {frame:6} bytes");
}
