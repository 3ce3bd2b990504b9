// AllocateFrameWith: an allocator that wants `'static` parameters cannot be handed a by-value parameter's borrow.
use std::alloc::Layout;
use std::cell::Cell;

use coro::promise::{AllocateFrameWith, AwaitTransformed, FrameMemory, ReturnVoid, ReturnsVoid};
use coro::{Promise, SuspendNever, UniqueCoroutineHandle};

#[derive(Default)]
struct Keep<'x> {
    kept: Option<&'x str>,
}

#[coro::promise_type]
impl<'x> Promise for Keep<'x> {
    type InitialSuspend = SuspendNever;
    type Return = ReturnsVoid;
    type Await = AwaitTransformed;
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
