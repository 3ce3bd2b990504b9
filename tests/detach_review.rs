//! Review of the `SendTask` detaching protocol (the `Flight` word, the
//! reference-counted stand-ins): targeted regressions for what the review
//! found, and a stress campaign racing owners going away against tasks
//! finishing on a two-worker pool. Every `Counted` must be dropped exactly
//! once; the suite is meant to run under AddressSanitizer and valgrind too.
//!
//! Detached tasks here always get what they wait for eventually (a detached
//! task that waits on something never released is leaked by design).

mod common;

use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::Arc;
use std::task::{Context, Waker};
use std::time::{Duration, Instant};

use common::{eventually, Counted, Log};
use coro::sync::Event;
use coro::{
    co_await, co_return, sync_wait, when_all, when_all_ready, when_any, AsyncBacktrace, CurrentBacktrace, SendTask,
    Task, ThreadPool,
};

fn poll_once<F: Future + ?Sized>(f: Pin<&mut F>) -> bool {
    f.poll(&mut Context::from_waker(Waker::noop())).is_ready()
}

/// Reuses freed blocks of the sizes the stand-ins have, with bytes that
/// are no valid pointer: a walk that reads a freed stand-in then crashes
/// even without a sanitizer (under one it is reported at the read).
fn scribble_over_freed_blocks() -> Vec<Vec<u8>> {
    (0..64).flat_map(|_| (16..=256).step_by(8).map(|n| vec![0xA5u8; n])).collect()
}

// ---------------------------------------------------------------------------
// Finding 1: the async backtrace of a detached SendTask walks into the
// continuation it was given, which its owner freed when it went away.
// ---------------------------------------------------------------------------

/// Hops onto the pool, blocks its worker until released, then walks its
/// async backtrace and reports how many frames it found.
#[coro::coroutine]
fn walks_after_release(
    pool: Arc<ThreadPool>,
    c: Counted,
    running: Sender<()>,
    release: Receiver<()>,
    frames: Sender<usize>,
) -> SendTask<Counted> {
    co_await!(pool.schedule());
    running.send(()).unwrap();
    release.recv().unwrap();
    let bt: AsyncBacktrace = co_await!(CurrentBacktrace);
    frames.send(bt.frames().len()).unwrap();
    co_return!(c)
}

#[coro::coroutine]
fn task_awaits_walker(
    pool: Arc<ThreadPool>,
    c: Counted,
    running: Sender<()>,
    release: Receiver<()>,
    frames: Sender<usize>,
) -> Task<()> {
    let _ = co_await!(walks_after_release(pool, c, running, release, frames));
    co_return!(())
}

#[test]
fn a_detached_send_task_s_backtrace_does_not_walk_into_the_hop_its_gone_task_gave_it() {
    let log = Log::new();
    let pool = Arc::new(ThreadPool::new(2));
    let (running_tx, running_rx) = channel();
    let (release_tx, release_rx) = channel();
    let (frames_tx, frames_rx) = channel();
    let mut fut =
        Box::pin(task_awaits_walker(pool.clone(), log.counted("v"), running_tx, release_rx, frames_tx).into_future());
    assert!(!poll_once(fut.as_mut()));
    running_rx.recv().unwrap();
    // The awaiting `Task` goes: the walker is detached, its hop freed.
    drop(fut);
    let scribbled = scribble_over_freed_blocks();
    release_tx.send(()).unwrap();
    // Only the walker itself: nobody awaits it any more.
    assert_eq!(frames_rx.recv_timeout(Duration::from_secs(10)).unwrap(), 1);
    drop(scribbled);
    eventually("the detached walker frees itself", || log.dropped() == 1);
    log.assert_each_dropped_once();
    assert_eq!(pool.panics(), 0);
}

#[test]
fn a_detached_send_task_future_s_task_does_not_walk_into_the_gone_future_s_stand_in() {
    let log = Log::new();
    let pool = Arc::new(ThreadPool::new(2));
    let (running_tx, running_rx) = channel();
    let (release_tx, release_rx) = channel();
    let (frames_tx, frames_rx) = channel();
    let mut fut =
        Box::pin(walks_after_release(pool.clone(), log.counted("v"), running_tx, release_rx, frames_tx).into_future());
    assert!(!poll_once(fut.as_mut()));
    running_rx.recv().unwrap();
    drop(fut);
    let scribbled = scribble_over_freed_blocks();
    release_tx.send(()).unwrap();
    assert_eq!(frames_rx.recv_timeout(Duration::from_secs(10)).unwrap(), 1);
    drop(scribbled);
    eventually("the detached walker frees itself", || log.dropped() == 1);
    log.assert_each_dropped_once();
}

/// Waits for `gate`, then finishes.
#[coro::coroutine]
fn gated(gate: Arc<Event>, c: Counted) -> SendTask<Counted> {
    co_await!(gate.wait());
    co_return!(c)
}

#[coro::coroutine]
fn walker_loses(
    pool: Arc<ThreadPool>,
    log: Log,
    gate: Arc<Event>,
    running: Sender<()>,
    release: Receiver<()>,
    frames: Sender<usize>,
) -> Task<usize> {
    let tasks = vec![
        walks_after_release(pool, log.counted("loser"), running, release, frames),
        gated(gate, log.counted("winner")),
    ];
    let (w, v) = co_await!(when_any(tasks));
    drop(v);
    co_return!(w)
}

#[test]
fn a_detached_when_any_loser_s_backtrace_does_not_walk_into_the_gone_block() {
    let log = Log::new();
    let pool = Arc::new(ThreadPool::new(2));
    let gate = Arc::new(Event::new());
    let (running_tx, running_rx) = channel();
    let (release_tx, release_rx) = channel();
    let (frames_tx, frames_rx) = channel();
    let mut fut = Box::pin(
        walker_loses(pool.clone(), log.clone(), gate.clone(), running_tx, release_rx, frames_tx).into_future(),
    );
    assert!(!poll_once(fut.as_mut()));
    running_rx.recv().unwrap();
    // The winner finishes here; the loser, blocked on the worker, is
    // detached; the race is over and its block freed.
    gate.set();
    assert!(poll_once(fut.as_mut()));
    drop(fut);
    let scribbled = scribble_over_freed_blocks();
    release_tx.send(()).unwrap();
    assert_eq!(frames_rx.recv_timeout(Duration::from_secs(10)).unwrap(), 1);
    drop(scribbled);
    eventually("the detached loser frees itself", || log.dropped() == 2);
    log.assert_each_dropped_once();
}

/// Backtraces that stay valid keep working: a `SendTask` awaited by a
/// `SendTask` reports it (the awaiting frame cannot be freed while the
/// task it awaits runs), a `Task` chain is unchanged.
#[coro::coroutine]
fn send_leaf() -> SendTask<AsyncBacktrace> {
    let bt = co_await!(CurrentBacktrace);
    co_return!(bt)
}

#[coro::coroutine]
fn send_middle() -> SendTask<AsyncBacktrace> {
    let bt = co_await!(send_leaf());
    co_return!(bt)
}

#[coro::coroutine]
fn task_top() -> Task<AsyncBacktrace> {
    let bt = co_await!(send_middle());
    co_return!(bt)
}

#[test]
fn a_send_task_awaited_by_a_send_task_still_reports_it_in_its_backtrace() {
    let bt = sync_wait(send_middle());
    let names: Vec<_> = bt.frames().iter().map(|p| p.function()).collect();
    assert_eq!(names, ["send_leaf", "send_middle"]);
    let bt = sync_wait(task_top());
    let names: Vec<_> = bt.frames().iter().map(|p| p.function()).collect();
    assert!(names.starts_with(&["send_leaf", "send_middle"]), "{names:?}");
}

// ---------------------------------------------------------------------------
// Finding 2: `WhenAny::drop` frees the unstarted children before the
// started ones; it used to free them all in child order (a `Task`'s
// observable drop order changed).
// ---------------------------------------------------------------------------

mod local_order {
    use std::rc::Rc;

    use super::common::{Counted, Log};
    use coro::sync::local::Event;
    use coro::{co_await, co_return, sync_wait, when_any, Task};

    #[coro::coroutine]
    fn waits(e: Rc<Event>, c: Counted) -> Task<Counted> {
        co_await!(e.wait());
        co_return!(c)
    }

    /// Wins `waits` the race from inside, then finishes itself: a loser
    /// that was running when the winner arrived, holding its result.
    #[coro::coroutine]
    fn sets(e: Rc<Event>, c: Counted) -> Task<Counted> {
        e.set();
        co_return!(c)
    }

    #[coro::coroutine]
    fn never_started(c: Counted) -> Task<Counted> {
        co_return!(c)
    }

    #[coro::coroutine]
    fn race(log: Log) -> Task<usize> {
        let e = Rc::new(Event::new());
        let tasks =
            vec![waits(e.clone(), log.counted("a")), sets(e, log.counted("b")), never_started(log.counted("c"))];
        let (w, v) = co_await!(when_any(tasks));
        log.push(format!("won {}", v.name()));
        drop(v);
        co_return!(w)
    }

    #[test]
    fn a_local_when_any_frees_its_children_in_child_order() {
        let log = Log::new();
        assert_eq!(sync_wait(race(log.clone())), 0);
        // With the combinator: `b`, the finished loser's result, then `c`,
        // the parameter of the one never started (child order, as before
        // the detaching change); then the winner's value.
        assert_eq!(log.drop_order(), ["b", "c", "a"]);
        log.assert_each_dropped_once();
    }
}
