//! `TwoWayGenerator`: `co_yield!` returns what the consumer sends with
//! `resume_with`, `co_return!(c)` completes it. The first value sent starts
//! the body and is dropped. Every value and local is dropped exactly once
//! on completion, panic and early drop.

mod common;

use coro::generator::{GeneratorState, TwoWayGenerator};
use coro::{co_return, co_yield};

use common::{expect_panic, Counted, Log, PLANNED};

/// Yields what it was sent, renamed; completes with the number of values
/// it received, or panics when sent "boom".
#[coro::coroutine]
fn relay(log: Log, rounds: usize) -> TwoWayGenerator<Counted, Counted, Counted> {
    let _frame = log.counted("frame");
    let mut got = 0;
    let mut out = log.counted("first");
    for _ in 0..rounds {
        let held = log.counted("held");
        let input = co_yield!(out);
        if input.name() == "boom" {
            panic!("{PLANNED} in the generator");
        }
        got += 1;
        out = log.counted(format!("echo-{}", input.name()));
        drop(held);
    }
    co_return!(log.counted(format!("complete-{got}")))
}

fn show(s: GeneratorState<Counted, Counted>) -> String {
    match s {
        GeneratorState::Yielded(y) => format!("yielded {}", y.name()),
        GeneratorState::Complete(c) => format!("complete {}", c.name()),
    }
}

#[test]
fn the_first_value_starts_the_body_and_is_dropped_the_rest_are_co_yields_results() {
    let log = Log::new();
    let mut g = relay(log.clone(), 2);
    let first = log.counted("discarded");
    assert_eq!(show(g.resume_with(first)), "yielded first");
    assert_eq!(log.live().iter().filter(|n| *n == "discarded").count(), 0, "dropped at once");
    assert_eq!(show(g.resume_with(log.counted("a"))), "yielded echo-a");
    assert!(!g.done());
    assert_eq!(show(g.resume_with(log.counted("b"))), "complete complete-2");
    assert!(g.done());
    drop(g);
    log.assert_each_dropped_once();
}

#[test]
fn resuming_a_completed_generator_panics() {
    let log = Log::new();
    let mut g = relay(log.clone(), 0);
    assert_eq!(show(g.resume_with(log.counted("start"))), "complete complete-0");
    let msg = expect_panic(|| g.resume_with(log.counted("late")));
    assert!(msg.contains("after it completed"), "{msg}");
    drop(g);
    log.assert_each_dropped_once();
}

#[test]
fn a_panic_in_the_body_propagates_from_resume_with_and_drops_everything_once() {
    let log = Log::new();
    let mut g = relay(log.clone(), 3);
    g.resume_with(log.counted("start"));
    let msg = expect_panic(|| g.resume_with(log.counted("boom")));
    assert!(msg.contains("in the generator"), "{msg}");
    assert_eq!(log.live(), Vec::<String>::new());
    assert!(expect_panic(|| g.resume_with(log.counted("after"))).contains("after it completed"));
    drop(g);
    log.assert_each_dropped_once();
}

#[test]
fn dropping_an_unfinished_generator_destroys_its_frame_once() {
    for resumes in 0..4 {
        let log = Log::new();
        let mut g = relay(log.clone(), 5);
        for i in 0..resumes {
            g.resume_with(log.counted(format!("v{i}")));
        }
        drop(g);
        assert_eq!(log.live(), Vec::<String>::new(), "after {resumes} resumes");
        log.assert_each_dropped_once();
    }
}

#[test]
fn a_generator_may_borrow_its_arguments_and_resume_may_omit_unit() {
    #[coro::coroutine]
    fn words<'a>(text: &'a str) -> TwoWayGenerator<&'a str, (), usize, &'a str> {
        let mut n = 0;
        for w in text.split_whitespace() {
            co_yield!(w);
            n += 1;
        }
        co_return!(n)
    }
    let text = String::from("two words");
    let mut g = words(&text);
    assert_eq!(g.resume(), GeneratorState::Yielded("two"));
    assert_eq!(g.resume(), GeneratorState::Yielded("words"));
    assert_eq!(g.resume(), GeneratorState::Complete(2));
}
