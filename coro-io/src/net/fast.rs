//! A socket's one-loop fast path: how a wait on the loop a socket is
//! registered with (the usual case: one socket, one loop) skips the
//! socket's `Registration` mutex.
//!
//! A [`FastHome`] names at most one of the socket's homes, the *fast
//! home*: `owner` holds its loop's number
//! ([`loop_number`](crate::event_loop::loop_number); 0: none), `source`
//! its source key, and `waiting` counts the waiters registered through
//! the fast path (those registered under the mutex count in the home's
//! own `waiting`). The rules:
//!
//! - **open** (under the mutex, on the fast home's loop thread, when that
//!   home is the socket's only one): `source`, then `owner`, are stored.
//! - **close** (under the mutex, before the homes change: another loop
//!   adds its home, the socket is dropped): `owner` is swapped with 0
//!   (`AcqRel`), then `waiting` is read (`Acquire`); the fast home counts
//!   as idle only if that read is 0 (and its own `waiting` is 0).
//! - **enter** (a wait on the loop numbered `n`, no mutex): `waiting` is
//!   incremented (`AcqRel`), then `owner` is checked again with a
//!   compare-exchange of `n` for `n` (`AcqRel`); if it succeeds the waiter
//!   is counted and `source` names the home, otherwise the count is undone
//!   and the wait takes the mutex.
//! - **exit** (the waiter is withdrawn, on any thread): `waiting` is
//!   decremented (`Release`).
//!
//! Why a counted waiter's home is never dropped: enter's check and
//! close's swap are read-modify-writes of `owner`, so one comes first in
//! its modification order and the later one reads what the earlier wrote.
//! If enter's comes first, close's swap reads from it and synchronises
//! with it: enter's increment, before its check, happens before close's
//! read of `waiting`, which sees it (the home is kept). If close's comes
//! first, enter's check reads 0 and fails (enter backs off). (The
//! argument needs no `SeqCst` total order, which loom does not model.) Only the owner's thread
//! opens the fast path for its own loop, and a home is dropped only while
//! no waiter is counted on it, so `source` does not change between a
//! successful enter and its exit. While waiters are counted the fast home
//! stays the socket's first home (a first home is replaced only once it
//! is dropped), which is how a close finds it. `.ci/loom` checks the
//! protocol (the model below).

use crate::atomic::{AtomicU32, AtomicU64, Ordering};

/// The fast home of a socket (see the module docs).
#[derive(Default)]
pub(crate) struct FastHome {
    owner: AtomicU32,
    waiting: AtomicU32,
    source: AtomicU64,
}

impl FastHome {
    /// A wait on the loop numbered `n` (0: none): the fast home's source
    /// (as [`open`](Self::open) got it) if the waiter is counted on it,
    /// `None` if the wait must take the mutex.
    #[inline]
    pub(crate) fn enter(&self, n: u32) -> Option<u64> {
        // A cheap look first: another loop's home, or none.
        if n == 0 || self.owner.load(Ordering::Relaxed) != n {
            return None;
        }
        self.waiting.fetch_add(1, Ordering::AcqRel);
        if self.owner.compare_exchange(n, n, Ordering::AcqRel, Ordering::Acquire).is_ok() {
            // Stored by this thread's `open` (only the owner's thread
            // opens for its loop), and unchanged while a waiter is counted.
            return Some(self.source.load(Ordering::Relaxed));
        }
        self.waiting.fetch_sub(1, Ordering::Release);
        None
    }

    /// A waiter counted by [`enter`](Self::enter) is withdrawn.
    #[inline]
    pub(crate) fn exit(&self) {
        self.waiting.fetch_sub(1, Ordering::Release);
    }

    /// Under the mutex, on the thread of the loop numbered `n` (not 0),
    /// whose home, with source `source`, is the socket's only one: later
    /// waits there take the fast path.
    pub(crate) fn open(&self, n: u32, source: u64) {
        self.source.store(source, Ordering::Relaxed);
        self.owner.store(n, Ordering::Release);
    }

    /// Under the mutex, before the homes change: no new fast waiter, and
    /// whether waiters counted before remain (the fast home, the first
    /// home, is not idle).
    pub(crate) fn close(&self) -> bool {
        self.owner.swap(0, Ordering::AcqRel);
        self.waiting.load(Ordering::Acquire) > 0
    }

    /// The number of the fast home's loop (0: none).
    pub(crate) fn owner(&self) -> u32 {
        self.owner.load(Ordering::Relaxed)
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use loom::sync::atomic::AtomicBool;
    use loom::sync::Arc;

    /// The owner loop waits (enter, then exit) twice while another loop
    /// closes the fast home and drops it if idle: a counted waiter's home
    /// is never dropped, and the source it reads is the home's.
    #[test]
    fn loom_a_waiter_counted_on_the_fast_home_keeps_it_from_being_dropped() {
        loom::model(|| {
            let fast = Arc::new(FastHome::default());
            fast.open(1, 7);
            let dropped = Arc::new(AtomicBool::new(false));
            let owner = {
                let (fast, dropped) = (fast.clone(), dropped.clone());
                loom::thread::spawn(move || {
                    for _ in 0..2 {
                        if let Some(source) = fast.enter(1) {
                            assert_eq!(source, 7);
                            // The waiter is registered on the home now.
                            assert!(!dropped.load(Ordering::SeqCst), "a counted waiter's home was dropped");
                            fast.exit();
                        }
                    }
                })
            };
            // The other loop, under the mutex: close, drop if idle.
            if !fast.close() {
                dropped.store(true, Ordering::SeqCst);
            }
            owner.join().unwrap();
            assert_eq!(fast.owner(), 0);
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fast_path_counts_waiters_only_on_its_own_loop_until_closed() {
        let fast = FastHome::default();
        assert_eq!(fast.enter(1), None, "not open");
        fast.open(1, 9);
        assert_eq!(fast.enter(2), None, "another loop");
        assert_eq!(fast.enter(0), None, "no loop");
        assert_eq!(fast.enter(1), Some(9));
        assert!(fast.close(), "a counted waiter keeps it busy");
        assert_eq!(fast.enter(1), None, "closed");
        fast.exit();
        assert!(!fast.close(), "idle once the waiter is gone");
    }
}
