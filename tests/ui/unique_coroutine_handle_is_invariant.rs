// UniqueCoroutineHandle<P> is invariant in P: it reaches a &mut P (promise_mut()).
#![allow(dead_code)]
use coro::generator::GeneratorPromise;
use coro::UniqueCoroutineHandle;

fn shorten<'a>(h: UniqueCoroutineHandle<GeneratorPromise<&'static str>>) -> UniqueCoroutineHandle<GeneratorPromise<&'a str>> {
    h
}

fn main() {}
