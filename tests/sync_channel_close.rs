//! The two ways to close a `Channel`: `close` lets receivers drain what is
//! buffered, then gives `None`; `close_and_discard` drops the buffered
//! values at once, each exactly once. In both, blocked senders get their
//! own value back in the `SendError` and waiting receivers get `None`.
//! Both flavours.

mod common;
mod sync_helpers;

use std::cell::RefCell;
use std::rc::Rc;

use common::{Counted, Job, Log};
use coro::sync::channel::Channel;
use coro::sync::{Flavor, Local, SendError, ThreadSafe, TryRecvError, TrySendError};
use coro::{co_await, co_return};
use sync_helpers::{deep, for_both_flavours, start};

trait Make: Flavor + Sized {
    fn channel<T>(cap: usize) -> Channel<T, Self>;
}
impl Make for Local {
    fn channel<T>(cap: usize) -> Channel<T, Self> {
        Channel::<T, Local>::new(cap)
    }
}
impl Make for ThreadSafe {
    fn channel<T>(cap: usize) -> Channel<T, Self> {
        Channel::<T, ThreadSafe>::new(cap)
    }
}

#[coro::coroutine]
fn sender<F: Flavor>(ch: Rc<Channel<Counted, F>>, log: Log, v: Counted) -> Job<()> {
    let name = v.name().to_owned();
    match co_await!(ch.send(v)) {
        Ok(()) => log.push(format!("sent {name}")),
        Err(SendError(v)) => log.push(format!("got back {}", v.name())),
    }
    co_return!(())
}

#[coro::coroutine]
fn receiver<F: Flavor>(ch: Rc<Channel<Counted, F>>, log: Log, name: &'static str) -> Job<()> {
    while let Some(v) = co_await!(ch.recv()) {
        log.push(format!("{name} got {}", v.name()));
    }
    log.push(format!("{name} got None"));
    co_return!(())
}

fn fill<F: Flavor>(ch: &Channel<Counted, F>, log: &Log, names: &[&str]) {
    for n in names {
        ch.try_send(log.counted(*n)).unwrap();
    }
}

fn close_lets_receivers_drain_the_buffer_then_gives_none<F: Make>() {
    let log = Log::new();
    let ch = Rc::new(F::channel(2));
    fill(&ch, &log, &["v1", "v2"]);
    let blocked = start(sender(ch.clone(), log.clone(), log.counted("v3")));
    ch.close();
    assert_eq!(log.events(), ["got back v3", "drop v3"], "the blocked sender's value came back to it");
    assert_eq!(ch.len(), 2, "close keeps the buffer");
    let r = start(receiver(ch.clone(), log.clone(), "r"));
    assert!(r.done());
    assert_eq!(log.events()[2..], ["r got v1", "drop v1", "r got v2", "drop v2", "r got None"]);
    drop((blocked, r));
    log.assert_each_dropped_once();
}

fn close_and_discard_drops_each_buffered_value_once_before_returning<F: Make>() {
    let log = Log::new();
    let ch = F::channel(3);
    fill(&ch, &log, &["v1", "v2", "v3"]);
    log.push("discard");
    assert_eq!(ch.close_and_discard(), 3);
    log.push("returned");
    assert_eq!(log.events(), ["discard", "drop v1", "drop v2", "drop v3", "returned"]);
    assert!(ch.is_closed() && ch.is_empty());
    assert!(matches!(ch.try_recv(), Err(TryRecvError::Closed)));
    assert!(matches!(ch.try_send(log.counted("late")), Err(TrySendError::Closed(_))));
    drop(ch);
    log.assert_each_dropped_once();
}

fn close_and_discard_gives_blocked_senders_their_value_back<F: Make>() {
    let log = Log::new();
    let ch = Rc::new(F::channel(1));
    fill(&ch, &log, &["buffered"]);
    let a = start(sender(ch.clone(), log.clone(), log.counted("a's")));
    let b = start(sender(ch.clone(), log.clone(), log.counted("b's")));
    assert!(!a.done() && !b.done());
    assert_eq!(ch.close_and_discard(), 1);
    assert!(a.done() && b.done());
    // Senders resumed first (with their values, dropped by them), then the buffer dropped.
    assert_eq!(log.events(), ["got back a's", "drop a's", "got back b's", "drop b's", "drop buffered"]);
    drop((a, b));
    log.assert_each_dropped_once();
}

fn close_and_discard_wakes_waiting_receivers_with_none<F: Make>() {
    let log = Log::new();
    let ch = Rc::new(F::channel(2));
    let r = start(receiver(ch.clone(), log.clone(), "r"));
    assert_eq!(ch.close_and_discard(), 0);
    assert!(r.done());
    assert_eq!(log.events(), ["r got None"]);
    drop(r);
    log.assert_each_dropped_once();
}

fn close_and_discard_after_close_still_drops_what_is_buffered<F: Make>() {
    let log = Log::new();
    let ch = F::channel(2);
    fill(&ch, &log, &["v1", "v2"]);
    ch.close();
    assert_eq!(ch.try_recv().unwrap().name(), "v1");
    assert_eq!(ch.close_and_discard(), 1);
    assert_eq!(ch.close_and_discard(), 0, "nothing left, twice is fine");
    assert_eq!(log.events(), ["drop v1", "drop v2"]);
    log.assert_each_dropped_once();
}

#[coro::coroutine]
fn receive_one<F: Flavor>(ch: Rc<Channel<Counted, F>>, log: Log) -> Job<()> {
    let v = co_await!(ch.recv());
    log.push(format!("victim got {:?}", v.as_ref().map(Counted::name)));
    co_return!(())
}

fn a_value_handed_to_a_receiver_destroyed_after_close_and_discard_is_dropped_once_not_buffered<F: Make>() {
    let log = Log::new();
    let ch = Rc::new(F::channel(2));
    let victim = Rc::new(RefCell::new(Some(start(receive_one(ch.clone(), log.clone())))));
    let (c1, c2, v, l) = (ch.clone(), ch.clone(), victim.clone(), log.clone());
    deep(vec![
        Box::new(move || c1.try_send(l.counted("in flight")).unwrap()), // handed to the victim, queued
        Box::new(move || assert_eq!(c2.close_and_discard(), 0)),
        Box::new(move || drop(v.borrow_mut().take())),
    ]);
    assert_eq!(log.count("victim got Some(\"in flight\")"), 0);
    assert_eq!(log.events(), ["drop in flight"]);
    assert!(ch.is_empty(), "not given back to the buffer");
    assert!(matches!(ch.try_recv(), Err(TryRecvError::Closed)));
    log.assert_each_dropped_once();
}

fn a_value_handed_to_a_receiver_destroyed_after_close_goes_back_to_the_buffer<F: Make>() {
    let log = Log::new();
    let ch = Rc::new(F::channel(2));
    let victim = Rc::new(RefCell::new(Some(start(receive_one(ch.clone(), log.clone())))));
    let (c1, c2, v, l) = (ch.clone(), ch.clone(), victim.clone(), log.clone());
    deep(vec![
        Box::new(move || c1.try_send(l.counted("in flight")).unwrap()),
        Box::new(move || c2.close()),
        Box::new(move || drop(v.borrow_mut().take())),
    ]);
    assert!(log.events().is_empty(), "{:?}", log.events());
    assert_eq!(ch.try_recv().unwrap().name(), "in flight", "close keeps it for the next receiver");
    log.assert_each_dropped_once();
}

for_both_flavours!(
    close_lets_receivers_drain_the_buffer_then_gives_none,
    close_and_discard_drops_each_buffered_value_once_before_returning,
    close_and_discard_gives_blocked_senders_their_value_back,
    close_and_discard_wakes_waiting_receivers_with_none,
    close_and_discard_after_close_still_drops_what_is_buffered,
    a_value_handed_to_a_receiver_destroyed_after_close_and_discard_is_dropped_once_not_buffered,
    a_value_handed_to_a_receiver_destroyed_after_close_goes_back_to_the_buffer,
);
