//! Frame sizes of the seed examples (examples/seed*.rs), ported here as
//! written there, beside the equivalent `async fn` futures. The g++ column's
//! programs are the seeds' own C++ (benches/cpp/bench.cpp).

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use coro::promise::{AwaitDirect, FromParams, Payload, ReturnValue, ReturnVoid, ReturnsValue, ReturnsVoid};
use coro::{
    co_await, co_return, AwaitSuspend, Awaiter, CoroutineHandle, CoroutineTraits, Promise, SuspendAlways, SuspendNever,
    UniqueCoroutineHandle,
};

use crate::alloc;

// --- seed 000: an eager job whose awaiter borrows a buffer in the frame --------------

struct ReadAwaiter<'a> {
    buf: &'a mut [u8],
    filled: usize,
}

impl Awaiter for ReadAwaiter<'_> {
    type Output = usize;
    fn await_ready(&mut self) -> bool {
        false
    }
    unsafe fn await_suspend(&mut self, _: CoroutineHandle) -> impl AwaitSuspend {
        self.buf[0] = 1;
    }
    fn await_resume(self) -> usize {
        self.filled
    }
}

#[derive(Default)]
struct Job {
    total: usize,
}

impl Promise for Job {
    type ReturnObject = UniqueCoroutineHandle<Job>;
    type InitialSuspend = SuspendNever;
    type FinalSuspend = SuspendAlways;
    type Return = ReturnsValue;
    type Await = AwaitDirect;
    unsafe fn get_return_object(&mut self) -> Self::ReturnObject {
        // SAFETY: the returned owner is the frame's only owner.
        unsafe { UniqueCoroutineHandle::from_raw(CoroutineHandle::from_promise(self)) }
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
impl ReturnValue<usize> for Job {
    fn return_value(&mut self, total: usize) {
        self.total = total;
    }
}

#[coro::coroutine(promise = Job)]
fn read_all() -> UniqueCoroutineHandle<Job> {
    let mut buffer = [0u8; 16];
    let mut total = 0;
    loop {
        let n = co_await!(ReadAwaiter { buf: &mut buffer, filled: 0 });
        if n == 0 {
            co_return!(total)
        }
        total += n;
    }
}

struct ReadFuture<'a> {
    buf: &'a mut [u8],
    filled: usize,
    polled: bool,
}

impl Future for ReadFuture<'_> {
    type Output = usize;
    fn poll(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<usize> {
        if self.polled {
            Poll::Ready(self.filled)
        } else {
            self.polled = true;
            self.buf[0] = 1;
            Poll::Pending
        }
    }
}

async fn read_all_async() -> usize {
    let mut buffer = [0u8; 16];
    let mut total = 0;
    loop {
        let n = ReadFuture { buf: &mut buffer, filled: 0, polled: false }.await;
        if n == 0 {
            return total;
        }
        total += n;
    }
}

// --- seed 002: the promise constructor sees the parameters ---------------------------

thread_local! {
    static SEEN: Cell<i32> = const { Cell::new(0) };
}

struct FooPromise;

impl FromParams<(&mut i32,)> for FooPromise {
    fn from_params((i,): (&mut i32,)) -> Self {
        *i = 1;
        FooPromise
    }
}

struct TaskT;

impl CoroutineTraits for TaskT {
    type Promise = FooPromise;
}

impl Promise for FooPromise {
    type ReturnObject = TaskT;
    type InitialSuspend = SuspendNever;
    type FinalSuspend = SuspendNever;
    type Return = ReturnsVoid;
    type Await = AwaitDirect;
    unsafe fn get_return_object(&mut self) -> TaskT {
        TaskT
    }
    fn initial_suspend(&mut self) -> SuspendNever {
        SuspendNever
    }
    fn final_suspend(&mut self) -> SuspendNever {
        SuspendNever
    }
    fn unhandled_exception(&mut self, payload: Payload) {
        std::panic::resume_unwind(payload)
    }
}
impl ReturnVoid for FooPromise {
    fn return_void(&mut self) {}
}

#[coro::coroutine]
fn foo(i: i32) -> TaskT {
    SEEN.set(i);
    co_return!();
}

async fn foo_async(i: i32) {
    SEEN.set(i);
}

// --- seed 004: the example's own eager task<T>, and Generator<T> ----------------------

/// The example itself: its `seed_range` (the seed's eager task) and `range`
/// (as `Generator<u32>`) are the coroutines measured.
#[allow(dead_code)] // the example's `main` and the coroutines only it uses
#[path = "../../examples/range_generator.rs"]
mod seed004;

use seed004::{range, seed_range};

async fn range_async<T>(n: T, slot: &Cell<Option<T>>)
where
    std::ops::Range<T>: Iterator<Item = T>,
    T: Copy + Default,
{
    for i in T::default()..n {
        slot.set(Some(i));
        crate::async_cases::yield_now().await;
    }
}

// --- the table ---------------------------------------------------------------------------

pub struct FrameRow {
    pub name: &'static str,
    /// The case name in the g++ program.
    pub cpp_case: &'static str,
    /// coro's frame: the allocation request.
    pub coro: u64,
    /// rustc's `size_of` of the equivalent `async fn` future.
    pub future: u64,
}

/// The allocation request made while `f` runs (its last one).
fn request(f: impl FnOnce()) -> u64 {
    let a0 = alloc::allocs();
    f();
    assert!(alloc::allocs() > a0, "no frame was allocated");
    alloc::last_size()
}

pub fn frames() -> Vec<FrameRow> {
    let slot32 = Cell::new(None);
    let slot_i = Cell::new(None);
    let range_i32 = size_of_val(&range_async(10i32, &slot_i)) as u64;
    let range_u32 = size_of_val(&range_async(10u32, &slot32)) as u64;
    vec![
        FrameRow {
            name: "minimal (lazy, empty body)",
            cpp_case: "minimal",
            coro: request(|| drop(crate::coro_cases::minimal())),
            future: size_of_val(&crate::async_cases::minimal()) as u64,
        },
        FrameRow {
            name: "seed 000 `read_all` (16-byte buffer borrowed across co_await)",
            cpp_case: "seed000_read_all",
            coro: request(|| drop(read_all())),
            future: size_of_val(&read_all_async()) as u64,
        },
        FrameRow {
            name: "seed 002 `foo(int)` (promise built from the parameter)",
            cpp_case: "seed002_foo",
            coro: request(|| {
                let _ = foo(0);
                assert_eq!(SEEN.get(), 1, "the promise constructor set the parameter");
            }),
            future: size_of_val(&foo_async(0)) as u64,
        },
        FrameRow {
            name: "seed 004 `range(int)` (the seed's eager task)",
            cpp_case: "seed004_seed_range",
            coro: request(|| drop(seed_range(10))),
            future: range_i32,
        },
        FrameRow {
            name: "seed 004 `range(u32)` as `Generator<u32>`",
            cpp_case: "seed004_range",
            coro: request(|| assert_eq!(range(10).sum::<u32>(), 45)),
            future: range_u32,
        },
    ]
}

/// glibc's chunk for a request (64-bit): the request plus an 8-byte
/// header, rounded up to 16, at least 32.
pub fn glibc_chunk(request: u64) -> u64 {
    ((request + 8).div_ceil(16) * 16).max(32)
}
