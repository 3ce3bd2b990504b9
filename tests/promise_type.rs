//! `#[coro::promise_type]` fills in the members an `impl Promise` leaves
//! out with the common choices, and keeps every member written by hand.

use std::cell::RefCell;

use coro::promise::{Payload, ReturnValue, ReturnVoid, ReturnsValue, ReturnsVoid, YieldValue};
use coro::{co_return, co_yield, Promise, SuspendAlways, SuspendNever, UniqueCoroutineHandle};

thread_local! {
    static TRACE: RefCell<Vec<&'static str>> = const { RefCell::new(Vec::new()) };
}
fn trace(event: &'static str) {
    TRACE.with(|t| t.borrow_mut().push(event));
}
fn take_trace() -> Vec<&'static str> {
    TRACE.with(|t| t.take())
}

/// Everything left to the attribute but the choice of `return_value`.
#[derive(Default)]
struct Lazy(Option<u32>);

#[coro::promise_type]
impl Promise for Lazy {
    type Return = ReturnsValue;
}
impl ReturnValue<u32> for Lazy {
    fn return_value(&mut self, v: u32) {
        self.0 = Some(v)
    }
}

#[coro::coroutine(promise = Lazy)]
fn lazy(x: u32) -> UniqueCoroutineHandle<Lazy> {
    trace("body");
    co_return!(x + 1)
}

#[test]
fn the_defaults_start_lazily_keep_the_frame_at_the_end_and_own_it() {
    let h = lazy(1);
    assert_eq!(take_trace(), [] as [&str; 0], "SuspendAlways at the initial point: the body has not run");
    assert!(!h.done());
    // SAFETY: `h` owns the frame, suspended at its initial point; nobody else resumes it.
    unsafe { h.resume() };
    assert_eq!(take_trace(), ["body"]);
    assert!(h.done(), "SuspendAlways at the final point: done, not destroyed");
    // SAFETY: at its final point, not running.
    assert_eq!(unsafe { h.promise() }.0, Some(2));
}

/// An eager promise that yields, with its own `unhandled_exception`.
#[derive(Default)]
struct Eager {
    seen: Vec<u32>,
    panic: Option<Payload>,
}

#[coro::promise_type]
impl Promise for Eager {
    type InitialSuspend = SuspendNever;
    type Return = ReturnsVoid;
    fn unhandled_exception(&mut self, payload: Payload) {
        trace("unhandled_exception");
        self.panic = Some(payload);
    }
}
impl ReturnVoid for Eager {
    fn return_void(&mut self) {}
}
impl YieldValue<u32> for Eager {
    type Awaitable = SuspendNever;
    fn yield_value(&mut self, v: u32) -> SuspendNever {
        self.seen.push(v);
        SuspendNever
    }
}

#[coro::coroutine(promise = Eager)]
fn eager(fail: bool) -> UniqueCoroutineHandle<Eager> {
    co_yield!(1);
    co_yield!(2);
    if fail {
        panic!("planned");
    }
}

#[test]
fn a_member_written_by_hand_is_kept_and_the_rest_is_filled_in() {
    let h = eager(false);
    assert!(h.done(), "SuspendNever at the initial point: ran in the ramp");
    // SAFETY: at its final point, not running.
    assert_eq!(unsafe { h.promise() }.seen, [1, 2]);

    let h = eager(true);
    assert_eq!(take_trace(), ["unhandled_exception"], "the hand-written hook ran, not the default rethrow");
    // SAFETY: at its final point, not running.
    let p = unsafe { h.promise() };
    assert_eq!(p.panic.as_ref().and_then(|p| p.downcast_ref::<&str>()), Some(&"planned"));
}

/// The default `unhandled_exception` is C++'s `throw;`: the panic reaches
/// whoever resumed the coroutine, and the frame is freed by its owner.
#[test]
fn the_default_unhandled_exception_rethrows_to_the_resumer() {
    #[derive(Default)]
    struct Rethrows;
    #[coro::promise_type]
    impl Promise for Rethrows {
        type Return = ReturnsVoid;
        type FinalSuspend = SuspendAlways;
    }
    impl ReturnVoid for Rethrows {
        fn return_void(&mut self) {}
    }
    #[coro::coroutine(promise = Rethrows)]
    fn fails() -> UniqueCoroutineHandle<Rethrows> {
        panic!("to the resumer");
    }
    let h = fails();
    // SAFETY: owned, suspended at its initial point.
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| unsafe { h.resume() }));
    let payload = caught.expect_err("the panic reaches the resumer");
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"to the resumer"));
    assert!(h.done(), "a rethrowing unhandled_exception leaves the coroutine at its final point");
}
