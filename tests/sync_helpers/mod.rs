//! Helpers for the `sync_*` behaviour tests (beside `common`): starting a
//! hand-driven job, running both flavours of a generic test, and releasing
//! a waiter deeper than inline resumption nests, so that it is queued, not
//! run, when the test destroys it.
#![allow(dead_code)]

use std::cell::RefCell;
use std::rc::Rc;

use crate::common::Job;
use coro::sync::local::Event;
use coro::{co_await, co_return};

/// Starts a lazily started job: runs it to its first suspension.
pub fn start<T>(job: Job<T>) -> Job<T> {
    job.resume();
    job
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
pub(crate) use for_both_flavours;

/// Waits on `mine`, then sets `next`.
#[coro::coroutine]
fn relay(mine: Rc<Event>, next: Rc<Event>) -> Job<()> {
    co_await!(mine.wait());
    next.set();
    co_return!(())
}

type Step = Box<dyn FnOnce()>;

#[coro::coroutine]
fn deep_end(go: Rc<Event>, steps: Rc<RefCell<Vec<Step>>>) -> Job<()> {
    co_await!(go.wait());
    let steps = std::mem::take(&mut *steps.borrow_mut());
    for step in steps {
        step();
    }
    co_return!(())
}

/// Runs `steps` in order inside a coroutine resumed 64 releases deep (past
/// the 16 levels that inline resumption nests), so that a waiter one step
/// releases is only queued — not run — when the next step runs. The queued
/// waiters run once the steps are done, before this returns.
pub fn deep(steps: Vec<Step>) {
    const DEPTH: usize = 64;
    let events: Vec<_> = (0..=DEPTH).map(|_| Rc::new(Event::new())).collect();
    let relays: Vec<_> = (0..DEPTH).map(|i| start(relay(events[i].clone(), events[i + 1].clone()))).collect();
    let end = start(deep_end(events[DEPTH].clone(), Rc::new(RefCell::new(steps))));
    events[0].set();
    assert!(end.done() && relays.iter().all(|r| r.done()), "the deep steps did not run");
}
