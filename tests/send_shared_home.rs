//! A thread-bound coroutine (`Task`) awaiting a `SendSharedTask` that
//! finishes on another thread is not resumed there: it is posted to its own
//! thread's wake-up queue and resumed by `resume_woken` (which `sync_wait`
//! and a `Task` polled as a future call), where it gets its clone of the
//! value, or the panic. `SendTask` awaiters of the same shared task still
//! resume on the finishing thread. Destroyed while posted home, such an
//! awaiter leaves nothing behind and its wake-up does nothing. Drop
//! accounting (every frame and value dropped exactly once) on every path.

mod common;

use std::cell::Cell;
use std::future::{Future, IntoFuture};
use std::rc::Rc;
use std::sync::{Arc, Barrier};
use std::task::{Context, Poll, Waker};
use std::thread::{self, ThreadId};
use std::time::Duration;

use common::{eventually, expect_panic, panic_message, wait_for, Counted, Driven, Log, PLANNED};
use coro::sync::Event;
use coro::{co_await, co_return, sync_wait, when_all, when_all_ready, SendSharedTask, SendTask, Task, ThreadPool};

/// A shared task that logs `started`, waits for `e` (set by whoever the
/// test picks, on whichever thread), then gives `value`.
#[coro::coroutine]
fn gated(c: Counted, e: Arc<Event>, value: Arc<Counted>) -> SendSharedTask<Arc<Counted>> {
    let _c = c;
    c_log(&_c, "started");
    co_await!(e.wait());
    co_return!(value)
}

fn c_log(c: &Counted, what: &str) {
    c.log().push(what);
}

/// A thread-bound awaiter: it holds an `Rc` across the `co_await!` and
/// checks that it resumes on the thread it started on. Gives the value's
/// name, and how many owners its `Rc` had once resumed (the frame's and the
/// caller's).
#[coro::coroutine]
fn local(log: Log, name: String, s: SendSharedTask<Arc<Counted>>, rc: Rc<Cell<u32>>) -> Task<(String, usize)> {
    let me = thread::current().id();
    log.push(format!("wait {name}"));
    let v = co_await!(s);
    assert_eq!(thread::current().id(), me, "{name} resumed on another thread");
    rc.set(rc.get() + 1);
    log.push(format!("got {name}"));
    co_return!((v.name().to_string(), Rc::strong_count(&rc)))
}

/// A `SendTask` awaiter: gives the thread it resumed on.
#[coro::coroutine]
fn sendable(log: Log, name: String, s: SendSharedTask<Arc<Counted>>) -> SendTask<(String, ThreadId)> {
    log.push(format!("wait {name}"));
    let v = co_await!(s);
    log.push(format!("got {name}"));
    co_return!((v.name().to_string(), thread::current().id()))
}

#[test]
fn a_task_holding_an_rc_resumes_on_its_own_thread_when_another_thread_finishes_the_shared_task() {
    let log = Log::new();
    let e = Arc::new(Event::new());
    let s = gated(log.counted("frame"), e.clone(), Arc::new(log.counted("value")));
    let rc = Rc::new(Cell::new(0));
    let (got, setter_thread) = thread::scope(|sc| {
        // The task below starts the shared task here, which then waits for
        // `e`; this thread sets it, so the shared task finishes there.
        let setter = sc.spawn(|| {
            wait_for(&log, "started", 1);
            e.set();
            thread::current().id()
        });
        let got = sync_wait(local(log.clone(), "a".into(), s.clone(), rc.clone()));
        (got, setter.join().unwrap())
    });
    assert_ne!(setter_thread, thread::current().id());
    assert_eq!(got, ("value".to_string(), 2), "the Rc was usable: the frame's clone and ours");
    assert_eq!(rc.get(), 1);
    assert_eq!(coro::resume_woken(), 0, "sync_wait ran the wake-up");
    assert_eq!(log.live(), ["value"], "the shared task's frame was destroyed when it finished");
    drop(s);
    log.assert_each_dropped_once();
}

#[test]
fn a_task_awaiting_a_shared_task_that_finishes_on_a_thread_pool_resumes_on_its_own_thread() {
    #[coro::coroutine]
    fn on_pool(c: Counted, pool: Arc<ThreadPool>) -> SendSharedTask<u32> {
        let _c = c;
        co_await!(pool.schedule());
        assert!(thread::current().name().is_some_and(|n| n.starts_with("coro-pool-")));
        co_return!(40)
    }
    #[coro::coroutine]
    fn twice(s: SendSharedTask<u32>, rc: Rc<u32>) -> Task<u32> {
        let me = thread::current().id();
        let a = co_await!(&s); // starts it here: it hops to the pool and finishes there
        assert_eq!(thread::current().id(), me);
        let b = co_await!(s); // ready: no wait
        assert_eq!(thread::current().id(), me);
        co_return!(a + b / 20 + *rc)
    }
    let log = Log::new();
    let pool = Arc::new(ThreadPool::new(2));
    for _ in 0..50 {
        let s = on_pool(log.counted("frame"), pool.clone());
        assert_eq!(sync_wait(twice(s.clone(), Rc::new(0))), 42);
        assert!(s.is_ready());
    }
    assert_eq!(pool.panics(), 0, "nothing was refused on a worker");
    drop(pool);
    log.assert_each_dropped_once();
}

#[test]
fn a_task_on_the_thread_that_finishes_the_shared_task_is_resumed_inline_not_posted() {
    #[coro::coroutine]
    fn set(e: Arc<Event>) -> Task<(String, usize)> {
        e.set();
        co_return!((String::new(), 0))
    }
    #[coro::coroutine]
    fn both(log: Log, s: SendSharedTask<Arc<Counted>>, e: Arc<Event>, rc: Rc<Cell<u32>>) -> Task<Vec<(String, usize)>> {
        co_return!(co_await!(when_all(vec![local(log, "a".into(), s, rc), set(e)])))
    }
    let log = Log::new();
    let e = Arc::new(Event::new());
    let s = gated(log.counted("frame"), e.clone(), Arc::new(log.counted("value")));
    let rc = Rc::new(Cell::new(0));
    // One poll: the shared task finishes inside `set`, on this thread, and
    // resumes `local` inline. Had it been posted home, this first poll
    // (which does not run `resume_woken`) would be pending.
    let mut fut = Box::pin(both(log.clone(), s.clone(), e.clone(), rc.clone()).into_future());
    let Poll::Ready(r) = fut.as_mut().poll(&mut Context::from_waker(Waker::noop())) else {
        panic!("the awaiter was not resumed inline")
    };
    assert_eq!(coro::resume_woken(), 0, "nothing was posted");
    assert_eq!(r[0], ("value".to_string(), 2));
    assert_eq!(rc.get(), 1);
    drop((fut, r, s));
    log.assert_each_dropped_once();
}

#[test]
fn thread_bound_awaiters_on_several_threads_and_send_task_awaiters_share_one_task() {
    let log = Log::new();
    let e = Arc::new(Event::new());
    let s = gated(log.counted("frame"), e.clone(), Arc::new(log.counted("value")));
    const LOCAL_THREADS: usize = 4;
    const SEND_THREADS: usize = 3;
    /// Two thread-bound awaiters of the same thread at once.
    #[coro::coroutine]
    fn pair(log: Log, i: usize, s: SendSharedTask<Arc<Counted>>, rc: Rc<Cell<u32>>) -> Task<Vec<(String, usize)>> {
        co_return!(co_await!(when_all(vec![
            local(log.clone(), format!("local {i}a"), s.clone(), rc.clone()),
            local(log, format!("local {i}b"), s, rc),
        ])))
    }
    let setter_thread = thread::scope(|sc| {
        let mut locals = Vec::new();
        for i in 0..LOCAL_THREADS {
            let (log, s) = (log.clone(), s.clone());
            locals.push(sc.spawn(move || {
                let rc = Rc::new(Cell::new(0));
                let r = sync_wait(pair(log, i, s, rc.clone()));
                assert_eq!(rc.get(), 2, "both awaiters used the Rc on their own thread");
                assert_eq!(coro::resume_woken(), 0);
                r
            }));
        }
        let mut sends = Vec::new();
        for i in 0..SEND_THREADS {
            let (log, s) = (log.clone(), s.clone());
            sends.push(sc.spawn(move || (sync_wait(sendable(log, format!("send {i}"), s)), thread::current().id())));
        }
        wait_for(&log, "started", 1);
        eventually("2 * LOCAL_THREADS + SEND_THREADS wait events", || {
            log.events().iter().filter(|e| e.starts_with("wait")).count() >= 2 * LOCAL_THREADS + SEND_THREADS
        });
        thread::sleep(Duration::from_millis(5)); // let the last ones queue (either way is correct)
        let setter = sc.spawn(|| {
            e.set();
            thread::current().id()
        });
        let setter_thread = setter.join().unwrap();
        for t in locals {
            let r = t.join().unwrap();
            // The pair shares one `Rc`: 3 owners for the first to resume,
            // 2 for the other (the first's frame is gone by then).
            let mut counts: Vec<_> = r.iter().map(|(v, n)| (v.as_str(), *n)).collect();
            counts.sort();
            assert_eq!(counts, [("value", 2), ("value", 3)]);
        }
        for t in sends {
            let ((v, resumed_on), own) = t.join().unwrap();
            assert_eq!(v, "value");
            // On the finishing thread if it queued; on its own thread if it
            // started the task or came once it was ready.
            assert!(resumed_on == setter_thread || resumed_on == own);
        }
        setter_thread
    });
    assert_ne!(setter_thread, thread::current().id());
    assert_eq!(log.count("got local 0a") + log.count("got local 0b"), 2);
    assert_eq!(log.events().iter().filter(|e| e.starts_with("got")).count(), 2 * LOCAL_THREADS + SEND_THREADS);
    drop(s);
    log.assert_each_dropped_once();
}

#[test]
fn racing_thread_bound_and_send_task_awaiters_on_four_threads_100_rounds() {
    let log = Log::new();
    for round in 0..100u32 {
        let e = Arc::new(Event::new());
        let s = gated(log.counted("frame"), e.clone(), Arc::new(log.counted("value")));
        let start = Arc::new(Barrier::new(5));
        let threads: Vec<_> = (0..4)
            .map(|i| {
                let (log, s, start) = (log.clone(), s.clone(), start.clone());
                thread::spawn(move || {
                    start.wait();
                    if i % 2 == 0 {
                        let rc = Rc::new(Cell::new(0));
                        sync_wait(local(log, format!("l{i}"), s, rc)).0
                    } else {
                        sync_wait(sendable(log, format!("s{i}"), s)).0
                    }
                })
            })
            .collect();
        start.wait();
        // Set at a varying moment: before, during or after the queueing.
        if round % 3 == 0 {
            thread::yield_now();
        }
        if round % 3 == 1 {
            wait_for(&log, "started", round as usize + 1);
        }
        e.set();
        for t in threads {
            assert_eq!(t.join().unwrap(), "value");
        }
        drop(s);
    }
    log.assert_each_dropped_once();
}

#[test]
fn a_task_destroyed_while_posted_home_leaves_nothing_and_its_wake_up_does_nothing() {
    let log = Log::new();
    let e = Arc::new(Event::new());
    let s = gated(log.counted("frame"), e.clone(), Arc::new(log.counted("value")));
    #[coro::coroutine]
    fn victim(c: Counted, log: Log, s: SendSharedTask<Arc<Counted>>, rc: Rc<Cell<u32>>) -> Task<(String, usize)> {
        let _c = c;
        co_return!(co_await!(local(log, "victim".into(), s, rc)))
    }
    let rc = Rc::new(Cell::new(0));
    let d = Driven::start(victim(log.counted("victim frame"), log.clone(), s.clone(), rc.clone()));
    assert_eq!(coro::resume_woken(), 0);
    // Finished on another thread: the victim is posted here, not resumed there.
    thread::scope(|sc| sc.spawn(|| e.set()).join().unwrap());
    assert!(s.is_ready());
    assert_eq!(log.count("got victim"), 0, "not resumed on the finishing thread");
    assert_eq!(log.live().len(), 2, "the victim's frame and the value: {:?}", log.live());
    assert_eq!(Rc::strong_count(&rc), 2);
    // Destroyed on its own thread before its wake-up runs.
    drop(d);
    assert_eq!(Rc::strong_count(&rc), 1, "the frame's Rc was dropped");
    assert_eq!(log.live(), ["value"], "the victim's frame was dropped");
    assert_eq!(coro::resume_woken(), 1, "the stale wake-up ran...");
    assert_eq!(log.count("got victim"), 0, "...and did nothing");
    assert_eq!(rc.get(), 0);
    // The shared task is unaffected.
    assert_eq!(sync_wait(&s).name(), "value");
    drop(s);
    log.assert_each_dropped_once();
}

#[test]
fn a_task_destroyed_while_queued_leaves_the_line_and_is_not_posted() {
    let log = Log::new();
    let e = Arc::new(Event::new());
    let s = gated(log.counted("frame"), e.clone(), Arc::new(log.counted("value")));
    let rc = Rc::new(Cell::new(0));
    let d = Driven::start(local(log.clone(), "victim".into(), s.clone(), rc.clone()));
    drop(d); // still queued: it unlinks its node
    assert_eq!(Rc::strong_count(&rc), 1);
    thread::scope(|sc| sc.spawn(|| e.set()).join().unwrap());
    assert!(s.is_ready());
    assert_eq!(coro::resume_woken(), 0, "nothing was posted");
    drop(s);
    log.assert_each_dropped_once();
}

#[test]
fn a_posted_wake_up_whose_home_thread_exits_is_freed_with_it() {
    let log = Log::new();
    let e = Arc::new(Event::new());
    let s = gated(log.counted("frame"), e.clone(), Arc::new(log.counted("value")));
    let (queued_tx, queued_rx) = std::sync::mpsc::channel();
    let (set_tx, set_rx) = std::sync::mpsc::channel::<()>();
    let home = {
        let (log, s) = (log.clone(), s.clone());
        thread::spawn(move || {
            let rc = Rc::new(Cell::new(0));
            let d = Driven::start(local(log, "stranded".into(), s, rc.clone()));
            queued_tx.send(()).unwrap();
            set_rx.recv().unwrap();
            // Posted here; destroyed without ever running `resume_woken`.
            drop(d);
            assert_eq!(Rc::strong_count(&rc), 1);
        })
    };
    queued_rx.recv().unwrap();
    e.set();
    set_tx.send(()).unwrap();
    home.join().unwrap();
    assert_eq!(log.count("got stranded"), 0);
    drop(s);
    log.assert_each_dropped_once();
}

#[test]
fn a_panic_in_the_shared_task_reaches_thread_bound_awaiters_on_their_own_threads() {
    #[coro::coroutine]
    fn boom(c: Counted, e: Arc<Event>) -> SendSharedTask<Arc<Counted>> {
        let _c = c;
        c_log(&_c, "started");
        co_await!(e.wait());
        panic!("boom {PLANNED}");
    }
    /// Catches its child's panic (via `when_all_ready`) and checks it came
    /// on this thread: the child rethrew it from its `co_await!`, then
    /// finished, resuming this parent, on the thread it resumed on.
    #[coro::coroutine]
    fn catcher(log: Log, name: String, s: SendSharedTask<Arc<Counted>>, c: Counted) -> Task<String> {
        let _c = c;
        let me = thread::current().id();
        let rc = Rc::new(Cell::new(0));
        let mut r = co_await!(when_all_ready(vec![local(log, name, s, rc.clone())]));
        assert_eq!(thread::current().id(), me);
        assert_eq!(rc.get(), 0, "the child did not get past its co_await!");
        co_return!(panic_message(&*r.pop().unwrap().unwrap_err()))
    }
    common::quiet_planned_panics();
    let log = Log::new();
    let e = Arc::new(Event::new());
    let s = boom(log.counted("frame"), e.clone());
    let msgs = thread::scope(|sc| {
        let others: Vec<_> = (0..3)
            .map(|i| {
                let (log, s) = (log.clone(), s.clone());
                let c = log.counted(format!("catcher {i}"));
                sc.spawn(move || sync_wait(catcher(log, format!("t{i}"), s, c)))
            })
            .collect();
        eventually("3 wait t events", || log.events().iter().filter(|e| e.starts_with("wait t")).count() >= 3);
        thread::sleep(Duration::from_millis(5));
        sc.spawn(|| e.set()).join().unwrap();
        others.into_iter().map(|t| t.join().unwrap()).collect::<Vec<_>>()
    });
    let original = format!("boom {PLANNED}");
    let shared = format!("SendSharedTask panicked: boom {PLANNED}");
    assert!(msgs.iter().all(|m| *m == original || *m == shared), "{msgs:?}");
    assert_eq!(msgs.iter().filter(|m| **m == original).count(), 1, "one got the original payload: {msgs:?}");
    // A thread-bound awaiter that comes later panics at once, on its thread.
    let later = expect_panic(|| sync_wait(local(log.clone(), "later".into(), s.clone(), Rc::default())));
    assert_eq!(later, shared);
    drop(s);
    log.assert_each_dropped_once();
}

#[test]
fn the_original_panic_payload_reaches_a_single_thread_bound_awaiter_under_sync_wait() {
    #[coro::coroutine]
    fn boom(e: Arc<Event>) -> SendSharedTask<u32> {
        co_await!(e.wait());
        panic!("alone {PLANNED}");
    }
    #[coro::coroutine]
    fn await_it(s: SendSharedTask<u32>, rc: Rc<u32>) -> Task<u32> {
        co_return!(co_await!(s) + *rc)
    }
    let e = Arc::new(Event::new());
    let s = boom(e.clone());
    let rc = Rc::new(1);
    let msg = thread::scope(|sc| {
        let setter = {
            let s = s.clone();
            sc.spawn(move || {
                // The task below starts the shared task; set once it waits.
                while !e.is_set() {
                    // The debug output says whether the task has started.
                    if format!("{s:?}").contains("running") {
                        e.set();
                    }
                    thread::yield_now();
                }
            })
        };
        let msg = expect_panic(|| sync_wait(await_it(s.clone(), rc.clone())));
        setter.join().unwrap();
        msg
    });
    assert_eq!(msg, format!("alone {PLANNED}"));
    assert_eq!(Rc::strong_count(&rc), 1, "the task's frame was dropped");
    assert_eq!(coro::resume_woken(), 0);
}
