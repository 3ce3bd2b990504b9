//! The synchronisation primitives of `coro::sync` on one thread: waiting,
//! waking order, fairness, the bounded nesting of inline resumption, and
//! drop accounting on every path — including a waiter destroyed while it is
//! suspended on a primitive, and one destroyed after the primitive released
//! it but before it ran.
//!
//! Every behaviour runs for both flavours (`local` and `thread_safe`
//! modules of tests); threads are in `sync_threads.rs`.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::{Cell, RefCell};
use std::rc::Rc;

use common::{expect_panic, is_send, is_sync, on_small_stack, pause, quiet_planned_panics, Counted, Job, Log, PLANNED};
use coro::promise::{AwaitDirect, Payload, ReturnVoid, ReturnsVoid};
use coro::sync::channel::{Channel, SendError, TryRecvError, TrySendError};
use coro::sync::event::Event;
use coro::sync::latch::Latch;
use coro::sync::mutex::Mutex;
use coro::sync::semaphore::Semaphore;
use coro::sync::single_consumer_event::SingleConsumerEvent;
use coro::sync::{Flavor, Local, ThreadSafe};
use coro::{
    co_await, co_return, AwaitSuspend, Awaiter, CoroutineHandle, Promise, SuspendAlways, UniqueCoroutineHandle,
};

// ===========================================================================
// Helpers
// ===========================================================================

/// Builds each primitive in flavour `Self`, so that one test body serves both.
trait Make: Flavor + Sized {
    const NAME: &'static str;
    fn event() -> Event<Self>;
    fn sc_event() -> SingleConsumerEvent<Self>;
    fn mutex<T>(v: T) -> Mutex<T, Self>;
    fn semaphore(n: usize) -> Semaphore<Self>;
    fn latch(n: usize) -> Latch<Self>;
    fn channel<T>(cap: usize) -> Channel<T, Self>;
}

impl Make for Local {
    const NAME: &'static str = "local";
    fn event() -> Event<Self> {
        Event::<Local>::new()
    }
    fn sc_event() -> SingleConsumerEvent<Self> {
        SingleConsumerEvent::<Local>::new()
    }
    fn mutex<T>(v: T) -> Mutex<T, Self> {
        Mutex::<T, Local>::new(v)
    }
    fn semaphore(n: usize) -> Semaphore<Self> {
        Semaphore::<Local>::new(n)
    }
    fn latch(n: usize) -> Latch<Self> {
        Latch::<Local>::new(n)
    }
    fn channel<T>(cap: usize) -> Channel<T, Self> {
        Channel::<T, Local>::new(cap)
    }
}

impl Make for ThreadSafe {
    const NAME: &'static str = "thread-safe";
    fn event() -> Event<Self> {
        Event::<ThreadSafe>::new()
    }
    fn sc_event() -> SingleConsumerEvent<Self> {
        SingleConsumerEvent::<ThreadSafe>::new()
    }
    fn mutex<T>(v: T) -> Mutex<T, Self> {
        Mutex::<T, ThreadSafe>::new(v)
    }
    fn semaphore(n: usize) -> Semaphore<Self> {
        Semaphore::<ThreadSafe>::new(n)
    }
    fn latch(n: usize) -> Latch<Self> {
        Latch::<ThreadSafe>::new(n)
    }
    fn channel<T>(cap: usize) -> Channel<T, Self> {
        Channel::<T, ThreadSafe>::new(cap)
    }
}

/// Runs each named generic test once per flavour.
macro_rules! for_both_flavours {
    ($($name:ident),* $(,)?) => {
        mod local {
            $( #[test] fn $name() { super::$name::<coro::sync::Local>() } )*
        }
        mod thread_safe {
            $( #[test] fn $name() { super::$name::<coro::sync::ThreadSafe>() } )*
        }
    };
}

/// Starts a lazily started job: runs it to its first suspension.
fn start<T>(job: Job<T>) -> Job<T> {
    job.resume();
    job
}

/// A slot through which one coroutine can destroy another.
type Victim = Rc<RefCell<Option<Job<()>>>>;

// ===========================================================================
// SingleConsumerEvent
// ===========================================================================

#[coro::coroutine]
fn sc_waiter<F: Flavor>(ev: Rc<SingleConsumerEvent<F>>, log: Log, name: &'static str) -> Job<()> {
    let _local = log.counted(name);
    log.push(format!("{name} waits"));
    co_await!(ev.wait());
    log.push(format!("{name} woke"));
    co_return!(())
}

fn single_consumer_event_set_resumes_its_waiter_before_returning<F: Make>() {
    let log = Log::new();
    let ev = Rc::new(F::sc_event());
    let job = start(sc_waiter(ev.clone(), log.clone(), "w"));
    assert!(!job.done());
    assert!(!ev.is_set());
    log.push("set");
    ev.set();
    log.push("set returned");
    assert!(job.done());
    assert!(ev.is_set());
    assert_eq!(log.events(), ["w waits", "set", "w woke", "drop w", "set returned"]);
    drop(job);
    log.assert_each_dropped_once();
}

fn single_consumer_event_is_manual_reset<F: Make>() {
    let log = Log::new();
    let ev = Rc::new(F::sc_event());
    ev.set();
    let job = start(sc_waiter(ev.clone(), log.clone(), "a"));
    assert!(job.done(), "a set event does not suspend");
    let job2 = start(sc_waiter(ev.clone(), log.clone(), "b"));
    assert!(job2.done(), "it stays set");
    ev.reset();
    assert!(!ev.is_set());
    let job3 = start(sc_waiter(ev.clone(), log.clone(), "c"));
    assert!(!job3.done(), "after reset, a wait suspends");
    ev.set();
    assert!(job3.done());
    drop((job, job2, job3));
    log.assert_each_dropped_once();
}

fn a_second_waiter_on_a_single_consumer_event_panics_at_its_co_await<F: Make>() {
    quiet_planned_panics();
    let log = Log::new();
    let ev = Rc::new(F::sc_event());
    let first = start(sc_waiter(ev.clone(), log.clone(), "first"));
    let second = start(sc_waiter(ev.clone(), log.clone(), "second"));
    assert!(second.done(), "the panic ended the second coroutine");
    let msg = second.panic_message().expect("the second waiter panicked");
    assert!(msg.contains("awaited by a second coroutine"), "{msg}");
    assert!(!first.done(), "the first one still waits");
    ev.set();
    assert!(first.done());
    assert_eq!(log.count("first woke"), 1);
    assert_eq!(log.count("second woke"), 0);
    drop((first, second));
    log.assert_each_dropped_once();
}

fn destroying_the_waiter_of_a_single_consumer_event_lets_another_one_wait<F: Make>() {
    let log = Log::new();
    let ev = Rc::new(F::sc_event());
    let first = start(sc_waiter(ev.clone(), log.clone(), "first"));
    drop(first);
    assert_eq!(log.live(), Vec::<String>::new(), "destroying the waiter dropped its local");
    let second = start(sc_waiter(ev.clone(), log.clone(), "second"));
    assert!(!second.done());
    ev.set();
    assert!(second.done());
    assert_eq!(log.count("first woke"), 0);
    drop(second);
    log.assert_each_dropped_once();
}

// ===========================================================================
// Event
// ===========================================================================

#[coro::coroutine]
fn ev_waiter<F: Flavor>(ev: Rc<Event<F>>, log: Log, name: &'static str) -> Job<()> {
    let _local = log.counted(name);
    co_await!(ev.wait());
    log.push(format!("{name} woke"));
    co_return!(())
}

/// Waits twice: by `wait()`, then by `co_await!(&event)`.
#[coro::coroutine]
fn ev_waiter_by_ref<F: Flavor>(ev: Rc<Event<F>>, log: Log) -> Job<()> {
    co_await!(&*ev);
    log.push("first");
    co_await!(&*ev);
    log.push("second");
    co_return!(())
}

fn event_set_resumes_every_waiter_in_fifo_order_before_returning<F: Make>() {
    let log = Log::new();
    let ev = Rc::new(F::event());
    let jobs: Vec<_> = ["a", "b", "c", "d"].map(|n| start(ev_waiter(ev.clone(), log.clone(), n))).into();
    assert!(jobs.iter().all(|j| !j.done()));
    log.push("set");
    ev.set();
    log.push("set returned");
    assert!(jobs.iter().all(|j| j.done()));
    assert_eq!(
        log.events(),
        ["set", "a woke", "drop a", "b woke", "drop b", "c woke", "drop c", "d woke", "drop d", "set returned"]
    );
    ev.set(); // already set: nothing to do
    drop(jobs);
    log.assert_each_dropped_once();
}

fn event_waits_complete_at_once_while_set_and_suspend_again_after_reset<F: Make>() {
    let log = Log::new();
    let ev = Rc::new(F::event());
    let job = start(ev_waiter_by_ref(ev.clone(), log.clone()));
    assert!(log.events().is_empty());
    ev.set();
    assert!(job.done(), "both waits complete: the second without suspending");
    assert_eq!(log.events(), ["first", "second"]);
    ev.reset();
    assert!(!ev.is_set());
    let job2 = start(ev_waiter(ev.clone(), log.clone(), "late"));
    assert!(!job2.done());
    ev.set();
    assert!(job2.done());
    drop((job, job2));
    log.assert_each_dropped_once();
}

fn destroying_a_waiter_suspended_on_an_event_unlinks_it_and_drops_its_locals_once<F: Make>() {
    let log = Log::new();
    let ev = Rc::new(F::event());
    let mut jobs: Vec<_> = ["a", "b", "c"].map(|n| Some(start(ev_waiter(ev.clone(), log.clone(), n)))).into();
    // Destroy the middle one, then the last one, then the first: every
    // position of the intrusive list is unlinked once.
    jobs[1] = None;
    assert_eq!(log.drop_order(), ["b"]);
    jobs[2] = None;
    jobs[0] = None;
    assert_eq!(log.drop_order(), ["b", "c", "a"]);
    // The list is empty and consistent: a new waiter is the only one woken.
    let d = start(ev_waiter(ev.clone(), log.clone(), "d"));
    let e = start(ev_waiter(ev.clone(), log.clone(), "e"));
    drop(d);
    ev.set();
    assert!(e.done());
    assert_eq!(log.events().iter().filter(|e| e.ends_with("woke")).collect::<Vec<_>>(), ["e woke"]);
    drop(e);
    log.assert_each_dropped_once();
}

#[coro::coroutine]
fn ev_destroyer<F: Flavor>(ev: Rc<Event<F>>, log: Log, victim: Victim) -> Job<()> {
    let _local = log.counted("destroyer");
    co_await!(ev.wait());
    log.push("destroyer destroys the victim");
    let job = victim.borrow_mut().take();
    drop(job);
    co_return!(())
}

fn a_waiter_released_by_set_and_destroyed_before_it_ran_is_taken_out_of_the_ready_queue<F: Make>() {
    let log = Log::new();
    let ev = Rc::new(F::event());
    let victim: Victim = Rc::default();
    let destroyer = start(ev_destroyer(ev.clone(), log.clone(), victim.clone()));
    *victim.borrow_mut() = Some(start(ev_waiter(ev.clone(), log.clone(), "victim")));
    let after = start(ev_waiter(ev.clone(), log.clone(), "after"));
    // `set` releases all three; the destroyer runs first and destroys the
    // victim, which is released but not yet resumed.
    ev.set();
    assert!(destroyer.done() && after.done());
    assert_eq!(log.count("victim woke"), 0);
    assert_eq!(log.events_from("destroyer destroys the victim")[..2], ["destroyer destroys the victim", "drop victim"]);
    assert_eq!(log.count("after woke"), 1);
    drop((destroyer, after));
    log.assert_each_dropped_once();
}

// ===========================================================================
// Mutex
// ===========================================================================

/// Locks, records, holds the lock across one `pause()`, unlocks.
#[coro::coroutine]
fn locker<F: Flavor>(m: Rc<Mutex<Vec<&'static str>, F>>, log: Log, name: &'static str) -> Job<()> {
    let _local = log.counted(name);
    let mut g = co_await!(m.lock());
    g.push(name);
    log.push(format!("{name} locked"));
    co_await!(pause());
    log.push(format!("{name} unlocks"));
    drop(g);
    co_return!(())
}

fn mutex_lock_without_contention_does_not_suspend<F: Make>() {
    let log = Log::new();
    let m = Rc::new(F::mutex(Vec::new()));
    let a = start(locker(m.clone(), log.clone(), "a"));
    assert_eq!(log.events(), ["a locked"], "only the pause suspended it");
    assert!(m.is_locked());
    assert!(m.try_lock().is_none());
    a.resume();
    assert!(a.done());
    assert!(!m.is_locked());
    drop(a);
    assert_eq!(*m.try_lock().unwrap(), ["a"]);
    log.assert_each_dropped_once();
}

fn mutex_hands_the_lock_to_waiters_in_fifo_order<F: Make>() {
    let log = Log::new();
    let m = Rc::new(F::mutex(Vec::new()));
    let jobs: Vec<_> = ["a", "b", "c", "d"].map(|n| start(locker(m.clone(), log.clone(), n))).into();
    assert_eq!(log.events(), ["a locked"]);
    // Each unlock hands the lock to the next waiter, resumed inside the unlock.
    for j in &jobs {
        j.resume();
    }
    assert!(jobs.iter().all(|j| j.done()));
    assert_eq!(
        log.events(),
        [
            "a locked",
            "a unlocks",
            "b locked",
            "drop a",
            "b unlocks",
            "c locked",
            "drop b",
            "c unlocks",
            "d locked",
            "drop c",
            "d unlocks",
            "drop d"
        ]
    );
    drop(jobs);
    assert!(!m.is_locked());
    assert_eq!(Rc::try_unwrap(m).ok().unwrap().into_inner(), ["a", "b", "c", "d"]);
    log.assert_each_dropped_once();
}

fn an_unlock_with_waiters_hands_over_without_letting_a_newcomer_barge_in<F: Make>() {
    let log = Log::new();
    let m = Rc::new(F::mutex(Vec::new()));
    let held = m.try_lock().unwrap();
    let a = start(locker(m.clone(), log.clone(), "a"));
    let b = start(locker(m.clone(), log.clone(), "b"));
    drop(held); // hands the lock to `a`, which runs until its pause, holding it
    assert_eq!(log.events(), ["a locked"]);
    assert!(m.try_lock().is_none(), "a holds it, b is queued");
    a.resume(); // a unlocks: straight to b, never free in between
    assert!(m.is_locked());
    assert!(m.try_lock().is_none(), "a newcomer cannot take it from b");
    assert_eq!(log.events(), ["a locked", "a unlocks", "b locked", "drop a"]);
    b.resume();
    assert!(!m.is_locked());
    drop((a, b));
    log.assert_each_dropped_once();
}

fn a_coroutine_destroyed_while_holding_the_guard_unlocks_the_mutex_for_the_next_waiter<F: Make>() {
    let log = Log::new();
    let m = Rc::new(F::mutex(Vec::new()));
    let a = start(locker(m.clone(), log.clone(), "a"));
    let b = start(locker(m.clone(), log.clone(), "b"));
    drop(a); // destroyed at its pause, guard held: dropping the guard resumes b
    assert_eq!(log.events(), ["a locked", "b locked", "drop a"]);
    b.resume();
    assert!(!m.is_locked());
    drop(b);
    log.assert_each_dropped_once();
}

fn a_queued_lock_waiter_that_is_destroyed_leaves_the_queue<F: Make>() {
    let log = Log::new();
    let m = Rc::new(F::mutex(Vec::new()));
    let a = start(locker(m.clone(), log.clone(), "a"));
    let b = start(locker(m.clone(), log.clone(), "b"));
    let c = start(locker(m.clone(), log.clone(), "c"));
    drop(b);
    assert_eq!(log.drop_order(), ["b"]);
    a.resume(); // hands the lock to c, b being gone
    assert_eq!(log.events_from("a unlocks")[..2], ["a unlocks", "c locked"]);
    c.resume();
    assert!(!m.is_locked());
    drop((a, c));
    assert_eq!(*m.try_lock().unwrap(), ["a", "c"]);
    log.assert_each_dropped_once();
}

/// Locks and waits for `ev` while holding the lock.
#[coro::coroutine]
fn lock_then_wait<F: Flavor>(m: Rc<Mutex<Vec<&'static str>, F>>, ev: Rc<Event<F>>, log: Log) -> Job<()> {
    let _local = log.counted("holder");
    let g = co_await!(m.lock());
    co_await!(ev.wait());
    log.push("holder unlocks");
    drop(g);
    log.push("holder unlocked");
    co_return!(())
}

fn a_waiter_granted_the_lock_but_destroyed_before_it_ran_hands_the_lock_on<F: Make>() {
    let log = Log::new();
    let m = Rc::new(F::mutex(Vec::new()));
    let ev = Rc::new(F::event());
    let victim: Victim = Rc::default();
    // The holder waits on `ev` with the lock; then the destroyer waits on
    // `ev`; the victim and `c` queue on the mutex.
    let holder = start(lock_then_wait(m.clone(), ev.clone(), log.clone()));
    let destroyer = start(ev_destroyer(ev.clone(), log.clone(), victim.clone()));
    *victim.borrow_mut() = Some(start(locker(m.clone(), log.clone(), "victim")));
    let c = start(locker(m.clone(), log.clone(), "c"));
    // `set` releases the holder, which unlocks: the lock goes to the victim,
    // queued behind the destroyer; the destroyer destroys it; its awaiter
    // hands the lock on to c.
    ev.set();
    assert!(holder.done() && destroyer.done());
    assert_eq!(log.count("victim locked"), 0);
    let from = log.events_from("destroyer destroys the victim");
    // The victim's awaiter hands the lock on (c runs) before its local goes.
    assert_eq!(from[..3], ["destroyer destroys the victim", "c locked", "drop victim"], "{from:?}");
    c.resume();
    assert!(!m.is_locked());
    drop((holder, destroyer, c));
    assert_eq!(*m.try_lock().unwrap(), ["c"]);
    log.assert_each_dropped_once();
}

/// Locks, increments, unlocks; no suspension while holding the lock.
#[coro::coroutine]
fn increment<F: Flavor>(m: Rc<Mutex<u64, F>>) -> Job<()> {
    let mut g = co_await!(m.lock());
    *g += 1;
    drop(g);
    co_return!(())
}

fn a_chain_of_50_000_lock_waiters_runs_in_bounded_stack<F: Make>() {
    on_small_stack(|| {
        const N: usize = 50_000;
        let m = Rc::new(F::mutex(0u64));
        let held = m.try_lock().unwrap();
        let jobs: Vec<_> = (0..N).map(|_| start(increment(m.clone()))).collect();
        assert!(jobs.iter().all(|j| !j.done()));
        // Each waiter unlocks, which hands the lock to the next one: inline
        // resumption all the way would need one stack level per waiter.
        drop(held);
        assert!(jobs.iter().all(|j| j.done()));
        assert_eq!(*m.try_lock().unwrap(), N as u64);
    });
}

// ===========================================================================
// Semaphore
// ===========================================================================

/// Acquires, records, holds the permit across one `pause()`.
#[coro::coroutine]
fn acquirer<F: Flavor>(s: Rc<Semaphore<F>>, log: Log, name: &'static str) -> Job<()> {
    let _local = log.counted(name);
    let permit = co_await!(s.acquire());
    log.push(format!("{name} acquired"));
    co_await!(pause());
    log.push(format!("{name} releases"));
    drop(permit);
    co_return!(())
}

fn semaphore_admits_its_permits_and_queues_the_rest_in_fifo_order<F: Make>() {
    let log = Log::new();
    let s = Rc::new(F::semaphore(2));
    let jobs: Vec<_> = ["a", "b", "c", "d"].map(|n| start(acquirer(s.clone(), log.clone(), n))).into();
    assert_eq!(log.events(), ["a acquired", "b acquired"]);
    assert_eq!(s.available_permits(), 0);
    assert!(s.try_acquire().is_none());
    jobs[1].resume(); // b releases: to c
    assert_eq!(log.events()[2..4], ["b releases", "c acquired"], "{:?}", log.events());
    assert_eq!(s.available_permits(), 0, "handed over, not returned to the count");
    jobs[0].resume(); // a releases: to d
    assert_eq!(log.events()[5..7], ["a releases", "d acquired"]);
    jobs[2].resume();
    jobs[3].resume();
    assert_eq!(s.available_permits(), 2);
    drop(jobs);
    log.assert_each_dropped_once();
}

fn release_adds_permits_and_forget_keeps_one_consumed<F: Make>() {
    let log = Log::new();
    let s = Rc::new(F::semaphore(0));
    let a = start(acquirer(s.clone(), log.clone(), "a"));
    let b = start(acquirer(s.clone(), log.clone(), "b"));
    s.release(3); // two go to the waiters, one to the count
    assert_eq!(log.events(), ["a acquired", "b acquired"]);
    assert_eq!(s.available_permits(), 1);
    let p = s.try_acquire().unwrap();
    assert_eq!(s.available_permits(), 0);
    p.forget();
    assert_eq!(s.available_permits(), 0);
    a.resume();
    b.resume();
    assert_eq!(s.available_permits(), 2);
    drop((a, b));
    log.assert_each_dropped_once();
}

fn a_queued_acquire_that_is_destroyed_leaves_the_count_unchanged<F: Make>() {
    let log = Log::new();
    let s = Rc::new(F::semaphore(1));
    let a = start(acquirer(s.clone(), log.clone(), "a"));
    let b = start(acquirer(s.clone(), log.clone(), "b"));
    let c = start(acquirer(s.clone(), log.clone(), "c"));
    drop(b);
    a.resume(); // to c
    assert_eq!(log.count("c acquired"), 1);
    c.resume();
    assert_eq!(s.available_permits(), 1);
    drop((a, c));
    log.assert_each_dropped_once();
}

#[coro::coroutine]
fn sem_destroyer<F: Flavor>(s: Rc<Semaphore<F>>, log: Log, victim: Victim) -> Job<()> {
    let _local = log.counted("destroyer");
    let permit = co_await!(s.acquire());
    log.push("destroyer destroys the victim");
    let job = victim.borrow_mut().take();
    drop(job);
    drop(permit);
    co_return!(())
}

fn a_waiter_granted_a_permit_but_destroyed_before_it_ran_passes_the_permit_on<F: Make>() {
    let log = Log::new();
    let s = Rc::new(F::semaphore(0));
    let victim: Victim = Rc::default();
    let destroyer = start(sem_destroyer(s.clone(), log.clone(), victim.clone()));
    *victim.borrow_mut() = Some(start(acquirer(s.clone(), log.clone(), "victim")));
    let c = start(acquirer(s.clone(), log.clone(), "c"));
    s.release(2); // to the destroyer and the victim; the destroyer runs first
    assert_eq!(log.count("victim acquired"), 0);
    assert_eq!(
        log.events_from("destroyer destroys the victim")[..3],
        ["destroyer destroys the victim", "c acquired", "drop victim"]
    );
    assert!(destroyer.done());
    c.resume();
    assert_eq!(s.available_permits(), 2);
    drop((destroyer, c));
    log.assert_each_dropped_once();
}

// ===========================================================================
// Latch
// ===========================================================================

#[coro::coroutine]
fn latch_waiter<F: Flavor>(l: Rc<Latch<F>>, log: Log, name: &'static str, arrive: bool) -> Job<()> {
    let _local = log.counted(name);
    if arrive {
        co_await!(l.arrive_and_wait());
    } else {
        co_await!(&*l);
    }
    log.push(format!("{name} passed"));
    co_return!(())
}

fn latch_resumes_its_waiters_when_the_count_reaches_zero<F: Make>() {
    let log = Log::new();
    let l = Rc::new(F::latch(3));
    let jobs: Vec<_> = ["a", "b"].map(|n| start(latch_waiter(l.clone(), log.clone(), n, false))).into();
    l.count_down();
    l.count_down();
    assert!(!l.is_ready());
    assert_eq!(l.count(), 1);
    assert!(log.events().is_empty());
    log.push("last count down");
    l.count_down();
    assert!(l.is_ready());
    assert_eq!(log.events(), ["last count down", "a passed", "drop a", "b passed", "drop b"]);
    let late = start(latch_waiter(l.clone(), log.clone(), "late", false));
    assert!(late.done(), "an open latch does not suspend");
    drop((jobs, late));
    log.assert_each_dropped_once();
}

fn arrive_and_wait_counts_down_and_the_last_arrival_does_not_suspend<F: Make>() {
    let log = Log::new();
    let l = Rc::new(F::latch(3));
    let a = start(latch_waiter(l.clone(), log.clone(), "a", true));
    let b = start(latch_waiter(l.clone(), log.clone(), "b", true));
    assert_eq!(l.count(), 1);
    assert!(!a.done() && !b.done());
    let c = start(latch_waiter(l.clone(), log.clone(), "c", true));
    // c's arrival opens the latch, resuming a and b before c continues.
    assert!(a.done() && b.done() && c.done());
    assert_eq!(log.events(), ["a passed", "drop a", "b passed", "drop b", "c passed", "drop c"]);
    drop((a, b, c));
    log.assert_each_dropped_once();
}

fn destroying_a_latch_waiter_unlinks_it<F: Make>() {
    let log = Log::new();
    let l = Rc::new(F::latch(1));
    let a = start(latch_waiter(l.clone(), log.clone(), "a", false));
    let b = start(latch_waiter(l.clone(), log.clone(), "b", false));
    drop(a);
    l.count_down();
    assert!(b.done());
    assert_eq!(log.events(), ["drop a", "b passed", "drop b"]);
    drop(b);
    log.assert_each_dropped_once();
}

// ===========================================================================
// Channel
// ===========================================================================

#[coro::coroutine]
fn sender<F: Flavor>(ch: Rc<Channel<Counted, F>>, log: Log, name: &'static str, values: Vec<Counted>) -> Job<()> {
    let _local = log.counted(format!("{name} local"));
    for v in values {
        let vn = v.name().to_owned();
        match co_await!(ch.send(v)) {
            Ok(()) => log.push(format!("{name} sent {vn}")),
            Err(SendError(v)) => {
                log.push(format!("{name} got back {}", v.name()));
                break;
            }
        }
    }
    co_return!(())
}

#[coro::coroutine]
fn receiver<F: Flavor>(ch: Rc<Channel<Counted, F>>, log: Log, name: &'static str, n: usize) -> Job<()> {
    let _local = log.counted(format!("{name} local"));
    for _ in 0..n {
        match co_await!(ch.recv()) {
            Some(v) => log.push(format!("{name} got {}", v.name())),
            None => {
                log.push(format!("{name} got none"));
                break;
            }
        }
    }
    co_return!(())
}

fn values(log: &Log, names: &[&str]) -> Vec<Counted> {
    names.iter().map(|n| log.counted(*n)).collect()
}

fn a_channel_delivers_values_in_fifo_order_through_its_buffer<F: Make>() {
    let log = Log::new();
    let ch = Rc::new(F::channel(4));
    let s = start(sender(ch.clone(), log.clone(), "s", values(&log, &["1", "2", "3"])));
    assert!(s.done(), "room for all three: no suspension");
    assert_eq!(ch.len(), 3);
    let r = start(receiver(ch.clone(), log.clone(), "r", 3));
    assert!(r.done());
    assert_eq!(
        log.events().iter().filter(|e| e.starts_with("r got")).collect::<Vec<_>>(),
        ["r got 1", "r got 2", "r got 3"]
    );
    assert!(ch.is_empty());
    drop((s, r));
    log.assert_each_dropped_once();
}

fn senders_wait_when_the_buffer_is_full_and_move_in_fifo_order<F: Make>() {
    let log = Log::new();
    let ch = Rc::new(F::channel(1));
    let a = start(sender(ch.clone(), log.clone(), "a", values(&log, &["a1", "a2"])));
    let b = start(sender(ch.clone(), log.clone(), "b", values(&log, &["b1"])));
    // a1 fills the buffer; a2 and b1 wait, in that order.
    assert_eq!(log.events(), ["a sent a1"]);
    assert_eq!(ch.try_send(log.counted("x")).unwrap_err().into_inner().name(), "x");
    let r = start(receiver(ch.clone(), log.clone(), "r", 3));
    assert!(a.done() && b.done() && r.done());
    let got: Vec<_> = log.events().into_iter().filter(|e| e.starts_with("r got")).collect();
    assert_eq!(got, ["r got a1", "r got a2", "r got b1"]);
    drop((a, b, r));
    log.assert_each_dropped_once();
}

fn a_send_hands_its_value_to_the_longest_waiting_receiver<F: Make>() {
    let log = Log::new();
    let ch = Rc::new(F::channel(2));
    let r1 = start(receiver(ch.clone(), log.clone(), "r1", 1));
    let r2 = start(receiver(ch.clone(), log.clone(), "r2", 1));
    ch.try_send(log.counted("v1")).unwrap();
    assert!(r1.done() && !r2.done());
    assert!(ch.is_empty(), "handed over, not buffered");
    let s = start(sender(ch.clone(), log.clone(), "s", values(&log, &["v2"])));
    assert!(r2.done() && s.done());
    // The receiver runs inside the send, before the sender continues.
    assert_eq!(log.events_from("r2 got v2")[..3], ["r2 got v2", "drop v2", "drop r2 local"]);
    assert!(log.index_of("r2 got v2") < log.index_of("s sent v2"));
    drop((r1, r2, s));
    log.assert_each_dropped_once();
}

fn a_rendezvous_channel_pairs_each_send_with_a_receive<F: Make>() {
    let log = Log::new();
    let ch = Rc::new(F::channel(0));
    assert!(matches!(ch.try_send(log.counted("lost")), Err(TrySendError::Full(_))));
    let s = start(sender(ch.clone(), log.clone(), "s", values(&log, &["1", "2"])));
    assert!(!s.done(), "no receiver: the send waits");
    assert_eq!(ch.len(), 0);
    assert_eq!(ch.try_recv().unwrap().name(), "1");
    assert!(log.events().contains(&"s sent 1".to_owned()), "the sender was resumed by the receive");
    let r = start(receiver(ch.clone(), log.clone(), "r", 1));
    assert!(r.done() && s.done());
    assert_eq!(ch.try_recv().unwrap_err(), TryRecvError::Empty);
    drop((s, r));
    log.assert_each_dropped_once();
}

fn closing_wakes_receivers_with_none_and_senders_with_their_value<F: Make>() {
    let log = Log::new();
    let full = Rc::new(F::channel(1));
    let empty = Rc::new(F::channel(1));
    let s = start(sender(full.clone(), log.clone(), "s", values(&log, &["in", "waiting", "never"])));
    let r = start(receiver(empty.clone(), log.clone(), "r", 5));
    assert!(!s.done() && !r.done());
    full.close();
    empty.close();
    assert!(s.done() && r.done());
    assert!(log.events().contains(&"s got back waiting".to_owned()));
    assert!(log.events().contains(&"r got none".to_owned()));
    // The value sent before the close can still be received, then None.
    assert_eq!(full.try_recv().unwrap().name(), "in");
    assert_eq!(full.try_recv().unwrap_err(), TryRecvError::Closed);
    assert!(matches!(full.try_send(log.counted("late")), Err(TrySendError::Closed(_))));
    full.close();
    drop((s, r));
    log.assert_each_dropped_once();
}

fn destroying_a_waiting_sender_drops_its_value_once_and_leaves_the_queue<F: Make>() {
    let log = Log::new();
    let ch = Rc::new(F::channel(1));
    let a = start(sender(ch.clone(), log.clone(), "a", values(&log, &["a1", "a2"])));
    let b = start(sender(ch.clone(), log.clone(), "b", values(&log, &["b1"])));
    drop(a); // waiting with a2
    assert_eq!(log.drop_order(), ["a2", "a local"]);
    let r = start(receiver(ch.clone(), log.clone(), "r", 2));
    assert!(b.done() && r.done());
    let got: Vec<_> = log.events().into_iter().filter(|e| e.starts_with("r got")).collect();
    assert_eq!(got, ["r got a1", "r got b1"]);
    drop((b, r));
    log.assert_each_dropped_once();
}

#[coro::coroutine]
fn ch_destroyer<F: Flavor>(ch: Rc<Channel<Counted, F>>, log: Log, victim: Victim) -> Job<()> {
    let _local = log.counted("destroyer local");
    let v = co_await!(ch.recv());
    log.push(format!("destroyer got {}", v.as_ref().map_or("none", |v| v.name())));
    let job = victim.borrow_mut().take();
    drop(job);
    co_return!(())
}

fn a_receiver_handed_a_value_but_destroyed_before_it_ran_passes_the_value_on<F: Make>() {
    let log = Log::new();
    let ch = Rc::new(F::channel(2));
    let victim: Victim = Rc::default();
    let destroyer = start(ch_destroyer(ch.clone(), log.clone(), victim.clone()));
    *victim.borrow_mut() = Some(start(receiver(ch.clone(), log.clone(), "victim", 1)));
    let next = start(receiver(ch.clone(), log.clone(), "next", 1));
    // Two sends from a coroutine resumed deeper than inline resumption
    // nests: both receivers are released, and queued, before either runs.
    let RelayChain { first, last, relays } = relay_chain::<F>(64);
    let s = start(sender_after(last, ch.clone(), log.clone()));
    first.set();
    assert!(relays.iter().all(|r| r.done()));
    assert!(s.done() && destroyer.done() && next.done());
    assert_eq!(log.count("victim got v2"), 0);
    assert_eq!(log.count("next got v2"), 1, "{:?}", log.events());
    assert!(ch.is_empty());
    drop((destroyer, next, s));
    log.assert_each_dropped_once();
}

/// Waits for `ev`, then sends v1 and v2 without suspending in between.
#[coro::coroutine]
fn sender_after<F: Flavor>(ev: Rc<Event<F>>, ch: Rc<Channel<Counted, F>>, log: Log) -> Job<()> {
    co_await!(ev.wait());
    ch.try_send(log.counted("v1")).unwrap();
    ch.try_send(log.counted("v2")).unwrap();
    co_return!(())
}

fn a_value_given_back_with_no_receiver_waiting_goes_to_the_front_of_the_buffer<F: Make>() {
    let log = Log::new();
    let ch = Rc::new(F::channel(1));
    let victim: Victim = Rc::default();
    let destroyer = start(ch_destroyer(ch.clone(), log.clone(), victim.clone()));
    *victim.borrow_mut() = Some(start(receiver(ch.clone(), log.clone(), "victim", 1)));
    let RelayChain { first, last, relays: _relays } = relay_chain::<F>(64);
    let s = start(sender_after_three(last, ch.clone(), log.clone()));
    first.set();
    // v1 to the destroyer, v2 to the victim (destroyed: v2 comes back to the
    // front), v3 buffered after it: the buffer briefly holds two.
    assert_eq!(log.count("victim got v2"), 0);
    assert_eq!(ch.try_recv().unwrap().name(), "v2");
    assert_eq!(ch.try_recv().unwrap().name(), "v3");
    assert!(ch.is_empty());
    drop((destroyer, s));
    log.assert_each_dropped_once();
}

#[coro::coroutine]
fn sender_after_three<F: Flavor>(ev: Rc<Event<F>>, ch: Rc<Channel<Counted, F>>, log: Log) -> Job<()> {
    co_await!(ev.wait());
    for n in ["v1", "v2", "v3"] {
        ch.try_send(log.counted(n)).unwrap();
    }
    co_return!(())
}

fn dropping_a_channel_drops_its_buffered_values_once<F: Make>() {
    let log = Log::new();
    let ch = F::channel(3);
    for n in ["1", "2", "3"] {
        ch.try_send(log.counted(n)).unwrap();
    }
    assert!(matches!(ch.try_send(log.counted("4")), Err(TrySendError::Full(_))));
    assert_eq!(ch.try_recv().unwrap().name(), "1");
    drop(ch);
    assert_eq!(log.drop_order(), ["4", "1", "2", "3"]);
    log.assert_each_dropped_once();
}

// ===========================================================================
// Panics, nesting, allocation
// ===========================================================================

/// A lazily started coroutine whose promise rethrows: a panic in its body
/// escapes from whoever resumed it.
#[derive(Default)]
struct Rethrow;

impl Promise for Rethrow {
    type ReturnObject = UniqueCoroutineHandle<Rethrow>;
    type InitialSuspend = SuspendAlways;
    type FinalSuspend = SuspendAlways;
    type Return = ReturnsVoid;
    type Await = AwaitDirect;
    unsafe fn get_return_object(&mut self) -> Self::ReturnObject {
        // SAFETY: the returned owner is the frame's only owner.
        unsafe { UniqueCoroutineHandle::from_raw(CoroutineHandle::from_promise(self)) }
    }
    fn initial_suspend(&mut self) -> SuspendAlways {
        SuspendAlways
    }
    fn final_suspend(&mut self) -> SuspendAlways {
        SuspendAlways
    }
    fn unhandled_exception(&mut self, payload: Payload) {
        std::panic::resume_unwind(payload)
    }
}

impl ReturnVoid for Rethrow {
    fn return_void(&mut self) {}
}

#[coro::coroutine(promise = Rethrow)]
fn panicking_waiter<F: Flavor>(ev: Rc<Event<F>>, log: Log) -> UniqueCoroutineHandle<Rethrow> {
    let _local = log.counted("panicker");
    co_await!(ev.wait());
    panic!("{PLANNED} the first waiter panics");
}

fn a_panic_escaping_a_resumed_waiter_does_not_stop_the_others_and_reaches_the_releaser<F: Make>() {
    let log = Log::new();
    let ev = Rc::new(F::event());
    let p = panicking_waiter(ev.clone(), log.clone());
    // SAFETY: alive, suspended at its initial point, nobody else resumes it.
    unsafe { p.resume() };
    let after = start(ev_waiter(ev.clone(), log.clone(), "after"));
    let msg = expect_panic(|| ev.set());
    assert!(msg.contains("the first waiter panics"), "{msg}");
    assert!(p.done());
    assert!(after.done(), "the second waiter was resumed all the same");
    drop((p, after));
    log.assert_each_dropped_once();
}

/// Holds the lock across a pause, then panics with it.
#[coro::coroutine]
fn panics_holding_the_lock<F: Flavor>(m: Rc<Mutex<Vec<&'static str>, F>>, log: Log) -> Job<()> {
    let _local = log.counted("panicker");
    let _g = co_await!(m.lock());
    co_await!(pause());
    panic!("{PLANNED} panic while holding the lock");
}

/// Waits for the lock, then panics; its promise rethrows.
#[coro::coroutine(promise = Rethrow)]
fn rethrowing_locker<F: Flavor>(m: Rc<Mutex<Vec<&'static str>, F>>, log: Log) -> UniqueCoroutineHandle<Rethrow> {
    let _local = log.counted("rethrower");
    let _g = co_await!(m.lock());
    log.push("rethrower locked");
    panic!("{PLANNED} second panic, during the first one's unwinding");
}

fn a_guard_dropped_by_a_panic_hands_the_lock_on_without_a_double_panic<F: Make>() {
    quiet_planned_panics();
    let log = Log::new();
    let m = Rc::new(F::mutex(Vec::new()));
    let a = start(panics_holding_the_lock(m.clone(), log.clone()));
    let b = rethrowing_locker(m.clone(), log.clone());
    // SAFETY: alive, at its initial point, nobody else resumes it.
    unsafe { b.resume() };
    let c = start(locker(m.clone(), log.clone(), "c"));
    // a panics; unwinding drops its guard, which resumes b, whose panic
    // escapes its resume while a's is under way: it is not rethrown.
    a.resume();
    assert!(a.done() && b.done());
    assert!(a.panic_message().unwrap().contains("panic while holding the lock"));
    assert_eq!(log.count("rethrower locked"), 1);
    // b's unwinding dropped its guard in turn: c has the lock.
    assert_eq!(log.count("c locked"), 1);
    c.resume();
    assert!(!m.is_locked());
    drop((a, b, c));
    log.assert_each_dropped_once();
}

/// Waits on `mine`, then sets `next`.
#[coro::coroutine]
fn relay<F: Flavor>(mine: Rc<Event<F>>, next: Rc<Event<F>>, hops: Rc<Cell<usize>>) -> Job<()> {
    co_await!(mine.wait());
    hops.set(hops.get() + 1);
    next.set();
    co_return!(())
}

/// `n` relays waiting on a chain of events.
struct RelayChain<F: Flavor> {
    /// Setting this one...
    first: Rc<Event<F>>,
    /// ...sets this one, `n` resumptions deep.
    last: Rc<Event<F>>,
    relays: Vec<Job<()>>,
}

fn relay_chain<F: Make>(n: usize) -> RelayChain<F> {
    let events: Vec<_> = (0..=n).map(|_| Rc::new(F::event())).collect();
    let hops = Rc::new(Cell::new(0));
    let relays = (0..n).map(|i| start(relay(events[i].clone(), events[i + 1].clone(), hops.clone()))).collect();
    RelayChain { first: events[0].clone(), last: events[n].clone(), relays }
}

fn a_chain_of_50_000_events_each_setting_the_next_runs_in_bounded_stack<F: Make>() {
    on_small_stack(|| {
        const N: usize = 50_000;
        let events: Vec<_> = (0..=N).map(|_| Rc::new(F::event())).collect();
        let hops = Rc::new(Cell::new(0));
        let jobs: Vec<_> =
            (0..N).map(|i| start(relay(events[i].clone(), events[i + 1].clone(), hops.clone()))).collect();
        events[0].set();
        assert_eq!(hops.get(), N);
        assert!(events[N].is_set());
        assert!(jobs.iter().all(|j| j.done()));
    });
}

// ---------------------------------------------------------------------------
// Released, then destroyed before it ran: every primitive's awaiter
// ---------------------------------------------------------------------------

/// Waits for `go`, runs `release` (which releases the victim), then destroys
/// the victim. Resumed deeper than inline resumption nests, so the victim
/// is queued by the release, not run, when it is destroyed.
#[coro::coroutine]
fn release_then_destroy<F: Flavor>(go: Rc<Event<F>>, release: Box<dyn Fn()>, victim: Victim, log: Log) -> Job<()> {
    co_await!(go.wait());
    release();
    log.push("released");
    let job = victim.borrow_mut().take();
    drop(job);
    log.push("destroyed");
    co_return!(())
}

fn release_deep_then_destroy<F: Make>(log: &Log, victim: Job<()>, release: Box<dyn Fn()>) {
    let slot: Victim = Rc::new(RefCell::new(Some(victim)));
    let RelayChain { first, last, relays } = relay_chain::<F>(64);
    let d = start(release_then_destroy(last, release, slot.clone(), log.clone()));
    first.set();
    assert!(d.done() && relays.iter().all(|r| r.done()));
    assert!(slot.borrow().is_none());
    let from = log.events_from("released");
    assert_eq!(from.last().map(String::as_str), Some("destroyed"), "{from:?}");
}

fn a_single_consumer_event_waiter_released_then_destroyed_before_it_ran_is_unlinked<F: Make>() {
    let log = Log::new();
    let ev = Rc::new(F::sc_event());
    let victim = start(sc_waiter(ev.clone(), log.clone(), "victim"));
    let e = ev.clone();
    release_deep_then_destroy::<F>(&log, victim, Box::new(move || e.set()));
    assert_eq!(log.count("victim woke"), 0);
    assert_eq!(log.events_from("released"), ["released", "drop victim", "destroyed"]);
    ev.reset();
    let next = start(sc_waiter(ev.clone(), log.clone(), "next"));
    ev.set();
    assert!(next.done(), "a new waiter may wait: the slot was freed");
    drop(next);
    log.assert_each_dropped_once();
}

fn a_latch_waiter_released_then_destroyed_before_it_ran_is_unlinked<F: Make>() {
    let log = Log::new();
    let l = Rc::new(F::latch(1));
    let victim = start(latch_waiter(l.clone(), log.clone(), "victim", false));
    let c = l.clone();
    release_deep_then_destroy::<F>(&log, victim, Box::new(move || c.count_down()));
    assert_eq!(log.count("victim passed"), 0);
    assert!(l.is_ready());
    log.assert_each_dropped_once();
}

fn a_sender_released_by_a_receive_then_destroyed_before_it_ran_has_sent_its_value<F: Make>() {
    let log = Log::new();
    let ch = Rc::new(F::channel(1));
    ch.try_send(log.counted("x")).unwrap();
    let victim = start(sender(ch.clone(), log.clone(), "victim", values(&log, &["v"])));
    let c = ch.clone();
    release_deep_then_destroy::<F>(&log, victim, Box::new(move || assert_eq!(c.try_recv().unwrap().name(), "x")));
    assert_eq!(log.count("victim sent v"), 0, "destroyed before it could say so...");
    assert_eq!(ch.try_recv().unwrap().name(), "v", "...but the value was sent");
    log.assert_each_dropped_once();
}

fn a_sender_released_by_close_then_destroyed_before_it_ran_drops_its_value_once<F: Make>() {
    let log = Log::new();
    let ch = Rc::new(F::channel(0));
    let victim = start(sender(ch.clone(), log.clone(), "victim", values(&log, &["v"])));
    let c = ch.clone();
    release_deep_then_destroy::<F>(&log, victim, Box::new(move || c.close()));
    assert_eq!(log.count("victim got back v"), 0);
    assert_eq!(log.events_from("released"), ["released", "drop v", "drop victim local", "destroyed"]);
    log.assert_each_dropped_once();
}

fn a_receiver_released_by_close_then_destroyed_before_it_ran_is_unlinked<F: Make>() {
    let log = Log::new();
    let ch = Rc::new(F::channel(1));
    let victim = start(receiver(ch.clone(), log.clone(), "victim", 1));
    let c = ch.clone();
    release_deep_then_destroy::<F>(&log, victim, Box::new(move || c.close()));
    assert_eq!(log.count("victim got none"), 0);
    assert!(ch.is_empty());
    log.assert_each_dropped_once();
}

// ---------------------------------------------------------------------------
// Another party acting between `await_ready` and `await_suspend`
// ---------------------------------------------------------------------------

/// Wraps an awaiter and runs `between` after its `await_ready` said "not
/// ready" and before its `await_suspend`: what another thread may do in
/// that window, made deterministic.
struct Between<A, B: FnOnce()> {
    inner: A,
    between: Option<B>,
}

impl<A: Awaiter, B: FnOnce()> Awaiter for Between<A, B> {
    type Output = A::Output;
    fn await_ready(&mut self) -> bool {
        self.inner.await_ready()
    }
    unsafe fn await_suspend(&mut self, h: CoroutineHandle) -> impl AwaitSuspend {
        (self.between.take().expect("suspended once"))();
        self.inner.await_suspend(h)
    }
    fn await_resume(self) -> A::Output {
        self.inner.await_resume()
    }
}

/// Receives from a rendezvous channel; a sender arrives in the window.
#[coro::coroutine]
fn receive_while_a_sender_arrives<F: Flavor>(ch: Rc<Channel<Counted, F>>, sender_job: Victim, log: Log) -> Job<()> {
    let _local = log.counted("receiver local");
    let (c, l, slot) = (ch.clone(), log.clone(), sender_job.clone());
    let between = move || {
        let job = start(sender(c, l.clone(), "s", values(&l, &["v"])));
        *slot.borrow_mut() = Some(job);
    };
    let v = co_await!(Between { inner: ch.recv(), between: Some(between) });
    log.push(format!("receiver got {}", v.as_ref().map_or("none", |v| v.name())));
    co_return!(())
}

/// Sends to a rendezvous channel; a receiver arrives in the window.
#[coro::coroutine]
fn send_while_a_receiver_arrives<F: Flavor>(ch: Rc<Channel<Counted, F>>, receiver_job: Victim, log: Log) -> Job<()> {
    let _local = log.counted("sender local");
    let (c, l, slot) = (ch.clone(), log.clone(), receiver_job.clone());
    let between = move || *slot.borrow_mut() = Some(start(receiver(c, l, "r", 1)));
    let sent = co_await!(Between { inner: ch.send(log.counted("w")), between: Some(between) });
    log.push(format!("sender sent: {}", sent.is_ok()));
    co_return!(())
}

fn a_receive_that_finds_a_sender_in_its_await_suspend_lets_the_sender_run_first<F: Make>() {
    let log = Log::new();
    let ch = Rc::new(F::channel(0));
    let s: Victim = Rc::default();
    let r = start(receive_while_a_sender_arrives(ch.clone(), s.clone(), log.clone()));
    assert!(r.done(), "{:?}", log.events());
    assert!(s.borrow().as_ref().unwrap().done());
    assert!(log.index_of("s sent v") < log.index_of("receiver got v"));
    drop((r, s));
    log.assert_each_dropped_once();
}

fn a_send_that_finds_a_receiver_in_its_await_suspend_lets_the_receiver_run_first<F: Make>() {
    let log = Log::new();
    let ch = Rc::new(F::channel(0));
    let r: Victim = Rc::default();
    let s = start(send_while_a_receiver_arrives(ch.clone(), r.clone(), log.clone()));
    assert!(s.done(), "{:?}", log.events());
    assert!(r.borrow().as_ref().unwrap().done());
    assert!(log.index_of("r got w") < log.index_of("sender sent: true"));
    drop((r, s));
    log.assert_each_dropped_once();
}

/// A sender that, once its value is taken, destroys the receiver's job.
#[coro::coroutine]
fn send_then_destroy<F: Flavor>(ch: Rc<Channel<Counted, F>>, v: Counted, victim: Victim, log: Log) -> Job<()> {
    co_await!(ch.send(v)).unwrap();
    log.push("sender destroys the receiver");
    let job = victim.borrow_mut().take();
    drop(job);
    co_return!(())
}

/// Like `receive_while_a_sender_arrives`, with a sender that destroys it.
#[coro::coroutine]
fn receive_from_a_destroyer<F: Flavor>(
    ch: Rc<Channel<Counted, F>>,
    me: Victim,
    destroyer: Victim,
    log: Log,
) -> Job<()> {
    let _local = log.counted("receiver local");
    let (c, l) = (ch.clone(), log.clone());
    let between = move || {
        let job = start(send_then_destroy(c, l.counted("v"), me, l.clone()));
        *destroyer.borrow_mut() = Some(job);
    };
    let v = co_await!(Between { inner: ch.recv(), between: Some(between) });
    log.push(format!("receiver got {}", v.as_ref().map_or("none", |v| v.name())));
    co_return!(())
}

fn a_receiver_destroyed_by_the_sender_it_released_from_its_await_suspend_gives_the_value_back<F: Make>() {
    let log = Log::new();
    let ch = Rc::new(F::channel(0));
    let me: Victim = Rc::default();
    let destroyer: Victim = Rc::default();
    // Not started yet: store the job first, so that the sender can find it.
    *me.borrow_mut() = Some(receive_from_a_destroyer(ch.clone(), me.clone(), destroyer.clone(), log.clone()));
    let job = me.borrow().as_ref().unwrap().handle();
    // SAFETY: alive (owned by `me`), at its initial point, resumed only here.
    unsafe { job.resume() };
    // The receiver took v in its await_suspend, released the sender, and
    // parked behind it; the sender destroyed it before it continued: v is
    // back in the channel.
    assert!(me.borrow().is_none());
    assert_eq!(log.count("receiver got v"), 0);
    assert_eq!(
        log.events_from("sender destroys the receiver")[..2],
        ["sender destroys the receiver", "drop receiver local"]
    );
    assert_eq!(ch.try_recv().unwrap().name(), "v");
    assert!(destroyer.borrow().as_ref().unwrap().done());
    drop(destroyer);
    log.assert_each_dropped_once();
}

// ---------------------------------------------------------------------------
// A counting allocator: waiting and waking allocate nothing
// ---------------------------------------------------------------------------

struct CountingAlloc;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: forwards to the system allocator; the counter is a const
// thread-local without destructor, which never allocates.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|a| a.set(a.get() + 1));
        // SAFETY: forwarded contract.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded contract.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|a| a.set(a.get() + 1));
        // SAFETY: forwarded contract.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

fn allocations() -> usize {
    ALLOCATIONS.with(Cell::get)
}

/// Uses every primitive once per round, suspending on each.
#[coro::coroutine]
fn busy<F: Flavor>(
    m: Rc<Mutex<u64, F>>,
    s: Rc<Semaphore<F>>,
    ev: Rc<Event<F>>,
    sc: Rc<SingleConsumerEvent<F>>,
    l: Rc<Latch<F>>,
    ch: Rc<Channel<u64, F>>,
) -> Job<()> {
    let mut g = co_await!(m.lock());
    *g += 1;
    let p = co_await!(s.acquire());
    co_await!(ev.wait());
    co_await!(sc.wait());
    co_await!(l.wait());
    let v = co_await!(ch.recv()).unwrap();
    *g += v;
    co_await!(ch.send(v + 1)).unwrap();
    co_await!(ch.send(v + 2)).unwrap();
    drop(p);
    drop(g);
    co_return!(())
}

fn waiting_and_waking_allocate_nothing<F: Make>() {
    let m = Rc::new(F::mutex(0u64));
    let s = Rc::new(F::semaphore(0));
    let ev = Rc::new(F::event());
    let sc = Rc::new(F::sc_event());
    let l = Rc::new(F::latch(1));
    let ch = Rc::new(F::channel(1));
    let held = m.try_lock().unwrap();
    let job = busy(m.clone(), s.clone(), ev.clone(), sc.clone(), l.clone(), ch.clone());
    coro::schedule::notify_when_woken(std::task::Waker::noop()); // makes this thread's wake-up queue
    let before = allocations();
    job.resume();
    drop(held); // lock
    s.release(1); // permit
    ev.set();
    sc.set();
    l.count_down();
    ch.try_send(7).unwrap(); // handed to the waiting receiver
    assert_eq!(ch.try_recv().unwrap(), 8); // makes room for the second send
    assert!(job.done());
    // `busy` holds `Rc`s, so its promise leaves it thread-bound (the
    // default): each of its seven suspending waits on a thread-safe
    // primitive makes the one small block that could send it home. The
    // local flavour allocates nothing.
    let expected = if F::THREAD_SAFE { 7 } else { 0 };
    assert_eq!(allocations() - before, expected, "{} flavour", F::NAME);
    assert_eq!(ch.try_recv().unwrap(), 9);
    assert_eq!(*m.try_lock().unwrap(), 8);
}

// ---------------------------------------------------------------------------
// Send and Sync
// ---------------------------------------------------------------------------

#[test]
fn thread_safe_primitives_are_send_and_sync_and_their_guards_and_awaiters_are_send() {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>() {}
    send_sync::<coro::sync::Event>();
    send_sync::<coro::sync::SingleConsumerEvent>();
    send_sync::<coro::sync::Mutex<Vec<u8>>>();
    send_sync::<coro::sync::Semaphore>();
    send_sync::<coro::sync::Latch>();
    send_sync::<coro::sync::Channel<String>>();
    send_sync::<coro::sync::MutexGuard<'static, u8>>();
    send_sync::<coro::sync::SemaphorePermit<'static>>();
    send::<coro::sync::event::Wait<'static>>();
    send::<coro::sync::single_consumer_event::Wait<'static>>();
    send::<coro::sync::mutex::Lock<'static, u8>>();
    send::<coro::sync::semaphore::Acquire<'static>>();
    send::<coro::sync::latch::Wait<'static>>();
    send::<coro::sync::channel::Sending<'static, String>>();
    send::<coro::sync::channel::Receiving<'static, String>>();
    assert!(is_sync!(coro::sync::Mutex<Cell<u8>>), "like std's, Sync needs only T: Send");
    assert!(!is_sync!(coro::sync::Mutex<Rc<u8>>), "a mutex of an Rc is not Sync");
    assert!(!is_sync!(coro::sync::Channel<Rc<u8>>));
}

#[test]
fn local_primitives_are_not_sync_and_their_guards_and_awaiters_are_not_send() {
    use coro::sync::local;
    assert!(!is_sync!(local::Event));
    assert!(!is_sync!(local::SingleConsumerEvent));
    assert!(!is_sync!(local::Mutex<u8>));
    assert!(!is_sync!(local::Semaphore));
    assert!(!is_sync!(local::Latch));
    assert!(!is_sync!(local::Channel<u8>));
    // Idle, they may move to another thread; what borrows them may not.
    assert!(is_send!(local::Mutex<u8>));
    assert!(is_send!(local::Channel<u8>));
    assert!(!is_send!(local::MutexGuard<'static, u8>));
    assert!(!is_send!(local::SemaphorePermit<'static>));
    assert!(!is_send!(coro::sync::event::Wait<'static, Local>));
    assert!(!is_send!(coro::sync::mutex::Lock<'static, u8, Local>));
    assert!(!is_send!(coro::sync::channel::Receiving<'static, u8, Local>));
}

#[test]
fn the_aliases_name_the_two_flavours() {
    let m: coro::sync::Mutex<u8> = coro::sync::Mutex::new(1);
    let l: coro::sync::local::Mutex<u8> = coro::sync::local::Mutex::new(2);
    assert_eq!(*m.try_lock().unwrap() + *l.try_lock().unwrap(), 3);
    static GLOBAL_EVENT: coro::sync::Event = coro::sync::Event::new();
    static GLOBAL_MUTEX: coro::sync::Mutex<u32> = coro::sync::Mutex::new(0);
    GLOBAL_EVENT.set();
    assert!(GLOBAL_EVENT.is_set());
    *GLOBAL_MUTEX.try_lock().unwrap() += 1;
    assert_eq!(format!("{:?}", coro::sync::local::Semaphore::new(3)), "Semaphore { permits: 3 }");
}

for_both_flavours!(
    single_consumer_event_set_resumes_its_waiter_before_returning,
    single_consumer_event_is_manual_reset,
    a_second_waiter_on_a_single_consumer_event_panics_at_its_co_await,
    destroying_the_waiter_of_a_single_consumer_event_lets_another_one_wait,
    event_set_resumes_every_waiter_in_fifo_order_before_returning,
    event_waits_complete_at_once_while_set_and_suspend_again_after_reset,
    destroying_a_waiter_suspended_on_an_event_unlinks_it_and_drops_its_locals_once,
    a_waiter_released_by_set_and_destroyed_before_it_ran_is_taken_out_of_the_ready_queue,
    mutex_lock_without_contention_does_not_suspend,
    mutex_hands_the_lock_to_waiters_in_fifo_order,
    an_unlock_with_waiters_hands_over_without_letting_a_newcomer_barge_in,
    a_coroutine_destroyed_while_holding_the_guard_unlocks_the_mutex_for_the_next_waiter,
    a_queued_lock_waiter_that_is_destroyed_leaves_the_queue,
    a_waiter_granted_the_lock_but_destroyed_before_it_ran_hands_the_lock_on,
    a_chain_of_50_000_lock_waiters_runs_in_bounded_stack,
    semaphore_admits_its_permits_and_queues_the_rest_in_fifo_order,
    release_adds_permits_and_forget_keeps_one_consumed,
    a_queued_acquire_that_is_destroyed_leaves_the_count_unchanged,
    a_waiter_granted_a_permit_but_destroyed_before_it_ran_passes_the_permit_on,
    latch_resumes_its_waiters_when_the_count_reaches_zero,
    arrive_and_wait_counts_down_and_the_last_arrival_does_not_suspend,
    destroying_a_latch_waiter_unlinks_it,
    a_channel_delivers_values_in_fifo_order_through_its_buffer,
    senders_wait_when_the_buffer_is_full_and_move_in_fifo_order,
    a_send_hands_its_value_to_the_longest_waiting_receiver,
    a_rendezvous_channel_pairs_each_send_with_a_receive,
    closing_wakes_receivers_with_none_and_senders_with_their_value,
    destroying_a_waiting_sender_drops_its_value_once_and_leaves_the_queue,
    a_receiver_handed_a_value_but_destroyed_before_it_ran_passes_the_value_on,
    a_value_given_back_with_no_receiver_waiting_goes_to_the_front_of_the_buffer,
    dropping_a_channel_drops_its_buffered_values_once,
    a_panic_escaping_a_resumed_waiter_does_not_stop_the_others_and_reaches_the_releaser,
    a_guard_dropped_by_a_panic_hands_the_lock_on_without_a_double_panic,
    a_chain_of_50_000_events_each_setting_the_next_runs_in_bounded_stack,
    waiting_and_waking_allocate_nothing,
    a_single_consumer_event_waiter_released_then_destroyed_before_it_ran_is_unlinked,
    a_latch_waiter_released_then_destroyed_before_it_ran_is_unlinked,
    a_sender_released_by_a_receive_then_destroyed_before_it_ran_has_sent_its_value,
    a_sender_released_by_close_then_destroyed_before_it_ran_drops_its_value_once,
    a_receiver_released_by_close_then_destroyed_before_it_ran_is_unlinked,
    a_receive_that_finds_a_sender_in_its_await_suspend_lets_the_sender_run_first,
    a_send_that_finds_a_receiver_in_its_await_suspend_lets_the_receiver_run_first,
    a_receiver_destroyed_by_the_sender_it_released_from_its_await_suspend_gives_the_value_back,
);
