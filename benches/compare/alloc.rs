//! The counting global allocator: how many allocations, how many bytes.
//!
//! Its methods are `#[inline(never)]`: with fat LTO an inlinable wrapper lets
//! LLVM delete a `malloc`/`free` pair whose pointer never escapes while the
//! counter still says one allocation (benchmarking.md). Out of line, every
//! counted allocation really touches the heap, as it does in the g++ column,
//! whose replaced `operator new` is `noinline` too.
//!
//! The counters are plain loads and stores on atomics (no locked
//! read-modify-write): the timed code runs on one thread, and a `lock xadd`
//! per allocation would charge the Rust columns more than the C++ ones.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

pub struct Counting;

static ALLOCS: AtomicU64 = AtomicU64::new(0);
static BYTES: AtomicU64 = AtomicU64::new(0);
static LAST_SIZE: AtomicU64 = AtomicU64::new(0);

#[inline(always)]
fn bump(counter: &AtomicU64, by: u64) {
    counter.store(counter.load(Relaxed).wrapping_add(by), Relaxed);
}

// SAFETY: every method forwards to `System` with the caller's arguments, so
// `System`'s guarantees hold; the counters do not affect the memory handed out.
unsafe impl GlobalAlloc for Counting {
    #[inline(never)]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        bump(&ALLOCS, 1);
        bump(&BYTES, layout.size() as u64);
        LAST_SIZE.store(layout.size() as u64, Relaxed);
        // SAFETY: forwarded contract.
        unsafe { System.alloc(layout) }
    }
    #[inline(never)]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        bump(&ALLOCS, 1);
        bump(&BYTES, layout.size() as u64);
        LAST_SIZE.store(layout.size() as u64, Relaxed);
        // SAFETY: forwarded contract.
        unsafe { System.alloc_zeroed(layout) }
    }
    #[inline(never)]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded contract.
        unsafe { System.dealloc(ptr, layout) }
    }
    #[inline(never)]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        bump(&ALLOCS, 1);
        bump(&BYTES, new_size as u64);
        LAST_SIZE.store(new_size as u64, Relaxed);
        // SAFETY: forwarded contract.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// Allocations made so far (`realloc` counts as one).
pub fn allocs() -> u64 {
    ALLOCS.load(Relaxed)
}

/// Bytes requested so far.
pub fn bytes() -> u64 {
    BYTES.load(Relaxed)
}

/// The size of the last allocation request.
pub fn last_size() -> u64 {
    LAST_SIZE.load(Relaxed)
}
