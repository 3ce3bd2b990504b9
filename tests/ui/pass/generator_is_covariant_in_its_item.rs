// The owners of a generator frame are covariant in their item and borrow types (values only flow out).
use coro::generator::{GeneratorPromise, AsyncGeneratorPromise, TryAsyncGenerator, TryAsyncGeneratorPromise};
use coro::{AsyncGenerator, Generator, SendGenerator};

fn generator_item<'a>(g: Generator<&'static str>) -> Generator<&'a str> {
    g
}
fn generator_borrow<'a>(g: Generator<u8, &'static str>) -> Generator<u8, &'a str> {
    g
}
fn send_generator<'a>(g: SendGenerator<&'static str, &'static str>) -> SendGenerator<&'a str, &'a str> {
    g
}
fn async_generator<'a>(g: AsyncGenerator<&'static str, &'static str>) -> AsyncGenerator<&'a str, &'a str> {
    g
}
fn try_async_generator<'a>(
    g: TryAsyncGenerator<&'static str, &'static str, &'static str>,
) -> TryAsyncGenerator<&'a str, &'a str, &'a str> {
    g
}
// Promises by value are plain data; every path to one inside a frame is invariant.
fn generator_promise<'a>(p: GeneratorPromise<&'static str>) -> GeneratorPromise<&'a str> {
    p
}
fn async_generator_promise<'a>(p: AsyncGeneratorPromise<&'static str>) -> AsyncGeneratorPromise<&'a str> {
    p
}
fn try_async_generator_promise<'a>(
    p: TryAsyncGeneratorPromise<&'static str, &'static str>,
) -> TryAsyncGeneratorPromise<&'a str, &'a str> {
    p
}

#[coro::coroutine]
fn words() -> Generator<&'static str> {
    coro::co_yield!("a");
}

fn main() {
    let local = String::from("b");
    let mut g: Generator<&str> = generator_item(words());
    let first = g.next();
    let both = [first.unwrap(), local.as_str()];
    assert_eq!(both, ["a", "b"]);
    let _ = (generator_borrow, send_generator, async_generator, generator_promise, async_generator_promise);
    let _ = (try_async_generator, try_async_generator_promise);
}
