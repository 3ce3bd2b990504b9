//! `coro::cancellation::cancellable`: any awaitable, cancelled through a
//! `CancellationToken`. Requested before the `co_await!`, it gives `Err` at
//! once without touching the awaitable; requested while it waits, the
//! awaitable's registration is withdrawn (its cancel step) and the
//! coroutine resumes with `Err`, on its own thread for a `Task`; an
//! awaitable that cannot withdraw is waited for, then dropped (`Err`), what
//! it was granted handed on; only a resumption that came first gives `Ok`.
//! Each case checks that every local is dropped once, that what a
//! primitive granted is handed on, and (valgrind runs this binary too) that
//! nothing leaks.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::{Cell, RefCell};
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::{Arc, Barrier, Mutex};
use std::task::{Context, Poll, Waker};
use std::thread::{self, ThreadId};
use std::time::Duration;

use common::{poll_once, wait_for, Counted, Log};
use coro::awaiter::FutureAwaiter;
use coro::cancellation::{cancellable, CancellationSource, CancellationToken, OperationCancelled};
use coro::schedule::{spawn_detached, LocalScheduler};
use coro::sync::{Channel, Event};
use coro::{
    co_await, co_return, sync_wait, when_all, when_any, AwaitSuspend, Awaiter, CoroutineHandle, SendTask, Task,
};

type Outcome<T> = Result<T, OperationCancelled>;
/// Where a coroutine writes what its `co_await!` gave, and on which thread.
type Slot<T> = Rc<RefCell<Option<(Outcome<T>, ThreadId)>>>;

fn slot<T>() -> Slot<T> {
    Rc::new(RefCell::new(None))
}

fn here() -> ThreadId {
    thread::current().id()
}

// ===========================================================================
// The counting allocator (per thread)
// ===========================================================================

struct Counting;

thread_local! {
    static TRACKING: Cell<bool> = const { Cell::new(false) };
    static ALLOCS: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: forwards to `System`; the bookkeeping touches only
// const-initialised thread-locals without destructors, which never allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count_alloc();
        // SAFETY: forwarded contract.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count_alloc();
        // SAFETY: forwarded contract.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded contract.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count_alloc();
        // SAFETY: forwarded contract.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

fn count_alloc() {
    let _ = TRACKING.try_with(|t| {
        if t.get() {
            ALLOCS.set(ALLOCS.get() + 1);
        }
    });
}

#[global_allocator]
static COUNTING: Counting = Counting;

/// How many allocations `f` made on this thread.
fn allocations(f: impl FnOnce()) -> usize {
    ALLOCS.set(0);
    TRACKING.set(true);
    f();
    TRACKING.set(false);
    ALLOCS.get()
}

// ===========================================================================
// Awaiters of the tests
// ===========================================================================

/// Counts what is asked of it; never ready, stays suspended.
struct Untouchable(Rc<Cell<u32>>);

impl Awaiter for Untouchable {
    type Output = ();
    fn await_ready(&mut self) -> bool {
        self.0.set(self.0.get() + 1);
        false
    }
    unsafe fn await_suspend(&mut self, _: CoroutineHandle) -> impl AwaitSuspend {
        self.0.set(self.0.get() + 100);
    }
    fn await_resume(self) {}
}

/// A one-shot wake-up without a cancel step: `ring` resumes the coroutine
/// waiting, if any (on this thread).
#[derive(Clone, Default)]
struct Doorbell(Rc<Cell<Option<CoroutineHandle>>>);

impl Doorbell {
    fn ring(&self) {
        if let Some(h) = self.0.take() {
            // SAFETY: registered by a suspended coroutine of this thread,
            // resumed once (taken).
            unsafe { h.resume() }
        }
    }
}

struct Ring(Doorbell);

impl Awaiter for Ring {
    type Output = &'static str;
    fn await_ready(&mut self) -> bool {
        false
    }
    unsafe fn await_suspend(&mut self, h: CoroutineHandle) -> impl AwaitSuspend {
        self.0 .0.set(Some(h));
    }
    fn await_resume(self) -> &'static str {
        "rang"
    }
}

/// Resumes a `Send` coroutine on a new thread, outside any driver.
struct ToNewThread;

impl Awaiter for ToNewThread {
    type Output = ();
    fn await_ready(&mut self) -> bool {
        false
    }
    unsafe fn await_suspend(&mut self, h: CoroutineHandle) -> impl AwaitSuspend {
        // SAFETY: the frame's own handle.
        unsafe { coro::schedule::assert_not_thread_bound(h) };
        /// The handle of a `SendTask`, which may be resumed anywhere.
        struct Sendable(CoroutineHandle);
        // SAFETY: only ever a `SendTask`'s handle (checked above).
        unsafe impl Send for Sendable {}
        let h = Sendable(h);
        thread::spawn(move || {
            let h = h;
            // SAFETY: handed over once; resumed once.
            unsafe { h.0.resume() }
        });
    }
    fn await_resume(self) {}
}

/// A future that is never ready; keeps its waker for the test and counts
/// its polls.
struct Pending {
    waker: Arc<Mutex<Option<Waker>>>,
    polls: Rc<Cell<u32>>,
    _alive: Counted,
}

impl Future for Pending {
    type Output = u32;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u32> {
        self.polls.set(self.polls.get() + 1);
        *self.waker.lock().unwrap() = Some(cx.waker().clone());
        Poll::Pending
    }
}

// ===========================================================================
// Coroutines of the tests
// ===========================================================================

#[coro::coroutine]
fn untouched(token: CancellationToken, calls: Rc<Cell<u32>>) -> Task<Outcome<()>> {
    co_return!(co_await!(cancellable(&token, Untouchable(calls))))
}

#[coro::coroutine]
fn wait_event(token: CancellationToken, event: Arc<Event>, out: Slot<()>, log: Log) -> Task<()> {
    let _local = log.counted("local");
    let r = co_await!(cancellable(&token, event.wait()));
    *out.borrow_mut() = Some((r, here()));
    co_return!(())
}

#[coro::coroutine]
fn wait_local_event(
    token: CancellationToken,
    event: Rc<coro::sync::local::Event>,
    out: Slot<()>,
    log: Log,
) -> Task<()> {
    let _local = log.counted("local");
    let r = co_await!(cancellable(&token, event.wait()));
    *out.borrow_mut() = Some((r, here()));
    co_return!(())
}

#[coro::coroutine]
fn receive(token: CancellationToken, ch: Arc<Channel<u32>>, out: Slot<Option<u32>>) -> Task<()> {
    let r = co_await!(cancellable(&token, ch.recv()));
    *out.borrow_mut() = Some((r, here()));
    co_return!(())
}

/// A `SendTask` parked on `event` until it is set (never, here).
#[coro::coroutine]
fn parked(event: Arc<Event>, c: Counted) -> SendTask<u32> {
    let _c = c;
    co_await!(event.wait());
    co_return!(1)
}

#[coro::coroutine]
fn all_parked(token: CancellationToken, event: Arc<Event>, log: Log, out: Slot<Vec<u32>>) -> Task<()> {
    let children: Vec<_> = (0..3).map(|i| parked(event.clone(), log.counted(format!("child {i}")))).collect();
    let r = co_await!(when_all(children).with_cancellation(&token));
    *out.borrow_mut() = Some((r, here()));
    co_return!(())
}

#[coro::coroutine]
fn all_parked_send(token: CancellationToken, event: Arc<Event>, log: Log) -> SendTask<Outcome<Vec<u32>>> {
    let children: Vec<_> = (0..3).map(|i| parked(event.clone(), log.counted(format!("child {i}")))).collect();
    log.push("awaiting");
    co_return!(co_await!(cancellable(&token, when_all(children))))
}

#[coro::coroutine]
fn requests(source: CancellationSource) -> Task<u32> {
    source.request_cancellation();
    co_return!(1)
}

#[coro::coroutine]
fn parked_here(event: Rc<coro::sync::local::Event>, c: Counted) -> Task<u32> {
    let _c = c;
    co_await!(event.wait());
    co_return!(2)
}

#[coro::coroutine]
fn cancelled_while_starting(
    source: CancellationSource,
    event: Rc<coro::sync::local::Event>,
    log: Log,
) -> Task<Outcome<(u32, u32)>> {
    let token = source.token();
    let children = when_all((requests(source.clone()), parked_here(event, log.counted("parked"))));
    co_return!(co_await!(cancellable(&token, children)))
}

#[coro::coroutine]
fn await_future(token: CancellationToken, future: Pending, out: Slot<u32>) -> Task<()> {
    let r = co_await!(cancellable(&token, FutureAwaiter::new(future)));
    *out.borrow_mut() = Some((r, here()));
    co_return!(())
}

#[coro::coroutine]
fn await_send_task(token: CancellationToken, task: SendTask<u32>, out: Slot<u32>) -> Task<()> {
    let r = co_await!(cancellable(&token, task));
    *out.borrow_mut() = Some((r, here()));
    co_return!(())
}

#[coro::coroutine]
fn ring_late(token: CancellationToken, bell: Doorbell, out: Slot<&'static str>) -> Task<()> {
    let r = co_await!(cancellable(&token, Ring(bell)));
    *out.borrow_mut() = Some((r, here()));
    co_return!(())
}

#[coro::coroutine]
fn nap(token: CancellationToken) -> Task<Outcome<()>> {
    co_return!(co_await!(cancellable(&token, coro_io::sleep(Duration::from_secs(3600)))))
}

#[coro::coroutine]
fn cancel_after_a_turn(source: CancellationSource) -> Task<()> {
    co_await!(coro_io::yield_now());
    source.request_cancellation();
    co_return!(())
}

#[coro::coroutine]
fn send_nap(token: CancellationToken, log: Log) -> SendTask<Outcome<()>> {
    let _local = log.counted("local");
    log.push("napping");
    co_return!(co_await!(cancellable(&token, coro_io::sleep(Duration::from_secs(3600)))))
}

/// Waits on `event` in a `cancellable`; the `SendTask` its owner gives up.
#[coro::coroutine]
fn send_waiter(token: CancellationToken, event: Arc<Event>, log: Log) -> SendTask<u32> {
    let _local = log.counted("local");
    let r = co_await!(cancellable(&token, event.wait()));
    log.push("ran on");
    co_return!(u32::from(r.is_ok()))
}

#[coro::coroutine]
fn quick() -> SendTask<u32> {
    co_return!(7)
}

#[coro::coroutine]
fn quick_here() -> Task<u32> {
    co_return!(7)
}

#[coro::coroutine]
fn local_loser(token: CancellationToken, event: Rc<coro::sync::local::Event>, log: Log) -> Task<u32> {
    let _local = log.counted("loser");
    let r = co_await!(cancellable(&token, event.wait()));
    log.push("loser ran on");
    co_return!(u32::from(r.is_ok()))
}

#[coro::coroutine]
fn race_a_local_loser(token: CancellationToken, event: Rc<coro::sync::local::Event>, log: Log) -> Task<(usize, u32)> {
    co_return!(co_await!(when_any(vec![local_loser(token, event, log), quick_here()])))
}

#[coro::coroutine]
fn plain_wait(event: Rc<coro::sync::local::Event>) -> Task<()> {
    co_await!(event.wait());
    co_return!(())
}

#[coro::coroutine]
fn cancellable_wait(token: CancellationToken, event: Rc<coro::sync::local::Event>) -> Task<()> {
    co_await!(cancellable(&token, event.wait())).unwrap();
    co_return!(())
}

// ===========================================================================
// Tests
// ===========================================================================

#[test]
fn requested_before_the_await_it_gives_err_at_once_without_asking_the_awaitable() {
    let source = CancellationSource::new();
    source.request_cancellation();
    let calls = Rc::new(Cell::new(0));
    let mut task = Box::pin(untouched(source.token(), calls.clone()).into_future());
    // One poll: it finishes without suspending.
    let ready = task.as_mut().poll(&mut Context::from_waker(Waker::noop()));
    assert_eq!(ready, Poll::Ready(Err(OperationCancelled)));
    assert_eq!(calls.get(), 0, "neither await_ready nor await_suspend was called");
}

#[test]
fn a_task_waiting_on_an_event_cancelled_from_another_thread_resumes_on_its_own_thread_with_err() {
    let (source, event, out, log) = (CancellationSource::new(), Arc::new(Event::new()), slot(), Log::new());
    let s = LocalScheduler::new();
    spawn_detached(wait_event(source.token(), event.clone(), out.clone(), log.clone()), &s);
    s.run_until_idle();
    assert!(out.borrow().is_none(), "it waits");
    thread::spawn(move || source.request_cancellation()).join().unwrap();
    assert!(out.borrow().is_none(), "a Task is cancelled on its own thread, not the requesting one");
    s.run_until_idle();
    assert_eq!(out.borrow_mut().take(), Some((Err(OperationCancelled), here())));
    event.set(); // nobody is waiting any more
    assert_eq!(log.dropped(), 1);
    log.assert_each_dropped_once();
}

#[test]
fn a_task_waiting_on_a_local_event_cancelled_on_its_thread_is_resumed_by_its_driver_with_err() {
    let (source, event, out, log) =
        (CancellationSource::new(), Rc::new(coro::sync::local::Event::new()), slot(), Log::new());
    let s = LocalScheduler::new();
    spawn_detached(wait_local_event(source.token(), event.clone(), out.clone(), log.clone()), &s);
    s.run_until_idle();
    source.request_cancellation();
    assert!(out.borrow().is_none(), "the cancel runs from the driver, not inside request_cancellation");
    s.run_until_idle();
    assert_eq!(out.borrow_mut().take(), Some((Err(OperationCancelled), here())));
    event.set();
    log.assert_each_dropped_once();
}

#[test]
fn a_cancelled_channel_receive_takes_no_value() {
    let (source, ch, out) = (CancellationSource::new(), Arc::new(Channel::new(1)), slot());
    let s = LocalScheduler::new();
    spawn_detached(receive(source.token(), ch.clone(), out.clone()), &s);
    s.run_until_idle();
    source.request_cancellation();
    s.run_until_idle();
    assert_eq!(out.borrow_mut().take(), Some((Err(OperationCancelled), here())));
    // The cancelled receiver was unlinked: a value sent now stays for the next one.
    ch.try_send(7).unwrap();
    assert_eq!(ch.try_recv(), Ok(7));
}

#[test]
fn a_value_sent_before_the_cancel_is_received() {
    let (source, ch, out) = (CancellationSource::new(), Arc::new(Channel::new(1)), slot());
    let s = LocalScheduler::new();
    spawn_detached(receive(source.token(), ch.clone(), out.clone()), &s);
    s.run_until_idle();
    // Sent from another thread: granted and handed home; the cancel that
    // follows comes too late.
    let sender = ch.clone();
    thread::spawn(move || sender.try_send(5).unwrap()).join().unwrap();
    source.request_cancellation();
    s.run_until_idle();
    assert_eq!(out.borrow_mut().take(), Some((Ok(Some(5)), here())));
}

#[test]
fn cancelling_a_when_all_of_send_tasks_destroys_the_children_at_once() {
    let (source, event, log, out) = (CancellationSource::new(), Arc::new(Event::new()), Log::new(), slot());
    let s = LocalScheduler::new();
    spawn_detached(all_parked(source.token(), event.clone(), log.clone(), out.clone()), &s);
    s.run_until_idle();
    assert_eq!(log.created(), 3);
    assert_eq!(log.dropped(), 0, "the children wait on the event");
    source.request_cancellation();
    s.run_until_idle();
    assert_eq!(out.borrow_mut().take(), Some((Err(OperationCancelled), here())));
    assert_eq!(log.dropped(), 3, "every child was destroyed by the cancel");
    log.assert_each_dropped_once();
    event.set();
}

#[test]
fn a_send_task_cancelled_from_another_thread_in_a_when_all_gives_err_and_drops_its_children() {
    let (source, event, log) = (CancellationSource::new(), Arc::new(Event::new()), Log::new());
    let token = source.token();
    let canceller = {
        let log = log.clone();
        thread::spawn(move || {
            wait_for(&log, "awaiting", 1);
            source.request_cancellation();
        })
    };
    // `sync_wait`'s thread is the task's driver: the cancel runs there.
    assert_eq!(sync_wait(all_parked_send(token, event.clone(), log.clone())), Err(OperationCancelled));
    canceller.join().unwrap();
    assert_eq!(log.dropped(), 3);
    log.assert_each_dropped_once();
}

#[test]
fn a_request_made_while_the_awaitable_starts_is_carried_out_once_it_has_suspended() {
    let (source, event, log) = (CancellationSource::new(), Rc::new(coro::sync::local::Event::new()), Log::new());
    // The first child requests cancellation as the `when_all` starts it,
    // inside the inner `await_suspend`; the second then parks. The cancel
    // gives the parked child up.
    assert_eq!(sync_wait(cancelled_while_starting(source, event, log.clone())), Err(OperationCancelled));
    assert_eq!(log.dropped(), 1);
    log.assert_each_dropped_once();
}

#[test]
fn a_future_woken_early_is_polled_again_and_then_cancelled() {
    let (source, out, log) = (CancellationSource::new(), slot(), Log::new());
    let waker = Arc::new(Mutex::new(None::<Waker>));
    let polls = Rc::new(Cell::new(0));
    let future = Pending { waker: waker.clone(), polls: polls.clone(), _alive: log.counted("future") };
    let s = LocalScheduler::new();
    spawn_detached(await_future(source.token(), future, out.clone()), &s);
    s.run_until_idle();
    assert_eq!(polls.get(), 1);
    // A spurious wake-up: the coroutine is resumed through the stand-in,
    // finds nothing, and suspends again (a second poll).
    waker.lock().unwrap().take().expect("the future kept its waker").wake();
    s.run_until_idle();
    assert_eq!(polls.get(), 2);
    assert!(out.borrow().is_none());
    source.request_cancellation();
    s.run_until_idle();
    assert_eq!(out.borrow_mut().take(), Some((Err(OperationCancelled), here())));
    assert_eq!(log.dropped(), 1, "the future is dropped with the cancelled wait");
    // Its waker, still held, wakes nothing now.
    waker.lock().unwrap().take().expect("polled again").wake();
    assert_eq!(s.run_until_idle(), 0, "a stale wake-up resumes nothing");
    assert_eq!(polls.get(), 2);
}

#[test]
fn cancelling_an_awaited_send_task_destroys_it_at_once() {
    let (source, event, log, out) = (CancellationSource::new(), Arc::new(Event::new()), Log::new(), slot());
    let s = LocalScheduler::new();
    spawn_detached(await_send_task(source.token(), parked(event.clone(), log.counted("task")), out.clone()), &s);
    s.run_until_idle();
    assert_eq!(log.dropped(), 0);
    source.request_cancellation();
    s.run_until_idle();
    assert_eq!(out.borrow_mut().take(), Some((Err(OperationCancelled), here())));
    assert_eq!(log.dropped(), 1);
    log.assert_each_dropped_once();
}

#[test]
fn an_awaitable_that_cannot_withdraw_is_waited_for_and_then_gives_err() {
    let (source, bell, out) = (CancellationSource::new(), Doorbell::default(), slot());
    let s = LocalScheduler::new();
    spawn_detached(ring_late(source.token(), bell.clone(), out.clone()), &s);
    s.run_until_idle();
    // `Ring` has no cancel step: it cannot withdraw, and once asked it is
    // only dropped, never `await_resume`d.
    source.request_cancellation();
    s.run_until_idle();
    assert!(out.borrow().is_none(), "still waiting for the bell");
    bell.ring();
    assert_eq!(out.borrow_mut().take(), Some((Err(OperationCancelled), here())));
}

#[test]
fn a_value_granted_after_the_request_but_before_the_cancel_ran_is_handed_on() {
    let (source, ch, out) = (CancellationSource::new(), Arc::new(Channel::new(1)), slot());
    let s = LocalScheduler::new();
    spawn_detached(receive(source.token(), ch.clone(), out.clone()), &s);
    s.run_until_idle();
    // The cancel is queued for this thread first; then a send on another
    // thread grants the receiver the value and queues its wake-up after it.
    source.request_cancellation();
    let sender = ch.clone();
    thread::spawn(move || sender.try_send(5).unwrap()).join().unwrap();
    s.run_until_idle();
    // The cancel found the receive granted (it could not withdraw): the
    // `co_await!` still gives `Err`, and the value goes back.
    assert_eq!(out.borrow_mut().take(), Some((Err(OperationCancelled), here())));
    assert_eq!(ch.try_recv(), Ok(5));
}

#[test]
fn a_sleep_on_an_event_loop_is_cancelled_by_a_task_of_the_loop() {
    let rt = coro_io::EventLoop::new().unwrap();
    let source = CancellationSource::new();
    rt.spawn_local(cancel_after_a_turn(source.clone())).detach();
    assert_eq!(rt.block_on(nap(source.token())), Err(OperationCancelled));
}

#[test]
fn a_send_task_sleeping_on_a_runtime_loop_cancelled_from_another_thread_gets_err() {
    let rt = coro_io::Runtime::new(1).unwrap();
    let (source, log) = (CancellationSource::new(), Log::new());
    let task = rt.spawn(send_nap(source.token(), log.clone()));
    wait_for(&log, "napping", 1);
    // The cancel is posted to the loop the task runs on, where the timer
    // is withdrawn: `Err`, not an early `Ok(())`.
    source.request_cancellation();
    assert_eq!(sync_wait(task), Err(OperationCancelled));
    log.assert_each_dropped_once();
}

#[test]
fn a_send_task_waiting_on_a_pool_is_cancelled_by_the_pool_and_gives_err() {
    #[coro::coroutine]
    fn on_pool(token: CancellationToken, event: Arc<Event>, log: Log) -> SendTask<(Outcome<()>, bool)> {
        let _local = log.counted("local");
        log.push("waiting");
        let r = co_await!(cancellable(&token, event.wait()));
        let on_a_worker = thread::current().name().is_some_and(|n| n.contains("pool"));
        co_return!((r, on_a_worker))
    }
    let pool = coro::ThreadPool::new(2);
    let (source, event, log) = (CancellationSource::new(), Arc::new(Event::new()), Log::new());
    let join = pool.spawn(on_pool(source.token(), event.clone(), log.clone()));
    wait_for(&log, "waiting", 1);
    // The pool is the task's driver: a worker runs the cancel and the task.
    source.request_cancellation();
    let (r, on_a_worker) = sync_wait(join);
    assert_eq!(r, Err(OperationCancelled));
    assert!(on_a_worker, "resumed by the pool, not by the requesting thread");
    log.assert_each_dropped_once();
    pool.shutdown();
}

#[test]
fn a_send_task_whose_owner_goes_away_while_it_waits_in_cancellable_is_destroyed_at_once() {
    let source = CancellationSource::new();
    let event = Arc::new(Event::new());

    // A task future polled once, then dropped.
    let log = Log::new();
    let mut fut = Box::pin(send_waiter(source.token(), event.clone(), log.clone()).into_future());
    assert!(!poll_once(fut.as_mut()));
    assert_eq!(log.dropped(), 0);
    drop(fut);
    assert_eq!(log.dropped(), 1, "destroyed before the owner's drop returned");
    assert_eq!(log.count("ran on"), 0);

    // A `when_any` loser.
    let log = Log::new();
    assert_eq!(sync_wait(when_any(vec![send_waiter(source.token(), event.clone(), log.clone()), quick()])), (1, 7));
    assert_eq!(log.dropped(), 1);
    assert_eq!(log.count("ran on"), 0);
    log.assert_each_dropped_once();

    // Cancellation requested afterwards finds nothing registered.
    source.request_cancellation();
    event.set();
}

#[test]
fn a_task_destroyed_while_it_waits_in_cancellable_withdraws_its_callback() {
    let (source, event, log) = (CancellationSource::new(), Rc::new(coro::sync::local::Event::new()), Log::new());
    assert_eq!(sync_wait(race_a_local_loser(source.token(), event.clone(), log.clone())), (1, 7));
    assert_eq!(log.dropped(), 1, "the loser was destroyed");
    source.request_cancellation();
    event.set();
    assert_eq!(coro::resume_woken(), 0, "nothing was posted for the destroyed loser");
    assert_eq!(log.count("loser ran on"), 0);
}

#[test]
fn a_request_racing_a_send_resumes_a_send_task_once_with_the_value_or_err() {
    // A `SendTask` resumed by hand on a new thread (no driver): the
    // canceller's thread cancels it itself, racing the sender's grant.
    #[coro::coroutine]
    fn receiver(token: CancellationToken, ch: Arc<Channel<u32>>, log: Log) -> SendTask<Outcome<Option<u32>>> {
        let _local = log.counted("local");
        co_await!(ToNewThread);
        co_return!(co_await!(cancellable(&token, ch.recv())))
    }
    for i in 0..200 {
        let (source, ch, log) = (CancellationSource::new(), Arc::new(Channel::new(1)), Log::new());
        let start = Arc::new(Barrier::new(2));
        let sender = {
            let (ch, start) = (ch.clone(), start.clone());
            thread::spawn(move || {
                start.wait();
                ch.try_send(i).unwrap();
            })
        };
        let token = source.token();
        let canceller = thread::spawn(move || {
            start.wait();
            source.request_cancellation();
        });
        let r = sync_wait(receiver(token, ch.clone(), log.clone()));
        sender.join().unwrap();
        canceller.join().unwrap();
        match r {
            Ok(v) => {
                assert_eq!(v, Some(i));
                assert!(ch.try_recv().is_err(), "the value was received once");
            }
            Err(OperationCancelled) => assert_eq!(ch.try_recv(), Ok(i), "the value was handed on"),
        }
        log.assert_each_dropped_once();
    }
}

#[test]
fn a_request_racing_a_send_resumes_a_task_on_its_own_thread_once() {
    #[coro::coroutine]
    fn receiver(token: CancellationToken, ch: Arc<Channel<u32>>, log: Log) -> Task<(Outcome<Option<u32>>, ThreadId)> {
        let _local = log.counted("local");
        let r = co_await!(cancellable(&token, ch.recv()));
        co_return!((r, here()))
    }
    for i in 0..200 {
        let (source, ch, log) = (CancellationSource::new(), Arc::new(Channel::new(1)), Log::new());
        let start = Arc::new(Barrier::new(2));
        let sender = {
            let (ch, start) = (ch.clone(), start.clone());
            thread::spawn(move || {
                start.wait();
                ch.try_send(i).unwrap();
            })
        };
        let token = source.token();
        let canceller = thread::spawn(move || {
            start.wait();
            source.request_cancellation();
        });
        let (r, on) = sync_wait(receiver(token, ch.clone(), log.clone()));
        sender.join().unwrap();
        canceller.join().unwrap();
        assert_eq!(on, here(), "a Task runs on its own thread");
        match r {
            Ok(v) => {
                assert_eq!(v, Some(i));
                assert!(ch.try_recv().is_err());
            }
            Err(OperationCancelled) => assert_eq!(ch.try_recv(), Ok(i), "the value was handed on"),
        }
        log.assert_each_dropped_once();
    }
}

#[test]
fn the_token_that_can_never_be_cancelled_adds_no_allocation() {
    let none = CancellationToken::none();
    let event = Rc::new(coro::sync::local::Event::new());
    let measure = |make: &dyn Fn() -> Task<()>| {
        allocations(|| {
            let s = LocalScheduler::new();
            spawn_detached(make(), &s);
            s.run_until_idle();
            event.set();
            s.run_until_idle();
            event.reset();
        })
    };
    let plain = measure(&|| plain_wait(event.clone()));
    let wrapped = measure(&|| cancellable_wait(none.clone(), event.clone()));
    assert_eq!(wrapped, plain, "cancellable with CancellationToken::none() allocates nothing of its own");
    // A token that can be cancelled pays for its block and registration.
    let source = CancellationSource::new();
    assert!(measure(&|| cancellable_wait(source.token(), event.clone())) > plain);
}
