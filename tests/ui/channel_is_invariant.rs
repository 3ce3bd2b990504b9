// Channel<T> is invariant in T: values flow in through send().
#![allow(dead_code)]
use coro::sync::Channel;

fn shorten<'a>(ch: Channel<&'static str>) -> Channel<&'a str> {
    ch
}

fn main() {}
