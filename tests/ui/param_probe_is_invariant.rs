// ParamProbe<P, A> is invariant in P: the parameters flow into P's constructor or allocator.
#![allow(dead_code)]
use coro::generator::GeneratorPromise;

fn shorten<'a>(
    p: coro::__private::ParamProbe<GeneratorPromise<&'static str>, ()>,
) -> coro::__private::ParamProbe<GeneratorPromise<&'a str>, ()> {
    p
}

fn main() {}
