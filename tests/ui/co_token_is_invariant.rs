// The body's token Co<P> is invariant in P: co_yield!/co_return!/await_transform write into the promise through it.
#![allow(dead_code)]
use coro::generator::GeneratorPromise;

fn shorten<'a>(co: coro::__private::Co<GeneratorPromise<&'static str>>) -> coro::__private::Co<GeneratorPromise<&'a str>> {
    co
}

fn main() {}
