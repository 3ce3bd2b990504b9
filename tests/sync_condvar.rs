//! `coro::sync::Condvar` and `coro::sync::local::Condvar`.

use std::cell::Cell;
use std::rc::Rc;
use std::sync::Arc;

use coro::sync::local;
use coro::{co_await, co_return, sync_wait, when_all, SendTask, Task};

mod common;
use common::Job;

fn start<T>(job: Job<T>) -> Job<T> {
    job.resume();
    job
}

type LocalQueue = Rc<(local::Mutex<Vec<u32>>, local::Condvar)>;

#[coro::coroutine]
fn consume(q: LocalQueue, n: usize) -> Task<Vec<u32>> {
    let (m, cv) = &*q;
    let mut got = Vec::new();
    while got.len() < n {
        let mut items = co_await!(m.lock());
        while items.is_empty() {
            items = co_await!(cv.wait(items));
        }
        got.extend(items.drain(..));
    }
    co_return!(got)
}

#[coro::coroutine]
fn produce(q: LocalQueue, n: u32, yield_ev: Rc<local::AutoResetEvent>) -> Task<()> {
    let (m, cv) = &*q;
    for i in 0..n {
        co_await!(m.lock()).push(i);
        cv.notify_one();
        let _ = &yield_ev;
    }
    co_return!(())
}

#[test]
fn producer_consumer_on_one_thread() {
    let q: LocalQueue = Rc::new((local::Mutex::new(Vec::new()), local::Condvar::new()));
    let ev = Rc::new(local::AutoResetEvent::new());
    let (got, ()) = sync_wait(when_all((consume(q.clone(), 5), produce(q, 5, ev))));
    assert_eq!(got, [0, 1, 2, 3, 4]);
}

#[coro::coroutine]
fn consume_safe(q: Arc<(coro::sync::Mutex<Vec<u32>>, coro::sync::Condvar)>, n: usize) -> SendTask<u64> {
    let (m, cv) = &*q;
    let (mut seen, mut sum) = (0, 0u64);
    while seen < n {
        let mut items = co_await!(m.lock());
        while items.is_empty() {
            items = co_await!(cv.wait(items));
        }
        for v in items.drain(..) {
            seen += 1;
            sum += u64::from(v);
        }
    }
    co_return!(sum)
}

#[coro::coroutine]
fn produce_safe(q: Arc<(coro::sync::Mutex<Vec<u32>>, coro::sync::Condvar)>, n: u32) -> SendTask<()> {
    let (m, cv) = &*q;
    for i in 0..n {
        co_await!(m.lock()).push(i);
        cv.notify_all();
    }
    co_return!(())
}

#[test]
fn producer_consumer_across_threads() {
    for _ in 0..20 {
        let q = Arc::new((coro::sync::Mutex::new(Vec::new()), coro::sync::Condvar::new()));
        let producer = {
            let q = q.clone();
            std::thread::spawn(move || sync_wait(produce_safe(q, 500)))
        };
        assert_eq!(sync_wait(consume_safe(q, 500)), (0..500u64).sum::<u64>());
        producer.join().unwrap();
    }
}

/// Waits once, then counts itself woken.
#[coro::coroutine]
fn waiter(q: Rc<(local::Mutex<u32>, local::Condvar)>, woken: Rc<Cell<u32>>) -> Task<()> {
    let (m, cv) = &*q;
    let g = co_await!(m.lock());
    let _g = co_await!(cv.wait(g));
    woken.set(woken.get() + 1);
    co_return!(())
}

#[test]
fn notify_one_wakes_one_and_notify_all_wakes_all() {
    let q = Rc::new((local::Mutex::new(0), local::Condvar::new()));
    let woken = Rc::new(Cell::new(0));
    let s = coro::schedule::LocalScheduler::new();
    for _ in 0..3 {
        coro::schedule::spawn_detached(waiter(q.clone(), woken.clone()), &s);
    }
    s.run_until_idle();
    assert_eq!(woken.get(), 0);
    assert!(!q.0.is_locked(), "each waiter released the lock");
    q.1.notify_one();
    assert_eq!(woken.get(), 1);
    q.1.notify_one();
    assert_eq!(woken.get(), 2);
    q.1.notify_all();
    assert_eq!(woken.get(), 3);
    q.1.notify_all(); // nobody left
    assert!(!q.0.is_locked());
}

struct Counted(Rc<Cell<u32>>);
impl Drop for Counted {
    fn drop(&mut self) {
        self.0.set(self.0.get() + 1);
    }
}

#[coro::coroutine]
fn job_waiter(q: Rc<(local::Mutex<u32>, local::Condvar)>, drops: Rc<Cell<u32>>, woken: Rc<Cell<u32>>) -> Job<()> {
    let _c = Counted(drops);
    let (m, cv) = &*q;
    let g = co_await!(m.lock());
    let mut g = co_await!(cv.wait(g));
    *g += 1;
    woken.set(woken.get() + 1);
    co_return!(())
}

#[test]
fn a_waiter_destroyed_while_waiting_is_unlinked() {
    let q = Rc::new((local::Mutex::new(0), local::Condvar::new()));
    let (drops, woken) = (Rc::new(Cell::new(0)), Rc::new(Cell::new(0)));
    let a = start(job_waiter(q.clone(), drops.clone(), woken.clone()));
    let b = start(job_waiter(q.clone(), drops.clone(), woken.clone()));
    assert!(!q.0.is_locked());
    drop(a);
    assert_eq!(drops.get(), 1);
    q.1.notify_one(); // the first waiter left: `b` gets it
    assert!(b.done());
    assert_eq!((woken.get(), *q.0.try_lock().unwrap()), (1, 1));
    drop(b);
    assert_eq!(drops.get(), 2);
}

#[test]
fn a_waiter_destroyed_while_reacquiring_hands_the_lock_on() {
    let q = Rc::new((local::Mutex::new(0), local::Condvar::new()));
    let (drops, woken) = (Rc::new(Cell::new(0)), Rc::new(Cell::new(0)));
    let a = start(job_waiter(q.clone(), drops.clone(), woken.clone()));
    let b = start(job_waiter(q.clone(), drops.clone(), woken.clone()));
    let held = q.0.try_lock().unwrap();
    q.1.notify_all(); // both queue for the lock
    assert!(!a.done() && !b.done());
    drop(a); // queued on the mutex: unlinked from it
    assert_eq!(drops.get(), 1);
    drop(held); // handed to `b`
    assert!(b.done());
    assert_eq!((woken.get(), *q.0.try_lock().unwrap()), (1, 1));
    drop(b);
    assert_eq!(drops.get(), 2);
}

#[test]
fn a_waiter_destroyed_by_the_coroutine_ahead_of_it_leaves_the_lock_free() {
    // `k`'s resume (granted by `held`'s drop) releases the lock to `a`,
    // queued behind it, then destroys it (resumed inline already, or not).
    let q = Rc::new((local::Mutex::new(0), local::Condvar::new()));
    let (drops, woken) = (Rc::new(Cell::new(0)), Rc::new(Cell::new(0)));
    let slot: Rc<std::cell::RefCell<Option<Job<()>>>> = Rc::default();
    let k = start(killer(q.clone(), slot.clone()));
    let a = start(job_waiter(q.clone(), drops.clone(), woken.clone()));
    *slot.borrow_mut() = Some(a);
    let held = q.0.try_lock().unwrap();
    q.1.notify_all(); // `k`, then `a`, queue for the lock
    drop(held); // `k` runs and, holding the lock, destroys `a`, queued behind it
    assert!(k.done());
    assert_eq!(drops.get(), 1);
    assert!(woken.get() <= 1);
    assert!(!q.0.is_locked(), "the lock went on past the destroyed waiter");
}

#[coro::coroutine]
fn killer(q: Rc<(local::Mutex<u32>, local::Condvar)>, slot: Rc<std::cell::RefCell<Option<Job<()>>>>) -> Job<()> {
    let (m, cv) = &*q;
    let g = co_await!(m.lock());
    let g = co_await!(cv.wait(g));
    drop(g); // grants `a` the lock
    drop(slot.borrow_mut().take());
    co_return!(())
}
