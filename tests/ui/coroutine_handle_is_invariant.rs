// CoroutineHandle<P> is invariant in P: it reaches a &mut P (promise()).
#![allow(dead_code)]
use coro::generator::GeneratorPromise;
use coro::CoroutineHandle;

fn shorten<'a>(h: CoroutineHandle<GeneratorPromise<&'static str>>) -> CoroutineHandle<GeneratorPromise<&'a str>> {
    h
}

fn main() {}
