//! The thread-safe library types: `SendGenerator`, `SendSharedTask`,
//! `ThreadPool`, and `sync_wait` of shared tasks. Results, order, panics,
//! and drop accounting (every frame and captured value dropped exactly once)
//! on every path, across threads.

mod common;

use std::rc::Rc;
use std::thread;

use common::{eventually, expect_panic, is_send, is_sync, Counted, Log, PLANNED};
use coro::{co_yield, Generator, SendGenerator};

// ===========================================================================
// SendGenerator
// ===========================================================================

#[coro::coroutine]
fn counted_range(c: Counted, n: u32) -> SendGenerator<Counted> {
    let log = c.log();
    let _local = log.counted("local");
    for i in 0..n {
        co_yield!(log.counted(format!("item {i}")));
    }
    drop(c);
}

#[test]
fn send_generator_is_send_when_its_items_are_and_generator_never_is() {
    assert!(is_send!(SendGenerator<u32>));
    assert!(is_send!(SendGenerator<char, &'static str>));
    assert!(!is_send!(SendGenerator<Rc<u32>>));
    assert!(!is_send!(Generator<u32>));
    assert!(!is_sync!(SendGenerator<u32>));
    assert!(is_sync!(u32) && is_send!(u32), "the probes themselves");
}

#[test]
fn a_send_generator_made_on_one_thread_is_iterated_on_another_and_frees_everything_once() {
    let log = Log::new();
    let gen = counted_range(log.counted("param"), 5);
    let names = thread::spawn(move || gen.map(|c| c.name().to_string()).collect::<Vec<_>>()).join().unwrap();
    assert_eq!(names, ["item 0", "item 1", "item 2", "item 3", "item 4"]);
    log.assert_each_dropped_once();
}

#[test]
fn a_half_consumed_send_generator_dropped_on_another_thread_drops_its_live_locals_once() {
    let log = Log::new();
    let mut gen = counted_range(log.counted("param"), 5);
    let first = gen.next().unwrap();
    assert_eq!(first.name(), "item 0");
    let second = thread::spawn(move || {
        let second = gen.next().unwrap();
        drop(gen); // suspended at the second co_yield!: drops `_local` and `c`
        second
    })
    .join()
    .unwrap();
    assert_eq!(second.name(), "item 1");
    assert_eq!(log.live(), ["item 0", "item 1"]);
    drop((first, second));
    log.assert_each_dropped_once();
}

#[test]
fn an_unstarted_send_generator_dropped_on_another_thread_drops_its_parameters() {
    let log = Log::new();
    let gen = counted_range(log.counted("param"), 5);
    thread::spawn(move || drop(gen)).join().unwrap();
    assert_eq!(log.created(), 1);
    log.assert_each_dropped_once();
}

#[test]
fn a_panic_in_a_send_generator_reaches_next_on_the_iterating_thread_then_it_is_finished() {
    #[coro::coroutine]
    fn fails(c: Counted) -> SendGenerator<u32> {
        let _c = c;
        co_yield!(1);
        panic!("generator {PLANNED}");
    }
    let log = Log::new();
    let mut gen = fails(log.counted("param"));
    let (msg, after) = thread::spawn(move || {
        assert_eq!(gen.next(), Some(1));
        let msg = expect_panic(|| gen.next());
        let after = (gen.next(), gen.done());
        (msg, after)
    })
    .join()
    .unwrap();
    assert_eq!(msg, format!("generator {PLANNED}"));
    assert_eq!(after, (None, true));
    log.assert_each_dropped_once();
}

#[test]
fn a_borrowing_send_generator_is_iterated_on_a_scoped_thread() {
    #[coro::coroutine]
    fn words<'a>(text: &'a str) -> SendGenerator<&'a str, &'a str> {
        for w in text.split(' ') {
            co_yield!(w);
        }
    }
    let text = String::from("made here used there");
    let gen = words(&text);
    let n = thread::scope(|s| s.spawn(move || gen.count()).join().unwrap());
    assert_eq!(n, 4);
}

#[test]
fn a_send_generator_converts_into_a_generator() {
    let log = Log::new();
    let gen: Generator<Counted> = counted_range(log.counted("param"), 3).into();
    assert_eq!(gen.count(), 3);
    log.assert_each_dropped_once();
}

// ===========================================================================
// sync_wait of a SharedTask
// ===========================================================================

mod shared_sync_wait {
    use super::*;
    use coro::{co_return, sync_wait, SharedTask};

    #[coro::coroutine]
    fn value(c: Counted, v: Rc<Counted>) -> SharedTask<Rc<Counted>> {
        let _c = c;
        co_return!(v)
    }

    #[test]
    fn sync_wait_of_an_unstarted_shared_task_runs_it_and_later_calls_get_a_clone() {
        let log = Log::new();
        let s = value(log.counted("frame"), Rc::new(log.counted("value")));
        let a = sync_wait(&s);
        assert!(s.is_ready());
        assert_eq!(log.live(), ["value"], "the frame is destroyed when the task finishes");
        let b = sync_wait(s.clone());
        assert!(Rc::ptr_eq(&a, &b));
        drop((a, b, s));
        log.assert_each_dropped_once();
    }

    #[test]
    fn sync_wait_of_a_panicking_shared_task_panics_on_every_call() {
        let log = Log::new();
        #[coro::coroutine]
        fn boom(c: Counted) -> SharedTask<u32> {
            let _c = c;
            panic!("shared {PLANNED}");
        }
        let s = boom(log.counted("frame"));
        assert_eq!(expect_panic(|| sync_wait(&s)), format!("shared {PLANNED}"));
        assert_eq!(expect_panic(|| sync_wait(&s)), format!("SharedTask panicked: shared {PLANNED}"));
        drop(s);
        log.assert_each_dropped_once();
    }
}

// ===========================================================================
// SendSharedTask
// ===========================================================================

mod send_shared_task {
    use super::*;
    use common::{on_small_stack, panic_message, wait_for};
    use coro::sync::Event;
    use coro::{co_await, co_return, sync_wait, when_all, when_all_ready, when_any, SendSharedTask, SendTask, Task};
    use std::sync::Arc;

    /// A shared task that waits for `e`, then gives a value that counts its drops.
    #[coro::coroutine]
    fn gated(c: Counted, e: Arc<Event>, value: Arc<Counted>) -> SendSharedTask<Arc<Counted>> {
        let _c = c;
        co_await!(e.wait());
        co_return!(value)
    }

    #[coro::coroutine]
    fn waiter(log: Log, name: String, s: SendSharedTask<Arc<Counted>>) -> SendTask<String> {
        log.push(format!("wait {name}"));
        let v = co_await!(s);
        log.push(format!("got {name}"));
        co_return!(v.name().to_string())
    }

    #[coro::coroutine]
    fn setter(e: Arc<Event>) -> SendTask<String> {
        e.set();
        co_return!(String::new())
    }

    #[test]
    fn send_shared_task_is_send_and_sync_when_its_value_is_send() {
        assert!(is_send!(SendSharedTask<String>) && is_sync!(SendSharedTask<String>));
        assert!(is_send!(SendSharedTask<std::cell::Cell<u32>>) && is_sync!(SendSharedTask<std::cell::Cell<u32>>));
        assert!(!is_send!(SendSharedTask<Rc<u32>>) && !is_sync!(SendSharedTask<Rc<u32>>));
        assert!(is_send!(coro::task::SendSharedTaskAwaiter<String>));
    }

    #[test]
    fn coroutines_on_several_threads_await_it_at_once_and_each_gets_a_clone() {
        let log = Log::new();
        let e = Arc::new(Event::new());
        let s = gated(log.counted("frame"), e.clone(), Arc::new(log.counted("value")));
        let threads: Vec<_> = (0..4)
            .map(|i| {
                let (log, s) = (log.clone(), s.clone());
                thread::spawn(move || sync_wait(waiter(log, format!("t{i}"), s)))
            })
            .collect();
        // Wait until every thread is queued (or has started the task).
        eventually("4 wait events", || log.events().iter().filter(|e| e.starts_with("wait")).count() >= 4);
        e.set();
        for t in threads {
            assert_eq!(t.join().unwrap(), "value");
        }
        assert_eq!(log.live(), ["value"], "the frame was destroyed when the task finished");
        assert_eq!(sync_wait(&s).name(), "value");
        drop(s);
        log.assert_each_dropped_once();
    }

    #[test]
    fn queued_awaiters_resume_in_fifo_order_on_the_thread_that_finishes_the_task() {
        let log = Log::new();
        let e = Arc::new(Event::new());
        let s = gated(log.counted("frame"), e.clone(), Arc::new(log.counted("value")));
        #[coro::coroutine]
        fn three(log: Log, s: SendSharedTask<Arc<Counted>>) -> SendTask<Vec<String>> {
            co_return!(co_await!(when_all(vec![
                waiter(log.clone(), "a".into(), s.clone()),
                waiter(log.clone(), "b".into(), s.clone()),
                waiter(log, "c".into(), s),
            ])))
        }
        let t = {
            let (log, s) = (log.clone(), s.clone());
            thread::spawn(move || sync_wait(three(log, s)))
        };
        wait_for(&log, "wait c", 1);
        let setter_thread = thread::spawn(move || e.set());
        setter_thread.join().unwrap();
        assert_eq!(t.join().unwrap(), ["value", "value", "value"]);
        let got: Vec<_> = log.events().into_iter().filter(|e| e.starts_with("got")).collect();
        assert_eq!(got, ["got a", "got b", "got c"]);
        drop(s);
        log.assert_each_dropped_once();
    }

    #[test]
    fn five_thousand_awaiters_resume_in_bounded_stack() {
        on_small_stack(|| {
            let log = Log::new();
            let e = Arc::new(Event::new());
            let s = gated(log.counted("frame"), e.clone(), Arc::new(log.counted("value")));
            let mut children: Vec<SendTask<String>> =
                (0..5_000).map(|_| waiter(log.clone(), "w".into(), s.clone())).collect();
            children.push(setter(e));
            #[coro::coroutine]
            fn run(children: Vec<SendTask<String>>) -> SendTask<usize> {
                co_return!(co_await!(when_all(children)).len())
            }
            assert_eq!(sync_wait(run(children)), 5_001);
            assert_eq!(log.count("got w"), 5_000);
            drop(s);
            log.assert_each_dropped_once();
        });
    }

    #[test]
    fn a_panic_in_the_task_reaches_every_awaiter_on_every_thread() {
        let log = Log::new();
        #[coro::coroutine]
        fn boom(c: Counted, e: Arc<Event>) -> SendSharedTask<Arc<Counted>> {
            let _c = c;
            co_await!(e.wait());
            panic!("boom {PLANNED}");
        }
        #[coro::coroutine]
        fn run(log: Log, s: SendSharedTask<Arc<Counted>>) -> SendTask<Vec<Result<String, coro::promise::Payload>>> {
            co_return!(co_await!(when_all_ready(vec![
                waiter(log.clone(), "a".into(), s.clone()),
                waiter(log, "b".into(), s),
            ])))
        }
        common::quiet_planned_panics();
        let e = Arc::new(Event::new());
        let s = boom(log.counted("frame"), e.clone());
        let t = {
            let (log, s) = (log.clone(), s.clone());
            thread::spawn(move || sync_wait(run(log, s)))
        };
        wait_for(&log, "wait b", 1);
        e.set();
        let r = t.join().unwrap();
        let msgs: Vec<_> = r.iter().map(|r| panic_message(&**r.as_ref().unwrap_err())).collect();
        assert_eq!(msgs, [format!("boom {PLANNED}"), format!("SendSharedTask panicked: boom {PLANNED}")]);
        let later = {
            let s = s.clone();
            thread::spawn(move || expect_panic(|| sync_wait(s))).join().unwrap()
        };
        assert_eq!(later, format!("SendSharedTask panicked: boom {PLANNED}"));
        drop((r, s));
        log.assert_each_dropped_once();
    }

    #[test]
    fn a_waiter_destroyed_while_queued_leaves_the_line() {
        let log = Log::new();
        let e = Arc::new(Event::new());
        let s = gated(log.counted("frame"), e.clone(), Arc::new(log.counted("value")));
        #[coro::coroutine]
        fn local_waiter(log: Log, name: String, s: SendSharedTask<Arc<Counted>>) -> Task<String> {
            log.push(format!("wait {name}"));
            let v = co_await!(s);
            log.push(format!("got {name}"));
            co_return!(v.name().to_string())
        }
        #[coro::coroutine]
        fn quick() -> Task<String> {
            co_return!("quick".to_string())
        }
        #[coro::coroutine]
        fn loser(log: Log, s: SendSharedTask<Arc<Counted>>) -> Task<String> {
            // `b` (a `Task`) queues, then loses the race to `quick` and is
            // destroyed: its awaiter unlinks it.
            let (_, r) = co_await!(when_any(vec![local_waiter(log, "b".into(), s), quick()]));
            co_return!(r)
        }
        // `a`, `b` (then destroyed) and `c` queue; the task is finished from this thread.
        #[coro::coroutine]
        fn queue_up(log: Log, s: SendSharedTask<Arc<Counted>>) -> Task<(String, String, String)> {
            co_return!(co_await!(when_all((
                waiter(log.clone(), "a".into(), s.clone()),
                loser(log.clone(), s.clone()),
                waiter(log, "c".into(), s),
            ))))
        }
        let t = {
            let (log, s) = (log.clone(), s.clone());
            thread::spawn(move || sync_wait(queue_up(log, s)))
        };
        wait_for(&log, "wait c", 1);
        e.set();
        let r = t.join().unwrap();
        assert_eq!((r.0.as_str(), r.1.as_str(), r.2.as_str()), ("value", "quick", "value"));
        assert!(log.count("wait b") == 1 && log.count("got b") == 0, "{log:?}");
        drop((r, s));
        log.assert_each_dropped_once();
    }

    #[test]
    fn a_send_task_that_loses_while_queued_is_destroyed_when_the_shared_task_resumes_it() {
        let log = Log::new();
        let e = Arc::new(Event::new());
        let s = gated(log.counted("frame"), e.clone(), Arc::new(log.counted("value")));
        #[coro::coroutine]
        fn quick() -> SendTask<String> {
            co_return!("quick".to_string())
        }
        #[coro::coroutine]
        fn loser(log: Log, s: SendSharedTask<Arc<Counted>>) -> SendTask<String> {
            // `b` queues, then loses the race to `quick`: a `SendTask` may
            // be running elsewhere, so it is detached, not destroyed; the
            // resume that the shared task's end grants it destroys it.
            let (_, r) = co_await!(when_any(vec![waiter(log, "b".into(), s), quick()]));
            co_return!(r)
        }
        // `a`, `b` (then destroyed) and `c` queue; the task is finished from this thread.
        #[coro::coroutine]
        fn queue_up(log: Log, s: SendSharedTask<Arc<Counted>>) -> SendTask<(String, String, String)> {
            co_return!(co_await!(when_all((
                waiter(log.clone(), "a".into(), s.clone()),
                loser(log.clone(), s.clone()),
                waiter(log, "c".into(), s),
            ))))
        }
        let t = {
            let (log, s) = (log.clone(), s.clone());
            thread::spawn(move || sync_wait(queue_up(log, s)))
        };
        wait_for(&log, "wait c", 1);
        e.set();
        let r = t.join().unwrap();
        assert_eq!((r.0.as_str(), r.1.as_str(), r.2.as_str()), ("value", "quick", "value"));
        // The detached `b` was due a resume with the others when the shared
        // task finished: it was destroyed instead, without running on.
        assert!(log.count("wait b") == 1 && log.count("got b") == 0, "{log:?}");
        drop((r, s));
        log.assert_each_dropped_once();
    }

    #[test]
    fn dropping_the_last_handle_of_an_unstarted_send_shared_task_on_another_thread_drops_its_parameters() {
        let log = Log::new();
        let s = gated(log.counted("param"), Arc::new(Event::new()), Arc::new(log.counted("value")));
        let t = s.clone();
        drop(s);
        assert_eq!(log.live(), ["param", "value"]);
        thread::spawn(move || drop(t)).join().unwrap();
        log.assert_each_dropped_once();
    }

    #[test]
    fn a_send_task_converts_with_shared_and_from() {
        #[coro::coroutine]
        fn five() -> SendTask<u32> {
            co_return!(5)
        }
        #[coro::coroutine]
        fn add(a: SendSharedTask<u32>, b: SendSharedTask<u32>) -> SendTask<u32> {
            co_return!(co_await!(a) + co_await!(&b) + co_await!(b))
        }
        let a = five().shared();
        let b = SendSharedTask::from(five());
        assert_eq!(sync_wait(add(a, b)), 15);
    }

    #[test]
    fn racing_awaiters_on_four_threads_always_all_get_the_value_200_rounds() {
        let log = Log::new();
        for round in 0..200u32 {
            let e = Arc::new(Event::new());
            let s = gated(log.counted("frame"), e.clone(), Arc::new(log.counted("value")));
            let threads: Vec<_> = (0..4)
                .map(|_| {
                    let s = s.clone();
                    thread::spawn(move || sync_wait(&s).name().len())
                })
                .collect();
            // Set at a varying moment: before, during or after the queueing.
            if round % 3 == 0 {
                thread::yield_now();
            }
            e.set();
            for t in threads {
                assert_eq!(t.join().unwrap(), "value".len());
            }
            drop(s);
        }
        log.assert_each_dropped_once();
    }
}

// ===========================================================================
// ThreadPool
// ===========================================================================

mod thread_pool {
    use super::*;
    use coro::schedule::spawn_detached;
    use coro::{co_await, co_return, sync_wait, when_all, SendSharedTask, SendTask, Task, ThreadPool};
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{mpsc, Arc, Weak};
    use std::time::Duration;

    fn on_worker() -> bool {
        thread::current().name().is_some_and(|n| n.starts_with("coro-pool-"))
    }

    #[coro::coroutine]
    fn hop(pool: Arc<ThreadPool>, c: Counted) -> SendTask<(bool, bool)> {
        let before = on_worker();
        let _local = c.log().counted("local");
        co_await!(pool.schedule());
        drop(c);
        co_return!((before, on_worker()))
    }

    #[test]
    fn thread_pool_is_send_and_sync() {
        assert!(is_send!(ThreadPool) && is_sync!(ThreadPool));
        assert!(is_send!(coro::schedule::PoolSchedule<'static>));
    }

    #[test]
    fn a_thousand_send_tasks_hop_onto_a_four_thread_pool_and_finish_freeing_everything_once() {
        let log = Log::new();
        let pool = Arc::new(ThreadPool::new(4));
        #[coro::coroutine]
        fn all(tasks: Vec<SendTask<(bool, bool)>>) -> SendTask<Vec<(bool, bool)>> {
            co_return!(co_await!(when_all(tasks)))
        }
        let tasks = (0..1_000).map(|i| hop(pool.clone(), log.counted(format!("param {i}")))).collect();
        let r = sync_wait(all(tasks));
        assert_eq!(r.len(), 1_000);
        assert!(r.iter().all(|&(before, after)| !before && after), "started here, finished on a worker");
        assert_eq!(log.created(), 2_000);
        drop(pool);
        log.assert_each_dropped_once();
    }

    #[test]
    fn a_thousand_detached_send_tasks_run_on_the_workers() {
        let log = Log::new();
        let pool = ThreadPool::new(4);
        #[coro::coroutine]
        fn job(c: Counted, tx: mpsc::Sender<bool>) -> SendTask<Counted> {
            tx.send(on_worker()).unwrap();
            co_return!(c)
        }
        let (tx, rx) = mpsc::channel();
        for i in 0..1_000 {
            if i % 2 == 0 {
                pool.spawn(job(log.counted("param"), tx.clone()));
            } else {
                spawn_detached(job(log.counted("param"), tx.clone()), &pool);
            }
        }
        assert!(rx.iter().take(1_000).all(|w| w));
        drop(pool); // joins: every detached frame has been freed
        log.assert_each_dropped_once();
    }

    #[test]
    fn spawn_detached_refuses_a_thread_bound_task_on_a_pool_and_drops_it_unstarted() {
        let log = Log::new();
        #[coro::coroutine]
        fn local(c: Counted, r: Rc<u32>) -> Task<u32> {
            let _c = c;
            co_return!(*r)
        }
        let pool = ThreadPool::new(1);
        let msg = expect_panic(|| spawn_detached(local(log.counted("param"), Rc::new(1)), &pool));
        assert!(msg.contains("cannot run on a scheduler that resumes on other threads"), "{msg}");
        log.assert_each_dropped_once();
    }

    #[test]
    fn a_panic_in_a_detached_task_is_caught_and_counted_after_its_frame_is_freed_and_the_worker_goes_on() {
        let log = Log::new();
        let pool = ThreadPool::new(1);
        #[coro::coroutine]
        fn boom(c: Counted) -> SendTask<()> {
            let _c = c;
            panic!("pool {PLANNED}");
        }
        #[coro::coroutine]
        fn ok(tx: mpsc::Sender<u32>) -> SendTask<()> {
            tx.send(1).unwrap();
            co_return!(())
        }
        common::quiet_planned_panics();
        let (tx, rx) = mpsc::channel();
        pool.spawn(boom(log.counted("param")));
        pool.spawn(ok(tx));
        assert_eq!(rx.recv().unwrap(), 1, "the worker survived the panic");
        assert_eq!(pool.panics(), 1);
        log.assert_each_dropped_once();
    }

    /// Blocks its worker until `release` holds, then finishes.
    #[coro::coroutine]
    fn blocker(c: Counted, started: Arc<AtomicBool>, release: Box<dyn Fn() -> bool + Send>) -> SendTask<()> {
        let _c = c;
        started.store(true, Ordering::Release);
        while !release() {
            thread::sleep(Duration::from_millis(1));
        }
        co_return!(())
    }

    #[coro::coroutine]
    fn never_runs(c: Counted, log: Log) -> SendTask<()> {
        let _c = c;
        log.push("ran");
        co_return!(())
    }

    #[test]
    fn dropping_the_pool_joins_its_workers_and_destroys_detached_tasks_still_queued() {
        let log = Log::new();
        let pool = Arc::new(ThreadPool::new(1));
        let weak: Weak<ThreadPool> = Arc::downgrade(&pool);
        let started = Arc::new(AtomicBool::new(false));
        // The worker is released once the pool's drop has begun (its last
        // `Arc` is gone), and a little later, so that `stopping` is set.
        let release = Box::new(move || {
            if weak.upgrade().is_some() {
                return false;
            }
            thread::sleep(Duration::from_millis(50));
            true
        });
        pool.spawn(blocker(log.counted("blocker"), started.clone(), release));
        eventually("the worker runs the blocker", || started.load(Ordering::Acquire));
        for i in 0..10 {
            pool.spawn(never_runs(log.counted(format!("queued {i}")), log.clone()));
        }
        drop(pool);
        assert_eq!(log.count("ran"), 0, "queued tasks are destroyed, not run");
        log.assert_each_dropped_once();
    }

    #[test]
    fn a_pool_dropped_by_a_coroutine_on_its_own_worker_destroys_what_is_queued() {
        let log = Log::new();
        #[coro::coroutine]
        fn last_owner(c: Counted, pool: Arc<ThreadPool>, go: mpsc::Receiver<()>) -> SendTask<()> {
            let _c = c;
            go.recv().unwrap();
            drop(pool); // the last `Arc`: the pool is dropped here, on its worker
            co_return!(())
        }
        let pool = Arc::new(ThreadPool::new(2));
        let (go, rx) = mpsc::channel();
        pool.spawn(last_owner(log.counted("owner"), pool.clone(), rx));
        let started = Arc::new(AtomicBool::new(false));
        let s2 = started.clone();
        // Occupy the other worker so that the queued tasks stay queued, until
        // the pool's drop has begun (its last `Arc`, the owner's, is gone)
        // and a little later, so that `stopping` is set: ordered by the drop
        // itself, not by how fast this thread gets there.
        let weak: Weak<ThreadPool> = Arc::downgrade(&pool);
        let release = Box::new(move || {
            if weak.upgrade().is_some() {
                return false;
            }
            thread::sleep(Duration::from_millis(50));
            true
        });
        pool.spawn(blocker(log.counted("blocker"), s2, release));
        eventually("the second worker is busy", || started.load(Ordering::Acquire));
        for i in 0..10 {
            pool.spawn(never_runs(log.counted(format!("queued {i}")), log.clone()));
        }
        drop(pool);
        go.send(()).unwrap();
        eventually("everything is freed", || log.live().is_empty());
        assert_eq!(log.count("ran"), 0, "queued tasks are destroyed, not run");
        log.assert_each_dropped_once();
    }

    #[test]
    fn a_send_shared_task_is_awaited_by_detached_tasks_on_the_pool() {
        let log = Log::new();
        let pool = Arc::new(ThreadPool::new(4));
        #[coro::coroutine]
        fn answer(c: Counted, pool: Arc<ThreadPool>) -> SendSharedTask<u64> {
            let _c = c;
            co_await!(pool.schedule());
            co_return!(21)
        }
        #[coro::coroutine]
        fn add(shared: SendSharedTask<u64>, pool: Arc<ThreadPool>, tx: mpsc::Sender<u64>) -> SendTask<()> {
            co_await!(pool.schedule());
            tx.send(co_await!(shared)).unwrap();
            co_return!(())
        }
        let shared = answer(log.counted("frame"), pool.clone());
        let (tx, rx) = mpsc::channel();
        for _ in 0..100 {
            pool.spawn(add(shared.clone(), pool.clone(), tx.clone()));
        }
        assert_eq!(rx.iter().take(100).sum::<u64>(), 2_100);
        assert_eq!(sync_wait(&shared), 21);
        drop((shared, pool));
        eventually("everything is freed", || log.live().is_empty());
        log.assert_each_dropped_once();
    }

    #[test]
    fn a_thread_bound_task_awaiting_pool_schedule_panics_at_its_co_await_on_its_own_thread() {
        #[coro::coroutine]
        fn local(pool: Arc<ThreadPool>, r: Rc<u32>) -> Task<u32> {
            co_await!(pool.schedule());
            co_return!(*r)
        }
        let pool = Arc::new(ThreadPool::new(1));
        let r = Rc::new(7);
        let mut fut = Box::pin(std::future::IntoFuture::into_future(local(pool.clone(), r.clone())));
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        let polled =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| std::future::Future::poll(fut.as_mut(), &mut cx)));
        let msg = common::panic_message(&*polled.expect_err("the co_await! refuses the hop"));
        assert!(msg.contains("cannot move onto a scheduler that resumes on other threads"), "{msg}");
        assert_eq!(pool.panics(), 0, "nothing reached the worker");
        assert_eq!(Rc::strong_count(&r), 1, "the task finished by panicking: its frame's Rc is gone");
        drop(fut);
        assert_eq!(Rc::strong_count(&r), 1);
    }

    #[test]
    fn the_refused_hop_panics_with_the_file_and_line_of_the_users_co_await() {
        const AWAIT_LINE: u32 = line!() + 3;
        #[coro::coroutine]
        fn local(pool: Arc<ThreadPool>) -> Task<()> {
            co_await!(pool.schedule());
            co_return!(())
        }
        let pool = Arc::new(ThreadPool::new(1));
        let polled = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| sync_wait(local(pool.clone()))));
        let msg = common::panic_message(&*polled.expect_err("the co_await! refuses the hop"));
        let at = format!("{}:{}:", file!(), AWAIT_LINE);
        assert!(msg.starts_with(&at), "expected {at} in: {msg}");
        assert!(msg.contains("at the `co_await!` in `local`"), "{msg}");
    }
}
