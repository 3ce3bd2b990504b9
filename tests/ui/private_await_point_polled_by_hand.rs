// A coroutine body can reach the resume loop's poll context through an
// `.await` written by a `macro_rules!` macro. A suspension point polled
// there by a hand-written future, then dropped before the resume loop calls
// its `await_suspend`, would leave the loop a pointer to freed memory, so a
// point cannot be built by hand: only the lowering's `await_point` and
// `yield_point`, which need the body's promise token, make one.
use std::future::{poll_fn, Future};
use std::task::Poll;

use coro::__private as p;
use coro::{co_return, IntoAwaiter, Task};

static INFO: p::CoroutineInfo = p::CoroutineInfo::new("f", file!(), (1, 1), 2, (1, 1), &INFO);
struct Point;
impl p::Record for Point {
    const POINT: &'static p::SuspendPoint = &p::SuspendPoint::new(p::SuspendKind::Await, 1, file!(), 1, 1, &INFO);
}

#[coro::coroutine]
fn child() -> Task<u64> {
    co_return!(5)
}

macro_rules! wait {
    ($e:expr) => {
        $e.await
    };
}

#[coro::coroutine]
fn hand_polled() -> Task<()> {
    let mut point = Some(Box::pin(p::AwaitPoint::<_, Point>::new(child().into_awaiter())));
    wait!(poll_fn(move |cx| {
        if let Some(mut point) = point.take() {
            let _ = point.as_mut().poll(cx);
        }
        Poll::<()>::Pending
    }));
    co_return!(())
}

fn main() {}
