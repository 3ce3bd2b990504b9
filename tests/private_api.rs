//! `coro::__private` called by hand, from safe code.
//!
//! What `#[coro::coroutine]` expands to is safe code calling the hidden
//! items of `coro::__private`, so anyone can write the same calls by hand.
//! The project's standard is no undefined behaviour from safe code. A
//! coroutine body cannot misuse these items (the one way it had, a
//! suspension point built and polled by hand, is a compile error now:
//! `tests/ui/private_await_point_polled_by_hand.rs`), but a hand-written
//! call of `ramp` still can. The ignored tests below record those holes:
//! each is a safe program with an invalid memory access. Run one at a time
//! under AddressSanitizer (it stops at the first error) to see it:
//!
//! ```sh
//! RUSTFLAGS=-Zsanitizer=address CARGO_TARGET_DIR=target/asan \
//!   cargo +nightly test --target x86_64-unknown-linux-gnu --test private_api -- --ignored --exact NAME
//! ```

use std::cell::Cell;
use std::future::{poll_fn, Future};
use std::task::Poll;

use coro::__private as p;
use coro::{co_return, sync_wait, CoroutineTraits, Promise, Task};

type TaskPromise<T> = <Task<T> as CoroutineTraits>::Promise;

/// The record of the hand-written coroutines below (what the macro's
/// `__CORO_INFO` is).
static HAND_INFO: p::CoroutineInfo = p::CoroutineInfo::new("hand", file!(), (1, 1), 2, (1, 1), &HAND_INFO);
struct HandInfo;
impl p::Info for HandInfo {
    const INFO: &'static p::CoroutineInfo = &HAND_INFO;
}
/// The record of their one suspension point.
struct HandPoint;
impl p::Record for HandPoint {
    const POINT: &'static p::SuspendPoint = &p::SuspendPoint::new(p::SuspendKind::Await, 1, file!(), 1, 1, &HAND_INFO);
}

/// Allocates the frame and builds the promise, as the expansion does.
fn build<P: Promise + Default>(ctx: &mut p::RampCtx<P>) {
    assert!(ctx.allocate(P::allocate_frame));
    ctx.construct_promise(P::default);
}

#[coro::coroutine]
fn child() -> Task<u64> {
    co_return!(5)
}

/// The hand-written ramp of the tests below, used as the expansion uses it.
#[test]
fn a_hand_written_ramp_used_as_the_macro_does_runs() {
    let task: Task<u64> = p::ramp::<TaskPromise<u64>, _, _, _, _, _>(HandInfo, |ctx| {
        build(ctx);
        let co = ctx.co();
        Ok::<_, ()>(async move {
            let value = match p::await_point(child(), co, HandPoint) {
                p::Awaited::Suspend(point) => point.await,
                p::Awaited::Ready(value) => value,
            };
            p::return_value(value + 1, co)
        })
    });
    assert_eq!(sync_wait(task), 6);
}

// ---------------------------------------------------------------------------
// Hole 2: a co_await point polled by a hand-written future and dropped while
// the resume loop still holds a pointer to its awaiter.
// ---------------------------------------------------------------------------

/// The body polls the suspension point of `co_await!(child())` itself, with
/// the resume loop's context, then drops it and returns `Pending`: the
/// resume loop then calls `await_suspend` on the awaiter the point held.
///
/// A `#[coro::coroutine]` body can no longer do this (a point cannot be
/// built by hand: `tests/ui/private_await_point_polled_by_hand.rs`); a
/// hand-written ramp still can, with the promise token it gets.
#[test]
#[ignore = "known hole (README limitations): undefined behaviour from safe code; run under AddressSanitizer"]
fn a_co_await_point_dropped_before_its_await_suspend_runs_leaves_the_resume_loop_a_dangling_awaiter() {
    let task: Task<()> = p::ramp::<TaskPromise<()>, _, _, _, _, _>(HandInfo, |ctx| {
        build(ctx);
        let co = ctx.co();
        Ok::<_, ()>(async move {
            let mut point = match p::await_point(child(), co, HandPoint) {
                p::Awaited::Suspend(point) => Some(Box::pin(point)),
                p::Awaited::Ready(_) => unreachable!("a lazy task is not ready"),
            };
            poll_fn(move |cx| {
                if let Some(mut point) = point.take() {
                    let _ = point.as_mut().poll(cx);
                    // Dropped here, while the resume loop's slot points at its awaiter.
                }
                Poll::<()>::Pending
            })
            .await;
        })
    });
    sync_wait(task);
}

// ---------------------------------------------------------------------------
// Hole 1: the promise token taken out of the ramp and used after the frame
// is freed.
// ---------------------------------------------------------------------------

#[test]
#[ignore = "known hole (README limitations): undefined behaviour from safe code; run under AddressSanitizer"]
fn a_promise_token_kept_past_its_frame_writes_into_freed_memory() {
    let kept = Cell::new(None);
    let task: Task<u64> = p::ramp::<TaskPromise<u64>, _, _, _, _, _>(HandInfo, |ctx| {
        build(ctx);
        kept.set(Some(ctx.co()));
        Ok::<_, ()>(async move {})
    });
    drop(task); // frees the frame
    p::return_value(7u64, kept.get().unwrap()); // writes into its promise
}

// ---------------------------------------------------------------------------
// Hole 3: `ramp` does not tie the body's borrows to the return object.
// ---------------------------------------------------------------------------

#[test]
#[ignore = "known hole (README limitations): undefined behaviour from safe code; run under AddressSanitizer"]
fn a_hand_written_ramp_can_return_a_task_that_outlives_what_its_body_borrows() {
    let task: Task<usize> = {
        let text = String::from("freed before the task runs");
        let text = &text;
        p::ramp::<TaskPromise<usize>, _, _, _, _, _>(HandInfo, move |ctx| {
            build(ctx);
            let co = ctx.co();
            Ok::<_, ()>(async move { p::return_value(text.len(), co) })
        })
    };
    assert_eq!(sync_wait(task), 26); // reads the freed `String`
}
