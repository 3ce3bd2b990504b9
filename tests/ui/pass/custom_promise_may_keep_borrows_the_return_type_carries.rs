// A user promise may keep borrows its return type carries: from FromParams, AllocateFrameWith and await_transform.
use std::alloc::Layout;

use coro::promise::{AllocateFrameWith, AwaitTransform, AwaitTransformed, FrameMemory, FromParams, ReturnVoid, ReturnsVoid};
use coro::{co_await, Promise, SuspendNever, UniqueCoroutineHandle};

#[derive(Default)]
struct Keep<'x> {
    kept: Vec<&'x str>,
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

impl<'x> AwaitTransform<&'x str> for Keep<'x> {
    type Awaitable = SuspendNever;
    fn await_transform(&mut self, s: &'x str) -> SuspendNever {
        self.kept.push(s);
        SuspendNever
    }
}

impl<'x> FromParams<(&mut &'x str, &mut u32)> for Keep<'x> {
    fn from_params((s, _): (&mut &'x str, &mut u32)) -> Self {
        Keep { kept: vec![*s] }
    }
}

impl<'x> AllocateFrameWith<(&&'x str, &u32)> for Keep<'x> {
    fn allocate_frame_with(layout: Layout, (s, n): (&&'x str, &u32)) -> Option<FrameMemory> {
        assert_eq!(s.len() as u32, *n);
        FrameMemory::global(layout)
    }
}

#[coro::coroutine(promise = Keep<'a>)]
fn keeper<'a>(s: &'a str, n: u32) -> UniqueCoroutineHandle<Keep<'a>> {
    co_await!(&s[..1]);
    co_await!("static");
    let _ = n;
}

fn main() {
    let text = String::from("abc");
    let h = keeper(&text, 3);
    assert!(h.done());
    // SAFETY: done, so not running.
    assert_eq!(unsafe { h.promise() }.kept, ["abc", "a", "static"]);
}
