//! `AutoResetEvent` (cppcoro's `async_auto_reset_event`): each `set` lets
//! exactly one waiter through, in FIFO order, or leaves the event set for
//! the next one; a waiter destroyed after a `set` released it passes the
//! `set` on. Both flavours; the last test sets from other threads.

mod common;
mod sync_helpers;

use std::cell::RefCell;
use std::rc::Rc;

use common::{Job, Log};
use coro::sync::auto_reset_event::AutoResetEvent;
use coro::sync::{Flavor, Local, ThreadSafe};
use coro::{co_await, co_return, Awaiter};
use sync_helpers::{deep, for_both_flavours, start};

trait Make: Flavor + Sized {
    fn event() -> AutoResetEvent<Self>;
    fn event_set() -> AutoResetEvent<Self>;
}
impl Make for Local {
    fn event() -> AutoResetEvent<Self> {
        AutoResetEvent::<Local>::new()
    }
    fn event_set() -> AutoResetEvent<Self> {
        AutoResetEvent::<Local>::new_set()
    }
}
impl Make for ThreadSafe {
    fn event() -> AutoResetEvent<Self> {
        AutoResetEvent::<ThreadSafe>::new()
    }
    fn event_set() -> AutoResetEvent<Self> {
        AutoResetEvent::<ThreadSafe>::new_set()
    }
}

#[coro::coroutine]
fn waiter<F: Flavor>(ev: Rc<AutoResetEvent<F>>, log: Log, name: &'static str) -> Job<()> {
    let _local = log.counted(name);
    co_await!(ev.wait());
    log.push(format!("{name} passed"));
    co_return!(())
}

fn each_set_releases_exactly_one_waiter_in_fifo_order<F: Make>() {
    let log = Log::new();
    let ev = Rc::new(F::event());
    let jobs: Vec<_> = ["a", "b", "c"].map(|n| start(waiter(ev.clone(), log.clone(), n))).into();
    assert!(log.events().is_empty());
    ev.set();
    assert_eq!(log.events(), ["a passed", "drop a"]);
    assert!(!ev.is_set(), "the set went to a waiter");
    ev.set();
    assert_eq!(log.events()[2..], ["b passed", "drop b"]);
    assert!(!jobs[2].done());
    ev.set();
    assert!(jobs.iter().all(|j| j.done()));
    assert!(!ev.is_set());
    drop(jobs);
    log.assert_each_dropped_once();
}

fn a_set_with_nobody_waiting_is_kept_for_the_next_waiter_only<F: Make>() {
    let log = Log::new();
    let ev = Rc::new(F::event());
    ev.set();
    ev.set(); // sets do not add up
    assert!(ev.is_set());
    let a = start(waiter(ev.clone(), log.clone(), "a"));
    assert!(a.done(), "the kept set lets the first waiter through at once");
    assert!(!ev.is_set(), "and is consumed by it");
    let b = start(waiter(ev.clone(), log.clone(), "b"));
    assert!(!b.done(), "the second one waits");
    assert!(!ev.try_wait());
    ev.set();
    assert!(b.done());
    drop((a, b));
    log.assert_each_dropped_once();
}

fn an_event_made_set_lets_one_wait_through<F: Make>() {
    let log = Log::new();
    let ev = Rc::new(F::event_set());
    let a = start(waiter(ev.clone(), log.clone(), "a"));
    let b = start(waiter(ev.clone(), log.clone(), "b"));
    assert!(a.done() && !b.done());
    ev.set();
    assert!(b.done());
    drop((a, b));
    log.assert_each_dropped_once();
}

fn reset_takes_back_a_set_nobody_used<F: Make>() {
    let ev = F::event();
    ev.set();
    ev.reset();
    assert!(!ev.is_set());
    assert!(!ev.try_wait());
}

fn a_queued_waiter_that_is_destroyed_leaves_the_queue<F: Make>() {
    let log = Log::new();
    let ev = Rc::new(F::event());
    let a = start(waiter(ev.clone(), log.clone(), "a"));
    let b = start(waiter(ev.clone(), log.clone(), "b"));
    drop(a);
    assert_eq!(log.events(), ["drop a"]);
    ev.set(); // goes to b, not to the destroyed a
    assert!(b.done());
    assert!(!ev.is_set());
    drop(b);
    log.assert_each_dropped_once();
}

fn released(
    victim: &Rc<RefCell<Option<Job<()>>>>,
    ev: &Rc<AutoResetEvent<impl Flavor + 'static>>,
) -> Vec<Box<dyn FnOnce()>> {
    let (e, v) = (ev.clone(), victim.clone());
    vec![Box::new(move || e.set()), Box::new(move || drop(v.borrow_mut().take()))]
}

fn a_waiter_released_but_destroyed_before_it_ran_passes_the_set_to_the_next_waiter<F: Make>() {
    let log = Log::new();
    let ev = Rc::new(F::event());
    let victim = Rc::new(RefCell::new(Some(start(waiter(ev.clone(), log.clone(), "victim")))));
    let next = start(waiter(ev.clone(), log.clone(), "next"));
    deep(released(&victim, &ev)); // set: to the victim, queued; then destroyed
    assert_eq!(log.count("victim passed"), 0);
    assert!(next.done(), "the set went on to the next waiter");
    assert!(!ev.is_set());
    drop(next);
    log.assert_each_dropped_once();
}

fn a_waiter_released_but_destroyed_before_it_ran_leaves_the_event_set_if_nobody_else_waits<F: Make>() {
    let log = Log::new();
    let ev = Rc::new(F::event());
    let victim = Rc::new(RefCell::new(Some(start(waiter(ev.clone(), log.clone(), "victim")))));
    deep(released(&victim, &ev));
    assert_eq!(log.events(), ["drop victim"]);
    assert!(ev.is_set(), "the set is kept for the next waiter");
    let late = start(waiter(ev.clone(), log.clone(), "late"));
    assert!(late.done());
    drop(late);
    log.assert_each_dropped_once();
}

fn an_awaiter_dropped_without_being_awaited_takes_nothing<F: Make>() {
    let ev = F::event();
    ev.set();
    drop(ev.wait());
    assert!(ev.is_set());
    let mut w = ev.wait();
    assert!(w.await_ready(), "await_ready consumes the set");
    drop(w); // after `await_ready`, without `await_resume`: consumed all the same
    assert!(!ev.is_set());
}

for_both_flavours!(
    each_set_releases_exactly_one_waiter_in_fifo_order,
    a_set_with_nobody_waiting_is_kept_for_the_next_waiter_only,
    an_event_made_set_lets_one_wait_through,
    reset_takes_back_a_set_nobody_used,
    a_queued_waiter_that_is_destroyed_leaves_the_queue,
    a_waiter_released_but_destroyed_before_it_ran_passes_the_set_to_the_next_waiter,
    a_waiter_released_but_destroyed_before_it_ran_leaves_the_event_set_if_nobody_else_waits,
    an_awaiter_dropped_without_being_awaited_takes_nothing,
);

/// Four threads pass an event 200 times each while a fifth sets it whenever
/// it is clear: every pass is let through by exactly one `set`, none is lost.
#[test]
fn sets_from_another_thread_let_every_waiter_through_exactly_once() {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    #[coro::coroutine]
    fn pass_n(ev: Arc<coro::sync::AutoResetEvent>, passes: Arc<AtomicUsize>, n: usize) -> coro::SendTask<()> {
        for _ in 0..n {
            co_await!(ev.wait());
            passes.fetch_add(1, SeqCst);
        }
        co_return!(())
    }

    const THREADS: usize = 4;
    const N: usize = 200;
    let ev = Arc::new(coro::sync::AutoResetEvent::new());
    let passes = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let setter = std::thread::spawn({
        let (ev, passes, stop) = (ev.clone(), passes.clone(), stop.clone());
        move || {
            let until = Instant::now() + Duration::from_secs(20);
            let mut sets = 0usize;
            while passes.load(SeqCst) < THREADS * N && !stop.load(SeqCst) && Instant::now() < until {
                if !ev.is_set() {
                    ev.set();
                    sets += 1;
                }
                std::thread::yield_now();
            }
            sets
        }
    });
    let waiters: Vec<_> = (0..THREADS)
        .map(|_| {
            let (ev, passes) = (ev.clone(), passes.clone());
            std::thread::spawn(move || coro::sync_wait(pass_n(ev, passes, N)))
        })
        .collect();
    for w in waiters {
        w.join().unwrap();
    }
    stop.store(true, SeqCst);
    let sets = setter.join().unwrap();
    assert_eq!(passes.load(SeqCst), THREADS * N);
    // Each pass took one set; a set may be left over at the end.
    assert!(sets == THREADS * N || (sets == THREADS * N + 1 && ev.is_set()), "{sets} sets");
}
