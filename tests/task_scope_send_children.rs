//! `coro::task::TaskScope` with `SendTask<()>` children: a child that moves
//! to a pool and finishes there is joined on the scope's thread; its panic
//! reaches `join`; `Task` and `SendTask` children mix; and dropping the
//! scope gives an unfinished `SendTask` child up (each local dropped once).

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, ThreadId};

use coro::sync::Event;
use coro::task::TaskScope;
use coro::{co_await, co_return, sync_wait, SendTask, Task, ThreadPool};

type Threads = Arc<Mutex<Vec<ThreadId>>>;

#[coro::coroutine]
fn on_pool(pool: Arc<ThreadPool>, done: Arc<AtomicUsize>, ran_on: Threads) -> SendTask<()> {
    co_await!(pool.schedule());
    ran_on.lock().unwrap().push(thread::current().id());
    done.fetch_add(1, Ordering::SeqCst);
    co_return!(())
}

#[coro::coroutine]
fn local_child(done: Arc<AtomicUsize>) -> Task<()> {
    done.fetch_add(100, Ordering::SeqCst);
    co_return!(())
}

#[coro::coroutine]
fn joins_pool_children(pool: Arc<ThreadPool>, done: Arc<AtomicUsize>, ran_on: Threads) -> Task<ThreadId> {
    let mut scope = TaskScope::new();
    for _ in 0..50 {
        scope.spawn(on_pool(pool.clone(), done.clone(), ran_on.clone()));
    }
    scope.spawn(local_child(done.clone()));
    co_await!(scope.join());
    assert!(scope.is_empty());
    co_return!(thread::current().id())
}

#[test]
fn send_task_children_finishing_on_a_pool_are_joined_on_the_scopes_thread() {
    let pool = Arc::new(ThreadPool::new(2));
    let done = Arc::new(AtomicUsize::new(0));
    let ran_on: Threads = Arc::default();
    let joined_on = sync_wait(joins_pool_children(pool.clone(), done.clone(), ran_on.clone()));
    assert_eq!(joined_on, thread::current().id());
    assert_eq!(done.load(Ordering::SeqCst), 50 + 100);
    assert!(ran_on.lock().unwrap().iter().all(|t| *t != thread::current().id()), "the children ran on the pool");
}

#[coro::coroutine]
fn panics_on_pool(pool: Arc<ThreadPool>) -> SendTask<()> {
    co_await!(pool.schedule());
    panic!("child failed on the pool");
}

#[coro::coroutine]
fn join_a_panicking_child(pool: Arc<ThreadPool>, done: Arc<AtomicUsize>) -> Task<()> {
    let mut scope = TaskScope::new();
    scope.spawn(panics_on_pool(pool.clone()));
    scope.spawn(on_pool(pool, done, Arc::default()));
    co_await!(scope.join());
    co_return!(())
}

#[test]
fn a_send_task_childs_panic_on_another_thread_is_resumed_from_join() {
    let pool = Arc::new(ThreadPool::new(2));
    let done = Arc::new(AtomicUsize::new(0));
    let err = catch_unwind(AssertUnwindSafe(|| sync_wait(join_a_panicking_child(pool, done.clone())))).unwrap_err();
    assert_eq!(err.downcast_ref::<&str>(), Some(&"child failed on the pool"));
    assert_eq!(done.load(Ordering::SeqCst), 1, "the other child still finished");
}

/// Counts its drops.
struct Counted(Arc<AtomicUsize>);
impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[coro::coroutine]
fn holds_until(go: Arc<Event>, c: Counted) -> SendTask<()> {
    co_await!(go.wait());
    drop(c);
    co_return!(())
}

#[test]
fn dropping_the_scope_gives_up_an_unfinished_send_task_child_dropping_each_local_once() {
    let drops = Arc::new(AtomicUsize::new(0));
    let go = Arc::new(Event::new());
    let scope = TaskScope::new();
    scope.spawn(holds_until(go.clone(), Counted(drops.clone())));
    assert_eq!(scope.len(), 1);
    drop(scope);
    // Given up: destroyed by the time the event that would resume it is
    // set (at once if its wait could be withdrawn, else at that resume),
    // never run on.
    go.set();
    assert_eq!(drops.load(Ordering::SeqCst), 1);
}

#[coro::coroutine]
fn finishes_at_once(done: Arc<AtomicUsize>) -> SendTask<()> {
    done.fetch_add(1, Ordering::SeqCst);
    co_return!(())
}

#[test]
fn a_send_task_child_finishing_inside_spawn_is_freed_at_once() {
    let done = Arc::new(AtomicUsize::new(0));
    let scope = TaskScope::new();
    scope.spawn(finishes_at_once(done.clone()));
    assert!(scope.is_empty());
    assert_eq!(done.load(Ordering::SeqCst), 1);
}
