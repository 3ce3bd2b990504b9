//! Coroutines across threads: an `await_suspend` that hands the handle to
//! another thread, which resumes (or destroys) the coroutine possibly before
//! `await_suspend` has returned ("suspended first", design.md section 3);
//! a coroutine resumed alternately on two threads; `sync_wait` of a task
//! that finishes on another thread; and the `Send` contract of section 5.
//!
//! Only `CoroutineHandle`s cross threads here (C++ handles are freely passed
//! between threads); the owning objects stay with the test thread.

mod common;

use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Sender};
use std::sync::Arc;
use std::thread::{self, ThreadId};
use std::time::{Duration, Instant};

use common::{eventually, is_send, pause, value_is_send, Counted, Job, Log, PLANNED};
use coro::{co_await, co_return, co_yield, sync_wait, AwaitSuspend, Awaiter, CoroutineHandle, Generator, Task};

/// A thread that resumes every handle it is sent.
struct Worker {
    tx: Option<Sender<CoroutineHandle>>,
    thread: Option<thread::JoinHandle<usize>>,
}

impl Worker {
    fn new(name: &str) -> Worker {
        let (tx, rx) = mpsc::channel::<CoroutineHandle>();
        let thread = thread::Builder::new()
            .name(name.into())
            .spawn(move || {
                let mut n = 0;
                for h in rx {
                    // SAFETY: whoever sent the handle gave up the right to
                    // resume it; the frame is alive until the coroutine
                    // finishes and its owner (waiting elsewhere) drops it.
                    unsafe { h.resume() };
                    n += 1;
                }
                n
            })
            .unwrap();
        Worker { tx: Some(tx), thread: Some(thread) }
    }
    fn sender(&self) -> Sender<CoroutineHandle> {
        self.tx.clone().unwrap()
    }
    /// Stops the worker; returns how many resumes it did.
    fn join(mut self) -> usize {
        self.tx = None;
        self.thread.take().unwrap().join().unwrap()
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.tx = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Waits (bounded) until `flag` is set.
fn wait_for(flag: &AtomicBool) {
    eventually("the other thread got there", || flag.load(Ordering::Acquire));
}

/// Hands the coroutine to a worker thread. With `hold`, `await_suspend`
/// does not return until the coroutine has been resumed on the worker and
/// has set the flag — so the resumption provably overlaps `await_suspend`.
struct OffThread {
    tx: Sender<CoroutineHandle>,
    hold: Option<Arc<AtomicBool>>,
    value: u64,
}

impl Awaiter for OffThread {
    type Output = u64;
    fn await_ready(&mut self) -> bool {
        false
    }
    unsafe fn await_suspend(&mut self, h: CoroutineHandle) -> impl AwaitSuspend {
        // Everything needed after the hand-off is copied out first: once the
        // handle is sent, `self` may be resumed past, dropped, even freed.
        let tx = self.tx.clone();
        let hold = self.hold.take();
        tx.send(h).expect("worker alive");
        if let Some(flag) = hold {
            wait_for(&flag);
        }
    }
    fn await_resume(self) -> u64 {
        self.value
    }
}

#[coro::coroutine]
fn hop(
    tx: Sender<CoroutineHandle>,
    hold: Option<Arc<AtomicBool>>,
    c: Counted,
    i: u64,
) -> coro::SendTask<(u64, ThreadId, ThreadId)> {
    let local = c.log().counted("local");
    let before = thread::current().id();
    let v = co_await!(OffThread { tx: tx.clone(), hold: hold.clone(), value: i });
    let after = thread::current().id();
    if let Some(flag) = &hold {
        flag.store(true, Ordering::Release);
    }
    drop(local);
    co_return!((v * 2, before, after))
}

#[test]
fn await_suspend_handing_the_handle_to_another_thread_that_resumes_it_before_await_suspend_returns_10_000_times() {
    let worker = Worker::new("resumer");
    let log = Log::new();
    let me = thread::current().id();
    let start = Instant::now();
    let mut done = 0u64;
    let mut overlapped = 0;
    for i in 0..10_000u64 {
        if start.elapsed() > Duration::from_secs(8) {
            break;
        }
        // Every other iteration provably overlaps; the others race freely.
        let hold = (i % 2 == 0).then(|| Arc::new(AtomicBool::new(false)));
        let (v, before, after) = sync_wait(hop(worker.sender(), hold.clone(), log.counted("param"), i));
        assert_eq!(v, 2 * i);
        assert_eq!(before, me, "started by sync_wait on this thread");
        assert_ne!(after, me, "resumed on the worker");
        if let Some(h) = hold {
            assert!(h.load(Ordering::Acquire));
            overlapped += 1;
        }
        done += 1;
    }
    assert!(done >= 1_000, "only {done} iterations in the time bound");
    assert!(overlapped > 0);
    assert_eq!(worker.join(), done as usize);
    assert_eq!(log.created(), 2 * done as usize);
    log.assert_each_dropped_once();
}

#[test]
fn sync_wait_of_nested_tasks_finishing_on_another_thread_returns_the_value() {
    #[coro::coroutine]
    fn inner(tx: Sender<CoroutineHandle>, n: u64) -> coro::SendTask<u64> {
        let mut s = 0;
        for i in 0..n {
            s += co_await!(OffThread { tx: tx.clone(), hold: None, value: i });
        }
        co_return!(s)
    }
    #[coro::coroutine]
    fn outer(tx: Sender<CoroutineHandle>, log: Log) -> coro::SendTask<u64> {
        let _g = log.counted("outer local");
        let a = co_await!(inner(tx.clone(), 10));
        let b = co_await!(inner(tx, 5));
        co_return!(a * 100 + b)
    }
    let worker = Worker::new("resumer");
    let log = Log::new();
    for _ in 0..200 {
        assert_eq!(sync_wait(outer(worker.sender(), log.clone())), 45 * 100 + 10);
    }
    assert_eq!(worker.join(), 200 * 15);
    log.assert_each_dropped_once();
}

#[test]
fn a_panic_on_the_resuming_thread_reaches_sync_wait_on_the_waiting_thread() {
    #[coro::coroutine]
    fn fails(tx: Sender<CoroutineHandle>, c: Counted) -> coro::SendTask<u64> {
        let _l = c.log().counted("local");
        co_await!(OffThread { tx, hold: None, value: 0 });
        panic!("{PLANNED} failed on {:?}", thread::current().name());
    }
    let worker = Worker::new("resumer");
    let log = Log::new();
    let msg = common::expect_panic(|| sync_wait(fails(worker.sender(), log.counted("param"))));
    assert_eq!(msg, "[planned] failed on Some(\"resumer\")");
    worker.join();
    log.assert_each_dropped_once();
}

#[test]
fn a_task_hopping_between_two_workers_keeps_its_locals_intact() {
    #[coro::coroutine]
    fn ping_pong(a: Sender<CoroutineHandle>, b: Sender<CoroutineHandle>) -> coro::SendTask<Vec<String>> {
        let mut seen = Vec::new();
        let mut text = String::new();
        for i in 0..500u64 {
            let to = if i % 2 == 0 { a.clone() } else { b.clone() };
            let v = co_await!(OffThread { tx: to, hold: None, value: i });
            text.push(char::from(b'a' + (v % 26) as u8));
            seen.push(thread::current().name().unwrap_or("?").to_owned());
        }
        seen.push(text);
        co_return!(seen)
    }
    let (wa, wb) = (Worker::new("A"), Worker::new("B"));
    let seen = sync_wait(ping_pong(wa.sender(), wb.sender()));
    for (i, name) in seen[..500].iter().enumerate() {
        assert_eq!(name, if i % 2 == 0 { "A" } else { "B" }, "step {i}");
    }
    let expect: String = (0..500u64).map(|v| char::from(b'a' + (v % 26) as u8)).collect();
    assert_eq!(seen[500], expect);
    assert_eq!(wa.join() + wb.join(), 500);
}

#[test]
fn a_coroutine_resumed_alternately_on_two_threads_by_hand() {
    #[coro::coroutine]
    fn alternating(c: Counted, n: usize) -> Job<(Vec<ThreadId>, usize)> {
        let mut ids = vec![thread::current().id()];
        let keep = c.log().counted("local");
        for _ in 0..n {
            co_await!(pause());
            ids.push(thread::current().id());
        }
        co_return!((ids, keep.name().len()))
    }
    const N: usize = 1_000;
    let log = Log::new();
    let job = alternating(log.counted("param"), N);
    let h = job.handle();
    let (tx_a, rx_a) = mpsc::channel::<CoroutineHandle>();
    let (tx_b, rx_b) = mpsc::channel::<CoroutineHandle>();
    let (id_a, id_b) = thread::scope(|s| {
        let relay = |rx: mpsc::Receiver<CoroutineHandle>, next: Sender<CoroutineHandle>| {
            move || {
                for h in rx {
                    // SAFETY: the job (owned by the test thread) outlives the
                    // scope, and exactly one thread holds the handle at a time.
                    unsafe {
                        h.resume();
                        if h.done() {
                            break;
                        }
                    }
                    next.send(h).unwrap();
                }
            }
        };
        let a = s.spawn(relay(rx_a, tx_b));
        let b = s.spawn(relay(rx_b, tx_a.clone()));
        tx_a.send(h).unwrap();
        drop(tx_a);
        (a.thread().id(), b.thread().id())
    });
    assert!(job.done());
    let (ids, len) = job.into_result();
    assert_eq!(len, "local".len());
    assert_eq!(ids.len(), N + 1);
    for (i, id) in ids.iter().enumerate() {
        assert_eq!(*id, if i % 2 == 0 { id_a } else { id_b }, "resume {i}");
    }
    log.assert_each_dropped_once();
}

/// Sets its flag when dropped.
struct SetOnDrop(Arc<AtomicBool>);
impl Drop for SetOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Release);
    }
}

/// Hands the coroutine to a thread that destroys it; `await_suspend` waits
/// until the frame's locals are gone before returning.
struct HandOffForDestroy {
    tx: Sender<CoroutineHandle>,
    gone: Arc<AtomicBool>,
}

impl Awaiter for HandOffForDestroy {
    type Output = ();
    fn await_ready(&mut self) -> bool {
        false
    }
    unsafe fn await_suspend(&mut self, h: CoroutineHandle) -> impl AwaitSuspend {
        let tx = self.tx.clone();
        let gone = self.gone.clone();
        tx.send(h).unwrap();
        wait_for(&gone);
    }
    fn await_resume(self) {
        unreachable!("destroyed, never resumed")
    }
}

#[test]
fn a_coroutine_destroyed_by_another_thread_while_its_await_suspend_still_runs_10_000_times() {
    #[coro::coroutine]
    fn doomed(tx: Sender<CoroutineHandle>, c: Counted) -> Job<()> {
        let gone = Arc::new(AtomicBool::new(false));
        let _flag = SetOnDrop(gone.clone());
        let _l = c.log().counted("local");
        co_await!(HandOffForDestroy { tx, gone });
        unreachable!()
    }
    let (tx, rx) = mpsc::channel::<CoroutineHandle>();
    let destroyed = Arc::new(AtomicUsize::new(0));
    let d = destroyed.clone();
    let destroyer = thread::spawn(move || {
        for h in rx {
            // SAFETY: the test gave up ownership (`into_handle`); the frame
            // is suspended and nobody else uses it.
            unsafe { h.destroy() };
            d.fetch_add(1, Ordering::Relaxed);
        }
    });
    let log = Log::new();
    let start = Instant::now();
    let mut n = 0;
    while n < 10_000 && start.elapsed() < Duration::from_secs(8) {
        let h = doomed(tx.clone(), log.counted("param")).into_handle();
        // SAFETY: alive, idle; after this call the frame belongs to the destroyer.
        unsafe { h.resume() };
        n += 1;
    }
    drop(tx);
    destroyer.join().unwrap();
    assert!(n >= 1_000, "only {n} iterations in the time bound");
    assert_eq!(destroyed.load(Ordering::Relaxed), n);
    assert_eq!(log.created(), 2 * n);
    log.assert_each_dropped_once();
}

// ===========================================================================
// Send
// ===========================================================================

#[test]
fn coroutine_handles_are_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<CoroutineHandle>();
    assert_send_sync::<CoroutineHandle<coro::task::TaskPromise<u32>>>();
}

#[test]
fn the_send_probe_itself_works() {
    assert!(is_send!(u32));
    assert!(!is_send!(Rc<u32>));
    let r = Rc::new(1);
    assert!(!value_is_send!(r));
    assert!(value_is_send!(1u8));
}

#[test]
fn tasks_and_generators_of_non_send_values_are_not_send() {
    assert!(!is_send!(Task<Rc<u32>>), "Task<Rc<u32>> is Send");
    assert!(!is_send!(Generator<Rc<u32>>), "Generator<Rc<u32>> is Send");
}

#[test]
fn a_coroutine_holding_an_rc_across_a_suspension_point_is_not_send() {
    #[coro::coroutine]
    fn holds_rc(r: Rc<u32>) -> Generator<u32> {
        loop {
            let c = Rc::clone(&r);
            co_yield!(*c);
        }
    }
    let g = holds_rc(Rc::new(1));
    assert!(
        !value_is_send!(g),
        "a generator whose frame holds an Rc is Send: it can be iterated on another thread \
         while the test thread clones the same Rc"
    );
}

#[coro::coroutine]
fn send_square(x: u64) -> coro::SendTask<u64> {
    co_return!(x * x)
}

#[coro::coroutine]
fn send_sum_of_squares(n: u64, label: String) -> coro::SendTask<(String, u64)> {
    let mut s = 0;
    for i in 0..n {
        s += co_await!(send_square(i));
    }
    co_return!((label, s))
}

#[test]
fn a_send_task_holding_only_send_data_is_send_and_runs_on_another_thread() {
    assert!(is_send!(coro::SendTask<String>));
    assert!(!is_send!(coro::SendTask<Rc<u32>>));
    let task = send_sum_of_squares(100, String::from("squares"));
    assert!(value_is_send!(task));
    let (label, s) = std::thread::spawn(move || sync_wait(task)).join().unwrap();
    assert_eq!((label.as_str(), s), ("squares", (0..100u64).map(|i| i * i).sum()));
}

#[test]
fn a_send_task_made_on_one_thread_is_awaited_on_a_second_and_frees_everything_once() {
    #[coro::coroutine]
    fn owns(c: Counted, n: u32) -> coro::SendTask<u32> {
        let doubled = co_await!(send_square(u64::from(n)));
        drop(c);
        co_return!(doubled as u32)
    }
    #[coro::coroutine]
    fn outer(t: coro::SendTask<u32>) -> coro::SendTask<u32> {
        let v = co_await!(t);
        co_return!(v + 1)
    }
    let log = Log::new();
    let task = owns(log.counted("param"), 7);
    let task = std::thread::spawn(move || outer(task)).join().unwrap();
    assert_eq!(std::thread::spawn(move || sync_wait(task)).join().unwrap(), 50);
    assert!(log.live().is_empty(), "still alive: {:?}", log.live());
    assert_eq!(log.dropped(), 1);
}
