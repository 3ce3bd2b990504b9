//! Mirrors a C++ `ReadAwaiter` that reuses one slot in the coroutine frame
//! (seed 000): one allocation per coroutine, none per `co_await`.
//!
//! The C++ seed contrasts two ways to start asynchronous reads:
//!
//! - the callback model: `async_read_some_bytes(size, callback)` returns at
//!   once, so the state of the operation (buffer, callback, OS handle) must
//!   outlive it and goes on the heap with `new` (and must be `delete`d by
//!   someone) -- one allocation per operation;
//! - the coroutine model: `co_await ReadAwaiter{my_buffer}`. The awaiter *is*
//!   the operation state; it lives in the coroutine frame, in a slot the
//!   compiler reserves for the largest awaiter, and every `co_await` reuses
//!   that slot. The frame is the only allocation, however many reads happen.
//!
//! Here `ReadAwaiter` holds `&mut buffer`, a borrow of a coroutine local kept
//! across the suspension point (the borrow checker verifies it), and a fake
//! single-slot I/O device fills the buffer and resumes the coroutine, as an
//! event loop would. The example prints the awaiter's address in each
//! `await_suspend` (always the same: one slot inside the frame) and counts
//! heap allocations with a `#[global_allocator]` wrapper: exactly one.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

use coro::promise::{AwaitDirect, Payload, ReturnValue, ReturnsValue};
use coro::{
    co_await, co_return, AwaitSuspend, Awaiter, CoroutineHandle, Promise, SuspendAlways, SuspendNever,
    UniqueCoroutineHandle,
};

// --- counting allocator ----------------------------------------------------

struct Counting;
static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);
static LAST_SIZE: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every method forwards to `System` with the caller's arguments, so
// `System`'s guarantees hold; the counters do not affect the memory handed out.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Relaxed);
        LAST_SIZE.store(layout.size(), Relaxed);
        // SAFETY: forwarded contract (non-zero size).
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded contract: `ptr` came from `alloc` with `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations() -> usize {
    ALLOCATIONS.load(Relaxed)
}

// --- a pretend I/O device ----------------------------------------------------

/// One submitted read: which coroutine to resume, and where its operation
/// state is (the awaiter, inside that coroutine's frame).
#[derive(Clone, Copy)]
struct Submission {
    handle: CoroutineHandle,
    /// The awaiter, its borrow's lifetime erased: valid only while the
    /// coroutine is suspended at the `co_await` that submitted it.
    op: *mut ReadAwaiter<'static>,
}

thread_local! {
    /// The device's single submission slot (think: one io_uring entry).
    static PENDING: Cell<Option<Submission>> = const { Cell::new(None) };
    /// What the device reads from, and how far it got.
    static SOURCE: Cell<&'static [u8]> = const { Cell::new(b"") };
    /// Where the first `await_suspend` saw its awaiter.
    static SLOT: Cell<Option<usize>> = const { Cell::new(None) };
    static QUIET: Cell<bool> = const { Cell::new(false) };
}

/// The event loop: completes the pending read, then resumes its coroutine.
fn run_device() {
    while let Some(sub) = PENDING.take() {
        let src = SOURCE.get();
        // SAFETY: the coroutine is suspended at the co_await that submitted
        // this read, so its awaiter is alive at this address until the
        // coroutine is resumed, and nothing else touches it meanwhile.
        let op = unsafe { &mut *sub.op };
        let n = op.buf.len().min(src.len());
        op.buf[..n].copy_from_slice(&src[..n]);
        op.filled = n;
        SOURCE.set(&src[n..]);
        // SAFETY: the frame is alive (its owner, in `main`, outlives this
        // loop) and only this loop resumes it, once per submission.
        unsafe { sub.handle.resume() };
    }
}

// --- the awaiter: the operation state, living in the frame -----------------

struct ReadAwaiter<'a> {
    buf: &'a mut [u8],
    filled: usize,
}

impl Awaiter for ReadAwaiter<'_> {
    type Output = usize;
    fn await_ready(&mut self) -> bool {
        false
    }
    unsafe fn await_suspend(&mut self, h: CoroutineHandle) -> impl AwaitSuspend {
        let this = self as *mut Self as usize;
        let first = *SLOT.get().get_or_insert(this);
        SLOT.set(Some(first));
        assert_eq!(this, first, "every co_await uses the same slot");
        if !QUIET.get() {
            let offset = this - h.address() as usize;
            println!("  await_suspend: awaiter at {this:#x} = frame + {offset}, submits a read");
        }
        let op = (self as *mut Self).cast::<ReadAwaiter<'static>>();
        PENDING.set(Some(Submission { handle: h, op }));
        // void: stay suspended until the device completes the read.
    }
    fn await_resume(self) -> usize {
        self.filled
    }
}

// --- the coroutine ------------------------------------------------------------

/// Eager, keeps its result until the owner drops it.
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
        // SAFETY: the returned owner is the frame's only owner; the only other
        // resumer is the device, which never overlaps with the owner's use.
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

/// Reads the device to its end, 16 bytes per `co_await`.
#[coro::coroutine(promise = Job)]
fn read_all() -> UniqueCoroutineHandle<Job> {
    let mut buffer = [0u8; 16]; // a local: lives in the frame
    let mut total = 0;
    loop {
        // The awaiter borrows `buffer` mutably across the suspension.
        let n = co_await!(ReadAwaiter { buf: &mut buffer, filled: 0 });
        if n == 0 {
            co_return!(total)
        }
        total += n;
        if !QUIET.get() {
            println!("  resumed: read {:?}", String::from_utf8_lossy(&buffer[..n]));
        }
    }
}

/// Runs `read_all` over `data`; returns (bytes read, allocations made, frame size).
fn run(data: &'static [u8], quiet: bool) -> (usize, usize, usize) {
    SOURCE.set(data);
    SLOT.set(None);
    QUIET.set(quiet);
    let before = allocations();
    let job = read_all();
    let frame_size = LAST_SIZE.load(Relaxed);
    let frame = job.handle().address() as usize;
    let slot = SLOT.get().expect("read_all suspended at its first co_await");
    assert!(slot >= frame && slot + size_of::<ReadAwaiter>() <= frame + frame_size);
    run_device();
    assert!(job.done());
    // SAFETY: the coroutine is done, so not running: nothing changes the promise while we read it.
    let total = unsafe { job.promise() }.total;
    drop(job);
    (total, allocations() - before, frame_size)
}

/// The seed's callback model, for contrast: the operation state must outlive
/// the call that starts it, so each read boxes a context and a callback.
fn callback_model(reads: usize) -> usize {
    struct ReadContext<'a> {
        buffer: [u8; 16],
        on_completed: Box<dyn FnOnce(usize) + 'a>,
    }
    let total = Cell::new(0);
    let before = allocations();
    for _ in 0..reads {
        let on_completed = Box::new(|n| total.set(total.get() + n));
        let ctx = Box::new(ReadContext { buffer: [0; 16], on_completed });
        // ... the device fills `ctx.buffer` later, calls back, then `delete ctx`.
        let ctx = std::hint::black_box(ctx); // keep the optimiser from eliding the boxes
        (ctx.on_completed)(ctx.buffer.len());
    }
    allocations() - before
}

fn main() {
    println!("coroutine model: read 44 bytes, 16 at a time, until a read returns 0");
    let (total, allocs, frame) = run(b"Every co_await reuses one slot in the frame.", false);
    println!("  done: {total} bytes, {allocs} heap allocation (the {frame}-byte frame)");
    assert_eq!((total, allocs), (44, 1));

    static BIG: [u8; 1 << 16] = [b'x'; 1 << 16];
    let (total, allocs, _) = run(&BIG, true);
    println!("coroutine model, 4097 reads (not printed): {total} bytes, {allocs} heap allocation");
    assert_eq!((total, allocs), (1 << 16, 1));

    let allocs = callback_model(4096);
    println!("callback model, 4096 reads: {allocs} heap allocations (context + callback per read)");
    assert_eq!(allocs, 2 * 4096);
}
