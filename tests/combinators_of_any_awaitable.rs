//! `when_all`, `when_all_ready` and `when_any` over children that are not
//! `Task`s: shared tasks, Rust futures (`combinators::future`) and awaiters
//! (`combinators::awaitable`), alone or mixed in one tuple; the empty
//! cases; laziness, drop accounting and panics.

mod common;

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use common::{expect_panic, Counted, Log, PLANNED};
use coro::combinators::{awaitable, future};
use coro::{
    co_await, co_return, sync_wait, when_all, when_all_ready, when_any, AwaitSuspend, Awaiter, CoroutineHandle,
    SendTask, Task,
};

#[coro::coroutine]
fn value(c: Counted, n: u32) -> Task<u32> {
    let _c = c;
    co_return!(n)
}

#[coro::coroutine]
fn send_value(n: u32) -> SendTask<u32> {
    co_return!(n)
}

/// Pending once (waking itself at once), then ready with its value.
struct YieldOnce<T> {
    value: Option<T>,
    polled: bool,
}

impl<T: Unpin> Future for YieldOnce<T> {
    type Output = T;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        if self.polled {
            Poll::Ready(self.value.take().expect("polled after completion"))
        } else {
            self.polled = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}

fn yield_once<T>(value: T) -> YieldOnce<T> {
    YieldOnce { value: Some(value), polled: false }
}

/// Never ready; keeps a `Counted` so that its drop is seen.
struct Forever(#[allow(dead_code)] Counted);

impl Future for Forever {
    type Output = u32;
    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<u32> {
        Poll::Pending
    }
}

/// An awaiter that parks its coroutine's handle in `slot` until someone
/// resumes it, then gives `n`. Records when `await_ready` is asked.
struct Parked {
    slot: Rc<Cell<Option<CoroutineHandle>>>,
    asked: Rc<Cell<bool>>,
    n: u32,
    _c: Option<Counted>,
}

impl Awaiter for Parked {
    type Output = u32;
    fn await_ready(&mut self) -> bool {
        self.asked.set(true);
        false
    }
    unsafe fn await_suspend(&mut self, h: CoroutineHandle) -> impl AwaitSuspend {
        self.slot.set(Some(h));
    }
    fn await_resume(self) -> u32 {
        self.n
    }
}

fn parked(slot: &Rc<Cell<Option<CoroutineHandle>>>, n: u32) -> (Parked, Rc<Cell<bool>>) {
    let asked = Rc::new(Cell::new(false));
    (Parked { slot: slot.clone(), asked: asked.clone(), n, _c: None }, asked)
}

/// Resumes the coroutine parked in `slot`, then gives `n`.
#[coro::coroutine]
fn release(slot: Rc<Cell<Option<CoroutineHandle>>>, n: u32) -> Task<u32> {
    let h = slot.take().expect("a coroutine is parked");
    // SAFETY: the parked coroutine is suspended at its `Parked` awaiter,
    // on this thread, and nobody else resumes it.
    unsafe { h.resume() };
    co_return!(n)
}

/// Panics in `await_resume`.
struct Explodes;

impl Awaiter for Explodes {
    type Output = u32;
    fn await_ready(&mut self) -> bool {
        true
    }
    unsafe fn await_suspend(&mut self, _: CoroutineHandle) -> impl AwaitSuspend {}
    fn await_resume(self) -> u32 {
        panic!("awaiter exploded {PLANNED}")
    }
}

#[test]
fn shared_task_children_give_clones_of_one_run() {
    let log = Log::new();
    let runs = Rc::new(Cell::new(0));
    #[coro::coroutine]
    fn counted_run(runs: Rc<Cell<u32>>, c: Counted) -> Task<String> {
        let _c = c;
        runs.set(runs.get() + 1);
        co_return!("shared".to_string())
    }
    let shared = counted_run(runs.clone(), log.counted("body")).shared();
    let all = when_all(vec![shared.clone(), shared.clone(), shared]);
    assert_eq!(runs.get(), 0, "nothing runs before the combinator is awaited");
    assert_eq!(sync_wait(all), ["shared", "shared", "shared"]);
    assert_eq!(runs.get(), 1);
    log.assert_each_dropped_once();
}

#[test]
fn send_shared_task_children_make_a_combinator_that_runs_on_another_thread() {
    #[coro::coroutine]
    fn answer() -> coro::SendSharedTask<u32> {
        co_return!(42)
    }
    let shared = answer();
    let all = when_all((shared.clone(), shared, send_value(1)));
    let got = std::thread::spawn(move || sync_wait(all)).join().unwrap();
    assert_eq!(got, (42, 42, 1));
}

#[test]
fn future_children_are_polled_in_their_frame_and_resumed_by_their_waker() {
    #[coro::coroutine]
    fn run() -> Task<(u32, String, u32)> {
        co_return!(co_await!(when_all((
            future(yield_once(1u32)),
            future(async { "async".to_string() }),
            future(std::future::ready(3u32)),
        ))))
    }
    assert_eq!(sync_wait(run()), (1, "async".to_string(), 3));
}

#[test]
fn a_future_woken_from_another_thread_finishes_its_child() {
    let (tx, rx) = std::sync::mpsc::channel::<u32>();
    struct FromThread(Option<std::thread::JoinHandle<()>>, std::sync::mpsc::Receiver<u32>, Option<u32>);
    impl Future for FromThread {
        type Output = u32;
        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u32> {
            if let Ok(v) = self.1.try_recv() {
                return Poll::Ready(v);
            }
            if let Some(v) = self.2.take() {
                let waker = cx.waker().clone();
                let tx = TX.with(|t| t.take()).expect("sender");
                self.0 = Some(std::thread::spawn(move || {
                    tx.send(v).unwrap();
                    waker.wake();
                }));
            }
            Poll::Pending
        }
    }
    thread_local!(static TX: Cell<Option<std::sync::mpsc::Sender<u32>>> = const { Cell::new(None) });
    TX.with(|t| t.set(Some(tx)));
    let got = sync_wait(when_all((future(FromThread(None, rx, Some(9))), value(Log::new().counted("v"), 2))));
    assert_eq!(got, (9, 2));
}

#[test]
fn awaiter_children_suspend_until_resumed_and_give_their_value() {
    let slot = Rc::new(Cell::new(None));
    let (a, asked) = parked(&slot, 10);
    let all = when_all((awaitable(a), release(slot, 20)));
    assert!(!asked.get(), "building the combinator does not ask the awaiter");
    assert_eq!(sync_wait(all), (10, 20));
    assert!(asked.get());
}

/// What the mixed tuple gives.
type Mixed = (u32, &'static str, String, u32, u32, u32, Vec<u32>);

#[test]
fn a_mixed_tuple_of_every_child_kind_gives_each_result_in_order() {
    let log = Log::new();
    let slot = Rc::new(Cell::new(None));
    let (a, _) = parked(&slot, 4);
    #[coro::coroutine]
    fn word() -> Task<&'static str> {
        co_return!("shared")
    }
    #[coro::coroutine]
    fn run(
        log: Log,
        shared: coro::SharedTask<&'static str>,
        a: Parked,
        slot: Rc<Cell<Option<CoroutineHandle>>>,
    ) -> Task<Mixed> {
        co_return!(co_await!(when_all((
            value(log.counted("task"), 1),
            shared,
            future(async { "future".to_string() }),
            awaitable(a),
            send_value(5),
            release(slot, 6),
            when_all(vec![future(yield_once(7u32)), future(yield_once(8u32))]),
        ))))
    }
    let got = sync_wait(run(log.clone(), word().shared(), a, slot));
    assert_eq!(got, (1, "shared", "future".to_string(), 4, 5, 6, vec![7, 8]));
    log.assert_each_dropped_once();
}

#[test]
fn when_all_of_an_empty_tuple_or_vec_gives_nothing_at_once() {
    #[coro::coroutine]
    fn run() -> Task<((), (), Vec<u32>, usize)> {
        let a = co_await!(when_all(()));
        let b = co_await!(when_all_ready(()));
        let v = co_await!(when_all(Vec::<Task<u32>>::new()));
        let r = co_await!(when_all_ready(Vec::<Task<u32>>::new()));
        co_return!((a, b, v, r.len()))
    }
    assert_eq!(sync_wait(run()), ((), (), vec![], 0));
    assert_eq!(sync_wait(when_all(())), ());
    assert_eq!(sync_wait(when_all((when_all(()), send_value(1)))), ((), 1));
}

#[test]
fn when_any_of_no_children_panics_when_it_is_built() {
    let message = expect_panic(|| when_any(Vec::<Task<u32>>::new()));
    assert!(message.contains("when_any of no tasks"), "{message}");
}

#[test]
fn children_dropped_unstarted_are_dropped_once_and_never_polled_or_asked() {
    let log = Log::new();
    let polled = Rc::new(Cell::new(false));
    let slot = Rc::new(Cell::new(None));
    let (mut a, asked) = parked(&slot, 1);
    a._c = Some(log.counted("awaiter"));
    let fut = {
        let (c, polled) = (log.counted("future"), polled.clone());
        async move {
            let _c = c;
            polled.set(true);
            1u32
        }
    };
    let shared = value(log.counted("shared"), 3).shared();
    let all = when_all((future(fut), awaitable(a), shared, future(Forever(log.counted("forever")))));
    drop(all);
    assert!(!polled.get() && !asked.get());
    assert_eq!(log.created(), 4);
    log.assert_each_dropped_once();
}

#[test]
fn when_any_over_futures_gives_the_first_and_drops_the_pending_losers() {
    type Boxed = Pin<Box<dyn Future<Output = u32>>>;
    let log = Log::new();
    let children: Vec<Boxed> = vec![
        Box::pin(Forever(log.counted("loser"))),
        Box::pin(yield_once(2u32)),
        Box::pin(Forever(log.counted("late"))),
    ];
    let first = sync_wait(when_any(children.into_iter().map(future).collect()));
    assert_eq!(first, (1, 2));
    log.assert_each_dropped_once();
}

#[test]
fn a_panicking_future_or_awaiter_is_rethrown_by_when_all_after_its_siblings_finish() {
    let log = Log::new();
    let panicking = async { panic!("future exploded {PLANNED}") };
    let message = expect_panic(|| {
        sync_wait(when_all((value(log.counted("sibling"), 1), future(panicking), awaitable(Explodes))))
    });
    assert!(message.contains("future exploded"), "the first panic in child order: {message}");
    log.assert_each_dropped_once();
}

#[test]
fn when_all_ready_gives_a_panicking_awaiter_as_an_error() {
    common::quiet_planned_panics();
    let (a, b, c) = sync_wait(when_all_ready((awaitable(Explodes), future(async { 1u32 }), send_value(2))));
    assert!(a.is_err());
    assert_eq!((b.unwrap(), c.unwrap()), (1, 2));
}

#[test]
fn sendable_future_children_keep_the_combinator_a_send_task() {
    let all = when_all((future(async { 1u32 }).sendable(), send_value(2)));
    let nested = when_any(vec![all]);
    assert_eq!(std::thread::spawn(move || sync_wait(nested)).join().unwrap(), (0, (1, 2)));
}
