//! Heap traffic of coroutines, measured with a counting global allocator
//! (this test binary's own): one allocation per frame with the default
//! allocator, none per `co_await!`/`co_yield!`, none at all with a
//! promise-provided allocator, and frees that balance allocations (also on
//! the ramp's panic paths). Counters are per thread, so parallel tests do
//! not disturb each other.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::{Cell, UnsafeCell};
use std::ptr::NonNull;

use common::{Pause, Ready, SuspendFalse, TransferToSelf};
use coro::promise::{AwaitDirect, Payload, ReturnVoid, ReturnsVoid, YieldValue};
use coro::{
    co_await, co_return, co_yield, sync_wait, CoroutineHandle, CoroutineTraits, Generator, Promise, SuspendAlways,
    Task, UniqueCoroutineHandle,
};

// ===========================================================================
// The counting allocator
// ===========================================================================

struct Counting;

thread_local! {
    static TRACKING: Cell<bool> = const { Cell::new(false) };
    static ALLOCS: Cell<usize> = const { Cell::new(0) };
    static FREES: Cell<usize> = const { Cell::new(0) };
    static BYTES_ALLOCATED: Cell<usize> = const { Cell::new(0) };
    static BYTES_FREED: Cell<usize> = const { Cell::new(0) };
    static LAST_SIZE: Cell<usize> = const { Cell::new(0) };
}

fn note_alloc(size: usize) {
    let _ = TRACKING.try_with(|t| {
        if t.get() {
            ALLOCS.set(ALLOCS.get() + 1);
            BYTES_ALLOCATED.set(BYTES_ALLOCATED.get() + size);
            LAST_SIZE.set(size);
        }
    });
}

fn note_free(size: usize) {
    let _ = TRACKING.try_with(|t| {
        if t.get() {
            FREES.set(FREES.get() + 1);
            BYTES_FREED.set(BYTES_FREED.get() + size);
        }
    });
}

// SAFETY: forwards to `System`; the bookkeeping touches only
// const-initialised thread-locals without destructors, which never allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note_alloc(layout.size());
        // SAFETY: forwarded contract.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note_alloc(layout.size());
        // SAFETY: forwarded contract.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        note_free(layout.size());
        // SAFETY: forwarded contract.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note_free(layout.size());
        note_alloc(new_size);
        // SAFETY: forwarded contract.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stats {
    allocs: usize,
    frees: usize,
    bytes_allocated: usize,
    bytes_freed: usize,
}

impl Stats {
    #[track_caller]
    fn assert_balanced(&self) {
        assert_eq!(self.allocs, self.frees, "allocations vs frees: {self:?}");
        assert_eq!(self.bytes_allocated, self.bytes_freed, "bytes allocated vs freed: {self:?}");
    }
}

/// Runs `f` on this thread with counting on; returns its result and the
/// heap traffic it caused on this thread.
fn measure<R>(f: impl FnOnce() -> R) -> (R, Stats) {
    // Warm up what std allocates lazily on first use on a thread.
    let _ = std::thread::current();
    ALLOCS.set(0);
    FREES.set(0);
    BYTES_ALLOCATED.set(0);
    BYTES_FREED.set(0);
    TRACKING.set(true);
    let r = f();
    TRACKING.set(false);
    (
        r,
        Stats {
            allocs: ALLOCS.get(),
            frees: FREES.get(),
            bytes_allocated: BYTES_ALLOCATED.get(),
            bytes_freed: BYTES_FREED.get(),
        },
    )
}

// ===========================================================================
// Default allocator: one allocation per frame, none per suspension
// ===========================================================================

#[coro::coroutine]
fn range(n: u32) -> Generator<u32> {
    for i in 0..n {
        co_yield!(i);
    }
}

#[coro::coroutine]
fn answer() -> Task<u32> {
    co_return!(42)
}

#[test]
fn one_allocation_per_coroutine_frame_and_it_is_freed() {
    let (v, s) = measure(|| sync_wait(answer()));
    assert_eq!(v, 42);
    assert_eq!((s.allocs, s.frees), (1, 1), "{s:?}");
    s.assert_balanced();

    let (g, s) = measure(|| range(3));
    assert_eq!((s.allocs, s.frees), (1, 0));
    let (_, s2) = measure(|| drop(g));
    assert_eq!((s2.allocs, s2.frees), (0, 1));
    assert_eq!(s.bytes_allocated, s2.bytes_freed);
}

#[test]
fn a_generator_yielding_1000_items_makes_one_allocation_in_total() {
    let (sum, s) = measure(|| range(1000).sum::<u32>());
    assert_eq!(sum, 999 * 1000 / 2);
    assert_eq!((s.allocs, s.frees), (1, 1), "{s:?}");
    s.assert_balanced();
}

#[test]
fn an_inline_generator_yielding_1000_items_makes_no_allocation_and_boxing_it_makes_one() {
    #[coro::coroutine]
    fn inline_range(n: u32) -> coro::InlineGenerator<u32> {
        for i in 0..n {
            co_yield!(i);
        }
    }
    let (sum, s) = measure(|| std::pin::pin!(inline_range(1000)).sum::<u32>());
    assert_eq!(sum, 999 * 1000 / 2);
    assert_eq!((s.allocs, s.frees), (0, 0), "{s:?}");
    let (sum, s) = measure(|| Box::pin(inline_range(1000)).sum::<u32>());
    assert_eq!(sum, 999 * 1000 / 2);
    assert_eq!((s.allocs, s.frees), (1, 1), "{s:?}");
    s.assert_balanced();
}

#[test]
fn a_task_awaiting_1000_ready_and_1000_suspending_awaiters_makes_one_allocation() {
    #[coro::coroutine]
    fn awaits(n: u64) -> Task<u64> {
        let mut s = 0;
        for i in 0..n {
            s += co_await!(Ready(i));
            s += co_await!(SuspendFalse(1));
            s += co_await!(TransferToSelf(1));
        }
        co_return!(s)
    }
    let (v, s) = measure(|| sync_wait(awaits(1000)));
    assert_eq!(v, 999 * 1000 / 2 + 2000);
    assert_eq!((s.allocs, s.frees), (1, 1), "{s:?}");
    s.assert_balanced();
}

#[test]
fn awaiting_1000_futures_that_complete_at_once_allocates_only_the_frame() {
    async fn add(a: u64, b: u64) -> u64 {
        std::future::ready(a).await + b
    }
    #[coro::coroutine]
    fn awaits(n: u64) -> Task<u64> {
        let mut s = 0;
        for i in 0..n {
            s += co_await!(std::future::ready(i));
            s += co_await!(add(i, 1));
        }
        co_return!(s)
    }
    // Warm up: this thread's wake-up queue is made once, on first use.
    sync_wait(awaits(1));
    let (v, s) = measure(|| sync_wait(awaits(1000)));
    assert_eq!(v, 2 * (999 * 1000 / 2) + 1000);
    assert_eq!((s.allocs, s.frees), (1, 1), "{s:?}");
    s.assert_balanced();
}

#[test]
fn a_future_that_keeps_its_waker_allocates_one_block_per_co_await() {
    /// Pending once, keeping (cloning) the waker and waking it at once.
    struct YieldOnce(bool);
    impl std::future::Future for YieldOnce {
        type Output = ();
        fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<()> {
            if self.0 {
                return std::task::Poll::Ready(());
            }
            self.0 = true;
            // Kept, as a future handing its waker to a reactor would.
            let kept = cx.waker().clone();
            kept.wake_by_ref();
            drop(kept);
            std::task::Poll::Pending
        }
    }
    #[coro::coroutine]
    fn awaits(n: u64) -> Task<u64> {
        for _ in 0..n {
            co_await!(YieldOnce(false));
        }
        co_return!(n)
    }
    sync_wait(awaits(1));
    let (v, s) = measure(|| sync_wait(awaits(100)));
    assert_eq!(v, 100);
    assert_eq!((s.allocs, s.frees), (101, 101), "the frame, and one waker block per co_await!: {s:?}");
    s.assert_balanced();
}

#[test]
fn a_future_that_waits_allocates_one_block_per_co_await_unpin_or_not() {
    /// Pending once, waking the waker it was lent (by reference, so keeping
    /// none) or a clone it keeps, before it returns.
    struct WakeInPoll {
        done: bool,
        keep: bool,
    }
    impl std::future::Future for WakeInPoll {
        type Output = ();
        fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<()> {
            if self.done {
                return std::task::Poll::Ready(());
            }
            self.done = true;
            if self.keep {
                let kept = cx.waker().clone();
                kept.wake();
            } else {
                cx.waker().wake_by_ref();
            }
            std::task::Poll::Pending
        }
    }
    async fn not_unpin<F: std::future::Future>(future: F) -> F::Output {
        future.await
    }
    #[coro::coroutine]
    fn awaits(n: u64, keep: bool) -> Task<u64> {
        for _ in 0..n {
            // `Unpin`: first polled in `await_ready`.
            co_await!(WakeInPoll { done: false, keep });
            // Not `Unpin` (an `async fn`'s future): first polled once
            // pinned in the frame, before the coroutine suspends.
            co_await!(not_unpin(WakeInPoll { done: false, keep }));
        }
        co_return!(n)
    }
    for keep in [false, true] {
        sync_wait(awaits(1, keep));
        let (v, s) = measure(|| sync_wait(awaits(100, keep)));
        assert_eq!(v, 100);
        assert_eq!((s.allocs, s.frees), (201, 201), "keep {keep}: the frame, and one waker block per co_await!: {s:?}");
        s.assert_balanced();
    }
}

#[test]
fn awaiting_1000_async_blocks_that_complete_at_once_allocates_only_the_frame() {
    #[coro::coroutine]
    fn awaits(n: u64) -> Task<u64> {
        let mut s = 0;
        let one = 1;
        for i in 0..n {
            // Not `Unpin`: polled once pinned in the frame, where it
            // completes without suspending the coroutine, the waker lent
            // from the stack.
            s += co_await!(async move { i });
            s += co_await!(async { std::future::ready(one).await + one });
        }
        co_return!(s)
    }
    sync_wait(awaits(1));
    let (v, s) = measure(|| sync_wait(awaits(1000)));
    assert_eq!(v, 999 * 1000 / 2 + 2000);
    assert_eq!((s.allocs, s.frees), (1, 1), "{s:?}");
    s.assert_balanced();
}

#[test]
fn a_ready_future_awaited_through_a_hand_made_awaiter_allocates_nothing() {
    #[coro::coroutine]
    fn awaits(n: u64) -> Task<u64> {
        let mut s = 0;
        for i in 0..n {
            // Through an `UnpinFutureAwaiter` made by hand, and a plain
            // `FutureAwaiter` made by hand for the same `Unpin` future.
            s += co_await!(coro::awaiter::UnpinFutureAwaiter::new(std::future::ready(i)));
            s += co_await!(coro::awaiter::FutureAwaiter::new(std::future::ready(1)));
        }
        co_return!(s)
    }
    sync_wait(awaits(1));
    let (v, s) = measure(|| sync_wait(awaits(1000)));
    assert_eq!(v, 999 * 1000 / 2 + 1000);
    assert_eq!((s.allocs, s.frees), (1, 1), "{s:?}");
    s.assert_balanced();
}

#[test]
fn a_job_suspending_1000_times_and_resumed_from_outside_makes_one_allocation() {
    #[coro::coroutine]
    fn pauses(n: u64) -> common::Job<u64> {
        let mut s = 0;
        let buffer = [0u8; 64]; // a local held across every suspension
        for i in 0..n {
            s += co_await!(Pause(i)) + buffer[(i % 64) as usize] as u64;
        }
        co_return!(s)
    }
    let ((v, resumes), s) = measure(|| pauses(1000).run_counting());
    assert_eq!((v, resumes), (999 * 1000 / 2, 1001));
    assert_eq!((s.allocs, s.frees), (1, 1), "{s:?}");
    s.assert_balanced();
}

#[test]
fn a_task_awaiting_1000_child_tasks_makes_one_allocation_per_frame() {
    #[coro::coroutine]
    fn parent(n: u32) -> Task<u32> {
        let mut s = 0;
        for _ in 0..n {
            s += co_await!(answer());
        }
        co_return!(s)
    }
    let (v, s) = measure(|| sync_wait(parent(1000)));
    assert_eq!(v, 42_000);
    assert_eq!((s.allocs, s.frees), (1001, 1001), "{s:?}");
    s.assert_balanced();
}

#[test]
fn send_task_awaiters_queued_on_a_send_shared_task_allocate_nothing() {
    use coro::sync::Event;
    use coro::{when_all, SendSharedTask, SendTask};
    use std::sync::Arc;
    #[coro::coroutine]
    fn gate(e: Arc<Event>) -> SendSharedTask<u32> {
        co_await!(e.wait());
        co_return!(7)
    }
    #[coro::coroutine]
    fn get(s: SendSharedTask<u32>) -> SendTask<u32> {
        co_return!(co_await!(s))
    }
    #[coro::coroutine]
    fn open(e: Arc<Event>) -> SendTask<u32> {
        e.set();
        co_return!(0)
    }
    #[coro::coroutine]
    fn four(s: SendSharedTask<u32>, e: Arc<Event>) -> SendTask<(u32, u32, u32, u32)> {
        co_return!(co_await!(when_all((get(s.clone()), get(s.clone()), get(s), open(e)))))
    }
    // The same coroutines, with the three awaiters queued (the event is set
    // last) or not (set first: the shared task finishes at once).
    let run = |set_first: bool| {
        measure(|| {
            let e = Arc::new(Event::new());
            if set_first {
                e.set();
            }
            sync_wait(four(gate(e.clone()), e))
        })
    };
    let (v, not_queued) = run(true);
    assert_eq!(v, (7, 7, 7, 0));
    let (v, queued) = run(false);
    assert_eq!(v, (7, 7, 7, 0));
    assert_eq!(queued, not_queued, "queuing allocated");
    queued.assert_balanced();
}

#[test]
fn destroying_suspended_and_unstarted_coroutines_frees_their_frames() {
    let (_, s) = measure(|| {
        let mut g = range(10);
        g.next();
        g.next();
        drop(g);
        drop(range(5));
        drop(answer());
    });
    assert_eq!((s.allocs, s.frees), (3, 3), "{s:?}");
    s.assert_balanced();
}

// ===========================================================================
// Panics in the ramp free the frame
// ===========================================================================

thread_local! {
    static PANIC_IN_GRO: Cell<bool> = const { Cell::new(false) };
    static FRAGILE_FRAMES: Cell<(usize, usize)> = const { Cell::new((0, 0)) };
}

#[derive(Default)]
struct Fragile;

impl Promise for Fragile {
    type ReturnObject = UniqueCoroutineHandle<Fragile>;
    type InitialSuspend = SuspendAlways;
    type FinalSuspend = SuspendAlways;
    type Return = ReturnsVoid;
    type Await = AwaitDirect;
    unsafe fn get_return_object(&mut self) -> Self::ReturnObject {
        if PANIC_IN_GRO.get() {
            panic!("{} get_return_object", common::PLANNED);
        }
        // SAFETY: sole owner.
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
    fn allocate_frame(layout: Layout) -> Option<::coro::promise::FrameMemory> {
        let (a, f) = FRAGILE_FRAMES.get();
        FRAGILE_FRAMES.set((a + 1, f));
        ::coro::promise::FrameMemory::global(layout)
    }
    unsafe fn deallocate_frame(ptr: NonNull<u8>, layout: Layout) {
        let (a, f) = FRAGILE_FRAMES.get();
        FRAGILE_FRAMES.set((a, f + 1));
        // SAFETY: allocated above with this layout.
        unsafe { std::alloc::dealloc(ptr.as_ptr(), layout) }
    }
}

impl ReturnVoid for Fragile {
    fn return_void(&mut self) {}
}

#[test]
fn a_panicking_get_return_object_frees_the_frame_it_was_given() {
    #[coro::coroutine(promise = Fragile)]
    fn fragile(v: Vec<u8>) -> UniqueCoroutineHandle<Fragile> {
        drop(v);
    }
    common::quiet_planned_panics();
    let v = vec![1u8; 1000];
    PANIC_IN_GRO.set(true);
    FRAGILE_FRAMES.set((0, 0));
    let (r, s) = measure(|| std::panic::catch_unwind(move || fragile(v)));
    PANIC_IN_GRO.set(false);
    assert!(r.is_err());
    assert_eq!(FRAGILE_FRAMES.get(), (1, 1), "the frame was freed once");
    // The panic machinery allocates too; the Vec parameter's 1000 bytes
    // must be among the frees, and nothing of the frame may leak.
    drop(r);
    assert!(s.bytes_freed >= 1000, "the Vec parameter was freed: {s:?}");
}

// ===========================================================================
// Promise-provided allocators: no heap traffic at all
// ===========================================================================

/// A thread-local recycling pool: freed frames are kept and handed out again
/// for the same layout (C++ `promise_type::operator new` with a free list).
mod pool {
    use super::*;

    const SLOTS: usize = 16;

    /// The kept frames; returned to the heap when the thread ends, so the
    /// pool leaks nothing (memcheck runs this file too).
    pub struct FreeList([(usize, Layout); SLOTS]);

    impl Drop for FreeList {
        fn drop(&mut self) {
            for &(p, layout) in self.0.iter().filter(|(p, _)| *p != 0) {
                // SAFETY: every kept block came from `std::alloc::alloc(layout)`.
                unsafe { std::alloc::dealloc(p as *mut u8, layout) }
            }
        }
    }

    thread_local! {
        static FREE: UnsafeCell<FreeList> =
            const { UnsafeCell::new(FreeList([(0, Layout::new::<u8>()); SLOTS])) };
        static FROM_POOL: Cell<usize> = const { Cell::new(0) };
        static FROM_HEAP: Cell<usize> = const { Cell::new(0) };
    }

    pub fn counts() -> (usize, usize) {
        (FROM_POOL.get(), FROM_HEAP.get())
    }

    pub fn allocate(layout: Layout) -> Option<NonNull<u8>> {
        let reused = FREE.with(|f| {
            // SAFETY: thread-local, never borrowed re-entrantly.
            let free = unsafe { &mut (*f.get()).0 };
            free.iter_mut().find(|(p, l)| *p != 0 && *l == layout).map(|slot| std::mem::replace(&mut slot.0, 0))
        });
        if let Some(p) = reused {
            FROM_POOL.set(FROM_POOL.get() + 1);
            return NonNull::new(p as *mut u8);
        }
        FROM_HEAP.set(FROM_HEAP.get() + 1);
        // SAFETY: frame layouts are never zero-sized.
        NonNull::new(unsafe { std::alloc::alloc(layout) })
    }

    /// # Safety
    /// `ptr` came from `allocate(layout)`.
    pub unsafe fn deallocate(ptr: NonNull<u8>, layout: Layout) {
        let kept = FREE.with(|f| {
            // SAFETY: as above.
            let free = unsafe { &mut (*f.get()).0 };
            match free.iter_mut().find(|(p, _)| *p == 0) {
                Some(slot) => {
                    *slot = (ptr.as_ptr() as usize, layout);
                    true
                }
                None => false,
            }
        });
        if !kept {
            // SAFETY: allocated by `std::alloc::alloc` with this layout.
            unsafe { std::alloc::dealloc(ptr.as_ptr(), layout) }
        }
    }
}

/// A generator promise whose frames come from the recycling pool.
struct PooledPromise<T>(Option<T>);

impl<T> Default for PooledPromise<T> {
    fn default() -> Self {
        PooledPromise(None)
    }
}

struct Pooled<T>(UniqueCoroutineHandle<PooledPromise<T>>);

impl<T> CoroutineTraits for Pooled<T> {
    type Promise = PooledPromise<T>;
}

impl<T> Iterator for Pooled<T> {
    type Item = T;
    fn next(&mut self) -> Option<T> {
        if self.0.done() {
            return None;
        }
        // SAFETY: owned, idle, never handed to anyone.
        unsafe {
            self.0.resume();
            self.0.promise_mut().0.take()
        }
    }
}

impl<T> Promise for PooledPromise<T> {
    type ReturnObject = Pooled<T>;
    type InitialSuspend = SuspendAlways;
    type FinalSuspend = SuspendAlways;
    type Return = ReturnsVoid;
    type Await = AwaitDirect;
    unsafe fn get_return_object(&mut self) -> Pooled<T> {
        // SAFETY: sole owner.
        Pooled(unsafe { UniqueCoroutineHandle::from_raw(CoroutineHandle::from_promise(self)) })
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
    fn allocate_frame(layout: Layout) -> Option<::coro::promise::FrameMemory> {
        // SAFETY: the helper hands out a fresh block of this layout, exclusively
        // ours until `deallocate_frame` returns it.
        pool::allocate(layout).map(|p| unsafe { ::coro::promise::FrameMemory::from_raw(p) })
    }
    unsafe fn deallocate_frame(ptr: NonNull<u8>, layout: Layout) {
        // SAFETY: from `allocate_frame` with this layout.
        unsafe { pool::deallocate(ptr, layout) }
    }
}

impl<T> ReturnVoid for PooledPromise<T> {
    fn return_void(&mut self) {}
}

impl<T> YieldValue<T> for PooledPromise<T> {
    type Awaitable = SuspendAlways;
    fn yield_value(&mut self, v: T) -> SuspendAlways {
        self.0 = Some(v);
        SuspendAlways
    }
}

#[coro::coroutine]
fn pooled_range(n: u64) -> Pooled<u64> {
    for i in 0..n {
        co_yield!(i);
    }
}

#[test]
fn a_recycling_promise_allocator_makes_zero_heap_allocations_once_warm() {
    // Warm up: the first frame comes from the heap.
    assert_eq!(pooled_range(3).sum::<u64>(), 3);
    let (pool_before, heap_before) = pool::counts();
    let (total, s) = measure(|| {
        let mut total = 0;
        for _ in 0..100 {
            total += pooled_range(1000).sum::<u64>();
        }
        // Two alive at once: the second needs a second block.
        let a = pooled_range(2);
        let b = pooled_range(2);
        total += a.zip(b).map(|(x, y)| x + y).sum::<u64>();
        total
    });
    assert_eq!(total, 100 * 999 * 1000 / 2 + 2);
    let (pool_after, heap_after) = pool::counts();
    assert_eq!(pool_after - pool_before, 101);
    assert_eq!(heap_after - heap_before, 1);
    assert_eq!((s.allocs, s.frees), (1, 0), "only the second block: {s:?}");

    // Fully warm now: no heap traffic at all.
    let (_, s) = measure(|| {
        let a = pooled_range(5);
        let b = pooled_range(5);
        a.zip(b).count()
    });
    assert_eq!((s.allocs, s.frees), (0, 0), "{s:?}");
}

/// A promise whose frames live in one static (thread-local) buffer.
mod static_buffer {
    use super::*;

    #[repr(align(64))]
    struct Buffer(UnsafeCell<[u8; 1024]>);

    thread_local! {
        static BUF: Buffer = const { Buffer(UnsafeCell::new([0; 1024])) };
        static IN_USE: Cell<bool> = const { Cell::new(false) };
        pub static LAST_LAYOUT: Cell<Option<Layout>> = const { Cell::new(None) };
    }

    pub fn allocate(layout: Layout) -> Option<NonNull<u8>> {
        LAST_LAYOUT.set(Some(layout));
        if IN_USE.get() || layout.size() > 1024 || layout.align() > 64 {
            return None;
        }
        IN_USE.set(true);
        NonNull::new(BUF.with(|b| b.0.get().cast::<u8>()))
    }

    pub fn deallocate(ptr: NonNull<u8>) {
        assert_eq!(ptr.as_ptr(), BUF.with(|b| b.0.get().cast::<u8>()));
        assert!(IN_USE.replace(false), "freed twice");
    }

    pub fn in_use() -> bool {
        IN_USE.get()
    }
}

#[derive(Default)]
struct InBuffer {
    result: u64,
}

impl Promise for InBuffer {
    type ReturnObject = UniqueCoroutineHandle<InBuffer>;
    type InitialSuspend = SuspendAlways;
    type FinalSuspend = SuspendAlways;
    type Return = coro::promise::ReturnsValue;
    type Await = AwaitDirect;
    unsafe fn get_return_object(&mut self) -> Self::ReturnObject {
        // SAFETY: sole owner.
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
    fn allocate_frame(layout: Layout) -> Option<::coro::promise::FrameMemory> {
        // SAFETY: the helper hands out a fresh block of this layout, exclusively
        // ours until `deallocate_frame` returns it.
        static_buffer::allocate(layout).map(|p| unsafe { ::coro::promise::FrameMemory::from_raw(p) })
    }
    unsafe fn deallocate_frame(ptr: NonNull<u8>, _: Layout) {
        static_buffer::deallocate(ptr)
    }
    fn get_return_object_on_allocation_failure() -> Option<Self::ReturnObject> {
        None
    }
}

impl coro::promise::ReturnValue<u64> for InBuffer {
    fn return_value(&mut self, v: u64) {
        self.result = v;
    }
}

#[test]
fn a_static_buffer_promise_allocator_makes_zero_heap_allocations_from_the_first_frame() {
    #[coro::coroutine(promise = InBuffer)]
    fn in_buffer(n: u64) -> UniqueCoroutineHandle<InBuffer> {
        let mut s = 0;
        for i in 0..n {
            s += co_await!(Pause(i));
            s += co_await!(Ready(1));
        }
        co_return!(s)
    }
    let (v, s) = measure(|| {
        let mut h = in_buffer(1000);
        assert!(static_buffer::in_use());
        while !h.done() {
            // SAFETY: owned, idle.
            unsafe { h.resume() };
        }
        // SAFETY: done, owned.
        let v = unsafe { h.promise_mut() }.result;
        drop(h);
        v
    });
    assert_eq!(v, 999 * 1000 / 2 + 1000);
    assert!(!static_buffer::in_use(), "the frame went back to the buffer");
    assert_eq!((s.allocs, s.frees), (0, 0), "{s:?}");
}

// ===========================================================================
// Frame size
// ===========================================================================

/// The smallest useful promise: no state, lazy start, owner destroys.
#[derive(Default)]
struct Minimal;

struct MinimalRo(#[allow(dead_code)] UniqueCoroutineHandle<Minimal>);

impl CoroutineTraits for MinimalRo {
    type Promise = Minimal;
}

thread_local! {
    static MINIMAL_LAYOUT: Cell<Option<Layout>> = const { Cell::new(None) };
}

impl Promise for Minimal {
    type ReturnObject = MinimalRo;
    type InitialSuspend = SuspendAlways;
    type FinalSuspend = SuspendAlways;
    type Return = ReturnsVoid;
    type Await = AwaitDirect;
    unsafe fn get_return_object(&mut self) -> MinimalRo {
        // SAFETY: sole owner.
        MinimalRo(unsafe { UniqueCoroutineHandle::from_raw(CoroutineHandle::from_promise(self)) })
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
    fn allocate_frame(layout: Layout) -> Option<::coro::promise::FrameMemory> {
        MINIMAL_LAYOUT.set(Some(layout));
        ::coro::promise::FrameMemory::global(layout)
    }
}

impl ReturnVoid for Minimal {
    fn return_void(&mut self) {}
}

#[coro::coroutine]
fn minimal() -> MinimalRo {}

#[test]
fn the_frame_of_a_minimal_coroutine_is_at_most_64_bytes() {
    drop(minimal());
    let layout = MINIMAL_LAYOUT.get().expect("allocate_frame saw the layout");
    eprintln!("frame of a minimal coroutine: {} bytes, align {} (g++: 40 bytes)", layout.size(), layout.align());
    let ((), s) = measure(|| drop(answer()));
    eprintln!("frame of `fn answer() -> Task<u32>`: {} bytes", s.bytes_allocated);
    let ((), s) = measure(|| drop(range(3)));
    eprintln!("frame of `fn range(n) -> Generator<u32>`: {} bytes", s.bytes_allocated);
    assert!(layout.size() <= 64, "minimal frame is {} bytes", layout.size());
}
