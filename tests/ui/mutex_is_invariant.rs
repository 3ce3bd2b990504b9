// Mutex<T> is invariant in T: values flow in through the guard's DerefMut.
#![allow(dead_code)]
use coro::sync::Mutex;

fn shorten<'a>(m: Mutex<&'static str>) -> Mutex<&'a str> {
    m
}

fn main() {}
