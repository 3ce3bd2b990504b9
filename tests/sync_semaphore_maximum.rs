//! `Semaphore::with_max` (C++ `std::counting_semaphore<max>`): releasing
//! past the maximum is an error (`try_release`) or a panic (`release`, a
//! dropped permit) and changes nothing, never a silent over-grant; permits
//! handed to waiters, and passed on by a waiter destroyed before it ran,
//! stay within the maximum. `Semaphore::new` stays unbounded. Both flavours.

mod common;
mod sync_helpers;

use std::cell::RefCell;
use std::rc::Rc;

use common::{expect_panic, pause, Job, Log};
use coro::sync::semaphore::Semaphore;
use coro::sync::{Flavor, Local, ThreadSafe, TooManyPermits};
use coro::{co_await, co_return};
use sync_helpers::{deep, for_both_flavours, start};

trait Make: Flavor + Sized {
    fn unbounded(permits: usize) -> Semaphore<Self>;
    fn bounded(permits: usize, max: usize) -> Semaphore<Self>;
}
impl Make for Local {
    fn unbounded(permits: usize) -> Semaphore<Self> {
        Semaphore::<Local>::new(permits)
    }
    fn bounded(permits: usize, max: usize) -> Semaphore<Self> {
        Semaphore::<Local>::with_max(permits, max)
    }
}
impl Make for ThreadSafe {
    fn unbounded(permits: usize) -> Semaphore<Self> {
        Semaphore::<ThreadSafe>::new(permits)
    }
    fn bounded(permits: usize, max: usize) -> Semaphore<Self> {
        Semaphore::<ThreadSafe>::with_max(permits, max)
    }
}

/// Acquires, records, holds the permit across one `pause()`.
#[coro::coroutine]
fn acquirer<F: Flavor>(s: Rc<Semaphore<F>>, log: Log, name: &'static str) -> Job<()> {
    let _local = log.counted(name);
    let permit = co_await!(s.acquire());
    log.push(format!("{name} acquired"));
    co_await!(pause());
    drop(permit);
    co_return!(())
}

fn try_release_past_the_maximum_is_an_error_and_changes_nothing<F: Make>() {
    let s = F::bounded(1, 3);
    assert_eq!(s.max_permits(), 3);
    assert_eq!(s.try_release(3), Err(TooManyPermits { released: 3, available: 1, max: 3 }));
    assert_eq!(s.available_permits(), 1);
    assert_eq!(s.try_release(2), Ok(()));
    assert_eq!(s.available_permits(), 3);
    assert!(s.try_release(1).is_err());
    assert!(s.try_release(usize::MAX).is_err(), "no overflow either");
    assert_eq!(s.try_release(0), Ok(()));
    assert_eq!(s.available_permits(), 3);
}

fn release_past_the_maximum_panics_with_a_clear_message_and_changes_nothing<F: Make>() {
    let s = F::bounded(1, 1);
    let msg = expect_panic(|| s.release(5));
    assert!(msg.contains("releasing 5 permit(s) with 1 available would exceed the maximum of 1"), "{msg}");
    assert_eq!(s.available_permits(), 1);
}

fn new_stays_unbounded<F: Make>() {
    let s = F::unbounded(1);
    assert_eq!(s.max_permits(), usize::MAX);
    s.release(5);
    assert_eq!(s.available_permits(), 6);
    assert!(s.try_release(usize::MAX).is_err(), "only overflow is refused");
    let msg = expect_panic(|| s.release(usize::MAX));
    assert!(msg.contains("would exceed the maximum"), "{msg}");
    assert_eq!(s.available_permits(), 6);
}

fn with_max_refuses_more_permits_than_the_maximum<F: Make>() {
    let msg = expect_panic(|| F::bounded(3, 2));
    assert!(msg.contains("more permits than the maximum"), "{msg}");
}

fn a_release_with_waiters_hands_up_to_the_maximum_to_them<F: Make>() {
    let log = Log::new();
    let s = Rc::new(F::bounded(0, 2));
    let jobs: Vec<_> = ["a", "b", "c"].map(|n| start(acquirer(s.clone(), log.clone(), n))).into();
    assert!(s.try_release(3).is_err(), "0 available + 3 > 2, waiters or not");
    assert!(log.events().is_empty(), "a refused release wakes nobody");
    s.release(2); // to a and b
    assert_eq!(log.events(), ["a acquired", "b acquired"]);
    assert_eq!(s.available_permits(), 0);
    jobs[0].resume(); // a's permit goes to c
    assert_eq!(log.count("c acquired"), 1);
    jobs[1].resume();
    jobs[2].resume();
    assert_eq!(s.available_permits(), 2);
    drop(jobs);
    log.assert_each_dropped_once();
}

fn a_dropped_permit_past_the_maximum_panics_and_the_count_stays_at_the_maximum<F: Make>() {
    let s = F::bounded(1, 1);
    let p = s.try_acquire().unwrap();
    s.release(1); // a release of a permit nobody gave back: the bug
    let msg = expect_panic(|| drop(p));
    assert!(msg.contains("would exceed the maximum of 1"), "{msg}");
    assert_eq!(s.available_permits(), 1);
}

fn a_queued_acquire_that_is_destroyed_leaves_the_count_unchanged<F: Make>() {
    let log = Log::new();
    let s = Rc::new(F::bounded(1, 1));
    let a = start(acquirer(s.clone(), log.clone(), "a"));
    let b = start(acquirer(s.clone(), log.clone(), "b"));
    drop(b);
    a.resume();
    assert_eq!(s.available_permits(), 1);
    drop(a);
    log.assert_each_dropped_once();
}

fn a_waiter_granted_a_permit_but_destroyed_before_it_ran_passes_it_on_within_the_maximum<F: Make>() {
    let log = Log::new();
    let s = Rc::new(F::bounded(0, 1));
    let victim = Rc::new(RefCell::new(Some(start(acquirer(s.clone(), log.clone(), "victim")))));
    let next = start(acquirer(s.clone(), log.clone(), "next"));
    let (s2, v) = (s.clone(), victim.clone());
    deep(vec![Box::new(move || s2.release(1)), Box::new(move || drop(v.borrow_mut().take()))]);
    assert_eq!(log.count("victim acquired"), 0);
    assert_eq!(log.count("next acquired"), 1, "the permit went on");
    next.resume();
    assert_eq!(s.available_permits(), 1);
    // Nobody waiting: a passed-on permit goes back to the count.
    let victim = start(acquirer(s.clone(), log.clone(), "victim 2"));
    let v = Rc::new(RefCell::new(Some(victim)));
    let holder = s.try_acquire();
    assert!(holder.is_none(), "victim 2 holds it");
    drop(v);
    assert_eq!(s.available_permits(), 1, "a holder destroyed gives its permit back");
    drop(next);
    log.assert_each_dropped_once();
}

fn an_acquire_dropped_without_being_awaited_takes_no_permit<F: Make>() {
    let s = F::bounded(1, 1);
    drop(s.acquire());
    assert_eq!(s.available_permits(), 1);
}

for_both_flavours!(
    try_release_past_the_maximum_is_an_error_and_changes_nothing,
    release_past_the_maximum_panics_with_a_clear_message_and_changes_nothing,
    new_stays_unbounded,
    with_max_refuses_more_permits_than_the_maximum,
    a_release_with_waiters_hands_up_to_the_maximum_to_them,
    a_dropped_permit_past_the_maximum_panics_and_the_count_stays_at_the_maximum,
    a_queued_acquire_that_is_destroyed_leaves_the_count_unchanged,
    a_waiter_granted_a_permit_but_destroyed_before_it_ran_passes_it_on_within_the_maximum,
    an_acquire_dropped_without_being_awaited_takes_no_permit,
);
