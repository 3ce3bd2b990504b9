//! Wake-ups from other threads reach the coroutine and the driver they are
//! for: every `Task` polled as a future on a thread hears of them, a
//! driver's own `notify_when_woken` waker survives other registrations, a
//! wake-up queued for a `SendTask` future that has finished or was dropped
//! still resumes its coroutine, a panicking wake-up keeps the rest of its
//! batch, a `SendTask` future wakes the waker of its latest poll, and a
//! woken detached task's panic waits until the task of the `sync_wait` or
//! the poll that ran it is done.

mod common;

use std::future::{Future, IntoFuture};
use std::pin::pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering, Ordering::SeqCst};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::thread;

use common::{quiet_planned_panics, WakeCount};
use coro::sync::Event;
use coro::{co_await, co_return, SendTask, Task};
use futures::channel::oneshot;
use futures::executor::LocalPool;
use futures::task::LocalSpawnExt;

// ---------------------------------------------------------------------------
// Several drivers on one thread asking to be told of wake-ups.
// ---------------------------------------------------------------------------

#[coro::coroutine]
fn receive(rx: oneshot::Receiver<u32>) -> Task<u32> {
    co_return!(co_await!(rx).unwrap())
}

/// Two `Task`s awaited by two futures of one `LocalPool`: the second
/// registration must not push out the first one, or a wake-up of the
/// first task from another thread, after the second has finished, wakes
/// nobody and the first never finishes (`pool.run()` would hang).
#[test]
fn every_task_polled_as_a_future_on_a_thread_hears_of_foreign_wakeups() {
    let mut pool = LocalPool::new();
    let spawner = pool.spawner();
    let (tx_a, rx_a) = oneshot::channel();
    let (tx_b, rx_b) = oneshot::channel();
    let got = Rc::new(AtomicUsize::new(0));
    let g = got.clone();
    spawner
        .spawn_local(async move {
            g.fetch_add(receive(rx_a).await as usize, SeqCst);
        })
        .unwrap();
    let g = got.clone();
    spawner
        .spawn_local(async move {
            g.fetch_add(receive(rx_b).await as usize, SeqCst);
        })
        .unwrap();
    pool.run_until_stalled(); // both pending, both registered
    tx_b.send(10).unwrap(); // on this thread: `b` resumes at once
    pool.run_until_stalled(); // ... and its future finishes
    assert_eq!(got.load(SeqCst), 10);
    thread::spawn(move || tx_a.send(1).unwrap()).join().unwrap(); // `a` is queued here
    pool.run_until_stalled();
    assert_eq!(got.load(SeqCst), 11, "the first task's future was never woken");
}

/// A driver's own waker registered with `notify_when_woken` survives a
/// `Task` future registering another one.
#[test]
fn notify_when_woken_keeps_every_registered_waker() {
    let first = WakeCount::new();
    let second = WakeCount::new();
    let (tx, rx) = oneshot::channel::<u32>();
    let mut fut = std::pin::pin!(receive(rx).into_future());
    coro::schedule::notify_when_woken(&first.waker());
    assert!(fut.as_mut().poll(&mut Context::from_waker(&second.waker())).is_pending());
    thread::spawn(move || tx.send(1).unwrap()).join().unwrap();
    assert_eq!(first.count(), 1, "the driver's waker was pushed out");
    assert_eq!(second.count(), 1);
    assert_eq!(fut.as_mut().poll(&mut Context::from_waker(Waker::noop())), Poll::Ready(1));
}

// ---------------------------------------------------------------------------
// `SendTask` futures and detached tasks woken from other threads
// ---------------------------------------------------------------------------

#[coro::coroutine]
fn waits_then_receives(ev: Arc<Event>, rx: oneshot::Receiver<u32>) -> SendTask<u32> {
    co_await!(ev.wait());
    // Resumed inline by `set` inside another `SendTask` future's poll: this
    // coroutine now suspends under that future's driver queue.
    let v = co_await!(rx).unwrap();
    co_return!(v + 1)
}

#[coro::coroutine]
fn sets(ev: Arc<Event>) -> SendTask<()> {
    ev.set();
    co_return!(())
}

/// A `SendTask` moved (by a `coro::sync` release) into another `SendTask`
/// future's poll suspends on a Rust future there; that future then
/// finishes, closing its queue. The wake-up must still resume the coroutine
/// (not be dropped with the closed queue).
#[test]
fn wakeup_for_a_finished_send_task_future_is_not_lost() {
    let ev = Arc::new(Event::new());
    let (tx, rx) = oneshot::channel();
    let woken = WakeCount::new();
    let waker = woken.waker();
    let mut cx = Context::from_waker(&waker);

    let mut x = pin!(waits_then_receives(ev.clone(), rx).into_future());
    assert!(x.as_mut().poll(&mut cx).is_pending()); // suspended on the event

    let mut z = pin!(sets(ev).into_future());
    assert!(z.as_mut().poll(&mut cx).is_ready()); // ran `x` up to `rx`, then finished

    tx.send(41).unwrap();
    assert_eq!(x.as_mut().poll(&mut cx), Poll::Ready(42));
}

/// The same, when the other future is dropped before it finishes.
#[test]
fn wakeup_for_a_dropped_send_task_future_is_not_lost() {
    #[coro::coroutine]
    fn sets_then_waits(ev: Arc<Event>, gate: Arc<Event>) -> SendTask<()> {
        ev.set();
        co_await!(gate.wait());
        co_return!(())
    }
    let ev = Arc::new(Event::new());
    let gate = Arc::new(Event::new());
    let (tx, rx) = oneshot::channel();
    let woken = WakeCount::new();
    let waker = woken.waker();
    let mut cx = Context::from_waker(&waker);

    let mut x = pin!(waits_then_receives(ev.clone(), rx).into_future());
    assert!(x.as_mut().poll(&mut cx).is_pending());
    {
        let mut z = Box::pin(sets_then_waits(ev, gate.clone()).into_future());
        assert!(z.as_mut().poll(&mut cx).is_pending());
    } // dropped: its queue is closed, its started task detached
    tx.send(41).unwrap();
    assert_eq!(x.as_mut().poll(&mut cx), Poll::Ready(42));
    gate.set(); // the detached task runs on, here, and frees itself
}

/// A wake-up that panics (a detached task's panic propagating out of its
/// resume) must not lose the wake-ups queued after it in the same batch.
#[test]
fn panicking_wakeup_keeps_the_rest_of_the_batch() {
    use coro::schedule::{spawn_detached, LocalScheduler};
    use coro::Task;
    use std::cell::Cell;
    use std::panic::{catch_unwind, AssertUnwindSafe};
    use std::rc::Rc;

    #[coro::coroutine]
    fn boom(rx: oneshot::Receiver<u32>) -> Task<()> {
        let _ = co_await!(rx);
        panic!("[planned] panic in a detached task");
    }
    #[coro::coroutine]
    fn fine(rx: oneshot::Receiver<u32>, seen: Rc<Cell<u32>>) -> Task<()> {
        seen.set(co_await!(rx).unwrap());
        co_return!(())
    }

    let s = LocalScheduler::new();
    let (tx1, rx1) = oneshot::channel();
    let (tx2, rx2) = oneshot::channel();
    let seen = Rc::new(Cell::new(0));
    spawn_detached(boom(rx1), &s);
    spawn_detached(fine(rx2, seen.clone()), &s);
    s.run_until_idle(); // both suspended on their receivers
    tx1.send(1).unwrap(); // queued first
    tx2.send(2).unwrap(); // queued second, same batch
    quiet_planned_panics();
    let r = catch_unwind(AssertUnwindSafe(|| s.run_until_idle()));
    assert!(r.is_err());
    s.run_until_idle();
    assert_eq!(seen.get(), 2, "the second wake-up was lost with the panicking batch");
}

/// The waker of the most recent poll is the one woken when a `SendTask`
/// finishes on another thread, even when the poll races with the finish (a
/// poll between the finish taking the stored waker and marking itself done
/// must not store a waker that is then never woken).
#[test]
fn send_task_future_wakes_the_latest_waker() {
    use coro::ThreadPool;
    use std::time::{Duration, Instant};

    #[coro::coroutine]
    fn hop(pool: Arc<ThreadPool>, spin: u32) -> SendTask<u32> {
        co_await!(pool.schedule());
        let mut x = 0u32;
        for i in 0..spin {
            x = std::hint::black_box(x.wrapping_add(i));
        }
        co_return!(x)
    }

    let pool = Arc::new(ThreadPool::new(2));
    let deadline = Instant::now() + Duration::from_millis(600);
    let mut runs = 0u32;
    while Instant::now() < deadline {
        runs += 1;
        let mut fut = pin!(hop(pool.clone(), runs % 64).into_future());
        loop {
            // A fresh waker each poll: only the latest may be relied on.
            let flag = WakeCount::new();
            let waker = flag.waker();
            if fut.as_mut().poll(&mut Context::from_waker(&waker)).is_ready() {
                break;
            }
            // Poll again at once most of the time (racing with the finish);
            // otherwise rely on this poll's waker.
            if runs % 4 != 0 {
                continue;
            }
            let waited = Instant::now();
            while !flag.woken() {
                assert!(waited.elapsed() < Duration::from_secs(1), "the latest waker was never woken");
                std::thread::yield_now();
            }
        }
    }
}

/// `sync_wait` runs this thread's queued wake-ups while it waits; a panic
/// escaping one (a detached task's) must not unwind out of `sync_wait`
/// while its own task is still running on another thread (its frame would
/// be destroyed under that thread, and the task would later resume the
/// stand-in on the unwound stack). It propagates once the task is done.
#[test]
fn sync_wait_defers_a_woken_detached_panic_until_its_task_is_done() {
    use coro::schedule::{spawn_detached, LocalScheduler};
    use coro::{sync_wait, Task, ThreadPool};
    use std::panic::{catch_unwind, AssertUnwindSafe};
    use std::sync::atomic::AtomicBool;
    use std::time::{Duration, Instant};

    /// Set by the detached task just before it panics, on the thread in
    /// `sync_wait`: only then does the pool task finish. No timing involved.
    static BOOM_RAN: AtomicBool = AtomicBool::new(false);
    static FINISHED: AtomicBool = AtomicBool::new(false);

    #[coro::coroutine]
    fn boom(rx: oneshot::Receiver<u32>) -> Task<()> {
        let _ = co_await!(rx);
        BOOM_RAN.store(true, Ordering::SeqCst);
        panic!("[planned] panic in a detached task");
    }
    #[coro::coroutine]
    fn on_pool(pool: Arc<ThreadPool>, tx: oneshot::Sender<u32>) -> SendTask<u32> {
        co_await!(pool.schedule());
        tx.send(1).unwrap(); // queues `boom` for the sync_wait thread
        let waited = Instant::now();
        while !BOOM_RAN.load(Ordering::SeqCst) {
            assert!(waited.elapsed() < Duration::from_secs(30), "sync_wait never ran the queued wake-up");
            std::thread::yield_now();
        }
        FINISHED.store(true, Ordering::SeqCst);
        co_return!(7)
    }

    let pool = Arc::new(ThreadPool::new(1));
    let s = LocalScheduler::new();
    let (tx, rx) = oneshot::channel();
    spawn_detached(boom(rx), &s);
    s.run_until_idle();
    quiet_planned_panics();
    let r = catch_unwind(AssertUnwindSafe(|| sync_wait(on_pool(pool.clone(), tx))));
    let payload = r.expect_err("the detached task's panic propagates from sync_wait");
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"[planned] panic in a detached task"));
    assert!(FINISHED.load(Ordering::SeqCst), "sync_wait unwound while its task was still running");
}

/// The same for a `Task` polled as a future: a detached task's panic
/// escaping the wake-ups its poll runs must not unwind out of `poll` while
/// the task (awaiting a `SendTask` on a pool) is running elsewhere — the
/// executor would drop the future and destroy the task under the worker.
/// It propagates from the poll that finds the task done.
#[test]
fn task_future_defers_a_woken_detached_panic_until_its_task_is_done() {
    use coro::schedule::{spawn_detached, LocalScheduler};
    use coro::{Task, ThreadPool};
    use std::panic::{catch_unwind, AssertUnwindSafe};
    use std::sync::atomic::AtomicBool;
    use std::time::{Duration, Instant};

    static GATE: AtomicBool = AtomicBool::new(false);

    #[coro::coroutine]
    fn boom(rx: oneshot::Receiver<u32>) -> Task<()> {
        let _ = co_await!(rx);
        // Only now may the pool task finish: no timing involved.
        GATE.store(true, Ordering::SeqCst);
        panic!("[planned] panic in a detached task");
    }
    #[coro::coroutine]
    fn on_pool(pool: Arc<ThreadPool>, tx: oneshot::Sender<u32>) -> SendTask<u32> {
        co_await!(pool.schedule());
        tx.send(1).unwrap();
        while !GATE.load(Ordering::SeqCst) {
            std::thread::yield_now();
        }
        co_return!(7)
    }
    #[coro::coroutine]
    fn parent(pool: Arc<ThreadPool>, tx: oneshot::Sender<u32>) -> Task<u32> {
        co_return!(co_await!(on_pool(pool, tx)) + 1)
    }

    let pool = Arc::new(ThreadPool::new(1));
    let s = LocalScheduler::new();
    let (tx, rx) = oneshot::channel();
    spawn_detached(boom(rx), &s);
    s.run_until_idle();
    let woken = WakeCount::new();
    let waker = woken.waker();
    let mut fut = Box::pin(parent(pool.clone(), tx).into_future());
    quiet_planned_panics();
    let start = Instant::now();
    let mut outcome = None;
    while start.elapsed() < Duration::from_secs(30) {
        match catch_unwind(AssertUnwindSafe(|| fut.as_mut().poll(&mut Context::from_waker(&waker)))) {
            Ok(Poll::Ready(v)) => panic!("the detached panic was lost (got {v})"),
            Ok(Poll::Pending) => std::thread::yield_now(),
            Err(p) => {
                outcome = Some(p);
                break;
            }
        }
    }
    // As an executor does after a panicking poll: the task must be done.
    let dropped = catch_unwind(AssertUnwindSafe(|| drop(fut)));
    GATE.store(true, Ordering::SeqCst);
    let payload = outcome.expect("the detached task's panic propagates from a poll");
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"[planned] panic in a detached task"));
    assert!(dropped.is_ok(), "the poll unwound while its task was still running on the pool");
}
