//! A thread-bound coroutine (a `Task`, or a coroutine of a promise that says
//! nothing about threads, whose frame need not be `Send`) is only ever
//! resumed on its own thread: a future's waker or a `coro::sync` release
//! firing on another thread queues it home, and `co_await!(pool.schedule())`
//! is refused with a panic at the `co_await!`, on its own thread.

mod common;

use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::thread::{self, ThreadId};

use common::panic_message;
use coro::promise::{AwaitDirect, Payload, ReturnVoid, ReturnsVoid};
use coro::sync::Event;
use coro::{co_await, co_return, Promise, SuspendNever, Task};
use futures::channel::oneshot;

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
// A thread-bound coroutine hopping onto a thread pool
// ---------------------------------------------------------------------------

#[coro::coroutine]
fn hop_to_pool(pool: Arc<coro::ThreadPool>) -> Task<u32> {
    co_await!(pool.schedule());
    co_return!(1)
}

/// `co_await!(pool.schedule())` in a `Task` is refused with a clear panic
/// at the `co_await!`, on the task's own thread: no worker resumes the task
/// (its home check would panic there and leave it suspended), and
/// `sync_wait` returns with the panic instead of waiting forever.
#[test]
fn a_task_awaiting_a_thread_pool_schedule_panics_at_the_co_await_on_its_own_thread() {
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
