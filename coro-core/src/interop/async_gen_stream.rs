//! An [`AsyncGenerator`] polled from a Rust executor: `poll_next`, and
//! with the `stream` feature, `futures_core::Stream`.
//!
//! A poll resumes the generator (it is lazy, and thread-bound: the poll
//! runs on its thread, it is not `Send`) with a stand-in frame as its
//! consumer, made on the first poll and kept by the generator: when the
//! body yields or finishes, it transfers to the stand-in, which marks the
//! element ready and wakes the waker of the last poll that found the
//! generator still running. A body that yields without waiting is ready
//! on the same poll, and wakes nobody.
//!
//! While the body waits (a future woken on another thread, a `SendTask`
//! finishing elsewhere), it is queued on its thread's wake-up queue: the
//! poll registers its waker there, as a `Task` polled as a future does, and
//! the next poll runs the queue ([`resume_woken`](crate::resume_woken)).
//! A body resumed by something else on its thread (a `coro::sync` release,
//! a `LocalScheduler`) reaches the stand-in all the same, whose wake asks
//! for the next poll.

use core::cell::Cell;
use core::ptr::NonNull;
use core::task::{Context, Poll, Waker};

use crate::home::{register_driver, resume_woken, DriverScope};
use crate::language::frame::{Header, VTable};
use crate::language::handle::CoroutineHandle;
use crate::library::generator::async_gen::{AsyncGenCore, AsyncGenPromise, AsyncGenerator};

/// The stand-in consumer: a frame with a header and no body. Touched only
/// on the generator's thread (it is the consumer of a thread-bound frame,
/// owned by a generator that is not `Send`).
#[repr(C)]
struct PollWaiter {
    header: Header,
    /// The generator has transferred here since the poll that resumed it.
    ready: Cell<bool>,
    /// The waker of the last poll that found the generator still running.
    waker: Cell<Option<Waker>>,
}

static POLL_WAITER_VTABLE: VTable = VTable::stand_in(poll_waiter_resume, poll_waiter_free);

unsafe fn poll_waiter_resume(h: NonNull<Header>) -> Option<NonNull<Header>> {
    // SAFETY: only `waiter` below makes frames with this vtable, boxed
    // `PollWaiter`s owned by their generator, which outlives every transfer
    // of its frame here.
    let waiter = unsafe { h.cast::<PollWaiter>().as_ref() };
    waiter.ready.set(true);
    if let Some(w) = waiter.waker.take() {
        w.wake();
    }
    None
}

unsafe fn poll_waiter_free(h: NonNull<Header>) {
    // SAFETY: made by `Box::into_raw` in `new_waiter`; the owning
    // `PollSlot` frees it once (its drop), when nothing can transfer here.
    drop(unsafe { Box::from_raw(h.cast::<PollWaiter>().as_ptr()) });
}

fn new_waiter() -> CoroutineHandle {
    let boxed = Box::new(PollWaiter {
        header: Header::stand_in(&POLL_WAITER_VTABLE),
        ready: Cell::new(false),
        waker: Cell::new(None),
    });
    CoroutineHandle::from_header(NonNull::from(Box::leak(boxed)).cast())
}

impl<T, B> AsyncGenerator<T, B> {
    /// Polls for the next element from a Rust executor, as
    /// [`Stream::poll_next`](https://docs.rs/futures-core/latest/futures_core/stream/trait.Stream.html#tymethod.poll_next)
    /// (which this type implements with the `stream` feature, forwarding
    /// here): `Ready(Some(value))`, `Ready(None)` once the body has finished,
    /// or `Pending` while the body awaits something, until `cx`'s waker is
    /// woken. The body runs inside the poll, on this thread; a panic in it
    /// propagates from the poll that finds it.
    ///
    /// A coroutine awaits elements with `co_await!(gen.next())` instead; the
    /// two may alternate, but `co_await!(gen.next())` panics if a poll left
    /// the generator running (poll it to its element first).
    ///
    /// ```
    /// use std::task::{Context, Poll, Waker};
    /// use coro::{co_yield, AsyncGenerator};
    ///
    /// #[coro::coroutine]
    /// fn two() -> AsyncGenerator<u32> { co_yield!(1); co_yield!(2); }
    ///
    /// let mut g = two();
    /// let mut cx = Context::from_waker(Waker::noop());
    /// assert_eq!(g.poll_next(&mut cx), Poll::Ready(Some(1)));
    /// assert_eq!(g.poll_next(&mut cx), Poll::Ready(Some(2)));
    /// assert_eq!(g.poll_next(&mut cx), Poll::Ready(None));
    /// ```
    pub fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        self.core.poll_next(cx)
    }
}

impl<P: AsyncGenPromise> AsyncGenCore<P> {
    /// `poll_next` of the async generators (`AsyncGenerator`,
    /// `TryAsyncGenerator`).
    pub(crate) fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<P::Item>> {
        if self.finished() {
            return Poll::Ready(None);
        }
        // A body suspended on a future is queued on this thread's queue
        // when woken.
        let _driver = DriverScope::this_thread();
        let stand_in = *self.poll.stand_in.get_or_insert_with(new_waiter);
        // SAFETY: the stand-in is a live `PollWaiter` owned by `self.poll`
        // (see `new_waiter`); only shared references are made to it, on this
        // thread.
        let waiter = unsafe { stand_in.header().cast::<PollWaiter>().as_ref() };
        // The waker is stored only while a poll waits: a transfer during
        // this poll needs to wake nobody.
        drop(waiter.waker.take());
        if self.poll.in_flight {
            // The body may have been woken from another thread and queued.
            resume_woken();
        } else if !self.done() {
            waiter.ready.set(false);
            // SAFETY: the generator is owned by `self` (borrowed mutably),
            // not in flight and not done: suspended at its initial point or
            // at a `co_yield!`, and nothing else resumes it from there.
            unsafe { self.set_consumer(stand_in) };
            self.poll.in_flight = true;
            // SAFETY: as above; the frame is alive (owned by `self`) and
            // resumed on its own thread (`self` is not `Send`). A panic in
            // the body is kept by its promise, not thrown here.
            unsafe { self.promise_handle().resume() };
        } else {
            // Finished under `co_await!(gen.next())`, not yet delivered.
            waiter.ready.set(true);
        }
        if waiter.ready.get() {
            if self.poll.in_flight {
                self.poll.in_flight = false;
                crate::home::forget_driver(stand_in.address() as usize);
            }
            // SAFETY: the generator has transferred to the stand-in (or is
            // done): it is suspended, and its promise is used only here.
            return Poll::Ready(unsafe { self.take_element() });
        }
        waiter.waker.set(Some(cx.waker().clone()));
        register_driver(stand_in.address() as usize, cx.waker());
        Poll::Pending
    }
}

#[cfg(feature = "stream")]
impl<T, B> futures_core::Stream for AsyncGenerator<T, B> {
    type Item = T;

    fn poll_next(self: core::pin::Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        AsyncGenerator::poll_next(self.get_mut(), cx)
    }
}

#[cfg(feature = "stream")]
impl<T, B> futures_core::FusedStream for AsyncGenerator<T, B> {
    fn is_terminated(&self) -> bool {
        self.core.finished()
    }
}
