//! Allocation failure with get_return_object_on_allocation_failure.
use std::alloc::Layout;

use super::trace::*;
use coro::promise::{AwaitDirect, Payload, ReturnVoid, ReturnsVoid};
use coro::{co_return, CoroutineHandle, Promise};

pub struct FailPromise {
    error: Option<Payload>,
    _t: PromiseTrace,
}

impl Default for FailPromise {
    fn default() -> Self {
        FailPromise { _t: PromiseTrace::new(), error: None }
    }
}

/// The return object; `None` is C++'s null handle.
pub struct MaybeCo(pub Option<CoroutineHandle<FailPromise>>);

impl coro::CoroutineTraits for MaybeCo {
    type Promise = FailPromise;
}

impl Promise for FailPromise {
    type ReturnObject = MaybeCo;
    type InitialSuspend = Sus;
    type FinalSuspend = FinalSus;
    type Return = ReturnsVoid;
    type Await = AwaitDirect;
    unsafe fn get_return_object(&mut self) -> MaybeCo {
        ev("get_return_object");
        MaybeCo(Some(CoroutineHandle::from_promise(self)))
    }
    fn initial_suspend(&mut self) -> Sus {
        initial_suspend()
    }
    fn final_suspend(&mut self) -> FinalSus {
        final_suspend()
    }
    fn unhandled_exception(&mut self, payload: Payload) {
        unhandled_exception(&mut self.error, payload)
    }
    fn allocate_frame(_: Layout) -> Option<::coro::promise::FrameMemory> {
        ev("alloc -> null");
        None
    }
    fn get_return_object_on_allocation_failure() -> Option<MaybeCo> {
        ev("get_return_object_on_allocation_failure");
        Some(MaybeCo(None))
    }
}

impl ReturnVoid for FailPromise {
    fn return_void(&mut self) {
        ev("return_void");
    }
}

#[coro::coroutine]
fn f() -> MaybeCo {
    ev("body: never runs");
    co_return!();
}

#[coro::coroutine]
fn with_param(p: Param) -> MaybeCo {
    ev(format!("body: never runs {}", p.value));
    co_return!();
}

pub fn run() {
    ev("caller: call");
    let co = f();
    ev(format!("caller: got return object, empty -> {}", b(co.0.is_none())));
}

/// Scenario allocation_failure_with_params.
pub fn run_with_params() {
    ev("caller: call");
    let co = with_param(Param::new("p", 1));
    ev(format!("caller: got return object, empty -> {}", b(co.0.is_none())));
}
