//! `generator::TryAsyncGenerator`: `co_yield!(v)` yields `Ok(v)`; `?` and
//! `co_return!(Err(e))` end the stream with the error as its last item;
//! consumed with `co_await!(gen.next())` and, with the `stream` feature (on
//! for the tests), as a `Stream<Item = Result<T, E>>`. Locals are dropped
//! once when the body fails, finishes, panics, or is dropped half-consumed.

mod common;

use std::task::{Context, Poll, Waker};

use coro::generator::TryAsyncGenerator;
use coro::{co_await, co_return, co_yield, sync_wait, Task};
use futures::channel::oneshot;
use futures::executor::block_on;
use futures::stream::{FusedStream, StreamExt, TryStreamExt};

use common::{expect_panic, Counted, Log, PLANNED};

#[derive(Debug, PartialEq)]
struct Bad(u32);

#[derive(Debug, PartialEq)]
enum Wrapped {
    Bad(u32),
}

impl From<Bad> for Wrapped {
    fn from(b: Bad) -> Wrapped {
        Wrapped::Bad(b.0)
    }
}

#[coro::coroutine]
fn check(x: u32) -> Task<Result<u32, Bad>> {
    co_return!(if x == 3 { Err(Bad(x)) } else { Ok(x * 10) })
}

/// Yields `check(i)` for `i` in `0..n`; fails at 3.
#[coro::coroutine]
fn checked(log: Log, n: u32) -> TryAsyncGenerator<Counted, Bad> {
    let _frame = log.counted("frame");
    for i in 0..n {
        let held = log.counted(format!("held{i}"));
        let v = co_await!(check(i))?;
        co_yield!(log.counted(format!("v{v}")));
        drop(held);
    }
    co_return!(Ok(()))
}

#[coro::coroutine]
fn drain<T: 'static, E: 'static>(mut g: TryAsyncGenerator<T, E>) -> Task<Vec<Result<T, E>>> {
    let mut items = Vec::new();
    while let Some(item) = co_await!(g.next()) {
        items.push(item);
    }
    // Fused: `None` again.
    assert!(co_await!(g.next()).is_none());
    co_return!(items)
}

fn names(items: Vec<Result<Counted, Bad>>) -> Vec<Result<String, Bad>> {
    items.into_iter().map(|r| r.map(|c| c.name().to_string())).collect()
}

#[test]
fn yields_ok_items_and_ends_with_co_return_ok() {
    let log = Log::new();
    let items = names(sync_wait(drain(checked(log.clone(), 3))));
    assert_eq!(items, [Ok("v0".to_string()), Ok("v10".to_string()), Ok("v20".to_string())]);
    log.assert_each_dropped_once();
}

#[test]
fn question_mark_ends_the_stream_with_the_error() {
    let log = Log::new();
    let items = names(sync_wait(drain(checked(log.clone(), 10))));
    assert_eq!(items, [Ok("v0".into()), Ok("v10".into()), Ok("v20".into()), Err(Bad(3))]);
    // Nothing after the error ran; the failing iteration's local and the
    // frame's were dropped once, when the body ended.
    assert_eq!(log.count("held4"), 0);
    log.assert_each_dropped_once();
}

#[test]
fn the_error_is_taken_before_the_frame_is_gone_and_the_generator_is_done() {
    #[coro::coroutine]
    fn fail_at_once(log: Log) -> TryAsyncGenerator<u8, Bad> {
        let _frame = log.counted("frame");
        co_return!(Err(Bad(7)))
    }

    type Item = Option<Result<u8, Bad>>;

    #[coro::coroutine]
    fn consume(log: Log) -> Task<(bool, Item, bool, Item)> {
        let mut g = fail_at_once(log);
        let before = g.done();
        let first = co_await!(g.next());
        let done = g.done();
        co_return!((before, first, done, co_await!(g.next())))
    }

    let log = Log::new();
    assert_eq!(sync_wait(consume(log.clone())), (false, Some(Err(Bad(7))), true, None));
    log.assert_each_dropped_once();
}

#[test]
fn question_mark_converts_the_error_with_from() {
    #[coro::coroutine]
    fn wrapped(n: u32) -> TryAsyncGenerator<u32, Wrapped> {
        for i in 0..n {
            co_yield!(co_await!(check(i))?);
        }
        co_return!(Ok(()))
    }
    assert_eq!(sync_wait(drain(wrapped(2))), [Ok(0), Ok(10)]);
    assert_eq!(sync_wait(drain(wrapped(5))), [Ok(0), Ok(10), Ok(20), Err(Wrapped::Bad(3))]);
}

#[test]
fn a_panic_reaches_the_consumer_and_is_not_an_error_item() {
    #[coro::coroutine]
    fn panics(log: Log) -> TryAsyncGenerator<u32, Bad> {
        let _frame = log.counted("frame");
        co_yield!(1);
        panic!("{PLANNED} in the body");
    }

    #[coro::coroutine]
    fn consume(log: Log, seen: std::rc::Rc<std::cell::RefCell<Vec<Result<u32, Bad>>>>) -> Task<()> {
        let mut g = panics(log);
        while let Some(x) = co_await!(g.next()) {
            seen.borrow_mut().push(x);
        }
        co_return!(())
    }

    let log = Log::new();
    let seen = std::rc::Rc::default();
    let msg = expect_panic(|| sync_wait(consume(log.clone(), std::rc::Rc::clone(&seen))));
    assert!(msg.contains("in the body"), "{msg}");
    assert_eq!(*seen.borrow(), [Ok(1)]);
    log.assert_each_dropped_once();
}

#[test]
fn dropping_a_half_consumed_generator_drops_its_locals() {
    #[coro::coroutine]
    fn first_of(log: Log) -> Task<Option<String>> {
        let mut g = checked(log, 10);
        let first = co_await!(g.next()).map(|r| r.unwrap().name().to_string());
        co_return!(first)
    }
    let log = Log::new();
    assert_eq!(sync_wait(first_of(log.clone())), Some("v0".to_string()));
    log.assert_each_dropped_once();
}

#[test]
fn a_try_async_generator_is_a_stream_of_results() {
    #[coro::coroutine]
    fn plain(n: u32) -> TryAsyncGenerator<u32, Bad> {
        for i in 0..n {
            co_yield!(co_await!(check(i))?);
        }
        co_return!(Ok(()))
    }
    assert_eq!(block_on(plain(3).collect::<Vec<_>>()), [Ok(0), Ok(10), Ok(20)]);
    assert_eq!(block_on(plain(9).collect::<Vec<_>>()), [Ok(0), Ok(10), Ok(20), Err(Bad(3))]);
    // `TryStreamExt` applies: `try_collect` stops at the error.
    assert_eq!(block_on(plain(2).try_collect::<Vec<_>>()), Ok(vec![0, 10]));
    assert_eq!(block_on(plain(5).try_collect::<Vec<_>>()), Err(Bad(3)));
    let mut g = plain(4);
    let mut cx = Context::from_waker(Waker::noop());
    assert_eq!(g.poll_next(&mut cx), Poll::Ready(Some(Ok(0))));
    assert_eq!(g.poll_next(&mut cx), Poll::Ready(Some(Ok(10))));
    assert_eq!(g.poll_next(&mut cx), Poll::Ready(Some(Ok(20))));
    assert!(!g.is_terminated());
    assert_eq!(g.poll_next(&mut cx), Poll::Ready(Some(Err(Bad(3)))));
    assert_eq!(g.poll_next(&mut cx), Poll::Ready(None));
    assert!(g.is_terminated());
}

#[test]
fn a_polled_body_waiting_on_a_future_fails_after_the_wait() {
    #[coro::coroutine]
    fn received(log: Log, rx: Vec<oneshot::Receiver<Result<u32, Bad>>>) -> TryAsyncGenerator<Counted, Bad> {
        let _frame = log.counted("frame");
        for r in rx {
            let v = co_await!(r).unwrap()?;
            co_yield!(log.counted(format!("v{v}")));
        }
        co_return!(Ok(()))
    }

    let log = Log::new();
    let (tx1, rx1) = oneshot::channel();
    let (tx2, rx2) = oneshot::channel();
    let (_tx3, rx3) = oneshot::channel();
    let mut g = received(log.clone(), vec![rx1, rx2, rx3]);
    let mut cx = Context::from_waker(Waker::noop());
    assert!(g.poll_next(&mut cx).is_pending());
    tx1.send(Ok(1)).unwrap();
    match g.poll_next(&mut cx) {
        Poll::Ready(Some(Ok(c))) => assert_eq!(c.name(), "v1"),
        other => panic!("{other:?}"),
    }
    assert!(g.poll_next(&mut cx).is_pending());
    tx2.send(Err(Bad(2))).unwrap();
    assert!(matches!(g.poll_next(&mut cx), Poll::Ready(Some(Err(Bad(2))))));
    assert!(matches!(g.poll_next(&mut cx), Poll::Ready(None)));
    drop(g);
    log.assert_each_dropped_once();
}

#[test]
fn a_generator_may_borrow_its_arguments() {
    #[coro::coroutine]
    fn words<'a>(s: &'a str) -> TryAsyncGenerator<&'a str, usize, &'a str> {
        for (i, w) in s.split(' ').enumerate() {
            if w.is_empty() {
                co_return!(Err(i))
            }
            co_yield!(w);
        }
        co_return!(Ok(()))
    }
    let text = String::from("a bc  d");
    assert_eq!(block_on(words(&text).collect::<Vec<_>>()), [Ok("a"), Ok("bc"), Err(2)]);
}
