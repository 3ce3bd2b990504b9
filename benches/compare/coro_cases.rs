//! The coro candidates: the same loops as every other column, written with
//! `#[coro::coroutine]`.

use std::alloc::Layout;
use std::cell::Cell;
use std::hint::black_box;
use std::marker::PhantomData;
use std::pin::pin;
use std::ptr::NonNull;

use coro::generator::InlineGenerator;
use coro::promise::{AwaitDirect, FrameMemory, Payload, ReturnVoid, ReturnsVoid};
use coro::{
    co_await, co_return, co_yield, sync_wait, AwaitSuspend, Awaiter, CoroutineHandle, Generator, Promise,
    SuspendAlways, Task, UniqueCoroutineHandle,
};

use crate::consume;

// --- generator ----------------------------------------------------------------

#[coro::coroutine]
fn range(n: u64) -> Generator<u64> {
    let mut i = 0;
    while i < n {
        co_yield!(i);
        i += 1;
    }
}

pub fn generator(n: u64) -> u64 {
    consume(range(n))
}

/// The same body with its frame in the caller: pinned on this function's
/// stack, resumed by direct, inlinable calls.
#[coro::coroutine]
fn range_inline(n: u64) -> InlineGenerator<u64> {
    let mut i = 0;
    while i < n {
        co_yield!(i);
        i += 1;
    }
}

pub fn generator_inline(n: u64) -> u64 {
    consume(pin!(range_inline(n)))
}

// --- Fibonacci ------------------------------------------------------------------

#[coro::coroutine]
fn fib(n: u64) -> Generator<u64> {
    let (mut a, mut b) = (0u64, 1u64);
    for _ in 0..n {
        co_yield!(a);
        (a, b) = (b, a.wrapping_add(b));
    }
}

pub fn fibonacci(n: u64) -> u64 {
    consume(fib(n))
}

#[coro::coroutine]
fn fib_inline(n: u64) -> InlineGenerator<u64> {
    let (mut a, mut b) = (0u64, 1u64);
    for _ in 0..n {
        co_yield!(a);
        (a, b) = (b, a.wrapping_add(b));
    }
}

pub fn fibonacci_inline(n: u64) -> u64 {
    consume(pin!(fib_inline(n)))
}

// --- co_await! of a ready awaiter -----------------------------------------------

/// An awaiter whose result is always ready.
pub struct Ready(pub u64);

impl Awaiter for Ready {
    type Output = u64;
    #[inline]
    fn await_ready(&mut self) -> bool {
        true
    }
    unsafe fn await_suspend(&mut self, _: CoroutineHandle) -> impl AwaitSuspend {}
    #[inline]
    fn await_resume(self) -> u64 {
        self.0
    }
}

#[coro::coroutine]
fn ready_loop(n: u64) -> Task<u64> {
    let mut s = 0u64;
    let mut i = 0;
    while i < n {
        s = s.wrapping_add(black_box(co_await!(Ready(i))));
        i += 1;
    }
    co_return!(s)
}

pub fn ready(n: u64) -> u64 {
    sync_wait(ready_loop(n))
}

/// The same loop awaiting a Rust future that is ready at once
/// (`std::future::ready`): `Unpin`, so an `UnpinFutureAwaiter`, which polls
/// it in `await_ready` with a waker lent from the stack; the coroutine does
/// not suspend.
#[coro::coroutine]
fn ready_future_loop(n: u64) -> Task<u64> {
    let mut s = 0u64;
    let mut i = 0;
    while i < n {
        s = s.wrapping_add(black_box(co_await!(std::future::ready(i))));
        i += 1;
    }
    co_return!(s)
}

pub fn ready_future(n: u64) -> u64 {
    sync_wait(ready_future_loop(n))
}

/// The same loop awaiting an `async` block that is ready at once: not
/// `Unpin`, so a `FutureAwaiter`, which first polls it once it is pinned in
/// the frame, before the coroutine suspends.
#[coro::coroutine]
fn ready_async_block_loop(n: u64) -> Task<u64> {
    let mut s = 0u64;
    let mut i = 0;
    while i < n {
        s = s.wrapping_add(black_box(co_await!(async move { i })));
        i += 1;
    }
    co_return!(s)
}

pub fn ready_async_block(n: u64) -> u64 {
    sync_wait(ready_async_block_loop(n))
}

/// The same coroutine with a direct call in place of the `co_await!`.
#[coro::coroutine]
fn direct_loop(n: u64) -> Task<u64> {
    let mut s = 0u64;
    let mut i = 0;
    while i < n {
        s = s.wrapping_add(black_box(Ready(i).await_resume()));
        i += 1;
    }
    co_return!(s)
}

pub fn ready_direct(n: u64) -> u64 {
    sync_wait(direct_loop(n))
}

// --- minimal coroutines: lazy, final suspend, the owner destroys ------------------

/// Where a promise's frames come from.
pub trait FrameAlloc {
    fn allocate(layout: Layout) -> Option<FrameMemory>;
    /// # Safety
    /// `ptr` came from `allocate(layout)`.
    unsafe fn deallocate(ptr: NonNull<u8>, layout: Layout);
}

/// The global allocator (the default `Promise::allocate_frame`).
pub enum Global {}

impl FrameAlloc for Global {
    #[inline]
    fn allocate(layout: Layout) -> Option<FrameMemory> {
        FrameMemory::global(layout)
    }
    #[inline]
    unsafe fn deallocate(ptr: NonNull<u8>, layout: Layout) {
        // SAFETY: allocated by `FrameMemory::global` with this layout.
        unsafe { std::alloc::dealloc(ptr.as_ptr(), layout) }
    }
}

/// A promise-provided recycling allocator (C++ `promise_type::operator new`
/// with a free list): freed frames of up to `BLOCK` bytes go on a
/// thread-local free list and are handed out again. The same as the g++
/// column's `recycling`.
pub enum Recycling {}

const BLOCK: usize = 64;
const BLOCK_ALIGN: usize = 16;

thread_local! {
    static FREE: Cell<*mut u8> = const { Cell::new(std::ptr::null_mut()) };
}

impl FrameAlloc for Recycling {
    #[inline]
    fn allocate(layout: Layout) -> Option<FrameMemory> {
        if layout.size() > BLOCK || layout.align() > BLOCK_ALIGN {
            return FrameMemory::global(layout);
        }
        let head = FREE.get();
        if let Some(block) = NonNull::new(head) {
            // SAFETY: a free block starts with the next free block's address.
            FREE.set(unsafe { block.as_ptr().cast::<*mut u8>().read() });
            // SAFETY: a free block is BLOCK bytes aligned to BLOCK_ALIGN,
            // owned by the list until handed out here.
            return Some(unsafe { FrameMemory::from_raw(block) });
        }
        FrameMemory::global(Layout::from_size_align(BLOCK, BLOCK_ALIGN).unwrap())
    }
    #[inline]
    unsafe fn deallocate(ptr: NonNull<u8>, layout: Layout) {
        if layout.size() > BLOCK || layout.align() > BLOCK_ALIGN {
            // SAFETY: allocated by `FrameMemory::global` with this layout.
            return unsafe { std::alloc::dealloc(ptr.as_ptr(), layout) };
        }
        // SAFETY: the block is ours again and large enough for a pointer.
        unsafe { ptr.as_ptr().cast::<*mut u8>().write(FREE.get()) };
        FREE.set(ptr.as_ptr());
    }
}

/// The minimal promise: lazy start, suspends at its end, `return_void`.
pub struct Lazy<A>(PhantomData<A>);

impl<A> Default for Lazy<A> {
    fn default() -> Self {
        Lazy(PhantomData)
    }
}

pub type Minimal<A> = UniqueCoroutineHandle<Lazy<A>>;

impl<A: FrameAlloc> Promise for Lazy<A> {
    type ReturnObject = Minimal<A>;
    type InitialSuspend = SuspendAlways;
    type FinalSuspend = SuspendAlways;
    type Return = ReturnsVoid;
    type Await = AwaitDirect;
    unsafe fn get_return_object(&mut self) -> Minimal<A> {
        // SAFETY: the returned wrapper is the frame's only owner.
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
    #[inline]
    fn allocate_frame(layout: Layout) -> Option<FrameMemory> {
        A::allocate(layout)
    }
    #[inline]
    unsafe fn deallocate_frame(ptr: NonNull<u8>, layout: Layout) {
        // SAFETY: forwarded contract.
        unsafe { A::deallocate(ptr, layout) }
    }
}

impl<A: FrameAlloc> ReturnVoid for Lazy<A> {
    fn return_void(&mut self) {}
}

#[coro::coroutine(promise = Lazy<Global>)]
pub fn minimal() -> Minimal<Global> {}

#[coro::coroutine(promise = Lazy<Recycling>)]
pub fn minimal_recycled() -> Minimal<Recycling> {}

/// Resumed `n` times; suspended at a `co_await!` in its body each time.
#[coro::coroutine(promise = Lazy<Global>)]
fn ticker(c: *mut u64) -> Minimal<Global> {
    loop {
        // SAFETY: the driver's counter outlives the coroutine.
        unsafe { *c += 1 };
        co_await!(SuspendAlways);
    }
}

pub fn resume(n: u64) -> u64 {
    let mut c = 0u64;
    let t = ticker(&mut c);
    let h = black_box(t.handle().erase());
    for _ in 0..n {
        // SAFETY: owned by `t`, suspended, resumed only here.
        unsafe { h.resume() };
    }
    drop(t);
    c
}

pub fn create<A: FrameAlloc>(n: u64, make: fn() -> Minimal<A>) -> u64 {
    let mut s = 0;
    for _ in 0..n {
        let h = make();
        // SAFETY: owned here, suspended at its initial point.
        unsafe { h.resume() };
        s += h.done() as u64;
    }
    s
}

// --- task chain and recursion -------------------------------------------------------

#[coro::coroutine]
fn child(i: u64) -> Task<u64> {
    co_return!(i)
}

#[coro::coroutine]
fn chain_loop(n: u64) -> Task<u64> {
    let mut s = 0u64;
    let mut i = 0;
    while i < n {
        s = s.wrapping_add(black_box(co_await!(child(i))));
        i += 1;
    }
    co_return!(s)
}

pub fn chain(n: u64) -> u64 {
    sync_wait(chain_loop(n))
}

#[coro::coroutine]
fn depth(n: u64) -> Task<u64> {
    if n == 0 {
        co_return!(0)
    }
    let r = co_await!(depth(n - 1));
    co_return!(r + 1)
}

pub fn recursion(n: u64) -> u64 {
    sync_wait(depth(n))
}
