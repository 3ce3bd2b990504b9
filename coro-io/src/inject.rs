//! The injection queue: how other threads reach a loop that may be
//! blocked in `mio::Poll::poll`.
//!
//! An [`Injector`] is a mutex-protected list of messages, a `closed` flag
//! (under the same mutex) and an atomic `notified` flag, in front of a
//! [`Notifier`] (the loop's `mio::Waker`: one syscall per wake).
//!
//! States of `notified`: `false` (the loop has taken everything posted
//! before its last swap, and may block) and `true` (something was posted,
//! or the home queue has work, since the loop last looked).
//!
//! Transitions and orderings:
//! - **post** (any thread): lock, push (or give the message back if
//!   `closed`), unlock; then **notify**.
//! - **notify**: `notified.swap(true, AcqRel)`; only if it was `false` and
//!   the caller is not the loop's own thread is the notifier woken. (On
//!   its own thread the loop is running, not blocked: the wake-up comes
//!   from code it runs, and it checks the flag before blocking.)
//! - **take** (the loop, each turn): `notified.load(Acquire)` first (a
//!   `false` there is what the swap would read: nothing to take, and no
//!   write); if `true`, `notified.swap(false, AcqRel)`; if that was
//!   `true`, lock and move every message out.
//! - **block** (the loop, when it has nothing ready): only if
//!   `notified.load(Acquire)` is `false`; otherwise it polls without
//!   blocking and takes at its next turn.
//!
//! Why no message is lost: a post's push is ordered before its swap (the
//! unlock releases, the swap is after it in program order). If the loop's
//! `swap(false)` reads the poster's `true` (or one later in the flag's
//! modification order), it synchronises with that swap and its lock comes
//! after the push: the message is taken. Otherwise the poster's swap comes
//! after the loop's in the modification order, so the flag is `true` again
//! when the loop checks before blocking — or, if the loop checked first,
//! the poster's swap read `false` and woke the notifier, which makes the
//! blocked (or about to block) poll return. The notifier is a latch (an
//! eventfd: a wake before the poll makes the poll return at once), as the
//! loom model's is. `close` (the loop's drop) takes what is left under the
//! lock: a message is either taken by the loop, returned by `close`, or
//! given back to its poster, never dropped unseen.
//!
//! `.ci/loom` checks this protocol (the `loom_tests` below, every
//! interleaving of two posters against a loop that blocks, and of a post
//! racing a close).

use crate::atomic::{AtomicBool, Mutex, MutexGuard, Ordering};

/// What wakes a loop blocked in its poll: a latch (a wake before the poll
/// makes the poll return at once).
pub(crate) trait Notifier {
    /// Makes the loop's current or next blocking poll return.
    fn wake(&self);
}

struct Queue<M> {
    items: Vec<M>,
    closed: bool,
}

/// The loop's injection queue (see the module docs).
pub(crate) struct Injector<M, N> {
    queue: Mutex<Queue<M>>,
    notified: AtomicBool,
    notifier: N,
}

impl<M, N: Notifier> Injector<M, N> {
    pub(crate) fn new(notifier: N) -> Self {
        Injector {
            queue: Mutex::new(Queue { items: Vec::new(), closed: false }),
            notified: AtomicBool::new(false),
            notifier,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Queue<M>> {
        // Nothing panics under this lock (an allocation failure aborts).
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues `message` for the loop and wakes it; gives the message back
    /// if the loop is gone (closed). `from_loop`: the caller is the loop's
    /// own thread.
    pub(crate) fn post(&self, message: M, from_loop: bool) -> Result<(), M> {
        let mut q = self.lock();
        if q.closed {
            return Err(message);
        }
        q.items.push(message);
        drop(q);
        self.notify(from_loop);
        Ok(())
    }

    /// Tells the loop to look (its home queue has work, or a post).
    pub(crate) fn notify(&self, from_loop: bool) {
        if !self.notified.swap(true, Ordering::AcqRel) && !from_loop {
            self.notifier.wake();
        }
    }

    /// The loop's side: if notified since the last call, moves every
    /// message posted so far into `into` and returns `true`.
    pub(crate) fn take(&self, into: &mut Vec<M>) -> bool {
        if !self.notified.swap(false, Ordering::AcqRel) {
            return false;
        }
        into.append(&mut self.lock().items);
        true
    }

    /// Whether a notification came since the loop's last `take` (the
    /// loop's cheap check before `take`: `false` is what `take`'s swap
    /// would have read, and a later post sets the flag again).
    pub(crate) fn is_notified(&self) -> bool {
        self.notified.load(Ordering::Acquire)
    }

    /// The loop's check before blocking: `true` if it must not block (a
    /// notification came since its last `take`).
    pub(crate) fn must_not_block(&self) -> bool {
        self.notified.load(Ordering::Acquire)
    }

    /// The loop is going away: refuses later posts and returns what is
    /// still queued.
    pub(crate) fn close(&self) -> Vec<M> {
        let mut q = self.lock();
        q.closed = true;
        core::mem::take(&mut q.items)
    }

    #[cfg(all(test, loom))]
    fn notifier(&self) -> &N {
        &self.notifier
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use loom::sync::{Arc, Condvar};

    /// A latch like an eventfd: a wake before `block` makes it return.
    #[derive(Default)]
    struct Latch {
        woken: loom::sync::Mutex<bool>,
        cv: Condvar,
    }

    impl Notifier for Latch {
        fn wake(&self) {
            *self.woken.lock().unwrap() = true;
            self.cv.notify_one();
        }
    }

    impl Latch {
        fn block(&self) {
            let mut woken = self.woken.lock().unwrap();
            while !*woken {
                woken = self.cv.wait(woken).unwrap();
            }
            *woken = false;
        }
    }

    /// The loop's turns, as in `event_loop.rs`: take (if the flag says
    /// so), then block unless
    /// notified, until `n` messages have arrived. A lost message leaves it
    /// blocked for ever, which loom reports as a deadlock.
    fn run_loop(inj: &Injector<u32, Latch>, n: usize) -> Vec<u32> {
        let mut got = Vec::new();
        let mut buf = Vec::new();
        loop {
            if inj.is_notified() && inj.take(&mut buf) {
                got.append(&mut buf);
            }
            if got.len() == n {
                return got;
            }
            if !inj.must_not_block() {
                inj.notifier().block();
            }
        }
    }

    /// Two posters and a blocking loop explode combinatorially: bounded
    /// preemptions (3) keep the model to seconds and still cover a post
    /// landing between each pair of the loop's steps.
    #[test]
    fn loom_every_post_from_other_threads_reaches_a_loop_that_blocks() {
        let mut model = loom::model::Builder::new();
        model.preemption_bound = Some(3);
        model.check(|| {
            let inj = Arc::new(Injector::new(Latch::default()));
            let posters: Vec<_> = (0..2)
                .map(|i| {
                    let inj = inj.clone();
                    loom::thread::spawn(move || assert!(inj.post(i, false).is_ok()))
                })
                .collect();
            let mut got = run_loop(&inj, 2);
            for p in posters {
                p.join().unwrap();
            }
            got.sort_unstable();
            assert_eq!(got, [0, 1]);
        });
    }

    #[test]
    fn loom_a_post_from_the_loop_thread_needs_no_wake() {
        loom::model(|| {
            let inj = Arc::new(Injector::new(Latch::default()));
            let poster = {
                let inj = inj.clone();
                loom::thread::spawn(move || assert!(inj.post(1, false).is_ok()))
            };
            // The loop posts to itself (a task waking another) between turns.
            assert!(inj.post(0, true).is_ok());
            let mut got = run_loop(&inj, 2);
            poster.join().unwrap();
            got.sort_unstable();
            assert_eq!(got, [0, 1]);
        });
    }

    #[test]
    fn loom_a_post_racing_close_is_taken_or_given_back() {
        loom::model(|| {
            let inj = Arc::new(Injector::new(Latch::default()));
            let poster = {
                let inj = inj.clone();
                loom::thread::spawn(move || inj.post(7, false).is_err())
            };
            let mut seen = Vec::new();
            inj.take(&mut seen);
            seen.extend(inj.close());
            let refused = poster.join().unwrap();
            assert_eq!(seen.len() + usize::from(refused), 1);
            assert!(inj.post(8, false).is_err());
        });
    }
}
