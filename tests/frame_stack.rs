//! How much thread stack a coroutine with a 1 MiB local needs to be
//! created, run and destroyed: the frame is on the heap, so only the ramp's
//! copies of the body (debug builds) and the body's own temporaries count.
//!
//! `a_coroutine_with_a_1_mib_local_runs_on_a_small_stack` checks a bound
//! with margin, per profile; the ignored test measures the minimum (to the
//! next 64 KiB) by running itself in child processes, since a stack
//! overflow aborts the process:
//!
//! ```sh
//! cargo test --test frame_stack -- --ignored --nocapture            # debug
//! cargo test --release --test frame_stack -- --ignored --nocapture  # release
//! ```

use coro::{co_await, co_return, co_yield, sync_wait, Generator, Task};

const MIB: usize = 1 << 20;

/// A generator whose 1 MiB local lives across its `co_yield!`s.
#[coro::coroutine]
fn big_generator(seed: u8) -> Generator<u64> {
    let mut buf = [0u8; MIB];
    buf[usize::from(seed)] = seed;
    co_yield!(u64::from(buf[usize::from(seed)]));
    buf[MIB - 1] = 1;
    co_yield!(buf.iter().map(|&b| u64::from(b)).sum::<u64>());
}

#[coro::coroutine]
fn child(x: u64) -> Task<u64> {
    co_return!(x + 1);
}

/// A task whose 1 MiB local lives across a `co_await!`.
#[coro::coroutine]
fn big_task(seed: u8) -> Task<u64> {
    let mut buf = [0u8; MIB];
    buf[usize::from(seed)] = seed;
    let got = co_await!(child(u64::from(seed)));
    buf[MIB - 1] = 1;
    co_return!(got + buf.iter().map(|&b| u64::from(b)).sum::<u64>());
}

/// Creates, runs and destroys both coroutines.
fn run_both() {
    let items: Vec<u64> = big_generator(7).collect();
    assert_eq!(items, [7, 8]);
    assert_eq!(sync_wait(big_task(7)), 16);
}

/// Runs `run_both` on a thread with `bytes` of stack.
fn on_stack(bytes: usize) {
    std::thread::Builder::new()
        .name(format!("stack-{}k", bytes >> 10))
        .stack_size(bytes)
        .spawn(run_both)
        .expect("spawn a thread")
        .join()
        .expect("the coroutines ran");
}

#[test]
fn a_coroutine_with_a_1_mib_local_runs_on_a_small_stack() {
    // Measured minimum (the ignored test below): see the README's
    // limitations. The bounds leave room for other compilers' layouts.
    let bound = if cfg!(debug_assertions) { 4 * MIB } else { MIB };
    on_stack(bound);
}

const PROBE: &str = "CORO_FRAME_STACK_PROBE";

#[test]
#[ignore = "a measurement: spawns itself, prints the minimum stack"]
fn minimum_stack_for_a_1_mib_local() {
    if let Ok(kib) = std::env::var(PROBE) {
        // The child: run on exactly this stack (an overflow aborts it).
        on_stack(kib.parse::<usize>().expect("KiB") << 10);
        return;
    }
    let exe = std::env::current_exe().expect("the test binary");
    let runs = |kib: usize| {
        std::process::Command::new(&exe)
            .args(["--exact", "minimum_stack_for_a_1_mib_local", "--ignored", "--test-threads=1", "-q"])
            .env(PROBE, kib.to_string())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .expect("run the child")
            .success()
    };
    // Bisect in 64 KiB steps between 64 KiB and 64 MiB.
    let (mut lo, mut hi) = (1usize, 1024usize);
    assert!(runs(hi * 64), "does not run even on 64 MiB");
    while hi - lo > 1 {
        let mid = (lo + hi) / 2;
        if runs(mid * 64) {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    let profile = if cfg!(debug_assertions) { "debug" } else { "release" };
    println!("minimum stack ({profile}): {} KiB", hi * 64);
}
