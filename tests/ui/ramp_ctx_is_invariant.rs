// RampCtx<P> is invariant in P: the promise is built in it from the parameters, and it hands the body its Co<P>.
#![allow(dead_code)]
use coro::generator::GeneratorPromise;

fn shorten<'a>(
    ctx: coro::__private::RampCtx<GeneratorPromise<&'static str>>,
) -> coro::__private::RampCtx<GeneratorPromise<&'a str>> {
    ctx
}

fn main() {}
