//! `when_all`, `when_all_ready`, `when_any` and cancellation: results in
//! order, panics, bounded stack with many children, and drop accounting
//! (every frame and captured value freed exactly once) on every path.

mod common;

use std::rc::Rc;

use common::{expect_panic, on_small_stack, Counted, Log, PLANNED};
use coro::cancellation::{CancellationSource, CancellationToken};
use coro::sync::local::Event;
use coro::{co_await, co_return, sync_wait, when_all, when_all_ready, when_any, SendTask, Task};

#[coro::coroutine]
fn value(c: Counted, n: u32) -> Task<u32> {
    let _c = c;
    co_return!(n)
}

#[coro::coroutine]
fn wait_then(c: Counted, e: Rc<Event>, n: u32) -> Task<u32> {
    let _c = c;
    co_await!(e.wait());
    co_return!(n)
}

#[coro::coroutine]
fn boom(c: Counted) -> Task<u32> {
    let _c = c;
    panic!("boom {PLANNED}");
}

#[coro::coroutine]
fn text(s: &'static str) -> SendTask<String> {
    co_return!(s.to_string())
}

#[test]
fn when_all_over_a_tuple_gives_each_result_in_order() {
    let log = Log::new();
    #[coro::coroutine]
    fn run(log: Log) -> Task<(u32, String)> {
        co_return!(co_await!(when_all((value(log.counted("a"), 1), text("b")))))
    }
    assert_eq!(sync_wait(run(log.clone())), (1, "b".to_string()));
    log.assert_each_dropped_once();
}

#[test]
fn when_all_over_a_vec_waits_for_children_that_suspend() {
    let log = Log::new();
    let e = Rc::new(Event::new());
    #[coro::coroutine]
    fn run(log: Log, e: Rc<Event>) -> Task<Vec<u32>> {
        co_return!(co_await!(when_all(vec![
            wait_then(log.counted("a"), e.clone(), 1),
            value(log.counted("b"), 2),
            wait_then(log.counted("c"), e.clone(), 3),
        ])))
    }
    let mut t = run(log.clone(), e.clone());
    // Drive by hand: start through when_all_ready of one task? Use sync_wait
    // on a helper that sets the event after starting.
    #[coro::coroutine]
    fn setter(e: Rc<Event>) -> Task<u32> {
        e.set();
        co_return!(0)
    }
    #[coro::coroutine]
    fn both(t: Task<Vec<u32>>, e: Rc<Event>) -> Task<Vec<u32>> {
        let (v, _) = co_await!(when_all((t, setter(e))));
        co_return!(v)
    }
    t = both(t, e);
    assert_eq!(sync_wait(t), vec![1, 2, 3]);
    log.assert_each_dropped_once();
}

#[test]
fn when_all_of_nothing_completes_at_once() {
    #[coro::coroutine]
    fn run() -> Task<usize> {
        co_return!(co_await!(when_all(Vec::<Task<u32>>::new())).len())
    }
    assert_eq!(sync_wait(run()), 0);
}

#[test]
fn when_all_runs_every_child_then_rethrows_the_first_panic() {
    let log = Log::new();
    #[coro::coroutine]
    fn run(log: Log) -> Task<Vec<u32>> {
        co_return!(co_await!(when_all(vec![
            value(log.counted("a"), 1),
            boom(log.counted("b")),
            value(log.counted("c"), 3)
        ])))
    }
    let msg = expect_panic(|| sync_wait(run(log.clone())));
    assert!(msg.contains("boom"));
    assert_eq!(log.created(), 3);
    log.assert_each_dropped_once();
}

#[test]
fn when_all_ready_returns_each_outcome_without_rethrowing() {
    let log = Log::new();
    #[coro::coroutine]
    fn run(log: Log) -> Task<Vec<bool>> {
        let r = co_await!(when_all_ready(vec![value(log.counted("a"), 1), boom(log.counted("b"))]));
        co_return!(r.iter().map(Result::is_ok).collect())
    }
    common::quiet_planned_panics();
    assert_eq!(sync_wait(run(log.clone())), vec![true, false]);
    log.assert_each_dropped_once();
}

#[test]
fn when_all_with_many_children_runs_in_bounded_stack() {
    let n = on_small_stack(|| {
        #[coro::coroutine]
        fn one() -> Task<u32> {
            co_return!(1)
        }
        #[coro::coroutine]
        fn run() -> Task<u32> {
            co_return!(co_await!(when_all((0..100_000).map(|_| one()).collect::<Vec<_>>())).iter().sum())
        }
        sync_wait(run())
    });
    assert_eq!(n, 100_000);
}

#[test]
fn when_any_destroys_suspended_losers_and_gives_the_winner() {
    let log = Log::new();
    let e = Rc::new(Event::new());
    #[coro::coroutine]
    fn run(log: Log, e: Rc<Event>) -> Task<(usize, u32)> {
        co_return!(co_await!(when_any(vec![
            wait_then(log.counted("loser1"), e.clone(), 1),
            value(log.counted("winner"), 2),
            wait_then(log.counted("never started"), e.clone(), 3),
        ])))
    }
    assert_eq!(sync_wait(run(log.clone(), e.clone())), (1, 2));
    assert!(!e.is_set());
    log.assert_each_dropped_once();
}

#[test]
fn when_any_requests_cancellation_so_cooperative_losers_finish() {
    let log = Log::new();
    let e = Rc::new(Event::new());
    #[coro::coroutine]
    fn cooperative(c: Counted, token: CancellationToken) -> Task<u32> {
        let _c = c;
        co_await!(token.cancelled());
        co_return!(99)
    }
    #[coro::coroutine]
    fn run(log: Log, e: Rc<Event>, src: CancellationSource) -> Task<(usize, u32)> {
        let r = co_await!(when_any(vec![
            cooperative(log.counted("coop"), src.token()),
            wait_then(log.counted("w"), e.clone(), 7),
            setter(e)
        ])
        .cancel_on_completion(&src));
        co_return!(r)
    }
    #[coro::coroutine]
    fn setter(e: Rc<Event>) -> Task<u32> {
        e.set();
        co_return!(5)
    }
    let src = CancellationSource::new();
    // `setter` resumes `w` inline (it finishes first, while `setter` runs).
    let (i, v) = sync_wait(run(log.clone(), e, src.clone()));
    assert_eq!((i, v), (1, 7));
    assert!(src.is_cancellation_requested());
    log.assert_each_dropped_once();
}

#[test]
fn when_any_rethrows_a_panicking_winner() {
    let log = Log::new();
    let e = Rc::new(Event::new());
    #[coro::coroutine]
    fn run(log: Log, e: Rc<Event>) -> Task<(usize, u32)> {
        co_return!(co_await!(when_any(vec![wait_then(log.counted("loser"), e, 1), boom(log.counted("b"))])))
    }
    let msg = expect_panic(|| sync_wait(run(log.clone(), e)));
    assert!(msg.contains("boom"));
    log.assert_each_dropped_once();
}

#[test]
fn cancellation_token_runs_callbacks_and_resumes_waiters() {
    let src = CancellationSource::new();
    let token = src.token();
    let hits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let h = hits.clone();
    token.on_cancel(move || {
        h.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    });
    assert!(!token.is_cancellation_requested());
    src.request_cancellation();
    src.request_cancellation();
    assert!(token.is_cancellation_requested());
    assert_eq!(hits.load(std::sync::atomic::Ordering::SeqCst), 1);
    let h = hits.clone();
    token.on_cancel(move || {
        h.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    });
    assert_eq!(hits.load(std::sync::atomic::Ordering::SeqCst), 2);
}

// ---------------------------------------------------------------------------
// `sync_wait` of a combinator, and combinators nested in combinators
// ---------------------------------------------------------------------------

#[coro::coroutine]
fn logged(c: Counted, n: u32) -> Task<u32> {
    c.log().push(format!("run {}", c.name()));
    co_return!(n)
}

#[test]
fn sync_wait_of_when_all_gives_what_co_await_gives() {
    let log = Log::new();
    #[coro::coroutine]
    fn awaited(log: Log) -> Task<((u32, String), Vec<u32>)> {
        let t = co_await!(when_all((value(log.counted("a"), 1), text("b"))));
        let v = co_await!(when_all(vec![value(log.counted("c"), 2), value(log.counted("d"), 3)]));
        co_return!((t, v))
    }
    let by_await = sync_wait(awaited(log.clone()));
    let t = sync_wait(when_all((value(log.counted("a"), 1), text("b"))));
    let v = sync_wait(when_all(vec![value(log.counted("c"), 2), value(log.counted("d"), 3)]));
    assert_eq!((t, v), by_await);
    assert_eq!(by_await, ((1, "b".to_string()), vec![2, 3]));
    assert_eq!(sync_wait(when_all(Vec::<Task<u32>>::new())), Vec::<u32>::new());
    log.assert_each_dropped_once();
}

#[test]
fn sync_wait_of_when_all_waits_for_children_that_suspend() {
    let log = Log::new();
    let e = Rc::new(Event::new());
    #[coro::coroutine]
    fn setter(e: Rc<Event>) -> Task<u32> {
        e.set();
        co_return!(0)
    }
    let r =
        sync_wait(when_all((wait_then(log.counted("a"), e.clone(), 1), value(log.counted("b"), 2), setter(e.clone()))));
    assert_eq!(r, (1, 2, 0));
    log.assert_each_dropped_once();
}

#[test]
fn sync_wait_of_when_all_ready_gives_each_outcome() {
    let log = Log::new();
    common::quiet_planned_panics();
    let r = sync_wait(when_all_ready((value(log.counted("a"), 1), boom(log.counted("b")))));
    assert_eq!(*r.0.as_ref().unwrap(), 1);
    assert!(common::panic_message(&*r.1.unwrap_err()).contains("boom"));
    log.assert_each_dropped_once();
}

#[test]
fn sync_wait_of_when_any_gives_the_winner_and_destroys_the_losers() {
    let log = Log::new();
    let e = Rc::new(Event::new());
    let r = sync_wait(when_any(vec![
        wait_then(log.counted("loser"), e.clone(), 1),
        value(log.counted("winner"), 2),
        wait_then(log.counted("never started"), e.clone(), 3),
    ]));
    assert_eq!(r, (1, 2));
    assert!(!e.is_set());
    log.assert_each_dropped_once();
}

#[test]
fn sync_wait_of_when_all_rethrows_the_first_panic_after_every_child_ran() {
    let log = Log::new();
    let msg = expect_panic(|| {
        sync_wait(when_all(vec![logged(log.counted("a"), 1), boom(log.counted("b")), logged(log.counted("c"), 3)]))
    });
    assert!(msg.contains("boom"));
    assert_eq!(log.count("run a") + log.count("run c"), 2);
    log.assert_each_dropped_once();
}

#[test]
fn when_all_nested_in_when_all_gives_nested_results_in_order() {
    let log = Log::new();
    let r = sync_wait(when_all((when_all((logged(log.counted("a"), 1), text("b"))), logged(log.counted("c"), 3))));
    assert_eq!(r, ((1, "b".to_string()), 3));
    let v = sync_wait(when_all(vec![
        when_all(vec![logged(log.counted("d"), 4), logged(log.counted("e"), 5)]),
        when_all(Vec::<Task<u32>>::new()),
        when_all(vec![logged(log.counted("f"), 6)]),
    ]));
    assert_eq!(v, vec![vec![4, 5], vec![], vec![6]]);
    let runs: Vec<String> = log.events().into_iter().filter(|e| e.starts_with("run ")).collect();
    assert_eq!(runs, ["run a", "run c", "run d", "run e", "run f"]);
    log.assert_each_dropped_once();
}

#[test]
fn nested_combinators_can_be_co_awaited() {
    let log = Log::new();
    let e = Rc::new(Event::new());
    #[coro::coroutine]
    fn setter(e: Rc<Event>) -> Task<u32> {
        e.set();
        co_return!(9)
    }
    type Nested = ((u32, u32), u32);
    #[coro::coroutine]
    fn run(log: Log, e: Rc<Event>) -> Task<(Nested, Vec<u32>)> {
        let a = co_await!(when_all((
            when_all((wait_then(log.counted("a"), e.clone(), 1), value(log.counted("b"), 2))),
            setter(e.clone()),
        )));
        let b = co_await!(when_all_ready(vec![
            when_all((value(log.counted("c"), 3),)),
            when_all((value(log.counted("d"), 4),))
        ]));
        co_return!((a, b.into_iter().map(|r| r.unwrap().0).collect()))
    }
    let (a, b) = sync_wait(run(log.clone(), e));
    assert_eq!(a, ((1, 2), 9));
    assert_eq!(b, [3, 4]);
    log.assert_each_dropped_once();
}

#[test]
fn when_any_of_when_alls_gives_the_first_group_to_finish_and_destroys_the_other() {
    let log = Log::new();
    let e = Rc::new(Event::new());
    let r = sync_wait(when_any(vec![
        when_all(vec![value(log.counted("a"), 1), wait_then(log.counted("b"), e.clone(), 2)]),
        when_all(vec![value(log.counted("c"), 3), value(log.counted("d"), 4)]),
        when_all(vec![value(log.counted("never started"), 5)]),
    ]));
    assert_eq!(r, (1, vec![3, 4]));
    assert!(!e.is_set());
    log.assert_each_dropped_once();
}

#[test]
fn when_all_of_when_anys_gives_each_winner() {
    let log = Log::new();
    let e = Rc::new(Event::new());
    let r = sync_wait(when_all((
        when_any(vec![wait_then(log.counted("a"), e.clone(), 1), value(log.counted("b"), 2)]),
        when_all_ready((value(log.counted("c"), 3),)),
    )));
    assert_eq!(r.0, (1, 2));
    assert_eq!(r.1 .0.unwrap(), 3);
    log.assert_each_dropped_once();
}

#[test]
fn nested_combinators_start_their_children_only_when_the_outer_one_is_awaited() {
    let log = Log::new();
    let all =
        when_all((when_all((logged(log.counted("a"), 1), logged(log.counted("b"), 2))), logged(log.counted("c"), 3)));
    let any = when_any(vec![when_all(vec![logged(log.counted("d"), 4)])]);
    assert!(log.events().is_empty(), "nothing runs before the outer combinator is awaited: {log:?}");
    assert_eq!(sync_wait(any), (0, vec![4]));
    assert_eq!(log.take(), ["run d", "drop d"]);
    #[coro::coroutine]
    fn run<A: coro::Awaiter<Output = ((u32, u32), u32)> + 'static>(log: Log, all: A) -> Task<((u32, u32), u32)> {
        log.push("outer starts");
        co_return!(co_await!(all))
    }
    let t = run(log.clone(), all);
    assert!(log.events().is_empty());
    assert_eq!(sync_wait(t), ((1, 2), 3));
    assert_eq!(log.events()[..4], ["outer starts", "run a", "drop a", "run b"]);
    log.assert_each_dropped_once();
}

#[test]
fn an_unstarted_nested_combinator_drops_each_child_once_without_running_it() {
    let log = Log::new();
    let all = when_all((
        when_all((logged(log.counted("a"), 1), when_any(vec![logged(log.counted("b"), 2)]))),
        when_all_ready(vec![logged(log.counted("c"), 3)]),
    ));
    drop(all);
    assert_eq!(log.count("run a") + log.count("run b") + log.count("run c"), 0);
    assert_eq!(log.created(), 3);
    log.assert_each_dropped_once();
}

#[test]
fn a_panic_in_a_nested_child_reaches_the_outer_sync_wait() {
    let log = Log::new();
    let msg = expect_panic(|| {
        sync_wait(when_all((
            logged(log.counted("a"), 1),
            when_all(vec![logged(log.counted("b"), 2), boom(log.counted("c"))]),
            logged(log.counted("d"), 4),
        )))
    });
    assert!(msg.contains("boom"));
    assert_eq!(log.count("run a") + log.count("run b") + log.count("run d"), 3);
    log.assert_each_dropped_once();

    // Through `co_await!` and `when_any` too, and kept as an `Err` by `when_all_ready`.
    #[coro::coroutine]
    fn run(log: Log) -> Task<(usize, Vec<u32>)> {
        co_return!(co_await!(when_any(vec![when_all(vec![boom(log.counted("e"))])])))
    }
    assert!(expect_panic(|| sync_wait(run(log.clone()))).contains("boom"));
    let r = sync_wait(when_all_ready((when_all((boom(log.counted("f")),)), logged(log.counted("g"), 7))));
    assert!(r.0.is_err());
    assert_eq!(r.1.unwrap(), 7);
    log.assert_each_dropped_once();
}

#[test]
fn a_nested_combinator_of_send_tasks_is_send_and_of_tasks_is_not() {
    type OfSend =
        coro::combinators::WhenAll<<(SendTask<String>, SendTask<String>) as coro::combinators::IntoJoinSet>::Set>;
    type OfLocal = coro::combinators::WhenAll<<(Task<u32>, SendTask<String>) as coro::combinators::IntoJoinSet>::Set>;
    assert!(common::is_send!(
        coro::combinators::WhenAll<<(OfSend, SendTask<String>) as coro::combinators::IntoJoinSet>::Set>
    ));
    assert!(!common::is_send!(
        coro::combinators::WhenAll<<(OfLocal, SendTask<String>) as coro::combinators::IntoJoinSet>::Set>
    ));
    assert!(!common::is_send!(
        coro::combinators::WhenAll<<(OfSend, Task<u32>) as coro::combinators::IntoJoinSet>::Set>
    ));
}

#[test]
fn nested_send_tasks_run_on_a_thread_pool() {
    use coro::ThreadPool;
    use std::sync::Arc;

    #[coro::coroutine]
    fn on_pool(pool: Arc<ThreadPool>, c: Counted, n: u32) -> SendTask<u32> {
        let _c = c;
        co_await!(pool.schedule());
        co_return!(n)
    }
    let pool = Arc::new(ThreadPool::new(2));
    let log = Log::new();
    for round in 0..50 {
        let p = &pool;
        let all = when_all((
            when_all(vec![on_pool(p.clone(), log.counted("a"), 1), on_pool(p.clone(), log.counted("b"), 2)]),
            when_any(vec![on_pool(p.clone(), log.counted("c"), 3)]),
            on_pool(p.clone(), log.counted("d"), 4),
        ));
        // A combinator of `SendTask`s is `Send`: awaited from another thread.
        let r = std::thread::spawn(move || sync_wait(all)).join().unwrap();
        assert_eq!(r, (vec![1, 2], (0, 3), 4), "round {round}");

        // Mixed: the nested `when_all` holds a `Task`, so it is a `Task`,
        // brought home to this thread when its `SendTask` finishes on the pool.
        let r = sync_wait(when_all((
            when_all((value(log.counted("e"), 5), on_pool(p.clone(), log.counted("f"), 6))),
            on_pool(p.clone(), log.counted("g"), 7),
        )));
        assert_eq!(r, ((5, 6), 7), "round {round}");
    }
    common::eventually("every value dropped", || log.dropped() == log.created());
    log.assert_each_dropped_once();
}

#[test]
fn a_nested_send_combinator_that_loses_a_when_any_is_freed_once_its_children_finish() {
    use coro::sync::Event;
    use coro::ThreadPool;
    use std::sync::{mpsc, Arc, Mutex};

    // The loser is running on a worker when the winner finishes (it is the
    // one that lets the winner finish): it cannot be destroyed then, so it
    // is detached and frees itself when it ends.
    #[coro::coroutine]
    fn blocked(
        pool: Arc<ThreadPool>,
        c: Counted,
        on_worker: Arc<Event>,
        go: Arc<Mutex<mpsc::Receiver<()>>>,
    ) -> SendTask<u32> {
        let _c = c;
        co_await!(pool.schedule());
        on_worker.set(); // the winner finishes inside this call
        go.lock().unwrap().recv().unwrap(); // holds its worker until told
        co_return!(1)
    }
    #[coro::coroutine]
    fn quick(c: Counted, on_worker: Arc<Event>) -> SendTask<u32> {
        let _c = c;
        co_await!(on_worker.wait());
        co_return!(2)
    }
    let pool = Arc::new(ThreadPool::new(2));
    let log = Log::new();
    let (go_tx, go_rx) = mpsc::channel();
    let go = Arc::new(Mutex::new(go_rx));
    let on_worker = Arc::new(Event::new());
    let r = sync_wait(when_any(vec![
        when_all(vec![blocked(pool.clone(), log.counted("loser"), on_worker.clone(), go)]),
        when_all(vec![quick(log.counted("winner"), on_worker)]),
    ]));
    assert_eq!(r, (1, vec![2]));
    // The losing `when_all` was detached while its child runs on the pool.
    assert_eq!(log.live(), ["loser"]);
    go_tx.send(()).unwrap();
    common::eventually("the detached loser is freed", || log.live().is_empty());
    log.assert_each_dropped_once();
}
