// Plain-data wrappers that only carry a value out are covariant in it.
use coro::sync::SendError;
use coro::generator::{CatchPanic, ElementsOf};
use coro::SuspendNever;

fn catch_panic<'a>(e: CatchPanic<&'static str>) -> CatchPanic<&'a str> {
    e
}
fn elements_of<'a>(e: ElementsOf<&'static str>) -> ElementsOf<&'a str> {
    e
}
fn send_error<'a>(e: SendError<&'static str>) -> SendError<&'a str> {
    e
}
fn await_point<'a>(
    p: coro::__private::AwaitPoint<SuspendNever, &'static str>,
) -> coro::__private::AwaitPoint<SuspendNever, &'a str> {
    p
}

fn main() {
    let _ = (elements_of, send_error, await_point, catch_panic);
}
