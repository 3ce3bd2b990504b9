//! A `SendTask` whose owner went away while it was suspended is destroyed
//! at once when the awaiter it waits on withdraws its registration (the
//! `coro::sync` waits: see `send_task_cancellation.rs`), and otherwise at
//! its next resumption instead of resumed, by whoever resumes it: a
//! `Mutex`, a `Semaphore` or a `Channel` that granted it something before
//! the owner went away, a cancellation request, a `SendSharedTask`, a Rust
//! future's waker, a child finishing, a pool worker. Every resumer survives
//! the frame being destroyed inside its `resume()`, and the awaiter the task
//! was suspended on hands what it was granted (a lock, a permit, a value) on
//! exactly once. Run under valgrind and AddressSanitizer too.

mod common;

use std::future::{Future, IntoFuture};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::Arc;

use common::{eventually, poll_once, Counted, Log};
use coro::cancellation::CancellationSource;
use coro::sync::{Channel, Event, Mutex, Semaphore};
use coro::{co_await, co_return, sync_wait, when_all, when_any, SendSharedTask, SendTask, Task, ThreadPool};

#[coro::coroutine]
fn quick() -> SendTask<u32> {
    co_return!(1)
}

/// Runs `loser` against `quick()` in a `when_any` on this thread: `quick`
/// wins, `loser` (suspended) is detached.
#[coro::coroutine]
fn race(loser: SendTask<u32>) -> Task<u32> {
    let (i, v) = co_await!(when_any(vec![loser, quick()]));
    assert_eq!(i, 1);
    co_return!(v)
}

// ---------------------------------------------------------------------------
// Event, Mutex, a future's waker, a pool's queue
// ---------------------------------------------------------------------------

#[coro::coroutine]
fn waits_on_event(ev: Arc<Event>, log: Log, c: Counted) -> SendTask<u32> {
    co_await!(ev.wait());
    log.push("ran on");
    drop(c);
    co_return!(2)
}

#[coro::coroutine]
fn race_event(ev: Arc<Event>, log: Log) -> Task<u32> {
    let c = log.counted("loser");
    let (_, v) = co_await!(when_any(vec![waits_on_event(ev, log.clone(), c), quick()]));
    co_return!(v)
}

#[test]
fn a_loser_waiting_on_an_event_is_destroyed_before_the_when_any_resumes_its_caller() {
    let log = Log::new();
    let ev = Arc::new(Event::new());
    assert_eq!(sync_wait(race_event(ev.clone(), log.clone())), 1);
    // Its wait was withdrawn and its frame destroyed by the `when_any`.
    assert_eq!(log.dropped(), 1, "destroyed, not left waiting");
    ev.set(); // nobody waits any more
    assert_eq!(log.count("ran on"), 0, "{:?}", log.events());
    log.assert_each_dropped_once();
}

#[coro::coroutine]
fn waits_for_lock(m: Arc<Mutex<u32>>, log: Log, c: Counted) -> SendTask<u32> {
    let mut g = co_await!(m.lock());
    log.push("locked");
    *g += 1;
    drop(c);
    co_return!(*g)
}

#[coro::coroutine]
fn race_lock(m: Arc<Mutex<u32>>, log: Log) -> Task<u32> {
    let c = log.counted("loser");
    let (_, v) = co_await!(when_any(vec![waits_for_lock(m, log.clone(), c), quick()]));
    co_return!(v)
}

#[coro::coroutine]
fn locks(m: Arc<Mutex<u32>>) -> SendTask<u32> {
    let g = co_await!(m.lock());
    co_return!(*g)
}

#[test]
fn a_detached_loser_granted_a_mutex_hands_the_lock_on() {
    let log = Log::new();
    let m = Arc::new(Mutex::new(7));
    let held = m.try_lock().unwrap();
    assert_eq!(sync_wait(race_lock(m.clone(), log.clone())), 1);
    // Unlocking grants the lock to the detached loser, which is
    // destroyed instead of resumed: the lock goes on to the next one.
    drop(held);
    assert_eq!(log.count("locked"), 0, "{:?}", log.events());
    assert_eq!(log.dropped(), 1);
    assert!(!m.is_locked());
    assert_eq!(sync_wait(locks(m)), 7);
    log.assert_each_dropped_once();
}

#[coro::coroutine]
fn waits_on_future(rx: futures::channel::oneshot::Receiver<u32>, log: Log, c: Counted) -> SendTask<u32> {
    let v = co_await!(rx).unwrap_or(0);
    log.push("ran on");
    drop(c);
    co_return!(v)
}

#[coro::coroutine]
fn race_future(rx: futures::channel::oneshot::Receiver<u32>, log: Log) -> Task<u32> {
    let c = log.counted("loser");
    let (_, v) = co_await!(when_any(vec![waits_on_future(rx, log.clone(), c), quick()]));
    co_return!(v)
}

#[test]
fn a_loser_awaiting_a_future_is_destroyed_with_its_future_before_the_when_any_returns() {
    let log = Log::new();
    let (tx, rx) = futures::channel::oneshot::channel();
    assert_eq!(sync_wait(race_future(rx, log.clone())), 1);
    // Detached from the future's waker and destroyed, the future with it.
    assert_eq!(log.dropped(), 1);
    assert!(tx.send(5).is_err(), "the receiver went with the loser");
    assert_eq!(log.count("ran on"), 0, "{:?}", log.events());
    log.assert_each_dropped_once();
}

#[coro::coroutine]
fn hops(pool: Arc<ThreadPool>, log: Log, c: Counted) -> SendTask<u32> {
    co_await!(pool.schedule());
    log.push("ran on");
    drop(c);
    co_return!(3)
}

#[coro::coroutine]
fn awaits_hop(pool: Arc<ThreadPool>, log: Log, c: Counted) -> Task<u32> {
    co_return!(co_await!(hops(pool, log, c)))
}

#[coro::coroutine]
fn blocks(pool: Arc<ThreadPool>, release: Receiver<()>) -> SendTask<()> {
    co_await!(pool.schedule());
    release.recv().unwrap();
    co_return!(())
}

#[test]
fn a_task_dropped_while_its_send_task_is_queued_on_a_pool_has_it_destroyed_there() {
    let log = Log::new();
    let pool = Arc::new(ThreadPool::new(1));
    // Keep the one worker busy, so that the hop below stays queued.
    let (release_tx, release_rx) = channel();
    let mut blocker = Box::pin(blocks(pool.clone(), release_rx).into_future());
    assert!(!poll_once(blocker.as_mut()));
    let mut fut = Box::pin(awaits_hop(pool.clone(), log.clone(), log.counted("hopper")).into_future());
    assert!(!poll_once(fut.as_mut()));
    drop(fut); // detaches the queued `SendTask`
    release_tx.send(()).unwrap();
    // The worker takes the hop: the resumption destroys it.
    eventually("the queued task is destroyed on the worker", || log.dropped() == 1);
    assert_eq!(log.count("ran on"), 0, "{:?}", log.events());
    drop(blocker);
    log.assert_each_dropped_once();
    assert_eq!(pool.panics(), 0);
}

// ---------------------------------------------------------------------------
// Channel: receiver granted a value, sender whose value was taken
// ---------------------------------------------------------------------------

#[coro::coroutine]
fn receives(ch: Arc<Channel<Counted>>, log: Log, c: Counted) -> SendTask<u32> {
    let v = co_await!(ch.recv());
    log.push("received");
    drop((v, c));
    co_return!(2)
}

#[coro::coroutine]
fn receives_one(ch: Arc<Channel<Counted>>) -> SendTask<Option<String>> {
    let v = co_await!(ch.recv());
    co_return!(v.map(|c| c.name().to_string()))
}

#[test]
fn a_cancelled_receiver_withdraws_so_a_value_sent_later_stays_in_the_channel() {
    let log = Log::new();
    let ch = Arc::new(Channel::new(1));
    assert_eq!(sync_wait(race(receives(ch.clone(), log.clone(), log.counted("loser")))), 1);
    assert_eq!(log.dropped(), 1, "the loser was destroyed at once");
    ch.try_send(log.counted("value")).unwrap(); // buffered: no receiver waits
    assert_eq!(log.count("received"), 0, "{:?}", log.events());
    // The value went back into the channel: the next receiver gets it.
    assert_eq!(sync_wait(receives_one(ch.clone())).as_deref(), Some("value"));
    assert_eq!(log.dropped(), 2);
    log.assert_each_dropped_once();
}

#[coro::coroutine]
fn sends(ch: Arc<Channel<Counted>>, log: Log, v: Counted) -> SendTask<u32> {
    let r = co_await!(ch.send(v));
    log.push("sent");
    assert!(r.is_ok());
    co_return!(2)
}

#[test]
fn a_cancelled_sender_withdraws_its_value_and_drops_it_once() {
    let log = Log::new();
    let ch = Arc::new(Channel::new(0));
    assert_eq!(sync_wait(race(sends(ch.clone(), log.clone(), log.counted("value")))), 1);
    // Withdrawn with its sender: dropped with the sender's frame.
    assert_eq!(log.dropped(), 1);
    assert!(ch.try_recv().is_err(), "no sender waits any more");
    assert_eq!(log.count("sent"), 0, "{:?}", log.events());
    log.assert_each_dropped_once();
}

#[test]
fn a_detached_sender_released_by_a_closed_channel_drops_its_value_once() {
    let log = Log::new();
    let ch = Arc::new(Channel::new(0));
    assert_eq!(sync_wait(race(sends(ch.clone(), log.clone(), log.counted("value")))), 1);
    ch.close();
    assert_eq!(log.count("sent"), 0, "{:?}", log.events());
    assert_eq!(log.dropped(), 1);
    log.assert_each_dropped_once();
}

// ---------------------------------------------------------------------------
// Semaphore
// ---------------------------------------------------------------------------

#[coro::coroutine]
fn acquires(s: Arc<Semaphore>, log: Log, c: Counted) -> SendTask<u32> {
    let p = co_await!(s.acquire());
    log.push("acquired");
    drop((p, c));
    co_return!(2)
}

#[test]
fn a_detached_waiter_granted_a_permit_releases_it() {
    let log = Log::new();
    let s = Arc::new(Semaphore::new(0));
    assert_eq!(sync_wait(race(acquires(s.clone(), log.clone(), log.counted("loser")))), 1);
    s.release(1);
    assert_eq!(log.count("acquired"), 0, "{:?}", log.events());
    assert_eq!(s.available_permits(), 1, "the permit was handed back");
    assert!(s.try_acquire().is_some());
    log.assert_each_dropped_once();
}

// ---------------------------------------------------------------------------
// Cancellation token (a wrapping awaiter over an event wait)
// ---------------------------------------------------------------------------

#[coro::coroutine]
fn waits_cancel(src: Arc<CancellationSource>, log: Log, c: Counted) -> SendTask<u32> {
    let t = src.token();
    co_await!(t.cancelled());
    log.push("ran on");
    drop(c);
    co_return!(2)
}

#[test]
fn a_detached_task_waiting_for_cancellation_is_destroyed_by_the_request() {
    let log = Log::new();
    let src = Arc::new(CancellationSource::new());
    assert_eq!(sync_wait(race(waits_cancel(src.clone(), log.clone(), log.counted("loser")))), 1);
    src.request_cancellation();
    assert_eq!(log.count("ran on"), 0, "{:?}", log.events());
    assert_eq!(log.dropped(), 1);
    log.assert_each_dropped_once();
}

// ---------------------------------------------------------------------------
// A child finishing transfers to an orphaned parent
// ---------------------------------------------------------------------------

#[coro::coroutine]
fn child_on_pool(pool: Arc<ThreadPool>, c: Counted, running: Sender<()>, release: Receiver<()>) -> SendTask<u32> {
    co_await!(pool.schedule());
    running.send(()).unwrap();
    release.recv().unwrap();
    drop(c);
    co_return!(5)
}

#[coro::coroutine]
fn parent(pool: Arc<ThreadPool>, log: Log, running: Sender<()>, release: Receiver<()>) -> SendTask<u32> {
    let c = log.counted("parent");
    let v = co_await!(child_on_pool(pool, log.counted("child"), running, release));
    log.push("parent ran on");
    drop(c);
    co_return!(v)
}

#[test]
fn a_child_finishing_into_an_orphaned_parent_frees_both() {
    let log = Log::new();
    let pool = Arc::new(ThreadPool::new(2));
    let (running_tx, running_rx) = channel();
    let (release_tx, release_rx) = channel();
    let mut fut = Box::pin(parent(pool.clone(), log.clone(), running_tx, release_rx).into_future());
    assert!(!poll_once(fut.as_mut()));
    running_rx.recv().unwrap();
    drop(fut); // the parent is orphaned, suspended on its child
    release_tx.send(()).unwrap();
    eventually("both frames freed", || log.dropped() == 2);
    assert_eq!(log.count("parent ran on"), 0, "{:?}", log.events());
    log.assert_each_dropped_once();
    assert_eq!(pool.panics(), 0);
}

#[coro::coroutine]
fn parent_all(pool: Arc<ThreadPool>, log: Log, running: Sender<()>, release: Receiver<()>) -> SendTask<u32> {
    let c = log.counted("parent");
    let (a, b) = co_await!(when_all((child_on_pool(pool.clone(), log.counted("child"), running, release), quick())));
    log.push("parent ran on");
    drop(c);
    co_return!(a + b)
}

#[test]
fn when_all_finishing_into_an_orphaned_parent_frees_everything() {
    let log = Log::new();
    let pool = Arc::new(ThreadPool::new(2));
    let (running_tx, running_rx) = channel();
    let (release_tx, release_rx) = channel();
    let mut fut = Box::pin(parent_all(pool.clone(), log.clone(), running_tx, release_rx).into_future());
    assert!(!poll_once(fut.as_mut()));
    running_rx.recv().unwrap();
    drop(fut);
    release_tx.send(()).unwrap();
    eventually("both frames freed", || log.dropped() == 2);
    assert_eq!(log.count("parent ran on"), 0, "{:?}", log.events());
    log.assert_each_dropped_once();
    assert_eq!(pool.panics(), 0);
}

#[coro::coroutine]
fn parent_any(pool: Arc<ThreadPool>, log: Log, running: Sender<()>, release: Receiver<()>) -> SendTask<u32> {
    let c = log.counted("parent");
    let (_, v) = co_await!(when_any(vec![child_on_pool(pool.clone(), log.counted("child"), running, release)]));
    log.push("parent ran on");
    drop(c);
    co_return!(v)
}

#[test]
fn when_any_finishing_into_an_orphaned_parent_frees_everything() {
    let log = Log::new();
    let pool = Arc::new(ThreadPool::new(2));
    let (running_tx, running_rx) = channel();
    let (release_tx, release_rx) = channel();
    let mut fut = Box::pin(parent_any(pool.clone(), log.clone(), running_tx, release_rx).into_future());
    assert!(!poll_once(fut.as_mut()));
    running_rx.recv().unwrap();
    drop(fut);
    release_tx.send(()).unwrap();
    eventually("both frames freed", || log.dropped() == 2);
    assert_eq!(log.count("parent ran on"), 0, "{:?}", log.events());
    log.assert_each_dropped_once();
    assert_eq!(pool.panics(), 0);
}

// ---------------------------------------------------------------------------
// SendSharedTask waiters
// ---------------------------------------------------------------------------

#[coro::coroutine]
fn shared_source(ev: Arc<Event>) -> SendTask<u32> {
    co_await!(ev.wait());
    co_return!(9)
}

#[coro::coroutine]
fn awaits_shared(s: SendSharedTask<u32>, log: Log, c: Counted) -> SendTask<u32> {
    let v = co_await!(s);
    log.push("ran on");
    drop(c);
    co_return!(v)
}

#[coro::coroutine]
fn awaits_shared_too(s: SendSharedTask<u32>) -> SendTask<u32> {
    co_return!(co_await!(s))
}

#[test]
fn a_detached_waiter_of_a_shared_task_is_destroyed_when_it_finishes() {
    let log = Log::new();
    let ev = Arc::new(Event::new());
    let s = shared_source(ev.clone()).shared();
    let mut other = Box::pin(awaits_shared_too(s.clone()).into_future());
    assert_eq!(sync_wait(race(awaits_shared(s.clone(), log.clone(), log.counted("loser")))), 1);
    assert!(!poll_once(other.as_mut()));
    ev.set();
    assert_eq!(log.count("ran on"), 0, "{:?}", log.events());
    assert_eq!(log.dropped(), 1);
    assert!(poll_once(other.as_mut()));
    assert_eq!(sync_wait(awaits_shared_too(s)), 9);
    log.assert_each_dropped_once();
}

// ---------------------------------------------------------------------------
// A future woken into a pool worker's driver queue
// ---------------------------------------------------------------------------

#[coro::coroutine]
fn awaits_future_on_pool(
    pool: Arc<ThreadPool>,
    rx: futures::channel::oneshot::Receiver<u32>,
    log: Log,
    c: Counted,
    running: Sender<()>,
) -> SendTask<u32> {
    co_await!(pool.schedule());
    running.send(()).unwrap();
    let v = co_await!(rx).unwrap_or(0);
    log.push("ran on");
    drop(c);
    co_return!(v)
}

#[test]
fn a_task_on_a_pool_whose_owner_goes_away_around_its_future_wait_is_destroyed_once() {
    let log = Log::new();
    let pool = Arc::new(ThreadPool::new(2));
    let (tx, rx) = futures::channel::oneshot::channel();
    let (running_tx, running_rx) = channel();
    let mut fut =
        Box::pin(awaits_future_on_pool(pool.clone(), rx, log.clone(), log.counted("loser"), running_tx).into_future());
    assert!(!poll_once(fut.as_mut()));
    running_rx.recv().unwrap();
    // Suspended on the future (destroyed here, withdrawn from the waker)
    // or about to (it cancels itself as it suspends, on the worker).
    std::thread::sleep(std::time::Duration::from_millis(20));
    drop(fut);
    let _ = tx.send(3); // fails once the receiver is gone
    eventually("destroyed", || log.dropped() == 1);
    assert_eq!(log.count("ran on"), 0, "{:?}", log.events());
    log.assert_each_dropped_once();
    assert_eq!(pool.panics(), 0);
}

// ---------------------------------------------------------------------------
// A when_any child given up before its first resume
// ---------------------------------------------------------------------------

#[coro::coroutine]
fn never_first(log: Log, c: Counted) -> SendTask<u32> {
    log.push("started");
    drop(c);
    co_return!(7)
}

#[coro::coroutine]
fn race_first(log: Log) -> Task<u32> {
    let (i, v) = co_await!(when_any(vec![quick(), never_first(log.clone(), log.counted("second"))]));
    assert_eq!(i, 0);
    co_return!(v)
}

#[test]
fn a_when_any_child_given_up_before_its_first_resume_is_dropped_once() {
    let log = Log::new();
    assert_eq!(sync_wait(race_first(log.clone())), 1);
    assert_eq!(log.dropped(), 1);
    log.assert_each_dropped_once();
}

// ---------------------------------------------------------------------------
// Stress: owners go away while each kind of resumer resumes
// ---------------------------------------------------------------------------

#[coro::coroutine]
fn locks_on_pool(pool: Arc<ThreadPool>, m: Arc<Mutex<u32>>, c: Counted) -> SendTask<u32> {
    co_await!(pool.schedule());
    let mut g = co_await!(m.lock());
    *g += 1;
    co_await!(pool.schedule());
    drop(c);
    co_return!(*g)
}

#[coro::coroutine]
fn acquires_on_pool(pool: Arc<ThreadPool>, s: Arc<Semaphore>, c: Counted) -> SendTask<u32> {
    co_await!(pool.schedule());
    let p = co_await!(s.acquire());
    co_await!(pool.schedule());
    drop((p, c));
    co_return!(1)
}

#[coro::coroutine]
fn recv_on_pool(pool: Arc<ThreadPool>, ch: Arc<Channel<Counted>>, c: Counted) -> SendTask<u32> {
    co_await!(pool.schedule());
    let v = co_await!(ch.recv());
    co_await!(pool.schedule());
    drop((v, c));
    co_return!(1)
}

#[coro::coroutine]
fn future_on_pool(pool: Arc<ThreadPool>, rx: futures::channel::oneshot::Receiver<u32>, c: Counted) -> SendTask<u32> {
    co_await!(pool.schedule());
    let v = co_await!(rx).unwrap_or(0);
    co_await!(pool.schedule());
    drop(c);
    co_return!(v)
}

#[test]
fn owners_going_away_while_every_kind_of_resumer_resumes_leave_nothing_behind() {
    let log = Log::new();
    let pool = Arc::new(ThreadPool::new(2));
    let m = Arc::new(Mutex::new(0u32));
    let s = Arc::new(Semaphore::new(0));
    let ch: Arc<Channel<Counted>> = Arc::new(Channel::new(0));
    let start = std::time::Instant::now();
    let mut i = 0usize;
    while start.elapsed() < std::time::Duration::from_millis(1500) && i < 300 {
        i += 1;
        let held = m.try_lock();
        let (tx, rx) = futures::channel::oneshot::channel();
        let mut futs: Vec<std::pin::Pin<Box<dyn Future<Output = u32> + Send>>> = vec![
            Box::pin(locks_on_pool(pool.clone(), m.clone(), log.counted("m")).into_future()),
            Box::pin(acquires_on_pool(pool.clone(), s.clone(), log.counted("s")).into_future()),
            Box::pin(recv_on_pool(pool.clone(), ch.clone(), log.counted("c")).into_future()),
            Box::pin(future_on_pool(pool.clone(), rx, log.counted("f")).into_future()),
        ];
        for f in &mut futs {
            let _ = poll_once(f.as_mut());
        }
        if i % 3 == 0 {
            std::thread::yield_now();
        }
        // Release every resource from another thread while the owners go.
        let (m2, s2, ch2, v) = (m.clone(), s.clone(), ch.clone(), log.counted("v"));
        std::thread::scope(|sc| {
            let releaser = sc.spawn(move || {
                drop(held);
                s2.release(1);
                let _ = tx.send(1);
                // The receiver may not be registered yet: retry until it takes it.
                let mut v = v;
                let until = std::time::Instant::now() + std::time::Duration::from_millis(50);
                loop {
                    match ch2.try_send(v) {
                        Ok(()) => break,
                        Err(e) => {
                            v = e.into_inner();
                            if std::time::Instant::now() > until {
                                break;
                            }
                            std::thread::yield_now();
                        }
                    }
                }
                drop(m2);
            });
            if i % 2 == 0 {
                drop(futs);
                releaser.join().unwrap();
            } else {
                releaser.join().unwrap();
                drop(futs);
            }
        });
        // A value handed back into the channel by a destroyed receiver.
        std::thread::sleep(std::time::Duration::from_millis(1));
        eventually("the channel settles", || {
            while let Ok(v) = ch.try_recv() {
                drop(v);
            }
            log.dropped() == 5 * i
        });
        // Every resource is eventually free again: 4 task counters + value.
        let want = 5 * i;
        eventually("everything of this round dropped", || log.dropped() == want);
        eventually("the lock handed on", || !m.is_locked());
        eventually("the permit handed back", || s.available_permits() == 1);
        if let Some(p) = s.try_acquire() {
            p.forget();
        }
    }
    assert_eq!(pool.panics(), 0);
    log.assert_each_dropped_once();
}

// ---------------------------------------------------------------------------
// A local whose drop panics, dropped by the abandoning resumer
// ---------------------------------------------------------------------------

struct PanicsOnDrop(#[allow(dead_code)] Counted);
impl Drop for PanicsOnDrop {
    fn drop(&mut self) {
        panic!("[planned] a detached task's local panicked in its drop");
    }
}

#[coro::coroutine]
fn waits_with_bomb(ev: Arc<Event>, log: Log, c: Counted) -> SendTask<u32> {
    let bomb = PanicsOnDrop(c);
    co_await!(ev.wait());
    log.push("ran on");
    std::mem::forget(bomb);
    co_return!(2)
}

#[test]
fn a_panic_destroying_a_detached_task_does_not_reach_the_releasing_thread() {
    common::quiet_planned_panics();
    let log = Log::new();
    let ev = Arc::new(Event::new());
    assert_eq!(sync_wait(race(waits_with_bomb(ev.clone(), log.clone(), log.counted("loser")))), 1);
    // Setting an event is not where a detached task's panic belongs: a
    // detached task's panics are dropped with it (`SendTask`, "Dropping").
    let set = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| ev.set()));
    assert!(set.is_ok(), "Event::set panicked with the detached task's drop panic");
    assert_eq!(log.dropped(), 1);
    log.assert_each_dropped_once();
}

#[coro::coroutine]
fn future_with_bomb(rx: futures::channel::oneshot::Receiver<u32>, log: Log, c: Counted) -> SendTask<u32> {
    let bomb = PanicsOnDrop(c);
    let v = co_await!(rx).unwrap_or(0);
    log.push("ran on");
    std::mem::forget(bomb);
    co_return!(v)
}

#[test]
fn a_panic_destroying_a_detached_task_does_not_reach_a_wakers_caller() {
    common::quiet_planned_panics();
    let log = Log::new();
    let (tx, rx) = futures::channel::oneshot::channel();
    // Resumed by hand, outside any driver: the waker resumes it itself.
    let mut t = Box::pin(race_by_hand(future_with_bomb(rx, log.clone(), log.counted("loser"))).into_future());
    assert!(poll_once(t.as_mut()));
    let sent = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| tx.send(4)));
    assert!(sent.is_ok(), "the future's sender panicked with the detached task's drop panic");
    eventually("destroyed", || log.dropped() == 1);
    log.assert_each_dropped_once();
}

#[coro::coroutine]
fn race_by_hand(loser: SendTask<u32>) -> SendTask<u32> {
    let (_, v) = co_await!(when_any(vec![loser, quick()]));
    co_return!(v)
}

// ---------------------------------------------------------------------------
// A task future dropped with its task's wake-up still in its own queue
// ---------------------------------------------------------------------------

#[coro::coroutine]
fn awaits_future(rx: futures::channel::oneshot::Receiver<u32>, log: Log, c: Counted) -> SendTask<u32> {
    let v = co_await!(rx).unwrap_or(0);
    log.push("ran on");
    drop(c);
    co_return!(v)
}

#[test]
fn a_task_future_dropped_with_its_wake_up_queued_destroys_the_task_in_its_drop() {
    let log = Log::new();
    let (tx, rx) = futures::channel::oneshot::channel();
    let mut fut = Box::pin(awaits_future(rx, log.clone(), log.counted("task")).into_future());
    assert!(!poll_once(fut.as_mut()));
    // Woken on another thread: queued on the future's own driver queue.
    std::thread::spawn(move || tx.send(8).unwrap()).join().unwrap();
    drop(fut); // detached, then the queued wake-up runs it: destroyed
    assert_eq!(log.count("ran on"), 0, "{:?}", log.events());
    assert_eq!(log.dropped(), 1);
    log.assert_each_dropped_once();
}

// ---------------------------------------------------------------------------
// Stress: when_any children given up around their first resume
// ---------------------------------------------------------------------------

#[coro::coroutine]
fn hop_and_win(pool: Arc<ThreadPool>) -> SendTask<u32> {
    co_await!(pool.schedule());
    co_return!(0)
}

#[coro::coroutine]
fn slow_child(pool: Arc<ThreadPool>, log: Log, c: Counted) -> SendTask<u32> {
    log.push("child started");
    co_await!(pool.schedule());
    drop(c);
    co_return!(1)
}

#[coro::coroutine]
fn races_on_pool(pool: Arc<ThreadPool>, log: Log, n: usize) -> SendTask<u32> {
    let mut children = vec![hop_and_win(pool.clone())];
    for i in 0..n {
        children.push(slow_child(pool.clone(), log.clone(), log.counted(format!("child {i}"))));
    }
    let (_, v) = co_await!(when_any(children));
    co_return!(v)
}

#[test]
fn when_any_losers_given_up_around_their_first_resume_are_each_dropped_once() {
    let log = Log::new();
    let pool = Arc::new(ThreadPool::new(2));
    let start = std::time::Instant::now();
    let mut made = 0;
    let mut rounds = 0;
    while start.elapsed() < std::time::Duration::from_millis(1000) && rounds < 400 {
        rounds += 1;
        made += 8;
        let mut fut = Box::pin(races_on_pool(pool.clone(), log.clone(), 8).into_future());
        if rounds % 2 == 0 {
            // Run to completion on this thread.
            let _ = futures::executor::block_on(fut);
        } else {
            let _ = poll_once(fut.as_mut());
            drop(fut);
        }
        eventually("every child of the round dropped", || log.dropped() == made);
    }
    assert_eq!(pool.panics(), 0);
    log.assert_each_dropped_once();
}

// ---------------------------------------------------------------------------
// Long chains of detached waiters: the grant is handed along all of them
// ---------------------------------------------------------------------------

#[coro::coroutine]
fn locks_detached(m: Arc<Mutex<u32>>, log: Log, c: Counted) -> SendTask<u32> {
    let mut g = co_await!(m.lock());
    log.push("locked");
    *g += 1;
    drop(c);
    co_return!(2)
}

#[test]
fn a_lock_handed_along_many_detached_waiters_ends_free() {
    let log = Log::new();
    let m = Arc::new(Mutex::new(0));
    let held = m.try_lock().unwrap();
    for i in 0..300 {
        assert_eq!(sync_wait(race(locks_detached(m.clone(), log.clone(), log.counted(format!("w{i}"))))), 1);
    }
    // Handed to each detached waiter in turn, each destroyed instead of
    // resumed (nested hand-ons, bounded by the ready queue's nesting).
    std::thread::scope(|sc| sc.spawn(move || drop(held)).join().unwrap());
    assert_eq!(log.dropped(), 300);
    assert_eq!(log.count("locked"), 0);
    assert!(!m.is_locked());
    assert_eq!(*m.try_lock().unwrap(), 0);
    log.assert_each_dropped_once();
}

#[test]
fn many_cancelled_receivers_leave_a_value_sent_later_in_the_channel() {
    let log = Log::new();
    let ch = Arc::new(Channel::new(1));
    for i in 0..300 {
        assert_eq!(sync_wait(race(receives(ch.clone(), log.clone(), log.counted(format!("r{i}"))))), 1);
        assert_eq!(log.dropped(), i + 1, "each loser is destroyed at once");
    }
    let ch2 = ch.clone();
    let v = log.counted("value");
    std::thread::spawn(move || ch2.try_send(v).map_err(|_| ()).unwrap()).join().unwrap();
    assert_eq!(log.dropped(), 300);
    assert_eq!(log.count("received"), 0);
    assert_eq!(ch.try_recv().expect("the value is still there").name(), "value");
    log.assert_each_dropped_once();
}

#[test]
fn permits_handed_along_many_detached_waiters_come_back() {
    let log = Log::new();
    let s = Arc::new(Semaphore::new(0));
    for i in 0..300 {
        assert_eq!(sync_wait(race(acquires(s.clone(), log.clone(), log.counted(format!("a{i}"))))), 1);
    }
    let s2 = s.clone();
    std::thread::spawn(move || s2.release(3)).join().unwrap();
    assert_eq!(log.dropped(), 300);
    assert_eq!(s.available_permits(), 3);
    log.assert_each_dropped_once();
}
