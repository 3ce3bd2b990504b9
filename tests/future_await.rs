//! `co_await!` of a `std::future::Future`: the coroutine is resumed by the
//! future's waker, on its own thread when it is thread-bound.

mod common;

use std::cell::Cell;
use std::future::{ready, Future};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::thread;
use std::time::Duration;

use common::{eventually, expect_panic, Counted, Log, PLANNED};
use coro::{
    co_await, co_return, sync_wait, when_any, AwaitSuspend, Awaiter, CoroutineHandle, SendTask, SuspendNever, Task,
};
use futures::channel::oneshot;

// ---------------------------------------------------------------------------
// A future opened by hand, from any thread, that counts its polls.
// ---------------------------------------------------------------------------

#[derive(Default)]
struct GateState {
    open: AtomicBool,
    polls: AtomicUsize,
    waker: Mutex<Option<Waker>>,
}

#[derive(Clone, Default)]
struct Gate(Arc<GateState>);

impl Gate {
    fn wait(&self) -> GateFuture {
        GateFuture { gate: self.clone() }
    }
    /// Wakes the waiter without opening: a spurious wake-up.
    fn nudge(&self) {
        let w = self.0.waker.lock().unwrap().clone();
        if let Some(w) = w {
            w.wake();
        }
    }
    fn open(&self) {
        self.0.open.store(true, Ordering::SeqCst);
        let w = self.0.waker.lock().unwrap().take();
        if let Some(w) = w {
            w.wake();
        }
    }
    fn polls(&self) -> usize {
        self.0.polls.load(Ordering::SeqCst)
    }
    fn has_waker(&self) -> bool {
        self.0.waker.lock().unwrap().is_some()
    }
}

struct GateFuture {
    gate: Gate,
}

impl Future for GateFuture {
    type Output = u32;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u32> {
        let s = &self.gate.0;
        s.polls.fetch_add(1, Ordering::SeqCst);
        if s.open.load(Ordering::SeqCst) {
            return Poll::Ready(7);
        }
        *s.waker.lock().unwrap() = Some(cx.waker().clone());
        Poll::Pending
    }
}

// ---------------------------------------------------------------------------

async fn add_async(a: u32, b: u32) -> u32 {
    a + b
}

#[coro::coroutine]
fn ready_futures() -> Task<u32> {
    let a = co_await!(add_async(1, 2));
    let b = co_await!(ready(10));
    let c = co_await!(async { a * b });
    co_return!(a + b + c)
}

#[test]
fn futures_that_are_ready_at_once_complete_without_waking() {
    assert_eq!(sync_wait(ready_futures()), 3 + 10 + 30);
}

#[coro::coroutine]
fn await_gate(fut: GateFuture) -> Task<u32> {
    let v = co_await!(fut);
    co_return!(v + 1)
}

#[test]
fn a_pending_future_resumes_the_coroutine_through_its_waker() {
    let gate = Gate::default();
    let out = Rc::new(Cell::new(0));
    #[coro::coroutine]
    fn parent(child: Task<u32>, out: Rc<Cell<u32>>) -> Task<()> {
        out.set(co_await!(child));
        co_return!(())
    }
    let mut p = parent(await_gate(gate.wait()), out.clone()).into_future_for_test();
    assert!(p.poll_once().is_pending());
    assert_eq!(gate.polls(), 1);
    gate.open(); // queues the coroutine: never resumed inside `wake`
    assert_eq!(out.get(), 0);
    assert_eq!(gate.polls(), 1);
    assert!(p.poll_once().is_ready(), "the driver's next poll resumes it");
    assert_eq!(out.get(), 8);
    assert_eq!(gate.polls(), 2);
}

/// Small helper: poll a task as a future with a no-op waker.
trait PollOnce {
    type F: Future + Unpin;
    fn into_future_for_test(self) -> Self::F;
}
impl<T> PollOnce for Task<T> {
    type F = coro::task::TaskFuture<T, coro::task::Local>;
    fn into_future_for_test(self) -> Self::F {
        std::future::IntoFuture::into_future(self)
    }
}
trait PollNow: Future + Unpin {
    fn poll_once(&mut self) -> Poll<Self::Output> {
        Pin::new(self).poll(&mut Context::from_waker(Waker::noop()))
    }
}
impl<F: Future + Unpin> PollNow for F {}

#[test]
fn spurious_and_early_wake_ups_only_cost_a_poll() {
    let gate = Gate::default();
    let out = Rc::new(Cell::new(0));
    #[coro::coroutine]
    fn parent(fut: GateFuture, out: Rc<Cell<u32>>) -> Task<()> {
        out.set(co_await!(fut));
        co_return!(())
    }
    let mut f = parent(gate.wait(), out.clone()).into_future_for_test();
    assert!(f.poll_once().is_pending());
    for n in 0..5 {
        gate.nudge();
        assert!(f.poll_once().is_pending());
        assert_eq!(gate.polls(), 2 + n, "each wake-up re-polls once");
        assert_eq!(out.get(), 0, "still waiting");
    }
    gate.open();
    assert!(f.poll_once().is_ready());
    assert_eq!(out.get(), 7);
}

/// A future that wakes itself from inside `poll` `n` times before completing
/// (like `yield_now`): the wake-up arrives while the awaiter is polling.
struct SelfWaking(u32);
impl Future for SelfWaking {
    type Output = &'static str;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<&'static str> {
        if self.0 == 0 {
            return Poll::Ready("done");
        }
        self.0 -= 1;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

#[coro::coroutine]
fn self_waking(n: u32) -> Task<&'static str> {
    co_return!(co_await!(SelfWaking(n)))
}

#[test]
fn a_wake_up_during_the_poll_polls_again_before_suspending() {
    assert_eq!(sync_wait(self_waking(1000)), "done");
}

// ---------------------------------------------------------------------------
// Other threads
// ---------------------------------------------------------------------------

#[coro::coroutine]
fn receive_on_home(rx: oneshot::Receiver<u32>, rc: Rc<Cell<u32>>) -> Task<(u32, thread::ThreadId)> {
    let v = co_await!(rx).unwrap();
    // An `Rc` used after the wake-up: this must run on the home thread.
    rc.set(rc.get() + v);
    co_return!((rc.get(), thread::current().id()))
}

#[test]
fn a_task_woken_from_another_thread_resumes_on_its_own_thread() {
    for _ in 0..50 {
        let (tx, rx) = oneshot::channel();
        let sender = thread::spawn(move || {
            thread::sleep(Duration::from_micros(200));
            tx.send(5).unwrap();
        });
        let (v, ran_on) = sync_wait(receive_on_home(rx, Rc::new(Cell::new(1))));
        sender.join().unwrap();
        assert_eq!(v, 6);
        assert_eq!(ran_on, thread::current().id());
    }
}

#[coro::coroutine]
fn receive_anywhere(rx: oneshot::Receiver<u32>) -> SendTask<u32> {
    co_return!(co_await!(rx).unwrap() * 2)
}

#[test]
fn a_send_task_is_resumed_by_the_waker_where_it_fires() {
    for i in 0..50 {
        let (tx, rx) = oneshot::channel();
        let sender = thread::spawn(move || {
            thread::sleep(Duration::from_micros(200));
            tx.send(i).unwrap();
        });
        assert_eq!(sync_wait(receive_anywhere(rx)), i * 2);
        sender.join().unwrap();
    }
}

#[coro::coroutine]
fn sum_from_pool(pool: futures::executor::ThreadPool, n: u64) -> Task<u64> {
    let mut total = 0;
    for i in 0..n {
        let (tx, rx) = oneshot::channel();
        pool.spawn_ok(async move {
            tx.send(i * i).unwrap();
        });
        total += co_await!(rx).unwrap();
    }
    co_return!(total)
}

#[test]
fn a_task_awaits_work_done_on_a_futures_thread_pool() {
    let pool = futures::executor::ThreadPool::builder().pool_size(2).create().unwrap();
    assert_eq!(sync_wait(sum_from_pool(pool, 200)), (0..200u64).map(|i| i * i).sum());
}

#[test]
fn a_task_polled_by_an_async_executor_is_woken_when_its_future_completes_elsewhere() {
    let (tx, rx) = oneshot::channel();
    let sender = thread::spawn(move || {
        thread::sleep(Duration::from_millis(2));
        tx.send(20).unwrap();
    });
    let rc = Rc::new(Cell::new(1));
    let (v, ran_on) = futures::executor::block_on(async { receive_on_home(rx, rc).await });
    sender.join().unwrap();
    assert_eq!(v, 21);
    assert_eq!(ran_on, thread::current().id());
}

#[test]
fn a_local_scheduler_runs_tasks_woken_from_other_threads() {
    let s = coro::schedule::LocalScheduler::new();
    let (tx, rx) = oneshot::channel();
    let out = Rc::new(Cell::new(0));
    #[coro::coroutine]
    fn job(rx: oneshot::Receiver<u32>, out: Rc<Cell<u32>>) -> Task<()> {
        out.set(co_await!(rx).unwrap());
        co_return!(())
    }
    coro::schedule::spawn_detached(job(rx, out.clone()), &s);
    assert_eq!(s.run_until_idle(), 1);
    assert_eq!(out.get(), 0);
    thread::spawn(move || tx.send(3).unwrap()).join().unwrap();
    assert_eq!(s.run_until_idle(), 1, "the wake-up was queued for this thread");
    assert_eq!(out.get(), 3);
}

// ---------------------------------------------------------------------------
// Destruction, panics, cancellation
// ---------------------------------------------------------------------------

struct CountedFuture {
    inner: GateFuture,
    _c: Counted,
}
impl Future for CountedFuture {
    type Output = u32;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u32> {
        Pin::new(&mut self.inner).poll(cx)
    }
}

#[coro::coroutine]
fn hold_and_wait(fut: CountedFuture, local: Counted) -> Task<u32> {
    let _keep = local;
    co_return!(co_await!(fut))
}

#[test]
fn destroying_a_task_suspended_on_a_future_drops_it_and_later_wake_ups_do_nothing() {
    let log = Log::new();
    let gate = Gate::default();
    let mut f = hold_and_wait(CountedFuture { inner: gate.wait(), _c: log.counted("future") }, log.counted("local"))
        .into_future_for_test();
    assert!(f.poll_once().is_pending());
    assert!(gate.has_waker());
    drop(f);
    log.assert_each_dropped_once();
    // The future's waker outlived the coroutine: waking it is harmless.
    gate.open();
    gate.nudge();
}

#[test]
fn a_wake_up_queued_for_a_task_destroyed_before_it_runs_is_dropped() {
    let log = Log::new();
    let gate = Gate::default();
    let mut f = hold_and_wait(CountedFuture { inner: gate.wait(), _c: log.counted("future") }, log.counted("local"))
        .into_future_for_test();
    assert!(f.poll_once().is_pending());
    let g = gate.clone();
    thread::spawn(move || g.open()).join().unwrap();
    drop(f); // destroyed while its wake-up sits in this thread's queue
    log.assert_each_dropped_once();
    assert_eq!(coro::resume_woken(), 1, "the stale wake-up ran and did nothing");
}

struct Exploding;
impl Future for Exploding {
    type Output = ();
    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
        panic!("{PLANNED} poll failed")
    }
}

#[coro::coroutine]
fn await_exploding(local: Counted) -> Task<()> {
    let _keep = local;
    co_await!(Exploding);
    co_return!(())
}

#[test]
fn a_panic_in_poll_reaches_the_coroutine_at_its_co_await() {
    let log = Log::new();
    let msg = expect_panic(|| sync_wait(await_exploding(log.counted("local"))));
    assert!(msg.contains("poll failed"), "{msg}");
    log.assert_each_dropped_once();
}

/// Clones its waker, hands the clone to `kept`, then panics: the panic
/// comes after the shared waker state was made.
struct ClonesThenExplodes {
    kept: Arc<Mutex<Option<Waker>>>,
    _c: Counted,
}
impl Future for ClonesThenExplodes {
    type Output = u32;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u32> {
        *self.kept.lock().unwrap() = Some(cx.waker().clone());
        panic!("{PLANNED} poll failed after cloning its waker")
    }
}

#[coro::coroutine]
fn await_exploding_pinned(local: Counted, captured: Counted, reached: Rc<Cell<bool>>) -> Task<()> {
    let _keep = local;
    // Not `Unpin`: first polled once pinned, before suspending. The panic
    // unwinds from the `co_await!`: nothing after it runs.
    co_await!(async move {
        let _inside = captured;
        Exploding.await
    });
    reached.set(true);
    co_return!(())
}

#[coro::coroutine]
fn await_clones_then_explodes(local: Counted, kept: Arc<Mutex<Option<Waker>>>, clones: Counted) -> Task<u32> {
    let _keep = local;
    co_return!(co_await!(not_unpin(ClonesThenExplodes { kept, _c: clones })))
}

#[test]
fn a_panic_in_the_first_poll_of_a_future_that_is_not_unpin_reaches_the_coroutine_at_its_co_await() {
    let log = Log::new();
    let kept = Arc::new(Mutex::new(None));
    let reached = Rc::new(Cell::new(false));
    let task = await_exploding_pinned(log.counted("local"), log.counted("captured"), reached.clone());
    let msg = expect_panic(|| sync_wait(task));
    assert!(msg.contains("poll failed"), "{msg}");
    assert!(!reached.get(), "the panic came out of the first co_await!");
    log.assert_each_dropped_once();

    // The same when the future made the shared waker state first: it is
    // detached, the awaiter's drop does not abort, and the kept waker does
    // nothing.
    let log = Log::new();
    let msg =
        expect_panic(|| sync_wait(await_clones_then_explodes(log.counted("local"), kept.clone(), log.counted("f"))));
    assert!(msg.contains("after cloning its waker"), "{msg}");
    log.assert_each_dropped_once();
    let waker = kept.lock().unwrap().take().expect("the future kept a clone");
    waker.wake_by_ref();
    thread::spawn(move || waker.wake()).join().unwrap();
    assert_eq!(coro::resume_woken(), 0, "nothing was queued");
}

#[coro::coroutine]
fn hold_and_wait_pinned(fut: CountedFuture, local: Counted) -> Task<u32> {
    let _keep = local;
    co_return!(co_await!(not_unpin(fut)))
}

#[test]
fn destroying_a_task_suspended_on_a_future_that_is_not_unpin_after_its_first_poll() {
    let log = Log::new();
    let gate = Gate::default();
    let mut f =
        hold_and_wait_pinned(CountedFuture { inner: gate.wait(), _c: log.counted("future") }, log.counted("local"))
            .into_future_for_test();
    assert!(f.poll_once().is_pending());
    assert_eq!(gate.polls(), 1, "polled once, before suspending; not again when suspending");
    gate.nudge(); // queued for this thread
    drop(f);
    log.assert_each_dropped_once();
    assert_eq!(coro::resume_woken(), 1, "the stale wake-up ran and did nothing");
    gate.open();
    assert_eq!(gate.polls(), 1);
}

#[coro::coroutine]
fn gated(fut: CountedFuture) -> Task<u32> {
    co_return!(co_await!(fut))
}

#[coro::coroutine]
fn immediate(v: u32) -> Task<u32> {
    co_return!(v)
}

#[test]
fn when_any_destroys_a_loser_suspended_on_a_future() {
    let log = Log::new();
    let gate = Gate::default();
    let tasks = vec![gated(CountedFuture { inner: gate.wait(), _c: log.counted("loser") }), immediate(9)];
    #[coro::coroutine]
    fn race(tasks: Vec<Task<u32>>) -> Task<(usize, u32)> {
        co_return!(co_await!(when_any(tasks)))
    }
    assert_eq!(sync_wait(race(tasks)), (1, 9));
    log.assert_each_dropped_once();
    gate.open();
}

// ---------------------------------------------------------------------------
// Which `operator co_await`
// ---------------------------------------------------------------------------

/// Both an awaiter and a future: the awaiter wins, as `operator co_await`
/// would.
struct Both;
impl Awaiter for Both {
    type Output = &'static str;
    fn await_ready(&mut self) -> bool {
        true
    }
    unsafe fn await_suspend(&mut self, _: CoroutineHandle) -> impl AwaitSuspend {}
    fn await_resume(self) -> &'static str {
        "awaiter"
    }
}
impl Future for Both {
    type Output = &'static str;
    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<&'static str> {
        Poll::Ready("future")
    }
}

#[coro::coroutine]
fn pick() -> Task<&'static str> {
    co_await!(SuspendNever);
    co_return!(co_await!(Both))
}

#[test]
fn an_operand_that_is_both_an_awaiter_and_a_future_is_awaited_as_an_awaiter() {
    assert_eq!(sync_wait(pick()), "awaiter");
}

#[coro::coroutine]
fn generic_future<F: Future<Output = u32> + 'static>(f: F) -> Task<u32> {
    co_return!(co_await!(f) + 1)
}

#[test]
fn a_generic_future_parameter_is_awaitable() {
    assert_eq!(sync_wait(generic_future(ready(1))), 2);
    assert_eq!(sync_wait(generic_future(add_async(2, 3))), 6);
}

#[coro::coroutine]
fn borrows_across_await(data: Vec<u32>) -> SendTask<u32> {
    // A `!Unpin` async block borrowing a local across its own `.await`.
    let total = co_await!(async {
        let slice = &data[..];
        let first = ready(slice[0]).await;
        first + slice.iter().sum::<u32>()
    });
    co_return!(total)
}

#[test]
fn a_self_borrowing_future_is_polled_in_place() {
    assert_eq!(sync_wait(borrows_across_await(vec![1, 2, 3])), 7);
}

#[coro::coroutine]
fn many_pending(n: u32) -> SendTask<u32> {
    let mut total = 0;
    for i in 0..n {
        total += co_await!(SelfWaking(1)).len() as u32 + i % 2;
    }
    co_return!(total)
}

#[test]
fn thousands_of_pending_futures_in_a_row_run_in_bounded_stack() {
    let n = common::on_small_stack(|| sync_wait(many_pending(20_000)));
    assert_eq!(n, 20_000 * 4 + 10_000);
}

// ---------------------------------------------------------------------------
// Never resumed inside `wake()`
// ---------------------------------------------------------------------------

#[coro::coroutine]
fn bump(m: Rc<futures::lock::Mutex<u32>>, gate: GateFuture, times: u32) -> Task<()> {
    let mut guard = co_await!(m.lock());
    // Holds the lock across a suspension, so the other task queues on it.
    co_await!(gate);
    *guard += 1;
    drop(guard); // wakes the other task's lock future
    for _ in 1..times {
        *co_await!(m.lock()) += 1;
    }
    co_return!(())
}

#[test]
fn a_future_that_wakes_under_its_own_lock_does_not_deadlock() {
    // `futures::lock::Mutex` wakes the next waiter while holding its waiter
    // list; resuming that waiter inside `wake` would take the same lock.
    let m = Rc::new(futures::lock::Mutex::new(0));
    let gate = Gate::default();
    #[coro::coroutine]
    fn both(m: Rc<futures::lock::Mutex<u32>>, gate: Gate) -> Task<()> {
        let a = bump(m.clone(), gate.wait(), 100);
        let b = bump(m.clone(), gate.wait(), 100);
        let opener = {
            let gate = gate.clone();
            futures::future::lazy(move |_| gate.open())
        };
        co_await!(coro::when_all((a, b, coro_after(opener))));
        co_return!(())
    }
    sync_wait(both(m.clone(), gate));
    assert_eq!(*m.try_lock().unwrap(), 200);
}

#[coro::coroutine]
fn coro_after<F: Future<Output = ()> + 'static>(f: F) -> Task<()> {
    co_await!(f);
    co_return!(())
}

#[coro::coroutine]
fn wait_on_pool(pool: std::sync::Arc<coro::ThreadPool>, gate: GateFuture) -> SendTask<(u32, bool)> {
    co_await!(pool.schedule());
    let v = co_await!(gate);
    let on_worker = thread::current().name().is_some_and(|n| n.starts_with("coro-pool"));
    co_return!((v, on_worker))
}

#[test]
fn a_send_task_woken_by_a_future_goes_back_to_the_pool_that_ran_it() {
    let pool = std::sync::Arc::new(coro::ThreadPool::new(2));
    for _ in 0..20 {
        let gate = Gate::default();
        let g = gate.clone();
        let opener = thread::spawn(move || {
            eventually("the task registers its waker", || g.has_waker());
            g.open();
        });
        assert_eq!(sync_wait(wait_on_pool(pool.clone(), gate.wait())), (7, true));
        opener.join().unwrap();
    }
}

#[test]
fn a_send_task_future_under_a_multithreaded_executor_is_woken_and_finishes() {
    let pool = futures::executor::ThreadPool::builder().pool_size(2).create().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    for i in 0..20u32 {
        let (otx, orx) = oneshot::channel();
        let tx = tx.clone();
        pool.spawn_ok(async move {
            tx.send(receive_anywhere(orx).await).unwrap();
        });
        thread::spawn(move || otx.send(i).unwrap());
    }
    let mut got: Vec<u32> = (0..20).map(|_| rx.recv_timeout(Duration::from_secs(10)).unwrap()).collect();
    got.sort();
    assert_eq!(got, (0..20).map(|i| i * 2).collect::<Vec<_>>());
}

/// Clones (and on its second poll wakes) its waker from other threads,
/// inside `poll`: the first poll's waker is lent to other threads.
struct ClonesElsewhere {
    polls: u32,
    kept: Arc<Mutex<Option<Waker>>>,
}
impl Future for ClonesElsewhere {
    type Output = u32;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u32> {
        self.polls += 1;
        if self.polls == 3 {
            return Poll::Ready(self.polls);
        }
        let waker = cx.waker();
        let (a, b) = thread::scope(|s| {
            let a = s.spawn(|| waker.clone());
            let b = s.spawn(|| waker.clone());
            (a.join().unwrap(), b.join().unwrap())
        });
        assert!(a.will_wake(&b), "both clones are the same shared waker");
        if self.polls == 2 {
            thread::scope(|s| {
                s.spawn(|| a.wake_by_ref());
            });
        }
        *self.kept.lock().unwrap() = Some(b);
        Poll::Pending
    }
}

#[coro::coroutine]
fn await_clones_elsewhere(kept: Arc<Mutex<Option<Waker>>>) -> Task<u32> {
    co_return!(co_await!(ClonesElsewhere { polls: 0, kept }))
}

#[test]
fn the_first_polls_waker_can_be_cloned_and_woken_from_other_threads_during_the_poll() {
    let kept = Arc::new(Mutex::new(None));
    let mut f = await_clones_elsewhere(kept.clone()).into_future_for_test();
    assert!(f.poll_once().is_pending());
    assert!(f.poll_once().is_pending(), "nobody woke it");
    let waker = kept.lock().unwrap().take().expect("the future kept a clone");
    thread::spawn(move || waker.wake()).join().unwrap();
    // Resumed by the driver: the second poll is woken during the poll (from
    // another thread), so the third follows at once and completes.
    assert_eq!(f.poll_once(), Poll::Ready(3));
}

// ---------------------------------------------------------------------------
// The first poll, before the coroutine suspends, so that a future that is
// ready at once does not suspend it: in `await_ready` for an `Unpin`
// future, once the awaiter is pinned in the frame (`await_ready_pinned`)
// for any other.
// ---------------------------------------------------------------------------

/// Suspends and resumes at once, giving the coroutine its own handle.
struct OwnHandle(Option<CoroutineHandle>);
impl Awaiter for OwnHandle {
    type Output = CoroutineHandle;
    fn await_ready(&mut self) -> bool {
        false
    }
    unsafe fn await_suspend(&mut self, handle: CoroutineHandle) -> impl AwaitSuspend {
        self.0 = Some(handle);
        false
    }
    fn await_resume(self) -> CoroutineHandle {
        self.0.unwrap()
    }
}

/// What [`Probe`] does in its first poll.
#[derive(Clone, Copy, Debug, PartialEq)]
enum FirstPoll {
    /// Completes.
    Ready,
    /// Wakes the waker it was lent, keeps none, and is pending.
    WakeByRef,
    /// Clones the waker, wakes the clone (by value), and is pending.
    CloneAndWake,
    /// Wakes the lent waker, then keeps a clone, and is pending.
    WakeByRefThenKeep,
}

/// Records, at each poll, whether its coroutine is suspended (`false`: it is
/// running, so it did not suspend at this `co_await!` yet); completes at its
/// first poll or its second.
struct Probe {
    handle: CoroutineHandle,
    first: FirstPoll,
    suspended_at_poll: Rc<std::cell::RefCell<Vec<bool>>>,
    kept: Option<Waker>,
}
impl Future for Probe {
    type Output = u32;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u32> {
        // SAFETY: the coroutine is alive: it is awaiting this future.
        let suspended = unsafe { self.handle.suspend_point() }.is_some();
        let polls = {
            let mut seen = self.suspended_at_poll.borrow_mut();
            seen.push(suspended);
            seen.len()
        };
        if polls > 1 || self.first == FirstPoll::Ready {
            return Poll::Ready(polls as u32);
        }
        match self.first {
            FirstPoll::Ready => unreachable!(),
            FirstPoll::WakeByRef => cx.waker().wake_by_ref(),
            FirstPoll::CloneAndWake => {
                let clone = cx.waker().clone();
                clone.wake();
            }
            FirstPoll::WakeByRefThenKeep => {
                cx.waker().wake_by_ref();
                self.kept = Some(cx.waker().clone());
            }
        }
        Poll::Pending
    }
}

type Seen = Rc<std::cell::RefCell<Vec<bool>>>;

/// The future of an `async fn`, which is never `Unpin`.
async fn not_unpin<F: Future>(future: F) -> F::Output {
    future.await
}

/// Awaits a `Probe` as it is (`Unpin`), behind an `async fn` (not
/// `Unpin`), boxed (`Unpin` again), through a hand-made `FutureAwaiter`,
/// and inside an `async` block borrowing a local of the coroutine (not
/// `Unpin`); returns the sum of their poll counts.
#[coro::coroutine]
fn probe_every_way(first: FirstPoll, seen: [Seen; 5]) -> Task<u32> {
    let handle = co_await!(OwnHandle(None));
    let probe = |seen: &Seen| Probe { handle, first, suspended_at_poll: seen.clone(), kept: None };
    let a = co_await!(probe(&seen[0]));
    let inner = probe(&seen[1]);
    let b = co_await!(not_unpin(inner));
    let inner = probe(&seen[2]);
    let c = co_await!(Box::pin(not_unpin(inner)));
    let d = co_await!(coro::awaiter::FutureAwaiter::new(probe(&seen[3])));
    let offset = vec![0u32];
    let e = co_await!(async {
        let borrowed = &offset;
        probe(&seen[4]).await + borrowed[0]
    });
    co_return!(a + b + c + d + e)
}

fn probe_all(first: FirstPoll) -> (u32, [Vec<bool>; 5]) {
    let seen: [Seen; 5] = Default::default();
    // One poll of the task: whatever the probes do, no wake-up has to wait
    // for the driver.
    let polls = match probe_every_way(first, seen.clone()).into_future_for_test().poll_once() {
        Poll::Ready(polls) => polls,
        Poll::Pending => panic!("{first:?}: a wake-up before the suspension was lost"),
    };
    (polls, seen.map(|s| s.take()))
}

#[test]
fn a_future_that_is_ready_at_once_completes_without_suspending_the_coroutine() {
    let (polls, [unpin, pinned, boxed, by_hand, block]) = probe_all(FirstPoll::Ready);
    assert_eq!(polls, 5);
    assert_eq!(unpin, [false], "polled in await_ready, while the coroutine runs");
    assert_eq!(pinned, [false], "an async fn's future is polled once pinned, before the coroutine suspends");
    assert_eq!(boxed, [false], "a boxed future is Unpin");
    assert_eq!(by_hand, [false], "a FutureAwaiter made by hand polls once pinned too");
    assert_eq!(block, [false], "an async block borrowing a local is polled once pinned");
}

#[test]
fn a_future_that_wakes_itself_in_its_first_poll_is_polled_again_before_suspending() {
    for first in [FirstPoll::WakeByRef, FirstPoll::CloneAndWake, FirstPoll::WakeByRefThenKeep] {
        let (polls, seen) = probe_all(first);
        assert_eq!(polls, 10, "{first:?}");
        // The first poll runs before the coroutine suspends, Unpin or not;
        // its wake-up came before the coroutine suspended: not lost, and
        // not a resumption inside `wake()` (the second poll runs from
        // `await_suspend`, the coroutine parked).
        let [unpin, pinned, boxed, by_hand, block] = seen;
        assert_eq!(unpin, [false, true], "{first:?}");
        assert_eq!(boxed, [false, true], "{first:?}");
        assert_eq!(pinned, [false, true], "{first:?}");
        assert_eq!(by_hand, [false, true], "{first:?}");
        assert_eq!(block, [false, true], "{first:?}");
    }
}

/// An `async fn` awaiting a probe, for a future that is not `Unpin`.
async fn add_to_probe(probe: Probe, n: &u32) -> u32 {
    probe.await + *n
}

#[coro::coroutine]
fn ready_not_unpin(seen: [Seen; 2]) -> Task<u32> {
    let handle = co_await!(OwnHandle(None));
    let probe = |seen: &Seen| Probe { handle, first: FirstPoll::Ready, suspended_at_poll: seen.clone(), kept: None };
    let data = [10u32, 20];
    // An `async` block borrowing the coroutine's local, and holding a
    // borrow of its own across its `.await`.
    let a = co_await!(async {
        let own = [1u32, 2];
        let mine = &own;
        probe(&seen[0]).await + data.iter().sum::<u32>() + mine.iter().sum::<u32>()
    });
    let b = co_await!(add_to_probe(probe(&seen[1]), &data[0]));
    co_return!(a + b)
}

#[test]
fn a_ready_async_block_or_async_fn_does_not_suspend_the_coroutine() {
    let seen: [Seen; 2] = Default::default();
    let mut f = ready_not_unpin(seen.clone()).into_future_for_test();
    assert_eq!(f.poll_once(), Poll::Ready((1 + 30 + 3) + (1 + 10)));
    let [block, async_fn] = seen.map(|s| s.take());
    assert_eq!(block, [false], "polled once, the coroutine running");
    assert_eq!(async_fn, [false], "polled once, the coroutine running");
}

#[coro::coroutine]
fn unpin_or_not<F, G, MF, MG>(make_unpin: MF, make_other: MG) -> Task<u32>
where
    F: Future<Output = u32> + Unpin + 'static,
    G: Future<Output = u32> + 'static,
    MF: FnOnce(CoroutineHandle) -> F + 'static,
    MG: FnOnce(CoroutineHandle) -> G + 'static,
{
    let handle = co_await!(OwnHandle(None));
    // Chosen by the operand's type, here by the bounds of the parameters.
    co_return!(co_await!(make_unpin(handle)) + co_await!(make_other(handle)))
}

#[test]
fn the_awaiter_is_chosen_by_the_bounds_of_a_generic_future() {
    let (a, b): (Seen, Seen) = Default::default();
    let probe = |seen: &Seen| {
        let seen = seen.clone();
        move |handle| Probe { handle, first: FirstPoll::Ready, suspended_at_poll: seen, kept: None }
    };
    // It compiles: `G`, which may not be `Unpin`, gets a `FutureAwaiter`.
    assert_eq!(sync_wait(unpin_or_not(probe(&a), probe(&b))), 2);
    assert_eq!(a.take(), [false], "F: Unpin: polled in await_ready");
    assert_eq!(b.take(), [false], "G may not be Unpin: polled once pinned, before suspending");
}

/// A thread that wakes, as soon as it can, every waker handed to it: it
/// spins, so that its wake-ups often land while the coroutine that handed it
/// the waker is still between its first poll and its suspension.
struct Relay {
    slot: Mutex<Vec<Waker>>,
    stop: AtomicBool,
}

impl Relay {
    fn start() -> (Arc<Relay>, thread::JoinHandle<()>) {
        let relay = Arc::new(Relay { slot: Mutex::new(Vec::new()), stop: AtomicBool::new(false) });
        let r = relay.clone();
        let thread = thread::spawn(move || {
            while !r.stop.load(Ordering::Acquire) {
                let wakers = std::mem::take(&mut *r.slot.lock().unwrap());
                if wakers.is_empty() {
                    // Not a bare spin: under valgrind, which runs one thread
                    // at a time, that would starve the coroutine's thread.
                    thread::yield_now();
                }
                wakers.into_iter().for_each(Waker::wake);
            }
        });
        (relay, thread)
    }
}

/// Pending once: its first poll hands a clone of the waker to the relay,
/// which wakes it at once (racing with the rest of the poll, the suspension
/// and `await_suspend`).
struct WokenElsewhere {
    relay: Arc<Relay>,
    polled: bool,
}
impl Future for WokenElsewhere {
    type Output = u32;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u32> {
        if self.polled {
            return Poll::Ready(1);
        }
        self.polled = true;
        self.relay.slot.lock().unwrap().push(cx.waker().clone());
        Poll::Pending
    }
}

#[coro::coroutine]
fn woken_elsewhere_on_home(relay: Arc<Relay>, n: u32, rc: Rc<Cell<u32>>) -> Task<u32> {
    let home = thread::current().id();
    for _ in 0..n {
        let v = co_await!(WokenElsewhere { relay: relay.clone(), polled: false });
        assert_eq!(thread::current().id(), home, "a thread-bound task resumes on its own thread");
        rc.set(rc.get() + v);
    }
    co_return!(rc.get())
}

#[coro::coroutine]
fn woken_elsewhere_anywhere(relay: Arc<Relay>, n: u32) -> SendTask<u32> {
    let mut total = 0;
    for _ in 0..n {
        total += co_await!(WokenElsewhere { relay: relay.clone(), polled: false });
    }
    co_return!(total)
}

#[coro::coroutine]
fn woken_elsewhere_pinned(relay: Arc<Relay>, n: u32, rc: Rc<Cell<u32>>) -> Task<u32> {
    let home = thread::current().id();
    for _ in 0..n {
        // The same behind an `async fn` (first polled once pinned, in
        // `await_ready_pinned`): the route to this thread is set when the
        // coroutine suspends, after that poll.
        let fut = WokenElsewhere { relay: relay.clone(), polled: false };
        let v = co_await!(not_unpin(fut));
        assert_eq!(thread::current().id(), home, "a thread-bound task resumes on its own thread");
        rc.set(rc.get() + v);
    }
    co_return!(rc.get())
}

#[coro::coroutine]
fn woken_elsewhere_pinned_anywhere(relay: Arc<Relay>, n: u32) -> SendTask<u32> {
    let mut total = 0;
    for i in 0..n {
        // An `async` block borrowing a local: not `Unpin`.
        let one = i % 2;
        total += co_await!(async {
            let v = WokenElsewhere { relay: relay.clone(), polled: false }.await;
            v + one - one
        });
    }
    co_return!(total)
}

#[test]
fn a_waker_cloned_in_the_first_poll_and_woken_at_once_from_another_thread_is_never_lost() {
    let (relay, thread) = Relay::start();
    assert_eq!(sync_wait(woken_elsewhere_on_home(relay.clone(), 2000, Rc::default())), 2000);
    assert_eq!(sync_wait(woken_elsewhere_anywhere(relay.clone(), 2000)), 2000);
    assert_eq!(sync_wait(woken_elsewhere_pinned(relay.clone(), 2000, Rc::default())), 2000);
    assert_eq!(sync_wait(woken_elsewhere_pinned_anywhere(relay.clone(), 2000)), 2000);
    relay.stop.store(true, Ordering::Release);
    thread.join().unwrap();
}

#[coro::coroutine]
fn borrows_across_a_pending_await(gate: Gate, data: Vec<u32>) -> Task<u32> {
    // Not `Unpin`: the block borrows the coroutine's local, and its own
    // local across its `.await`, which waits for the gate.
    let total = co_await!(async {
        let own = [10, 20];
        let slice = &own[..];
        let opened = gate.wait().await;
        opened + slice.iter().sum::<u32>() + data.iter().sum::<u32>()
    });
    co_return!(total)
}

#[test]
fn a_future_that_is_not_unpin_borrowing_across_a_pending_await_still_works() {
    let gate = Gate::default();
    let mut f = borrows_across_a_pending_await(gate.clone(), vec![1, 2, 3]).into_future_for_test();
    assert!(f.poll_once().is_pending());
    assert_eq!(gate.polls(), 1);
    let g = gate.clone();
    thread::spawn(move || g.open()).join().unwrap();
    assert_eq!(f.poll_once(), Poll::Ready(7 + 30 + 6));
    assert_eq!(gate.polls(), 2);
}

#[test]
fn an_unpin_future_awaiter_driven_by_hand() {
    let mut ready_now = coro::awaiter::UnpinFutureAwaiter::new(ready(5));
    assert!(ready_now.await_ready(), "polled in await_ready");
    assert_eq!(ready_now.await_resume(), 5);

    // Pending in `await_ready`, woken, then dropped without ever suspending:
    // no coroutine was ever exposed to the waker, and it is detached.
    let gate = Gate::default();
    let mut waiting = coro::awaiter::UnpinFutureAwaiter::new(gate.wait());
    assert!(!waiting.await_ready());
    assert!(!waiting.await_ready(), "asked again: no second poll");
    assert_eq!(gate.polls(), 1);
    gate.nudge();
    drop(waiting);
    gate.open();
    assert_eq!(gate.polls(), 1);

    // Dropped without a wake-up.
    let gate = Gate::default();
    let mut waiting = coro::awaiter::UnpinFutureAwaiter::new(gate.wait());
    assert!(!waiting.await_ready());
    drop(waiting);
    gate.open();
}
