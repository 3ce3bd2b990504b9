//! The async-stream candidates: `async_stream::stream!`, the common way to
//! write a generator in async Rust today. The stream is pinned on the
//! stack and polled with a no-op waker through `futures_core::Stream`
//! (`poll_next`); every item is ready at once, so no poll returns `Pending`.

use std::pin::{pin, Pin};
use std::task::{Context, Poll, Waker};

use futures::Stream;

use crate::consume;

/// Drives a stream whose items are always ready as an iterator.
struct Ready<'a, S: ?Sized>(Pin<&'a mut S>);

impl<S: Stream + ?Sized> Iterator for Ready<'_, S> {
    type Item = S::Item;
    #[inline(always)]
    fn next(&mut self) -> Option<S::Item> {
        match self.0.as_mut().poll_next(&mut Context::from_waker(Waker::noop())) {
            Poll::Ready(item) => item,
            Poll::Pending => panic!("the stream suspended"),
        }
    }
}

pub fn generator(n: u64) -> u64 {
    let s = pin!(async_stream::stream! {
        let mut i = 0;
        while i < n {
            yield i;
            i += 1;
        }
    });
    consume(Ready(s))
}

pub fn fibonacci(n: u64) -> u64 {
    let s = pin!(async_stream::stream! {
        let (mut a, mut b) = (0u64, 1u64);
        for _ in 0..n {
            yield a;
            (a, b) = (b, a.wrapping_add(b));
        }
    });
    consume(Ready(s))
}
