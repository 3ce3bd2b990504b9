//! `coro::task::TaskScope`: children start eagerly and run concurrently,
//! `join` waits for all of them (and for children they spawn), a child's
//! panic reaches `join`, and dropping the scope destroys suspended children,
//! dropping each local once.

use std::cell::{Cell, RefCell};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;

use coro::sync::local::Event;
use coro::task::{ScopeSpawner, Task, TaskScope};
use coro::{co_await, co_return, sync_wait};

type Log = Rc<RefCell<Vec<String>>>;

fn log() -> Log {
    Rc::new(RefCell::new(Vec::new()))
}

fn push(log: &Log, s: impl Into<String>) {
    log.borrow_mut().push(s.into());
}

/// Counts its drops.
struct Counted(Rc<Cell<u32>>);
impl Drop for Counted {
    fn drop(&mut self) {
        self.0.set(self.0.get() + 1);
    }
}

#[coro::coroutine]
fn waits(go: Rc<Event>, name: &'static str, log: Log) -> Task<()> {
    push(&log, format!("{name} started"));
    co_await!(go.wait());
    push(&log, format!("{name} done"));
    co_return!(())
}

#[coro::coroutine]
fn children_run_concurrently_body(log: Log) -> Task<()> {
    let a = Rc::new(Event::new());
    let b = Rc::new(Event::new());
    let mut scope = TaskScope::new();
    scope.spawn(waits(a.clone(), "a", log.clone()));
    scope.spawn(waits(b.clone(), "b", log.clone()));
    push(&log, "spawned");
    assert_eq!(scope.len(), 2);
    b.set();
    assert_eq!(scope.len(), 1);
    a.set();
    co_await!(scope.join());
    push(&log, "joined");
    co_return!(())
}

#[test]
fn children_start_at_once_run_concurrently_and_join_waits_for_all() {
    let l = log();
    sync_wait(children_run_concurrently_body(l.clone()));
    assert_eq!(*l.borrow(), ["a started", "b started", "spawned", "b done", "a done", "joined"]);
}

#[coro::coroutine]
fn setter(go: Rc<Event>, log: Log) -> Task<()> {
    push(&log, "setter");
    go.set();
    co_return!(())
}

#[coro::coroutine]
fn join_suspends_until_the_last_child_body(log: Log) -> Task<()> {
    let go = Rc::new(Event::new());
    let mut scope = TaskScope::new();
    scope.spawn(waits(go.clone(), "a", log.clone()));
    scope.spawn(waits(go.clone(), "b", log.clone()));
    // A third child sets `go` once `later` is set.
    let later = Rc::new(Event::new());
    #[coro::coroutine]
    fn deferred(later: Rc<Event>, go: Rc<Event>, log: Log) -> Task<()> {
        co_await!(later.wait());
        co_await!(setter(go, log));
        co_return!(())
    }
    scope.spawn(deferred(later.clone(), go.clone(), log.clone()));
    later.set();
    co_await!(scope.join());
    push(&log, "joined");
    co_return!(())
}

#[test]
fn children_awaiting_a_local_event_set_later_finish_before_join_returns() {
    let l = log();
    sync_wait(join_suspends_until_the_last_child_body(l.clone()));
    assert_eq!(*l.borrow(), ["a started", "b started", "setter", "a done", "b done", "joined"]);
}

#[coro::coroutine]
fn joiner_suspends_body(log: Log) -> Task<()> {
    let go = Rc::new(Event::new());
    let mut scope = TaskScope::new();
    scope.spawn(waits(go.clone(), "a", log.clone()));
    // The second child comes back from a pool worker through this
    // thread's wake-up queue (run by `sync_wait` while the joiner is
    // suspended), then sets `go`: the first child finishes last and
    // resumes the joiner.
    #[coro::coroutine]
    fn hop_then_set(pool: std::sync::Arc<coro::ThreadPool>, go: Rc<Event>, log: Log) -> Task<()> {
        co_await!(hop(pool));
        push(&log, "hopped");
        go.set();
        co_return!(())
    }
    #[coro::coroutine]
    fn hop(pool: std::sync::Arc<coro::ThreadPool>) -> coro::SendTask<()> {
        co_await!(pool.schedule());
        co_return!(())
    }
    let pool = std::sync::Arc::new(coro::ThreadPool::new(1));
    scope.spawn(hop_then_set(pool.clone(), go.clone(), log.clone()));
    push(&log, "joining");
    co_await!(scope.join()); // suspends: both children are waiting
    push(&log, "joined");
    co_return!(())
}

#[test]
fn join_suspends_and_the_last_child_to_finish_resumes_it() {
    let l = log();
    sync_wait(joiner_suspends_body(l.clone()));
    assert_eq!(*l.borrow(), ["a started", "joining", "hopped", "a done", "joined"]);
}

#[coro::coroutine]
fn empty_join() -> Task<u32> {
    let mut scope = TaskScope::new();
    co_await!(scope.join());
    co_await!(scope.join());
    co_return!(7)
}

#[test]
fn join_with_no_children_is_ready_at_once() {
    assert_eq!(sync_wait(empty_join()), 7);
}

#[coro::coroutine]
fn grandchild(go: Rc<Event>, log: Log) -> Task<()> {
    push(&log, "grandchild started");
    co_await!(go.wait());
    push(&log, "grandchild done");
    co_return!(())
}

#[coro::coroutine]
fn spawning_child(spawner: ScopeSpawner, go: Rc<Event>, log: Log) -> Task<()> {
    assert!(spawner.spawn(grandchild(go, log.clone())));
    push(&log, "child done");
    co_return!(())
}

#[coro::coroutine]
fn nested_spawn_body(log: Log) -> Task<()> {
    let go = Rc::new(Event::new());
    let mut scope = TaskScope::new();
    scope.spawn(spawning_child(scope.spawner(), go.clone(), log.clone()));
    assert_eq!(scope.len(), 1); // the grandchild
    go.set();
    co_await!(scope.join());
    push(&log, "joined");
    // Joined again after more spawns.
    scope.spawn(spawning_child(scope.spawner(), go.clone(), log.clone()));
    co_await!(scope.join());
    push(&log, "joined again");
    co_return!(())
}

#[test]
fn a_child_spawned_from_inside_another_child_is_joined_too() {
    let l = log();
    sync_wait(nested_spawn_body(l.clone()));
    assert_eq!(
        *l.borrow(),
        [
            "grandchild started",
            "child done",
            "grandchild done",
            "joined",
            "grandchild started",
            "grandchild done",
            "child done",
            "joined again"
        ]
    );
}

#[coro::coroutine]
fn panics_after(go: Rc<Event>, msg: &'static str) -> Task<()> {
    co_await!(go.wait());
    panic!("{msg}");
}

#[coro::coroutine]
fn panic_body(log: Log) -> Task<()> {
    let go = Rc::new(Event::new());
    let mut scope = TaskScope::new();
    scope.spawn(panics_after(go.clone(), "first"));
    scope.spawn(panics_after(go.clone(), "second"));
    scope.spawn(waits(go.clone(), "c", log.clone()));
    go.set();
    push(&log, "joining");
    co_await!(scope.join());
    push(&log, "not reached");
    co_return!(())
}

#[test]
fn the_first_panic_of_a_child_is_resumed_from_join_after_all_children_finish() {
    let l = log();
    let err = catch_unwind(AssertUnwindSafe(|| sync_wait(panic_body(l.clone())))).unwrap_err();
    assert_eq!(err.downcast_ref::<String>().map(String::as_str), Some("first"));
    assert_eq!(*l.borrow(), ["c started", "c done", "joining"]);
}

#[coro::coroutine]
fn holds(c: Counted, go: Rc<Event>) -> Task<()> {
    let _local = Counted(c.0.clone());
    co_await!(go.wait());
    unreachable!("the scope was dropped");
}

#[test]
fn dropping_the_scope_destroys_suspended_children_dropping_each_local_once() {
    let drops = Rc::new(Cell::new(0));
    let go = Rc::new(Event::new());
    let scope = TaskScope::new();
    scope.spawn(holds(Counted(drops.clone()), go.clone()));
    scope.spawn(holds(Counted(drops.clone()), go.clone()));
    assert_eq!((scope.len(), drops.get()), (2, 0));
    let spawner = scope.spawner();
    drop(scope);
    assert_eq!(drops.get(), 4); // a parameter and a local each
    go.set(); // no waiter left
    assert!(!spawner.spawn(holds(Counted(drops.clone()), go.clone())));
    assert_eq!(drops.get(), 5); // dropped unstarted
}

#[coro::coroutine]
fn releases_sibling(release: Rc<Event>, c: Counted) -> Task<()> {
    let _c = c;
    let _guard = SetOnDrop(release);
    let never = Event::new();
    co_await!(never.wait());
    co_return!(())
}

struct SetOnDrop(Rc<Event>);
impl Drop for SetOnDrop {
    fn drop(&mut self) {
        self.0.set();
    }
}

#[coro::coroutine]
fn finishes_when_set(go: Rc<Event>, c: Counted) -> Task<()> {
    let _c = c;
    co_await!(go.wait());
    co_return!(())
}

#[test]
fn a_child_finishing_while_the_scope_is_dropped_is_freed_once() {
    let drops = Rc::new(Cell::new(0));
    let go = Rc::new(Event::new());
    let scope = TaskScope::new();
    scope.spawn(releases_sibling(go.clone(), Counted(drops.clone())));
    scope.spawn(finishes_when_set(go.clone(), Counted(drops.clone())));
    drop(scope); // destroying the first sets `go`: the second finishes then
    assert_eq!(drops.get(), 2);
}

#[coro::coroutine]
fn abandoned_join(go: Rc<Event>, c: Counted) -> Task<()> {
    let mut scope = TaskScope::new();
    scope.spawn(finishes_when_set(go, c));
    co_await!(scope.join());
    co_return!(())
}

#[test]
fn a_joining_coroutine_destroyed_while_suspended_destroys_its_scope() {
    let drops = Rc::new(Cell::new(0));
    let go = Rc::new(Event::new());
    // Started by a poll, suspended in `join`, then dropped.
    use std::future::{Future, IntoFuture};
    use std::task::{Context, Waker};
    let mut fut = Box::pin(abandoned_join(go.clone(), Counted(drops.clone())).into_future());
    assert!(fut.as_mut().poll(&mut Context::from_waker(Waker::noop())).is_pending());
    drop(fut);
    assert_eq!(drops.get(), 1);
    go.set(); // nothing left to resume
}
