//! The multi-threaded runtime: placement, hops, cross-thread join handles,
//! cancellation from another thread, Send timers, and what a dropped
//! runtime frees. Every wait is bounded (`wait_until`: 10 s).

use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex as StdMutex};
use std::thread::{self, ThreadId};
use std::time::{Duration, Instant};

use coro::schedule::spawn_detached;
use coro::sync::{Event, Mutex};
use coro::{co_await, co_return, sync_wait, SendTask, Task};
use coro_io::{sleep, spawn_local, JoinHandle, LoopHandle, Runtime};

/// Waits (bounded) for `done`, polling.
fn wait_until(what: &str, done: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        thread::sleep(Duration::from_millis(1));
    }
}

/// A `Send` local that records each drop and the thread it ran on.
struct Probe {
    drops: Arc<StdMutex<Vec<ThreadId>>>,
}

impl Drop for Probe {
    fn drop(&mut self) {
        self.drops.lock().unwrap().push(thread::current().id());
    }
}

fn probe() -> (Probe, Arc<StdMutex<Vec<ThreadId>>>) {
    let drops = Arc::new(StdMutex::new(Vec::new()));
    (Probe { drops: drops.clone() }, drops)
}

#[coro::coroutine]
fn thread_of() -> SendTask<ThreadId> {
    co_return!(thread::current().id())
}

/// The thread of each of the runtime's loops.
fn loop_threads(rt: &Runtime) -> Vec<ThreadId> {
    rt.loops().iter().map(|lp| sync_wait(lp.spawn(thread_of()))).collect()
}

#[test]
fn spawned_tasks_go_round_robin_to_different_loop_threads() {
    let rt = Runtime::new(2).unwrap();
    let handles: Vec<_> = (0..4).map(|_| rt.spawn(thread_of())).collect();
    let ids: Vec<ThreadId> = handles.into_iter().map(sync_wait).collect();
    assert_ne!(ids[0], ids[1]);
    assert_eq!((ids[0], ids[1]), (ids[2], ids[3]));
    assert!(!ids.contains(&thread::current().id()));
    assert_eq!(loop_threads(&rt), ids[..2]);
}

#[coro::coroutine]
fn hop(to: LoopHandle) -> SendTask<(ThreadId, usize)> {
    co_await!(to.schedule());
    co_return!((thread::current().id(), LoopHandle::current().index()))
}

#[test]
fn a_schedule_hop_continues_on_the_named_loops_thread() {
    let rt = Runtime::new(2).unwrap();
    let threads = loop_threads(&rt);
    for i in [1, 0, 1] {
        // From the caller's thread (block_on's loop) and from loop 0.
        assert_eq!(rt.block_on(hop(rt.handle(i).clone())), (threads[i], i));
        assert_eq!(sync_wait(rt.handle(0).spawn(hop(rt.handle(i).clone()))), (threads[i], i));
    }
}

#[coro::coroutine]
fn hop_from_a_task(to: LoopHandle) -> Task<()> {
    co_await!(to.schedule());
    co_return!(())
}

#[test]
fn a_thread_bound_task_hopping_to_another_loop_panics_at_its_co_await() {
    let rt = Runtime::new(1).unwrap();
    let err = catch_unwind(AssertUnwindSafe(|| rt.block_on(hop_from_a_task(rt.handle(0).clone())))).unwrap_err();
    let msg = err.downcast_ref::<String>().unwrap();
    assert!(msg.contains("thread-bound"), "{msg}");
    // The loop was not disturbed.
    assert_eq!(sync_wait(rt.spawn(thread_of())), loop_threads(&rt)[0]);
}

#[coro::coroutine]
fn hold(m: Arc<Mutex<u32>>, locked: mpsc::Sender<()>) -> SendTask<()> {
    let mut g = co_await!(m.lock());
    locked.send(()).unwrap();
    // Long enough for loop A to block in poll (it has nothing else to do).
    co_await!(sleep(Duration::from_millis(50)));
    *g += 1;
    drop(g);
    co_return!(())
}

#[coro::coroutine]
fn wait_for_lock(m: Arc<Mutex<u32>>, net_fired: Rc<Cell<bool>>) -> Task<(u32, ThreadId, bool)> {
    let g = co_await!(m.lock());
    co_return!((*g, thread::current().id(), net_fired.get()))
}

#[coro::coroutine]
fn safety_net(fired: Rc<Cell<bool>>) -> Task<()> {
    co_await!(sleep(Duration::from_secs(60)));
    fired.set(true);
    co_return!(())
}

/// On loop A: a thread-bound `Task`, spawned there, that waits for the lock.
#[coro::coroutine]
fn on_loop_a(m: Arc<Mutex<u32>>, locked: mpsc::Receiver<()>) -> SendTask<(u32, ThreadId, ThreadId, bool)> {
    locked.recv().unwrap();
    let (value, on, fired) = co_await!(spawn_local(start_waiter(m)));
    co_return!((value, on, thread::current().id(), fired))
}

/// Made on loop A's thread (inside `spawn_local`'s task), so the `Task`'s
/// `Rc`s never cross a thread.
#[coro::coroutine]
fn start_waiter(m: Arc<Mutex<u32>>) -> Task<(u32, ThreadId, bool)> {
    let fired = Rc::new(Cell::new(false));
    spawn_local(safety_net(fired.clone())).detach();
    co_return!(co_await!(wait_for_lock(m, fired)))
}

#[test]
fn a_task_on_loop_a_blocked_on_a_mutex_a_send_task_on_loop_b_holds_resumes_on_a_when_b_unlocks() {
    let rt = Runtime::new(2).unwrap();
    let m = Arc::new(Mutex::new(0));
    let (tx, rx) = mpsc::channel();
    let b = rt.handle(1).spawn(hold(m.clone(), tx));
    let a = rt.handle(0).spawn(on_loop_a(m.clone(), rx));
    let (value, waiter_thread, loop_a, net_fired) = sync_wait(a);
    sync_wait(b);
    assert_eq!(value, 1);
    assert_eq!(waiter_thread, loop_a, "resumed on its own loop's thread");
    assert_eq!(loop_a, loop_threads(&rt)[0]);
    assert!(!net_fired, "resumed by the unlock, not by the loop's next timer");
}

#[coro::coroutine]
fn slow_square(x: u64) -> SendTask<u64> {
    co_await!(sleep(Duration::from_millis(2)));
    co_return!(x * x)
}

#[coro::coroutine]
fn join_from_loop(h: JoinHandle<u64>) -> SendTask<(u64, ThreadId)> {
    let v = co_await!(h);
    co_return!((v, thread::current().id()))
}

#[test]
fn a_join_handle_is_awaited_from_another_loop_and_resumes_the_awaiter_on_its_own_loop() {
    let rt = Runtime::new(2).unwrap();
    let threads = loop_threads(&rt);
    let task = rt.handle(1).spawn(slow_square(7));
    let (v, on) = sync_wait(rt.handle(0).spawn(join_from_loop(task)));
    assert_eq!((v, on), (49, threads[0]));
}

#[coro::coroutine]
fn join_all_from_a_task(n: u64) -> Task<(u64, ThreadId)> {
    let here = Rc::new(thread::current().id()); // a thread-bound local
    let handles: Vec<_> = (0..n).map(|x| coro_io::spawn(slow_square(x))).collect();
    let mut sum = 0;
    for h in handles {
        sum += co_await!(h);
    }
    co_return!((sum, *here))
}

#[test]
fn join_handles_are_awaited_from_a_task_on_the_block_on_thread() {
    let rt = Runtime::new(2).unwrap();
    let (sum, on) = rt.block_on(join_all_from_a_task(10));
    assert_eq!(sum, (0..10).map(|x| x * x).sum());
    assert_eq!(on, thread::current().id());
}

#[test]
fn a_join_handle_is_block_oned_sync_waited_and_awaited_as_a_future() {
    let rt = Runtime::new(2).unwrap();
    assert_eq!(rt.block_on(rt.spawn(slow_square(3))), 9);
    assert_eq!(sync_wait(rt.spawn(slow_square(4))), 16);
    let h = rt.spawn(slow_square(5));
    assert_eq!(rt.block_on(async move { h.await + 1 }), 26);
    let h = rt.spawn(slow_square(6));
    assert_eq!(futures::executor::block_on(h), 36);
}

#[coro::coroutine]
fn sleep_holding(p: Probe, ran_on: Arc<AtomicUsize>, d: Duration) -> SendTask<()> {
    co_await!(sleep(d));
    ran_on.fetch_add(1, Ordering::SeqCst);
    drop(p);
    co_return!(())
}

#[test]
fn a_join_handle_dropped_on_another_thread_destroys_its_task_on_the_tasks_loop_thread() {
    let rt = Runtime::new(2).unwrap();
    let threads = loop_threads(&rt);
    // A Send future: destroyed as soon as its loop takes the cancellation.
    let (p, drops) = probe();
    let started = Arc::new(AtomicUsize::new(0));
    let s = started.clone();
    let h = rt.handle(1).spawn(async move {
        let _p = p;
        s.fetch_add(1, Ordering::SeqCst);
        std::future::pending::<()>().await
    });
    wait_until("the future to start", || started.load(Ordering::SeqCst) == 1);
    thread::spawn(move || drop(h)).join().unwrap();
    wait_until("the future's drop", || drops.lock().unwrap().len() == 1);
    assert_eq!(*drops.lock().unwrap(), [threads[1]]);

    // A SendTask sleeping far longer than the test's deadlines: destroyed
    // promptly on its loop's thread, without running on. Nothing here
    // depends on how fast the machine is: the sleep cannot end first.
    let (p, drops) = probe();
    let started = Arc::new(AtomicUsize::new(0));
    let ran = Arc::new(AtomicUsize::new(0));
    let h = rt.handle(0).spawn(mark_then_sleep(p, started.clone(), ran.clone(), Duration::from_secs(3600)));
    wait_until("the task to start its sleep", || started.load(Ordering::SeqCst) == 1);
    h.cancel();
    wait_until("the task's drop", || drops.lock().unwrap().len() == 1);
    assert_eq!(*drops.lock().unwrap(), [threads[0]], "dropped once, on its loop's thread");
    assert_eq!(ran.load(Ordering::SeqCst), 0, "cancelled before its sleep ended");
}

#[coro::coroutine]
fn mark_then_sleep(p: Probe, started: Arc<AtomicUsize>, ran: Arc<AtomicUsize>, d: Duration) -> SendTask<()> {
    started.fetch_add(1, Ordering::SeqCst);
    co_await!(sleep(d));
    ran.fetch_add(1, Ordering::SeqCst);
    drop(p);
    co_return!(())
}

#[test]
fn a_detached_task_runs_to_completion() {
    let rt = Runtime::new(2).unwrap();
    let (p, drops) = probe();
    let ran = Arc::new(AtomicUsize::new(0));
    rt.spawn(sleep_holding(p, ran.clone(), Duration::from_millis(1))).detach();
    wait_until("the detached task", || ran.load(Ordering::SeqCst) == 1);
    wait_until("its locals' drop", || drops.lock().unwrap().len() == 1);
}

#[coro::coroutine]
fn boom(detail: &'static str) -> SendTask<u32> {
    co_await!(sleep(Duration::from_millis(1)));
    panic!("boom: {detail}")
}

#[test]
fn a_spawned_tasks_panic_reaches_its_joiner_and_a_detached_ones_is_counted() {
    let rt = Runtime::new(1).unwrap();
    let err = catch_unwind(AssertUnwindSafe(|| sync_wait(rt.spawn(boom("joined"))))).unwrap_err();
    assert_eq!(err.downcast_ref::<String>().unwrap(), "boom: joined");
    rt.spawn(boom("detached")).detach();
    wait_until("the detached panic", || rt.panics() == 1);
    // The loop goes on.
    assert_eq!(sync_wait(rt.spawn(slow_square(2))), 4);
}

#[coro::coroutine]
fn sleeper(at: Instant, id: u64, log: Arc<StdMutex<Vec<u64>>>) -> SendTask<()> {
    co_await!(coro_io::sleep_until(at));
    log.lock().unwrap().push(id);
    co_return!(())
}

#[test]
fn send_tasks_sleeping_on_a_runtime_loop_wake_in_deadline_order() {
    let rt = Runtime::new(2).unwrap();
    for lp in rt.loops() {
        // Deadlines far enough ahead that every task is asleep before the
        // first one is due, even under valgrind.
        let start = Instant::now() + Duration::from_millis(300);
        let log = Arc::new(StdMutex::new(Vec::new()));
        let handles: Vec<_> = [9, 3, 7, 1, 5]
            .iter()
            .map(|&id| lp.spawn(sleeper(start + Duration::from_millis(10 * id), id, log.clone())))
            .collect();
        handles.into_iter().for_each(sync_wait);
        assert_eq!(*log.lock().unwrap(), [1, 3, 5, 7, 9]);
    }
}

#[coro::coroutine]
fn nap_then_future(rx: futures::channel::oneshot::Receiver<u32>) -> SendTask<(u32, ThreadId)> {
    // Resumed by the loop's timer (not by the task's own future), then
    // suspended on a future that another thread completes.
    co_await!(sleep(Duration::from_millis(1)));
    let v = co_await!(rx).unwrap();
    co_return!((v, thread::current().id()))
}

#[test]
fn a_send_task_woken_by_a_future_from_another_thread_resumes_on_its_loop() {
    let rt = Runtime::new(2).unwrap();
    let threads = loop_threads(&rt);
    let (tx, rx) = futures::channel::oneshot::channel();
    let h = rt.handle(1).spawn(nap_then_future(rx));
    thread::sleep(Duration::from_millis(20));
    let sender = thread::spawn(move || tx.send(5).unwrap());
    assert_eq!(sync_wait(h), (5, threads[1]));
    sender.join().unwrap();
}

#[test]
fn a_send_task_spawned_detached_through_the_scheduler_trait_runs_on_the_loop() {
    let rt = Runtime::new(2).unwrap();
    let threads = loop_threads(&rt);
    let log = Arc::new(StdMutex::new(Vec::new()));
    #[coro::coroutine]
    fn record(log: Arc<StdMutex<Vec<ThreadId>>>) -> SendTask<()> {
        log.lock().unwrap().push(thread::current().id());
        co_return!(())
    }
    spawn_detached(record(log.clone()), rt.handle(1));
    wait_until("the detached task", || log.lock().unwrap().len() == 1);
    assert_eq!(*log.lock().unwrap(), [threads[1]]);
}

#[test]
fn coro_io_spawn_outside_a_runtime_panics_with_a_clear_message() {
    let err = catch_unwind(|| coro_io::spawn(thread_of()).detach()).unwrap_err();
    assert!(err.downcast_ref::<&str>().is_some_and(|m| m.contains("belongs to no running coro_io::Runtime")));
}

/// Spawned on a loop: starts a thread-bound `Task` there that holds
/// `probe` and blocks on `event` (nobody sets it), and another that sleeps
/// an hour; both detached.
#[coro::coroutine]
fn park_forever(probes: (Probe, Probe), event: Arc<Event>, parked: mpsc::Sender<()>) -> SendTask<()> {
    let (a, b) = probes;
    spawn_local(blocked_on(a, event)).detach();
    spawn_local(asleep(b)).detach();
    co_await!(coro_io::yield_now()); // both start
    co_await!(coro_io::yield_now());
    parked.send(()).unwrap();
    co_return!(())
}

#[coro::coroutine]
fn blocked_on(p: Probe, event: Arc<Event>) -> Task<()> {
    let _p = p;
    co_await!(event.wait());
    unreachable!("nobody sets the event")
}

#[coro::coroutine]
fn asleep(p: Probe) -> Task<()> {
    let _p = p;
    co_await!(sleep(Duration::from_secs(3600)));
    unreachable!("the runtime is dropped first")
}

#[test]
fn dropping_the_runtime_destroys_the_tasks_still_registered_on_their_own_threads() {
    let rt = Runtime::new(2).unwrap();
    let threads = loop_threads(&rt);
    let event = Arc::new(Event::new());
    let (tx, rx) = mpsc::channel();
    let mut all = Vec::new();
    for lp in rt.loops() {
        let (a, da) = probe();
        let (b, db) = probe();
        lp.spawn(park_forever((a, b), event.clone(), tx.clone())).detach();
        all.push((da, db));
    }
    // Send futures too, pending for ever.
    let (c, dc) = probe();
    rt.handle(1)
        .spawn(async move {
            let _c = c;
            std::future::pending::<()>().await
        })
        .detach();
    for _ in rt.loops() {
        rx.recv_timeout(Duration::from_secs(10)).unwrap();
    }
    drop(rt);
    for (i, (da, db)) in all.iter().enumerate() {
        assert_eq!(*da.lock().unwrap(), [threads[i]], "the task blocked on the event, once, on loop {i}");
        assert_eq!(*db.lock().unwrap(), [threads[i]], "the sleeping task, once, on loop {i}");
    }
    assert_eq!(*dc.lock().unwrap(), [threads[1]]);
    assert_eq!(Arc::strong_count(&event), 1, "every waiter's frame is gone");
}

#[coro::coroutine]
fn send_sleep_holding(p: Probe) -> SendTask<()> {
    let _p = p;
    co_await!(sleep(Duration::from_secs(3600)));
    co_return!(())
}

#[coro::coroutine]
fn send_wait_holding(p: Probe, event: Arc<Event>) -> SendTask<()> {
    let _p = p;
    co_await!(event.wait());
    co_return!(())
}

#[test]
fn dropping_the_runtime_destroys_send_tasks_sleeping_or_blocked_on_its_loops() {
    let rt = Runtime::new(2).unwrap();
    let threads = loop_threads(&rt);
    let event = Arc::new(Event::new());
    let (a, da) = probe();
    let (b, db) = probe();
    rt.handle(0).spawn(send_sleep_holding(a)).detach();
    rt.handle(1).spawn(send_wait_holding(b, event.clone())).detach();
    thread::sleep(Duration::from_millis(20));
    drop(rt);
    assert_eq!(*da.lock().unwrap(), [threads[0]]);
    assert_eq!(*db.lock().unwrap(), [threads[1]]);
    assert_eq!(Arc::strong_count(&event), 1);
}
