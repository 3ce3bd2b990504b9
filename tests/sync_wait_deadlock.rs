//! `sync_wait` of a thread-bound task stuck on a `coro::sync::local`
//! primitive that nothing can release panics, naming where it waits; the
//! cases where something can still wake it do not.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use coro::{co_await, co_return, sync_wait, when_all, Task};

#[coro::coroutine]
fn wait_local(ev: Rc<coro::sync::local::Event>) -> Task<u32> {
    co_await!(ev.wait());
    co_return!(1)
}

#[coro::coroutine]
fn outer(ev: Rc<coro::sync::local::Event>) -> Task<u32> {
    let n = co_await!(wait_local(ev));
    co_return!(n + 1)
}

fn panic_message(p: Box<dyn std::any::Any + Send>) -> String {
    match p.downcast::<String>() {
        Ok(s) => *s,
        Err(p) => p.downcast::<&str>().map(|s| s.to_string()).unwrap_or_default(),
    }
}

#[test]
fn a_local_event_nobody_sets_panics_naming_the_co_await() {
    let ev = Rc::new(coro::sync::local::Event::new());
    let line = line!() - 20; // the `co_await!(ev.wait())` in `wait_local`
    let msg = panic_message(catch_unwind(AssertUnwindSafe(|| sync_wait(outer(ev.clone())))).unwrap_err());
    assert!(msg.contains("deadlock"), "{msg}");
    assert!(msg.contains(&format!("sync_wait_deadlock.rs:{line}:")), "{msg}");
    assert!(msg.contains("in wait_local") && msg.contains("in outer"), "{msg}");
    // The task was destroyed on the way out: the event has no waiter left.
    ev.set();
}

#[test]
fn a_local_mutex_held_forever_panics() {
    #[coro::coroutine]
    fn lock_twice(m: Rc<coro::sync::local::Mutex<u8>>) -> Task<()> {
        let _a = co_await!(m.lock());
        let _b = co_await!(m.lock());
        co_return!(())
    }
    let m = Rc::new(coro::sync::local::Mutex::new(0));
    let msg = panic_message(catch_unwind(AssertUnwindSafe(|| sync_wait(lock_twice(m.clone())))).unwrap_err());
    assert!(msg.contains("in lock_twice"), "{msg}");
    assert!(!m.is_locked());
}

#[test]
fn a_local_event_set_later_in_the_same_sync_wait_does_not_panic() {
    #[coro::coroutine]
    fn set_it(ev: Rc<coro::sync::local::Event>) -> Task<u32> {
        ev.set();
        co_return!(10)
    }
    let ev = Rc::new(coro::sync::local::Event::new());
    assert_eq!(sync_wait(when_all((outer(ev.clone()), set_it(ev.clone())))), (2, 10));
}

#[test]
fn a_thread_safe_event_set_by_another_thread_does_not_panic() {
    #[coro::coroutine]
    fn wait_safe(ev: Arc<coro::sync::Event>) -> Task<u32> {
        co_await!(ev.wait());
        co_return!(3)
    }
    let ev = Arc::new(coro::sync::Event::new());
    thread::scope(|s| {
        s.spawn(|| {
            thread::sleep(Duration::from_millis(50));
            ev.set();
        });
        assert_eq!(sync_wait(wait_safe(ev.clone())), 3);
    });
}

#[test]
fn a_future_woken_from_another_thread_does_not_panic() {
    #[coro::coroutine]
    fn receive(rx: futures::channel::oneshot::Receiver<u32>) -> Task<u32> {
        co_return!(co_await!(rx).unwrap())
    }
    let (tx, rx) = futures::channel::oneshot::channel();
    let sender = thread::spawn(move || {
        thread::sleep(Duration::from_millis(50));
        tx.send(4).unwrap();
    });
    assert_eq!(sync_wait(receive(rx)), 4);
    sender.join().unwrap();
}

#[test]
fn a_local_wait_beside_a_foreign_wake_source_does_not_panic() {
    // The local event is set by a branch that first waits for another
    // thread: the chain is not the whole story, and nothing is reported.
    #[coro::coroutine]
    fn set_after(ev: Rc<coro::sync::local::Event>, rx: futures::channel::oneshot::Receiver<()>) -> Task<u32> {
        co_await!(rx).unwrap();
        ev.set();
        co_return!(5)
    }
    let ev = Rc::new(coro::sync::local::Event::new());
    let (tx, rx) = futures::channel::oneshot::channel();
    let sender = thread::spawn(move || {
        thread::sleep(Duration::from_millis(50));
        tx.send(()).unwrap();
    });
    assert_eq!(sync_wait(when_all((outer(ev.clone()), set_after(ev.clone(), rx)))), (2, 5));
    sender.join().unwrap();
}
