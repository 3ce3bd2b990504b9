//! Memory per suspended minimal coroutine: each variant holds N of them in a
//! fresh child process (this benchmark binary, re-run as `compare mem
//! VARIANT N`), which reads its resident set from `/proc/self/statm` before
//! and after, and counts the bytes its allocator was asked for. The array
//! of handles is allocated and faulted in before the first reading, so only
//! the coroutines themselves are counted (for inline futures the array *is*
//! the coroutines, so it is counted).

use std::mem::MaybeUninit;
use std::pin::Pin;
use std::process::Command;

use crate::alloc;
use crate::async_cases::{self, poll_once, Boxed};
use crate::coro_cases;
use crate::floor;
use crate::genawaiter_cases;
use crate::peer::{parse3, Peers};

pub const VARIANTS: [(&str, &str); 7] = [
    ("floor", "hand-written: `Box<dyn Resume>` of a 1-byte state"),
    ("coro", "coro, default allocator"),
    ("genawaiter", "genawaiter::rc, unstarted"),
    ("async inline", "async fn future, in a Vec"),
    ("async boxed", "async fn future, `Pin<Box<dyn Future>>`"),
    ("g++", "g++ -O2"),
    ("nightly", "a native coroutine (nightly), `Pin<Box<dyn Coroutine>>`"),
];

fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("/proc/self/statm");
    let resident: u64 = statm.split_whitespace().nth(1).and_then(|x| x.parse().ok()).expect("statm");
    resident * 4096
}

/// A vector with room for `n` elements, its memory already resident.
fn prefaulted<T>(n: usize) -> Vec<T> {
    let mut v: Vec<T> = Vec::with_capacity(n);
    let spare: &mut [MaybeUninit<T>] = v.spare_capacity_mut();
    // SAFETY: writing bytes into uninitialised spare capacity; the length
    // stays 0, so nothing reads them as `T`.
    unsafe { std::ptr::write_bytes(spare.as_mut_ptr(), 1, n) };
    v
}

/// Holds `n` suspended coroutines made by `make`; returns (allocator
/// bytes, RSS bytes) for all of them and a checksum: how many completed
/// when each was then resumed once.
fn hold<T>(n: usize, make: impl Fn() -> T, mut finish: impl FnMut(&mut T) -> bool) -> (u64, u64, u64) {
    let mut v = prefaulted::<T>(n);
    let (b0, r0) = (alloc::bytes(), rss_bytes());
    for _ in 0..n {
        v.push(make());
    }
    let (b1, r1) = (alloc::bytes(), rss_bytes());
    let done = v.iter_mut().map(|x| finish(x) as u64).sum();
    (b1 - b0, r1 - r0, done)
}

/// `compare mem VARIANT N` (the child process).
pub fn child(variant: &str, n: usize) {
    let (bytes, rss, done) = match variant {
        "floor" => hold(n, floor::boxed_once, |b| {
            b.resume();
            b.done()
        }),
        "coro" => hold(n, coro_cases::minimal, |h| {
            // SAFETY: owned, suspended at its initial point.
            unsafe { h.resume() };
            h.done()
        }),
        "genawaiter" => {
            hold(n, genawaiter_cases::minimal_rc, |g| matches!(g.resume(), genawaiter::GeneratorState::Complete(())))
        }
        "async inline" => {
            // The futures are the array.
            let (b0, r0) = (alloc::bytes(), rss_bytes());
            let mut v = Vec::with_capacity(n);
            for _ in 0..n {
                v.push(async_cases::minimal());
            }
            let (b1, r1) = (alloc::bytes(), rss_bytes());
            let done =
                // SAFETY: each future stays in place (the vector is never
                // resized) until it is dropped with the vector.
                v.iter_mut().map(|f| poll_once(unsafe { Pin::new_unchecked(f) }).is_ready() as u64).sum();
            (b1 - b0, r1 - r0, done)
        }
        "async boxed" => hold(
            n,
            || -> Boxed<'static, ()> { async_cases::boxed(async_cases::minimal()) },
            |f| poll_once(f.as_mut()).is_ready(),
        ),
        _ => panic!("unknown memory variant {variant:?}"),
    };
    println!("{bytes} {rss} {done}");
}

/// One variant at one N.
#[derive(Debug, Clone)]
pub struct MemResult {
    pub variant: &'static str,
    pub n: u64,
    /// Bytes per coroutine asked of the allocator.
    pub alloc_each: f64,
    /// Resident bytes per coroutine.
    pub rss_each: f64,
}

pub fn measure(ns: &[u64], peers: &Peers) -> Vec<MemResult> {
    let exe = std::env::current_exe().expect("current_exe");
    let mut out = Vec::new();
    for &n in ns {
        for (variant, _) in VARIANTS {
            let r = if variant == "g++" || variant == "nightly" {
                if !peers.has(variant) {
                    continue;
                }
                peers.mem(variant, "minimal", n).expect("peer mem")
            } else {
                let o = Command::new(&exe).args(["mem", variant, &n.to_string()]).output().expect("re-exec");
                assert!(o.status.success(), "mem {variant} {n}: {}", String::from_utf8_lossy(&o.stderr));
                parse3(&String::from_utf8_lossy(&o.stdout)).expect("mem child output")
            };
            assert_eq!(r.2, n, "memory row, {variant}: {} of {n} coroutines completed", r.2);
            out.push(MemResult { variant, n, alloc_each: r.0 as f64 / n as f64, rss_each: r.1 as f64 / n as f64 });
        }
    }
    out
}
