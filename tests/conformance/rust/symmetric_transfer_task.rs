//! A task awaiting a child task: symmetric transfer in and back out.
use super::trace::*;
use coro::promise::{AwaitDirect, Payload, ReturnValue, ReturnsValue};
use coro::{co_await, co_return, noop_coroutine, AwaitSuspend, Awaiter, CoroutineHandle, Promise};

pub struct FinalTransfer {
    continuation: Option<CoroutineHandle>,
}

impl Awaiter for FinalTransfer {
    type Output = ();
    fn await_ready(&mut self) -> bool {
        ev("await_ready final -> false");
        false
    }
    unsafe fn await_suspend(&mut self, _: CoroutineHandle) -> impl AwaitSuspend {
        ev(format!(
            "await_suspend final -> handle {}",
            if self.continuation.is_some() { "continuation" } else { "noop" }
        ));
        self.continuation.unwrap_or_else(noop_coroutine)
    }
    fn await_resume(self) {
        ev("await_resume final");
    }
}

pub struct TaskPromise {
    value: i32,
    continuation: Option<CoroutineHandle>,
    error: Option<Payload>,
    _t: PromiseTrace,
}

impl Default for TaskPromise {
    fn default() -> Self {
        TaskPromise { _t: PromiseTrace::new(), value: 0, continuation: None, error: None }
    }
}

impl Promise for TaskPromise {
    type ReturnObject = Co<TaskPromise>;
    type InitialSuspend = Sus;
    type FinalSuspend = FinalTransfer;
    type Return = ReturnsValue;
    type Await = AwaitDirect;
    unsafe fn get_return_object(&mut self) -> Co<TaskPromise> {
        ev("get_return_object");
        Co::from_promise(self)
    }
    fn initial_suspend(&mut self) -> Sus {
        initial_suspend()
    }
    fn final_suspend(&mut self) -> FinalTransfer {
        ev("final_suspend");
        FinalTransfer { continuation: self.continuation }
    }
    fn unhandled_exception(&mut self, payload: Payload) {
        unhandled_exception(&mut self.error, payload)
    }
    fn allocate_frame(layout: std::alloc::Layout) -> Option<::coro::promise::FrameMemory> {
        alloc(layout)
    }
    unsafe fn deallocate_frame(ptr: std::ptr::NonNull<u8>, layout: std::alloc::Layout) {
        // SAFETY: forwarded contract.
        unsafe { dealloc(ptr, layout) }
    }
}

impl ReturnValue<i32> for TaskPromise {
    fn return_value(&mut self, v: i32) {
        ev(format!("return_value {v}"));
        self.value = v;
    }
}

type Task = Co<TaskPromise>;

pub struct Join {
    child: Task,
}

impl Awaiter for Join {
    type Output = i32;
    fn await_ready(&mut self) -> bool {
        ev("await_ready child -> false");
        false
    }
    unsafe fn await_suspend(&mut self, parent: CoroutineHandle) -> impl AwaitSuspend {
        ev("await_suspend child -> handle child");
        // SAFETY: the child is suspended at its initial point; only we touch it.
        unsafe { self.child.h.promise() }.continuation = Some(parent);
        self.child.h
    }
    fn await_resume(self) -> i32 {
        let v = self.child.promise().value;
        ev(format!("await_resume child -> {v}"));
        ev("body: destroy child");
        // SAFETY: the child is done and owned by this awaiter.
        unsafe { self.child.h.destroy() };
        v
    }
}

#[coro::coroutine]
fn child() -> Task {
    ev("body: child runs");
    co_return!(42)
}

#[coro::coroutine]
fn parent() -> Task {
    ev("body: parent starts");
    let v = co_await!(Join { child: child() });
    ev(format!("body: parent got {v}"));
    co_return!(v + 1)
}

pub fn run() {
    let t = parent();
    t.resume();
    t.done();
    ev(format!("caller: value {}", t.promise().value));
    t.destroy();
}
