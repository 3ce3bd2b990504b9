//! Which thread a thread-bound coroutine belongs to.
//!
//! A coroutine whose frame is not `Send` (a [`Task`](crate::Task), an
//! [`AsyncGenerator`](crate::AsyncGenerator)) must only run on the thread
//! that created it. Its promise records that thread and refuses, with a
//! panic, to be resumed anywhere else ([`Promise::before_resume`](crate::Promise::before_resume)):
//! a thread-safe awaitable released on another thread (a `coro::sync` event
//! set by a worker) would otherwise run the frame — its `Rc`s, its
//! `MutexGuard`s — on that thread. The frame is left untouched at its
//! suspension point.

use core::fmt;

thread_local! {
    static MARKER: u8 = const { 0 };
}

/// The thread a coroutine was created on: the address of a thread-local,
/// unique among running threads and cheap to read (no reference count, unlike
/// `std::thread::current()`).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct HomeThread(usize);

impl HomeThread {
    #[inline]
    pub(crate) fn current() -> HomeThread {
        HomeThread(MARKER.with(|m| m as *const u8 as usize))
    }

    /// Panics unless called on the home thread.
    #[inline]
    pub(crate) fn check(self, what: &str) {
        if HomeThread::current() != self {
            wrong_thread(what)
        }
    }
}

impl fmt::Debug for HomeThread {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("HomeThread").field(&format_args!("{:#x}", self.0)).finish()
    }
}

#[cold]
#[inline(never)]
fn wrong_thread(what: &str) -> ! {
    panic!(
        "a {what} (its frame is not Send) was resumed on a thread other than the one that created it; \
         it was left suspended. Use a SendTask for coroutines that wait for other threads, \
         or the coro::sync::local primitives within one thread"
    )
}
