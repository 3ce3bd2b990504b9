//! A main thread with a deep stack, so that the harness can run its
//! candidates without a second thread (see `main` in compare.rs).
//!
//! Linux sizes the main thread's stack from `RLIMIT_STACK` when a program
//! starts, so the harness raises its soft limit and runs itself again
//! once; the children it starts (callgrind runs, the memory row) inherit
//! the limit and the marker, and do not run themselves again.

use std::os::unix::process::CommandExt;
use std::process::Command;

/// The stack the deepest candidate (the recursion row's floor) needs.
pub const DEEP: usize = 1 << 30;

/// Set in the environment of a harness that already runs with a deep main stack.
const MARKER: &str = "CORO_BENCH_DEEP_MAIN_STACK";

fn stack_limit() -> Option<(u64, u64)> {
    let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: `lim` is a valid, writable `rlimit` for the call to fill.
    (unsafe { libc::getrlimit(libc::RLIMIT_STACK, &mut lim) } == 0).then_some((lim.rlim_cur, lim.rlim_max))
}

/// Whether the main thread's stack can take [`DEEP`] bytes. If it cannot
/// yet but the hard limit allows it, raises the soft limit and replaces
/// this process with a new run of the same command (which then answers
/// `true`); answers `false` where that is not possible (the caller then
/// runs the candidates on a thread with a deep stack).
pub fn deep_enough() -> bool {
    if std::env::var_os(MARKER).is_some() {
        return true;
    }
    let Some((cur, max)) = stack_limit() else { return false };
    let deep = DEEP as u64;
    if cur == libc::RLIM_INFINITY || cur >= deep {
        return true;
    }
    if max != libc::RLIM_INFINITY && max < deep {
        return false;
    }
    let lim = libc::rlimit { rlim_cur: deep, rlim_max: max };
    // SAFETY: `lim` is a valid `rlimit`; raising a soft limit up to the
    // hard one needs no privilege.
    if unsafe { libc::setrlimit(libc::RLIMIT_STACK, &lim) } != 0 {
        return false;
    }
    let Ok(exe) = std::env::current_exe() else { return false };
    // `exec` returns only if it failed: then run on a thread after all.
    let err = Command::new(exe).args(std::env::args_os().skip(1)).env(MARKER, "1").exec();
    eprintln!(
        "note: could not run the harness again with a deep main stack ({err}); candidates run on a worker thread"
    );
    false
}
