//! An `AsyncGenerator` polled from a Rust executor: `poll_next` and, with
//! the `stream` feature (on for the tests), `futures_core::Stream`. Each
//! value and local is dropped exactly once on completion, panic and early
//! drop, also while a poll has left the body waiting.

mod common;

use std::task::{Context, Poll};

use coro::{co_await, co_return, co_yield, sync_wait, AsyncGenerator, Task};
use futures::channel::oneshot;
use futures::executor::block_on;
use futures::stream::{FusedStream, StreamExt};

use common::{expect_panic, Counted, Log, WakeCount, PLANNED};

#[coro::coroutine]
fn square(x: u32) -> Task<u32> {
    co_return!(x * x)
}

#[coro::coroutine]
fn squares(n: u32) -> AsyncGenerator<u32> {
    for i in 0..n {
        co_yield!(co_await!(square(i)));
    }
}

#[test]
fn an_async_generator_is_a_stream_for_any_executor() {
    assert_eq!(block_on(squares(5).collect::<Vec<_>>()), [0, 1, 4, 9, 16]);
    let doubled = block_on(squares(4).map(|x| 2 * x).filter(|x| std::future::ready(*x > 0)).collect::<Vec<_>>());
    assert_eq!(doubled, [2, 8, 18]);
    // `StreamExt::next` by its path: the inherent `next` is the coroutine's awaiter.
    let mut g = squares(2);
    assert_eq!(block_on(StreamExt::next(&mut g)), Some(0));
    assert!(!g.is_terminated());
    assert_eq!(block_on(StreamExt::next(&mut g)), Some(1));
    assert_eq!(block_on(StreamExt::next(&mut g)), None);
    assert!(g.is_terminated());
    assert_eq!(block_on(StreamExt::next(&mut g)), None);
}

#[coro::coroutine]
fn received(log: Log, rx: Vec<oneshot::Receiver<u32>>) -> AsyncGenerator<Counted> {
    let _frame = log.counted("frame");
    for r in rx {
        let held = log.counted("held");
        let v = co_await!(r).unwrap();
        co_yield!(log.counted(format!("v{v}")));
        drop(held);
    }
}

#[test]
fn a_body_woken_from_another_thread_resumes_on_the_polling_thread() {
    let log = Log::new();
    let (txs, rxs): (Vec<_>, Vec<_>) = (0..3).map(|_| oneshot::channel::<u32>()).unzip();
    let sender = std::thread::spawn(move || {
        for (i, tx) in txs.into_iter().enumerate() {
            std::thread::sleep(std::time::Duration::from_millis(5));
            tx.send(i as u32).unwrap();
        }
    });
    let names = block_on(received(log.clone(), rxs).map(|c| c.name().to_owned()).collect::<Vec<_>>());
    sender.join().unwrap();
    assert_eq!(names, ["v0", "v1", "v2"]);
    log.assert_each_dropped_once();
}

#[test]
fn a_pending_poll_is_woken_and_a_ready_one_wakes_nobody() {
    let log = Log::new();
    let (tx, rx) = oneshot::channel::<u32>();
    let mut g = received(log.clone(), vec![rx]);
    let wakes = WakeCount::new();
    let waker = wakes.waker();
    let mut cx = Context::from_waker(&waker);
    assert!(g.poll_next(&mut cx).is_pending());
    assert!(g.poll_next(&mut cx).is_pending());
    assert_eq!(wakes.count(), 0);
    tx.send(7).unwrap(); // the future's waker queues the body for this thread
    assert!(wakes.count() >= 1);
    match g.poll_next(&mut cx) {
        Poll::Ready(Some(c)) => assert_eq!(c.name(), "v7"),
        other => panic!("expected v7, got {:?}", other.map(|o| o.map(|c| c.name().to_owned()))),
    }
    assert!(matches!(g.poll_next(&mut cx), Poll::Ready(None)));
    drop(g);
    log.assert_each_dropped_once();
}

#[test]
fn dropping_a_stream_whose_body_waits_destroys_its_frame_once() {
    for polls in 0..3 {
        let log = Log::new();
        let (tx, rx) = oneshot::channel::<u32>();
        let (_tx2, rx2) = oneshot::channel::<u32>();
        let mut g = received(log.clone(), vec![rx, rx2]);
        let mut cx = Context::from_waker(std::task::Waker::noop());
        tx.send(1).unwrap();
        for _ in 0..polls {
            if let Poll::Ready(Some(c)) = g.poll_next(&mut cx) {
                assert_eq!(c.name(), "v1");
            }
        }
        // Unstarted, or waiting on `rx2` with `held` alive.
        drop(g);
        assert_eq!(log.live(), Vec::<String>::new(), "after {polls} polls");
        log.assert_each_dropped_once();
        assert_eq!(coro::resume_woken(), 0);
    }
}

#[test]
fn a_panic_in_the_body_propagates_from_the_poll_then_the_stream_ends() {
    #[coro::coroutine]
    fn boom(log: Log) -> AsyncGenerator<Counted> {
        let _frame = log.counted("frame");
        co_yield!(log.counted("v0"));
        let _held = log.counted("held");
        co_await!(square(2));
        panic!("{PLANNED} in the generator");
    }
    let log = Log::new();
    let mut g = boom(log.clone());
    assert_eq!(block_on(StreamExt::next(&mut g)).unwrap().name(), "v0");
    let msg = expect_panic(|| block_on(StreamExt::next(&mut g)));
    assert!(msg.contains("in the generator"), "{msg}");
    assert_eq!(log.live(), Vec::<String>::new());
    assert!(g.is_terminated());
    assert_eq!(block_on(StreamExt::next(&mut g)).map(|c| c.name().to_owned()), None);
    drop(g);
    log.assert_each_dropped_once();
}

#[test]
fn polls_and_co_awaits_may_alternate() {
    #[coro::coroutine]
    fn rest(mut g: AsyncGenerator<u32>) -> Task<Vec<u32>> {
        let mut out = Vec::new();
        while let Some(x) = co_await!(g.next()) {
            out.push(x);
        }
        co_return!(out)
    }
    let mut g = squares(4);
    assert_eq!(block_on(StreamExt::next(&mut g)), Some(0));
    assert_eq!(sync_wait(rest(g)), [1, 4, 9]);
}

#[test]
fn co_await_next_on_a_generator_a_poll_left_running_panics() {
    #[coro::coroutine]
    fn next_of(mut g: AsyncGenerator<Counted>) -> Task<Option<Counted>> {
        co_return!(co_await!(g.next()))
    }
    let log = Log::new();
    let (_tx, rx) = oneshot::channel::<u32>();
    let mut g = received(log.clone(), vec![rx]);
    let mut cx = Context::from_waker(std::task::Waker::noop());
    assert!(g.poll_next(&mut cx).is_pending());
    // The task's awaiter panics, and the task drops the generator.
    let msg = expect_panic(|| sync_wait(next_of(g)));
    assert!(msg.contains("poll it to its next element first"), "{msg}");
    log.assert_each_dropped_once();
}
