//! Regression tests from the soundness review of the future interop, the
//! wake-up queue and the thread-safe hand-offs: each one failed (or hung)
//! before its fix.

mod common;

use std::future::{Future, IntoFuture};
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::thread::{self, ThreadId};

use common::{panic_message, WakeCount};
use coro::sync::Event;
use coro::{
    co_await, co_return, promise::AwaitDirect, promise::Payload, promise::ReturnVoid, promise::ReturnsVoid, Promise,
    SuspendNever, Task,
};
use futures::channel::oneshot;
use futures::executor::LocalPool;
use futures::task::LocalSpawnExt;

// ---------------------------------------------------------------------------
// A promise written in safe code, that says nothing about threads.
// ---------------------------------------------------------------------------

/// Eager, frees its own frame at the end, returns nothing: no `unsafe` at
/// all is needed to write or use it. A panic escaping the body is counted
/// (in `PANICS`, on the thread that ran it).
#[derive(Default)]
struct Fire;

impl Promise for Fire {
    type ReturnObject = ();
    type InitialSuspend = SuspendNever;
    type FinalSuspend = SuspendNever;
    type Return = ReturnsVoid;
    type Await = AwaitDirect;
    unsafe fn get_return_object(&mut self) {}
    fn initial_suspend(&mut self) -> SuspendNever {
        SuspendNever
    }
    fn final_suspend(&mut self) -> SuspendNever {
        SuspendNever
    }
    fn unhandled_exception(&mut self, _: Payload) {
        PANICS.with(|p| p.set(p.get() + 1));
    }
}

thread_local! {
    static PANICS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

impl ReturnVoid for Fire {
    fn return_void(&mut self) {}
}

type Seen = Arc<Mutex<Option<ThreadId>>>;

/// Holds an `Rc` across the `co_await!`: its frame is not `Send`.
#[coro::coroutine(promise = Fire)]
fn rc_across_future(rx: oneshot::Receiver<u32>, seen: Seen) -> () {
    let local = Rc::new(1);
    let _ = co_await!(rx);
    *seen.lock().unwrap() = Some(thread::current().id());
    drop(local);
}

#[coro::coroutine(promise = Fire)]
fn rc_across_event(ev: Arc<Event>, seen: Seen) -> () {
    let local = Rc::new(1);
    co_await!(ev.wait());
    *seen.lock().unwrap() = Some(thread::current().id());
    drop(local);
}

/// A coroutine whose frame is not `Send` (written with a promise that does
/// not mention threads) must not be resumed by a future's waker firing on
/// another thread: that would use its `Rc` there (a data race from safe
/// code). It goes home, like a `Task`.
#[test]
fn a_non_send_frame_of_a_custom_promise_is_not_resumed_by_a_foreign_waker() {
    let seen = Seen::default();
    let (tx, rx) = oneshot::channel();
    rc_across_future(rx, seen.clone());
    thread::spawn(move || tx.send(1).unwrap()).join().unwrap();
    assert_eq!(*seen.lock().unwrap(), None, "resumed on the sender's thread");
    assert_eq!(coro::resume_woken(), 1);
    assert_eq!(*seen.lock().unwrap(), Some(thread::current().id()));
}

/// The same with a thread-safe `coro::sync` primitive released by another
/// thread.
#[test]
fn a_non_send_frame_of_a_custom_promise_is_not_resumed_by_a_foreign_release() {
    let seen = Seen::default();
    let ev = Arc::new(Event::new());
    rc_across_event(ev.clone(), seen.clone());
    thread::spawn(move || ev.set()).join().unwrap();
    assert_eq!(*seen.lock().unwrap(), None, "resumed on the releasing thread");
    assert_eq!(coro::resume_woken(), 1);
    assert_eq!(*seen.lock().unwrap(), Some(thread::current().id()));
}

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
// A thread-bound coroutine hopping onto a thread pool
// ---------------------------------------------------------------------------

#[coro::coroutine]
fn hop_to_pool(pool: Arc<coro::ThreadPool>) -> Task<u32> {
    co_await!(pool.schedule());
    co_return!(1)
}

/// `co_await!(pool.schedule())` in a `Task` is refused with a clear panic
/// at the `co_await!`, on the task's own thread: before, the worker's
/// resume panicked (the task's home check), the task stayed suspended and
/// `sync_wait` hung.
#[test]
fn a_task_awaiting_a_thread_pool_schedule_panics_at_once_instead_of_hanging() {
    let (tx, rx) = std::sync::mpsc::channel();
    thread::spawn(move || {
        let pool = Arc::new(coro::ThreadPool::new(1));
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| coro::sync_wait(hop_to_pool(pool.clone()))));
        let msg = r.err().map(|p| panic_message(&*p));
        let _ = tx.send((msg, pool.panics()));
    });
    let (msg, worker_panics) =
        rx.recv_timeout(std::time::Duration::from_secs(30)).expect("sync_wait hung: the task was never resumed");
    let msg = msg.expect("the co_await! should have panicked");
    assert!(msg.contains("thread-bound"), "{msg}");
    assert_eq!(worker_panics, 0);
}

#[coro::coroutine(promise = Fire)]
fn rc_onto_pool(pool: Arc<coro::ThreadPool>, seen: Seen) -> () {
    let local = Rc::new(1);
    co_await!(pool.schedule());
    *seen.lock().unwrap() = Some(thread::current().id());
    drop(local);
}

/// The same for a coroutine of a promise that says nothing about threads
/// (so it is thread-bound): it must never run on a worker with its `Rc`.
#[test]
fn a_non_send_frame_of_a_custom_promise_never_runs_on_a_pool_worker() {
    let pool = Arc::new(coro::ThreadPool::new(1));
    let seen = Seen::default();
    rc_onto_pool(pool.clone(), seen.clone());
    drop(pool); // joins the worker
    assert_eq!(PANICS.with(|p| p.get()), 1, "the co_await! should have panicked, here");
    assert_eq!(*seen.lock().unwrap(), None, "resumed on a pool worker");
}
