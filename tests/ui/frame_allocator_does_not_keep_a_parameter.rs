// AllocateFrameWith: an allocator that wants `'static` parameters cannot be handed a by-value parameter's borrow.
use std::alloc::Layout;
use std::cell::Cell;

use coro::{
    promise::AllocateFrameWith, promise::AwaitTransformed, promise::FrameMemory, CoroutineHandle, promise::Payload, Promise, promise::ReturnVoid, promise::ReturnsVoid, SuspendAlways, SuspendNever,
    UniqueCoroutineHandle,
};

#[derive(Default)]
struct Keep<'x> {
    kept: Option<&'x str>,
}

impl<'x> Promise for Keep<'x> {
    type ReturnObject = UniqueCoroutineHandle<Keep<'x>>;
    type InitialSuspend = SuspendNever;
    type FinalSuspend = SuspendAlways;
    type Return = ReturnsVoid;
    type Await = AwaitTransformed;
    unsafe fn get_return_object(&mut self) -> Self::ReturnObject {
        // SAFETY: the return object is the frame's only owner.
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

impl ReturnVoid for Keep<'_> {
    fn return_void(&mut self) {}
}

thread_local! {
    static LAST: Cell<Option<&'static String>> = const { Cell::new(None) };
}

impl AllocateFrameWith<(&'static String,)> for Keep<'static> {
    fn allocate_frame_with(layout: Layout, (s,): (&'static String,)) -> Option<FrameMemory> {
        LAST.set(Some(s));
        FrameMemory::global(layout)
    }
}

#[coro::coroutine(promise = Keep<'static>)]
fn keeper(s: String) -> UniqueCoroutineHandle<Keep<'static>> {
    let _ = s.len();
}

fn main() {}
