//! `Event::new_set()` and `SingleConsumerEvent::new_set()` (cppcoro's
//! `async_manual_reset_event(true)`): an event that starts set lets waits
//! through at once until it is reset, then behaves as a fresh one. Both
//! flavours.

mod common;

use std::rc::Rc;

use common::{Job, Log};
use coro::sync::event::Event;
use coro::sync::single_consumer_event::SingleConsumerEvent;
use coro::sync::{Flavor, Local, ThreadSafe};
use coro::{co_await, co_return};

#[coro::coroutine]
fn waiter<F: Flavor>(ev: Rc<Event<F>>, log: Log, name: &'static str) -> Job<()> {
    let _local = log.counted(name);
    co_await!(ev.wait());
    log.push(format!("{name} passed"));
    co_return!(())
}

fn start<T>(job: Job<T>) -> Job<T> {
    job.resume();
    job
}

fn an_event_made_set_lets_waits_through_until_reset(ev: Rc<Event<impl Flavor>>) {
    let log = Log::new();
    assert!(ev.is_set());
    let a = start(waiter(ev.clone(), log.clone(), "a"));
    assert!(a.done(), "a set event does not suspend");
    ev.reset();
    let b = start(waiter(ev.clone(), log.clone(), "b"));
    assert!(!b.done(), "reset: waits suspend again");
    ev.set();
    assert!(b.done());
    assert_eq!(log.events(), ["a passed", "drop a", "b passed", "drop b"]);
    drop((a, b));
    log.assert_each_dropped_once();
}

#[test]
fn a_local_event_made_set_lets_waits_through_until_reset() {
    an_event_made_set_lets_waits_through_until_reset(Rc::new(Event::<Local>::new_set()));
}

#[test]
fn a_thread_safe_event_made_set_lets_waits_through_until_reset() {
    an_event_made_set_lets_waits_through_until_reset(Rc::new(Event::<ThreadSafe>::new_set()));
}

#[test]
fn a_thread_safe_event_made_set_is_const() {
    static EV: Event = Event::<ThreadSafe>::new_set();
    assert!(EV.is_set());
}

#[test]
fn new_still_makes_an_unset_event() {
    assert!(!Event::<Local>::new().is_set());
    assert!(!Event::<ThreadSafe>::new().is_set());
    assert!(!coro::sync::Event::default().is_set());
}

#[coro::coroutine]
fn sc_waiter<F: Flavor>(ev: Rc<SingleConsumerEvent<F>>, log: Log) -> Job<()> {
    let _local = log.counted("w");
    co_await!(ev.wait());
    log.push("w passed");
    co_return!(())
}

fn a_single_consumer_event_made_set_lets_its_waiter_through(ev: Rc<SingleConsumerEvent<impl Flavor>>) {
    let log = Log::new();
    assert!(ev.is_set());
    let w = start(sc_waiter(ev.clone(), log.clone()));
    assert!(w.done());
    ev.reset();
    let w2 = start(sc_waiter(ev.clone(), log.clone()));
    assert!(!w2.done());
    ev.set();
    assert!(w2.done());
    drop((w, w2));
    log.assert_each_dropped_once();
}

#[test]
fn a_single_consumer_event_made_set_lets_its_waiter_through_in_both_flavours() {
    a_single_consumer_event_made_set_lets_its_waiter_through(Rc::new(SingleConsumerEvent::<Local>::new_set()));
    a_single_consumer_event_made_set_lets_its_waiter_through(Rc::new(SingleConsumerEvent::<ThreadSafe>::new_set()));
}
