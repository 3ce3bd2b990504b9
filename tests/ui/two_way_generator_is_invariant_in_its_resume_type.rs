// TwoWayGenerator<Y, R> is invariant in R: values of R flow into the frame
// (`resume_with`), so a generator that keeps what it is sent as
// `&'static str` must not accept a shorter-lived `&'a str`.
#![allow(dead_code)]
use coro::generator::TwoWayGenerator;

fn shorten<'a>(g: TwoWayGenerator<u32, &'static str>) -> TwoWayGenerator<u32, &'a str> {
    g
}

fn main() {}
