//! The nightly column of coro's benchmark harness: the same rows written with
//! rustc's native coroutines, answering the harness's line protocol (see
//! benches/compare/peer.rs):
//!
//! - `serve`: `run CASE N` -> `NS CHECKSUM ALLOCS`, `version`, `quit`;
//! - `once CASE N`: one run, for callgrind;
//! - `mem VARIANT N`: `ALLOC_BYTES RSS_BYTES CHECKSUM` for N suspended coroutines.
#![feature(coroutines, coroutine_trait, stmt_expr_attributes)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::io::{BufRead, Write};
use std::ops::{Coroutine, CoroutineState};
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Instant;

struct Counting;
static ALLOCS: AtomicU64 = AtomicU64::new(0);
static BYTES: AtomicU64 = AtomicU64::new(0);

// SAFETY: forwards to `System`; the counters do not affect the memory.
unsafe impl GlobalAlloc for Counting {
    #[inline(never)]
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        ALLOCS.store(ALLOCS.load(Relaxed) + 1, Relaxed);
        BYTES.store(BYTES.load(Relaxed) + l.size() as u64, Relaxed);
        unsafe { System.alloc(l) }
    }
    #[inline(never)]
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        unsafe { System.dealloc(p, l) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

type Boxed = Pin<Box<dyn Coroutine<Yield = (), Return = ()>>>;

fn generator(n: u64) -> u64 {
    let mut co = pin!(
        #[coroutine]
        move || {
            let mut i = 0;
            while i < n {
                yield i;
                i += 1;
            }
        }
    );
    let mut s = 0u64;
    while let CoroutineState::Yielded(x) = co.as_mut().resume(()) {
        s = s.wrapping_add(black_box(x));
    }
    s
}

fn fibonacci(n: u64) -> u64 {
    let mut co = pin!(
        #[coroutine]
        move || {
            let (mut a, mut b) = (0u64, 1u64);
            for _ in 0..n {
                yield a;
                (a, b) = (b, a.wrapping_add(b));
            }
        }
    );
    let mut s = 0u64;
    while let CoroutineState::Yielded(x) = co.as_mut().resume(()) {
        s = s.wrapping_add(black_box(x));
    }
    s
}

fn resume(n: u64) -> u64 {
    let mut c = 0u64;
    {
        let p = &mut c as *mut u64;
        let mut co: Boxed = black_box(Box::pin(
            #[coroutine]
            move || loop {
                // SAFETY: the counter outlives the coroutine.
                unsafe { *p += 1 };
                yield;
            },
        ));
        for _ in 0..n {
            let _ = co.as_mut().resume(());
        }
    }
    c
}

fn minimal() -> Boxed {
    black_box(Box::pin(
        #[coroutine]
        || {
            if false {
                yield;
            }
        },
    ))
}

fn create(n: u64) -> u64 {
    let mut s = 0;
    for _ in 0..n {
        let mut co = minimal();
        s += matches!(co.as_mut().resume(()), CoroutineState::Complete(())) as u64;
    }
    s
}

fn run(case: &str, n: u64) -> Option<u64> {
    Some(match case {
        "generator" => generator(n),
        "fibonacci" => fibonacci(n),
        "resume" => resume(n),
        "create" => create(n),
        _ => return None,
    })
}

fn rss() -> u64 {
    let s = std::fs::read_to_string("/proc/self/statm").unwrap();
    s.split_whitespace().nth(1).unwrap().parse::<u64>().unwrap() * 4096
}

fn mem(n: usize) {
    let mut v: Vec<Boxed> = Vec::with_capacity(n);
    // Fault the array in first.
    // SAFETY: `n` elements' bytes fit the spare capacity (`with_capacity(n)`);
    // they are only touched, never read as values (the length stays 0).
    unsafe { std::ptr::write_bytes(v.spare_capacity_mut().as_mut_ptr(), 1, n) };
    let (b0, r0) = (BYTES.load(Relaxed), rss());
    for _ in 0..n {
        v.push(minimal());
    }
    let (b1, r1) = (BYTES.load(Relaxed), rss());
    let done: u64 =
        v.iter_mut().map(|c| matches!(c.as_mut().resume(()), CoroutineState::Complete(())) as u64).sum();
    println!("{} {} {done}", b1 - b0, r1 - r0);
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("mem") => return mem(args[2].parse().unwrap()),
        Some("once") => {
            let c = run(&args[1], args[2].parse().unwrap()).expect("unknown case");
            println!("{c}");
            return;
        }
        Some("serve") => {}
        _ => {
            eprintln!("usage: coro-bench-nightly serve | once CASE N | mem VARIANT N");
            std::process::exit(2);
        }
    }
    let stdin = std::io::stdin();
    let mut out = std::io::stdout();
    for line in stdin.lock().lines() {
        let line = line.unwrap();
        let w: Vec<&str> = line.split_whitespace().collect();
        match w.as_slice() {
            ["quit"] => break,
            ["version"] => {
                let v = option_env!("RUSTC_VERSION").unwrap_or("rustc nightly");
                writeln!(out, "{v}").unwrap()
            }
            ["run", case, n] => {
                let n: u64 = n.parse().unwrap();
                let a0 = ALLOCS.load(Relaxed);
                let t = Instant::now();
                match run(case, n) {
                    Some(c) => {
                        let ns = t.elapsed().as_nanos();
                        writeln!(out, "{ns} {c} {}", ALLOCS.load(Relaxed) - a0).unwrap()
                    }
                    None => writeln!(out, "error: unknown case {case}").unwrap(),
                }
            }
            _ => writeln!(out, "error: unknown command {line}").unwrap(),
        }
        out.flush().unwrap();
    }
}
