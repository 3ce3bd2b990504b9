//! `co_yield!(elements_of(g).catch_panic())` in a `RecursiveGenerator`: a
//! panic in the nested generator (or deeper) becomes `Err(payload)` in the
//! parent, which goes on; the consumer sees the parent's later elements.
//! Each local of the nested generators is dropped exactly once.

mod common;

use coro::{co_yield, elements_of, RecursiveGenerator};

use common::{expect_panic, panic_message, quiet_planned_panics, Log, PLANNED};

/// Yields `n`, then panics if `n == bad`, then yields `n * 10`.
#[coro::coroutine]
fn fragile(log: Log, n: u32, bad: u32) -> RecursiveGenerator<u32> {
    let _local = log.counted(format!("child{n}"));
    co_yield!(n);
    if n == bad {
        let _held = log.counted(format!("held{n}"));
        panic!("{PLANNED} child {n}");
    }
    co_yield!(n * 10);
}

#[coro::coroutine]
fn resilient(log: Log, bad: u32, caught: Log) -> RecursiveGenerator<u32> {
    let _frame = log.counted("parent");
    for n in 1..=3 {
        match co_yield!(elements_of(fragile(log.clone(), n, bad)).catch_panic()) {
            Ok(()) => caught.push(format!("ok{n}")),
            Err(p) => {
                log.push(format!("caught{n}"));
                caught.push(panic_message(&*p));
                co_yield!(0);
            }
        }
    }
    co_yield!(99);
}

#[test]
fn the_parent_catches_a_nested_panic_and_goes_on() {
    quiet_planned_panics();
    let log = Log::new();
    let caught = Log::new();
    let items: Vec<u32> = resilient(log.clone(), 2, caught.clone()).collect();
    assert_eq!(items, [1, 10, 2, 0, 3, 30, 99]);
    assert_eq!(caught.events(), ["ok1".to_string(), format!("{PLANNED} child 2"), "ok3".to_string()]);
    // The panicking child's locals were dropped once, as it unwound, before
    // the parent went on.
    assert!(log.index_of("drop held2") < log.index_of("drop child2"));
    assert!(log.index_of("drop child2") < log.index_of("caught2"));
    assert!(log.index_of("caught2") < log.index_of("drop child3"));
    log.assert_each_dropped_once();
}

#[test]
fn without_a_panic_every_catch_gives_ok() {
    let log = Log::new();
    let caught = Log::new();
    let items: Vec<u32> = resilient(log.clone(), 0, caught.clone()).collect();
    assert_eq!(items, [1, 10, 2, 20, 3, 30, 99]);
    assert_eq!(caught.events(), ["ok1", "ok2", "ok3"]);
    log.assert_each_dropped_once();
}

/// Passes `fragile`'s panic up without catching it.
#[coro::coroutine]
fn middle(log: Log, bad: u32) -> RecursiveGenerator<u32> {
    let _frame = log.counted("middle");
    co_yield!(elements_of(fragile(log.clone(), 1, bad)));
    co_yield!(elements_of(fragile(log.clone(), 2, bad)));
    co_yield!(5);
}

#[test]
fn a_panic_two_levels_down_is_caught_where_catch_panic_is() {
    #[coro::coroutine]
    fn top(log: Log, caught: Log) -> RecursiveGenerator<u32> {
        let _frame = log.counted("top");
        if let Err(p) = co_yield!(elements_of(middle(log.clone(), 2)).catch_panic()) {
            caught.push(panic_message(&*p));
        }
        co_yield!(7);
    }

    quiet_planned_panics();
    let log = Log::new();
    let caught = Log::new();
    let items: Vec<u32> = top(log.clone(), caught.clone()).collect();
    // `middle` is abandoned at its second child: its `5` never comes.
    assert_eq!(items, [1, 10, 2, 7]);
    assert_eq!(caught.events(), [format!("{PLANNED} child 2")]);
    assert!(log.index_of("drop middle") < log.index_of("drop top"));
    log.assert_each_dropped_once();
}

#[test]
fn without_catch_panic_the_panic_still_reaches_the_consumer() {
    let log = Log::new();
    let mut items = Vec::new();
    let msg = expect_panic(|| {
        for x in middle(log.clone(), 2) {
            items.push(x);
        }
    });
    assert!(msg.contains("child 2"), "{msg}");
    assert_eq!(items, [1, 10, 2]);
    log.assert_each_dropped_once();
}

#[test]
fn a_caught_panic_can_be_rethrown() {
    #[coro::coroutine]
    fn rethrows(log: Log) -> RecursiveGenerator<u32> {
        let _frame = log.counted("rethrows");
        if let Err(p) = co_yield!(elements_of(fragile(log.clone(), 1, 1)).catch_panic()) {
            co_yield!(100);
            std::panic::resume_unwind(p);
        }
    }

    let log = Log::new();
    let mut items = Vec::new();
    let msg = expect_panic(|| {
        for x in rethrows(log.clone()) {
            items.push(x);
        }
    });
    assert!(msg.contains("child 1"), "{msg}");
    assert_eq!(items, [1, 100]);
    log.assert_each_dropped_once();
}

#[test]
fn dropping_the_root_inside_a_caught_nested_generator_drops_each_local_once() {
    let log = Log::new();
    let caught = Log::new();
    let mut g = resilient(log.clone(), 2, caught.clone());
    assert_eq!(g.next(), Some(1));
    drop(g);
    assert!(caught.events().is_empty());
    log.assert_each_dropped_once();
}

#[test]
fn a_finished_nested_generator_gives_ok_at_once() {
    #[coro::coroutine]
    fn after(g: RecursiveGenerator<u32>) -> RecursiveGenerator<u32> {
        let r = co_yield!(elements_of(g).catch_panic());
        co_yield!(if r.is_ok() { 1 } else { 2 });
    }
    let log = Log::new();
    let mut child = fragile(log.clone(), 5, 0);
    assert_eq!(child.by_ref().collect::<Vec<_>>(), [5, 50]);
    assert_eq!(after(child).collect::<Vec<_>>(), [1]);
    log.assert_each_dropped_once();
}
