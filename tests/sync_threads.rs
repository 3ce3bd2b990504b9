//! The thread-safe flavour of `coro::sync` across threads: waiting on one
//! thread while another releases (racing with `await_suspend`, thousands of
//! times), mutual exclusion and bounded concurrency under contention, a
//! guard carried to another thread, a bounded MPMC channel delivering every
//! value exactly once, and waiters created and destroyed on many threads at
//! once. Every test is bounded in iterations and in time.

mod common;

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::mpsc;
use std::sync::{Arc, Barrier};
use std::thread::{self, ThreadId};
use std::time::{Duration, Instant};

use common::{eventually, Counted, Driven, Log, SendJob};
use coro::sync::{Channel, Event, Latch, Mutex, Semaphore, SingleConsumerEvent};
use coro::{co_await, co_return, sync_wait, AwaitSuspend, Awaiter, CoroutineHandle, SendTask, Task};

/// Stops a loop after `n` rounds or `secs` seconds; reports how many ran.
struct Budget {
    n: usize,
    done: usize,
    until: Instant,
}

impl Budget {
    fn new(n: usize, secs: u64) -> Budget {
        Budget { n, done: 0, until: Instant::now() + Duration::from_secs(secs) }
    }
    fn next(&mut self) -> bool {
        if self.done >= self.n || Instant::now() > self.until {
            return false;
        }
        self.done += 1;
        true
    }
}

/// A thread running the closures it is sent, in order.
struct Worker {
    tx: Option<mpsc::Sender<Box<dyn FnOnce() + Send>>>,
    thread: Option<thread::JoinHandle<()>>,
}

impl Worker {
    fn new(name: &str) -> Worker {
        let (tx, rx) = mpsc::channel::<Box<dyn FnOnce() + Send>>();
        let thread = thread::Builder::new()
            .name(name.into())
            .spawn(move || {
                for f in rx {
                    f();
                }
            })
            .unwrap();
        Worker { tx: Some(tx), thread: Some(thread) }
    }
    fn run(&self, f: impl FnOnce() + Send + 'static) {
        self.tx.as_ref().unwrap().send(Box::new(f)).unwrap();
    }
    fn id(&self) -> ThreadId {
        self.thread.as_ref().unwrap().thread().id()
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.tx = None;
        if let Some(t) = self.thread.take() {
            t.join().unwrap();
        }
    }
}

// ===========================================================================
// Releases racing with `await_suspend`
// ===========================================================================

/// Waits on whatever `wait` is, then reports the thread it was resumed on.
#[coro::coroutine]
fn wait_on_event(ev: Arc<Event>) -> SendTask<ThreadId> {
    co_await!(ev.wait());
    co_return!(thread::current().id())
}

#[coro::coroutine]
fn wait_on_sc_event(ev: Arc<SingleConsumerEvent>) -> SendTask<ThreadId> {
    co_await!(ev.wait());
    co_return!(thread::current().id())
}

#[coro::coroutine]
fn wait_on_latch(l: Arc<Latch>) -> SendTask<ThreadId> {
    co_await!(l.wait());
    co_return!(thread::current().id())
}

#[coro::coroutine]
fn wait_on_semaphore(s: Arc<Semaphore>) -> SendTask<ThreadId> {
    let p = co_await!(s.acquire());
    p.forget();
    co_return!(thread::current().id())
}

#[coro::coroutine]
fn wait_on_mutex(m: Arc<Mutex<u32>>) -> SendTask<ThreadId> {
    let mut g = co_await!(m.lock());
    *g += 1;
    co_return!(thread::current().id())
}

#[coro::coroutine]
fn wait_on_channel(ch: Arc<Channel<Counted>>) -> SendTask<ThreadId> {
    let v = co_await!(ch.recv()).expect("a value");
    drop(v);
    co_return!(thread::current().id())
}

/// Runs `round` until the budget is spent: each round starts a task on
/// this thread that waits while the worker releases, racing with its
/// `await_suspend`. Returns (rounds, rounds in which the task was resumed
/// by the worker rather than finding the primitive ready).
fn race(mut round: impl FnMut(&Worker) -> ThreadId) -> (usize, usize) {
    let worker = Worker::new("releaser");
    let mut budget = Budget::new(5_000, 5);
    let mut on_worker = 0;
    while budget.next() {
        if round(&worker) == worker.id() {
            on_worker += 1;
        }
    }
    (budget.done, on_worker)
}

fn check_race(name: &str, (rounds, on_worker): (usize, usize)) {
    assert!(rounds >= 500, "{name}: only {rounds} rounds in the time bound");
    assert!(on_worker > 0, "{name}: the task never suspended before the release");
}

#[test]
fn event_set_on_another_thread_while_the_waiter_registers_never_loses_the_wake_up() {
    check_race(
        "event",
        race(|w| {
            let ev = Arc::new(Event::new());
            let e = ev.clone();
            w.run(move || e.set());
            sync_wait(wait_on_event(ev))
        }),
    );
}

#[test]
fn single_consumer_event_set_on_another_thread_while_the_waiter_registers_never_loses_the_wake_up() {
    check_race(
        "single-consumer event",
        race(|w| {
            let ev = Arc::new(SingleConsumerEvent::new());
            let e = ev.clone();
            w.run(move || e.set());
            sync_wait(wait_on_sc_event(ev))
        }),
    );
}

#[test]
fn latch_counted_down_on_another_thread_while_the_waiter_registers_never_loses_the_wake_up() {
    check_race(
        "latch",
        race(|w| {
            let l = Arc::new(Latch::new(2));
            let (a, b) = (l.clone(), l.clone());
            w.run(move || a.count_down());
            w.run(move || b.count_down());
            sync_wait(wait_on_latch(l))
        }),
    );
}

#[test]
fn semaphore_released_on_another_thread_while_the_waiter_registers_never_loses_the_permit() {
    check_race(
        "semaphore",
        race(|w| {
            let s = Arc::new(Semaphore::new(0));
            let r = s.clone();
            w.run(move || r.release(1));
            let id = sync_wait(wait_on_semaphore(s.clone()));
            assert_eq!(s.available_permits(), 0);
            id
        }),
    );
}

static JITTER: AtomicUsize = AtomicUsize::new(0);

#[test]
fn mutex_unlocked_on_another_thread_while_the_waiter_registers_hands_the_lock_over() {
    // The worker locks first (synchronously), then unlocks racing with us.
    check_race(
        "mutex",
        race(|w| {
            let m = Arc::new(Mutex::new(0));
            let (locked_tx, locked_rx) = mpsc::channel();
            let mm = m.clone();
            let jitter = JITTER.fetch_add(1, SeqCst) % 64;
            w.run(move || {
                let g = mm.try_lock().unwrap();
                locked_tx.send(()).unwrap();
                // Vary the moment of the unlock, so that it falls before,
                // during and after the waiter's registration.
                for _ in 0..jitter * 20 {
                    std::hint::spin_loop();
                }
                drop(g);
            });
            locked_rx.recv().unwrap();
            let id = sync_wait(wait_on_mutex(m.clone()));
            assert_eq!(*m.try_lock().unwrap(), 1);
            id
        }),
    );
}

#[test]
fn channel_send_on_another_thread_while_the_receiver_registers_delivers_the_value() {
    let log = Log::new();
    let l = log.clone();
    check_race(
        "channel",
        race(move |w| {
            let ch = Arc::new(Channel::new(1));
            let (c, v) = (ch.clone(), l.counted("value"));
            w.run(move || c.try_send(v).unwrap());
            sync_wait(wait_on_channel(ch))
        }),
    );
    log.assert_each_dropped_once();
}

#[coro::coroutine]
fn send_one(ch: Arc<Channel<Counted>>, v: Counted) -> SendTask<ThreadId> {
    co_await!(ch.send(v)).expect("open");
    co_return!(thread::current().id())
}

#[test]
fn rendezvous_sends_and_receives_racing_on_two_threads_always_pair_up() {
    // Both sides may find the other registered between their `await_ready`
    // and their `await_suspend`, and then complete while releasing it.
    let log = Log::new();
    let worker = Worker::new("other side");
    let mut budget = Budget::new(4_000, 5);
    while budget.next() {
        let ch = Arc::new(Channel::new(0));
        let (done_tx, done_rx) = mpsc::channel();
        let c = ch.clone();
        // Shift the other side's start by a varying delay, so that its
        // registration falls before, between and after our own steps.
        let jitter = budget.done % 97 * 5;
        let pause = move || (0..jitter).for_each(|_| std::hint::spin_loop());
        if budget.done % 2 == 0 {
            let v = log.counted("v");
            worker.run(move || {
                pause();
                done_tx.send(sync_wait(send_one(c, v))).unwrap()
            });
            sync_wait(wait_on_channel(ch.clone()));
        } else {
            worker.run(move || {
                pause();
                done_tx.send(sync_wait(wait_on_channel(c))).unwrap()
            });
            sync_wait(send_one(ch.clone(), log.counted("v")));
        }
        done_rx.recv_timeout(Duration::from_secs(10)).expect("the other side finished");
        assert!(ch.is_empty());
    }
    assert!(budget.done >= 500, "only {} rounds", budget.done);
    drop(worker);
    log.assert_each_dropped_once();
}

// ===========================================================================
// Contention
// ===========================================================================

/// `n` times: lock, check nobody else is inside, increment non-atomically
/// (yielding the thread now and then inside the critical section), unlock.
#[coro::coroutine]
fn contend(m: Arc<Mutex<u64>>, inside: Arc<AtomicUsize>, n: u64, c: Counted) -> SendTask<()> {
    for i in 0..n {
        let mut g = co_await!(m.lock());
        assert_eq!(inside.fetch_add(1, SeqCst), 0, "two coroutines inside the critical section");
        let v = *g;
        if i % 16 == 0 {
            thread::yield_now();
        }
        *g = v + 1;
        inside.fetch_sub(1, SeqCst);
        drop(g);
    }
    drop(c);
    co_return!(())
}

#[test]
fn a_mutex_serialises_coroutines_on_eight_threads() {
    const THREADS: usize = 8;
    const N: u64 = 2_000;
    let log = Log::new();
    let m = Arc::new(Mutex::new(0u64));
    let inside = Arc::new(AtomicUsize::new(0));
    let threads: Vec<_> = (0..THREADS)
        .map(|_| {
            let (m, inside, c) = (m.clone(), inside.clone(), log.counted("param"));
            thread::spawn(move || sync_wait(contend(m, inside, N, c)))
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(*m.try_lock().unwrap(), THREADS as u64 * N);
    assert!(!m.is_locked());
    log.assert_each_dropped_once();
}

/// Hands the coroutine to a worker thread, which resumes it.
struct HopTo<'a>(&'a Worker);

impl Awaiter for HopTo<'_> {
    type Output = ();
    fn await_ready(&mut self) -> bool {
        false
    }
    unsafe fn await_suspend(&mut self, h: CoroutineHandle) -> impl AwaitSuspend {
        self.0.run(move || {
            // SAFETY: the coroutine is suspended here and handed over
            // whole; nobody else resumes it.
            unsafe { h.resume() }
        });
    }
    fn await_resume(self) {}
}

/// Locks on this thread, hops to `there` holding the guard, unlocks there.
#[coro::coroutine]
fn lock_and_hop(m: Arc<Mutex<Vec<ThreadId>>>, there: Arc<Worker>, n: usize) -> SendTask<()> {
    for _ in 0..n {
        let mut g = co_await!(m.lock());
        g.push(thread::current().id());
        co_await!(HopTo(&there));
        g.push(thread::current().id());
        drop(g); // unlocked on the worker: the next owner is resumed there
    }
    co_return!(())
}

#[test]
fn a_guard_carried_to_another_thread_unlocks_there_and_owners_never_overlap() {
    const THREADS: usize = 4;
    const N: usize = 300;
    let m = Arc::new(Mutex::new(Vec::new()));
    let worker = Arc::new(Worker::new("hop"));
    let threads: Vec<_> = (0..THREADS)
        .map(|_| {
            let (m, w) = (m.clone(), worker.clone());
            thread::spawn(move || sync_wait(lock_and_hop(m, w, N)))
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let ids = std::mem::take(&mut *m.try_lock().unwrap());
    assert_eq!(ids.len(), 2 * THREADS * N);
    // Every second entry was pushed on the worker, after the hop.
    assert!(ids.chunks(2).all(|pair| pair[1] == worker.id()));
}

/// `n` times: acquire, count how many are inside, release.
#[coro::coroutine]
fn limited(s: Arc<Semaphore>, inside: Arc<AtomicUsize>, max: Arc<AtomicUsize>, n: usize) -> SendTask<()> {
    for _ in 0..n {
        let p = co_await!(s.acquire());
        let now = inside.fetch_add(1, SeqCst) + 1;
        max.fetch_max(now, SeqCst);
        thread::yield_now();
        inside.fetch_sub(1, SeqCst);
        drop(p);
    }
    co_return!(())
}

#[test]
fn a_semaphore_bounds_concurrency_across_threads() {
    const PERMITS: usize = 3;
    let s = Arc::new(Semaphore::new(PERMITS));
    let inside = Arc::new(AtomicUsize::new(0));
    let max = Arc::new(AtomicUsize::new(0));
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let (s, i, m) = (s.clone(), inside.clone(), max.clone());
            thread::spawn(move || sync_wait(limited(s, i, m, 500)))
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let max = max.load(SeqCst);
    assert!((1..=PERMITS).contains(&max), "{max} holders at once");
    assert_eq!(s.available_permits(), PERMITS);
}

#[test]
fn set_resumes_waiters_from_many_threads_on_the_setting_thread() {
    const THREADS: usize = 8;
    let ev = Arc::new(Event::new());
    let barrier = Arc::new(Barrier::new(THREADS + 1));
    let threads: Vec<_> = (0..THREADS)
        .map(|_| {
            let (ev, b) = (ev.clone(), barrier.clone());
            thread::spawn(move || {
                b.wait();
                sync_wait(wait_on_event(ev))
            })
        })
        .collect();
    barrier.wait();
    thread::sleep(Duration::from_millis(50)); // let them (mostly) suspend
    ev.set();
    let me = thread::current().id();
    let on_me = threads.into_iter().map(|t| t.join().unwrap()).filter(|id| *id == me).count();
    assert!(on_me > 0, "at least the waiters that had suspended were resumed by set() here");
}

#[test]
fn a_latch_opens_after_count_downs_on_many_threads() {
    const THREADS: usize = 8;
    for _ in 0..50 {
        let l = Arc::new(Latch::new(THREADS));
        let waiters: Vec<_> = (0..2)
            .map(|_| {
                let l = l.clone();
                thread::spawn(move || sync_wait(wait_on_latch(l)))
            })
            .collect();
        let counters: Vec<_> = (0..THREADS)
            .map(|_| {
                let l = l.clone();
                thread::spawn(move || l.count_down())
            })
            .collect();
        for t in counters {
            t.join().unwrap();
        }
        for t in waiters {
            t.join().unwrap();
        }
        assert!(l.is_ready());
    }
}

// ===========================================================================
// Channel
// ===========================================================================

#[coro::coroutine]
fn produce(ch: Arc<Channel<(usize, usize, Counted)>>, log: Log, p: usize, n: usize) -> SendTask<()> {
    for i in 0..n {
        co_await!(ch.send((p, i, log.counted("v")))).expect("open while producing");
    }
    co_return!(())
}

#[coro::coroutine]
fn consume(ch: Arc<Channel<(usize, usize, Counted)>>) -> SendTask<Vec<(usize, usize)>> {
    let mut got = Vec::new();
    while let Some((p, i, v)) = co_await!(ch.recv()) {
        drop(v);
        got.push((p, i));
    }
    co_return!(got)
}

#[test]
fn a_bounded_channel_between_four_producer_and_four_consumer_threads_delivers_every_value_once_in_order() {
    const PRODUCERS: usize = 4;
    const N: usize = 2_500;
    for capacity in [0, 1, 8] {
        let log = Log::new();
        let ch = Arc::new(Channel::new(capacity));
        let producers: Vec<_> = (0..PRODUCERS)
            .map(|p| {
                let (ch, log) = (ch.clone(), log.clone());
                thread::spawn(move || sync_wait(produce(ch, log, p, N)))
            })
            .collect();
        let consumers: Vec<_> = (0..4)
            .map(|_| {
                let ch = ch.clone();
                thread::spawn(move || sync_wait(consume(ch)))
            })
            .collect();
        for p in producers {
            p.join().unwrap();
        }
        ch.close();
        let mut seen: HashMap<(usize, usize), usize> = HashMap::new();
        for c in consumers {
            let got = c.join().unwrap();
            // FIFO: one consumer sees each producer's values in order.
            let mut last = [None; PRODUCERS];
            for &(p, i) in &got {
                assert!(last[p] < Some(i), "capacity {capacity}: producer {p}'s values out of order");
                last[p] = Some(i);
                *seen.entry((p, i)).or_default() += 1;
            }
        }
        assert_eq!(seen.len(), PRODUCERS * N, "capacity {capacity}: lost values");
        assert!(seen.values().all(|&n| n == 1), "capacity {capacity}: duplicated values");
        assert_eq!(log.created(), PRODUCERS * N);
        log.assert_each_dropped_once();
    }
}

// ===========================================================================
// Waiters destroyed on many threads at once
// ===========================================================================

#[coro::coroutine]
fn lock_waiter(m: Arc<Mutex<u64>>, c: Counted) -> SendJob<()> {
    let mut g = co_await!(m.lock());
    *g += 1;
    drop(c);
    co_return!(())
}

#[coro::coroutine]
fn recv_waiter(ch: Arc<Channel<Counted>>, c: Counted) -> SendJob<()> {
    let v = co_await!(ch.recv());
    drop((v, c));
    co_return!(())
}

#[test]
fn waiters_queued_and_destroyed_on_eight_threads_at_once_leave_the_primitives_consistent() {
    const THREADS: usize = 8;
    const N: usize = 2_000;
    let log = Log::new();
    let m = Arc::new(Mutex::new(0u64));
    let ch = Arc::new(Channel::new(4));
    // Held throughout, so no waiter can be granted the lock (or a value)
    // while its thread destroys it: that would be a race with its resumption.
    let held = m.try_lock().unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let released = Arc::new(Barrier::new(THREADS + 1));
    let queued = Arc::new(Barrier::new(THREADS + 1));
    let threads: Vec<_> = (0..THREADS)
        .map(|t| {
            let (m, ch, log, stop) = (m.clone(), ch.clone(), log.clone(), stop.clone());
            let (queued, released) = (queued.clone(), released.clone());
            thread::spawn(move || {
                let mut kept = Vec::new();
                for i in 0..N {
                    if stop.load(SeqCst) {
                        break;
                    }
                    let a = lock_waiter(m.clone(), log.counted("lock param"));
                    let b = recv_waiter(ch.clone(), log.counted("recv param"));
                    a.resume();
                    b.resume();
                    assert!(!a.done() && !b.done());
                    // Destroy in both orders; keep a few queued for the end.
                    if i % 100 == 99 {
                        kept.push(a);
                    } else if (i + t) % 2 == 0 {
                        drop((a, b));
                    } else {
                        drop((b, a));
                    }
                }
                let n = kept.len();
                queued.wait();
                // The test thread releases the lock, resuming the kept
                // waiters; they are done once it has passed this barrier.
                released.wait();
                assert!(kept.iter().all(|j| j.done()));
                drop(kept);
                n
            })
        })
        .collect();
    thread::sleep(Duration::from_millis(200));
    stop.store(true, SeqCst);
    queued.wait();
    // The kept waiters are still queued, in a consistent list: releasing
    // the lock hands it to each in turn, on this thread.
    drop(held);
    released.wait();
    let kept: usize = threads.into_iter().map(|t| t.join().unwrap()).sum();
    assert_eq!(*m.try_lock().unwrap(), kept as u64);
    assert!(ch.is_empty());
    ch.close();
    log.assert_each_dropped_once();
}

// ===========================================================================
// Misuse: destroying a waiter another thread is about to resume
// ===========================================================================

/// Waits on `mine` (thread-safe events, but this chain runs on one thread),
/// then sets `next`.
#[coro::coroutine]
fn relay(mine: Arc<Event>, next: Arc<Event>) -> SendJob<()> {
    co_await!(mine.wait());
    next.set();
    co_return!(())
}

/// Sets `victim_event` deep in a chain of releases, so that the victim is
/// only queued on this thread; then tells the test thread and blocks.
#[coro::coroutine]
fn release_and_block(go: Arc<Event>, victim_event: Arc<Event>, told: mpsc::Sender<()>) -> SendJob<()> {
    co_await!(go.wait());
    victim_event.set();
    told.send(()).unwrap();
    thread::sleep(Duration::from_secs(10)); // the process aborts meanwhile
    co_return!(())
}

#[coro::coroutine]
fn victim(ev: Arc<Event>) -> SendJob<()> {
    co_await!(ev.wait());
    co_return!(())
}

const ABORT_CHILD: &str = "CORO_SYNC_TEST_ABORT_CHILD";

#[test]
#[cfg(unix)]
fn destroying_a_waiter_that_another_thread_has_released_but_not_yet_resumed_aborts() {
    if std::env::var_os(ABORT_CHILD).is_some() {
        let ev = Arc::new(Event::new());
        let v = victim(ev.clone());
        v.resume();
        let (told_tx, told_rx) = mpsc::channel();
        thread::spawn(move || {
            let events: Vec<_> = (0..=64).map(|_| Arc::new(Event::new())).collect();
            let relays: Vec<_> = (0..64).map(|i| relay(events[i].clone(), events[i + 1].clone())).collect();
            relays.iter().for_each(|r| r.resume());
            let last = release_and_block(events[64].clone(), ev, told_tx);
            last.resume();
            events[0].set();
        });
        told_rx.recv().unwrap();
        drop(v); // released by the other thread, queued there: abort
        unreachable!("destroying the victim should have aborted");
    }
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "destroying_a_waiter_that_another_thread_has_released_but_not_yet_resumed_aborts"])
        .args(["--nocapture", "--test-threads=1"])
        .env(ABORT_CHILD, "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    {
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(out.status.signal(), Some(6), "SIGABRT expected; stderr: {stderr}");
    }
    assert!(stderr.contains("destroyed while another thread was resuming it"), "{stderr}");
}

// ===========================================================================
// Thread-bound coroutines (`Task`) released from another thread go home
// ===========================================================================

/// Where a `Task` (not `Send`: it holds an `Rc`) ran after its wait, and
/// how many times.
type Seen = Rc<RefCell<Vec<ThreadId>>>;

#[coro::coroutine]
fn home_event(ev: Arc<Event>, seen: Seen) -> Task<usize> {
    co_await!(ev.wait());
    seen.borrow_mut().push(thread::current().id());
    co_return!(Rc::strong_count(&seen))
}

#[coro::coroutine]
fn home_sc_event(ev: Arc<SingleConsumerEvent>, seen: Seen) -> Task<usize> {
    co_await!(ev.wait());
    seen.borrow_mut().push(thread::current().id());
    co_return!(Rc::strong_count(&seen))
}

#[coro::coroutine]
fn home_latch(l: Arc<Latch>, seen: Seen) -> Task<usize> {
    co_await!(l.wait());
    seen.borrow_mut().push(thread::current().id());
    co_return!(Rc::strong_count(&seen))
}

#[coro::coroutine]
fn home_mutex(m: Arc<Mutex<u32>>, seen: Seen, c: Counted) -> Task<u32> {
    let _c = c;
    let mut g = co_await!(m.lock());
    seen.borrow_mut().push(thread::current().id());
    *g += 1;
    co_return!(*g)
}

#[coro::coroutine]
fn home_permit(s: Arc<Semaphore>, seen: Seen, c: Counted) -> Task<usize> {
    let _c = c;
    let _p = co_await!(s.acquire());
    seen.borrow_mut().push(thread::current().id());
    co_return!(s.available_permits())
}

#[coro::coroutine]
fn home_recv(ch: Arc<Channel<Counted>>, seen: Seen, c: Counted) -> Task<Option<Counted>> {
    let _c = c;
    let v = co_await!(ch.recv());
    seen.borrow_mut().push(thread::current().id());
    co_return!(v)
}

#[coro::coroutine]
fn home_send(ch: Arc<Channel<Counted>>, v: Counted, seen: Seen) -> Task<bool> {
    let sent = co_await!(ch.send(v)).is_ok();
    seen.borrow_mut().push(thread::current().id());
    co_return!(sent)
}

/// Runs `release` on another thread (to completion), checks that the task
/// was not resumed there but queued for this thread, resumes it here with
/// `resume_woken`, and returns its result.
fn release_elsewhere<T>(mut task: Driven<T>, seen: &Seen, release: impl FnOnce() + Send) -> T {
    assert_eq!(coro::resume_woken(), 0);
    thread::scope(|s| s.spawn(release).join().unwrap());
    assert!(seen.borrow().is_empty(), "not resumed on the releasing thread");
    assert_eq!(coro::resume_woken(), 1, "queued for this thread");
    assert_eq!(*seen.borrow(), [thread::current().id()], "resumed here, once");
    task.poll().expect("the task finished when resumed")
}

#[test]
fn a_task_released_on_another_thread_by_an_event_latch_or_single_consumer_event_resumes_on_its_own_thread() {
    let seen: Seen = Rc::default();
    let ev = Arc::new(Event::new());
    let t = Driven::start(home_event(ev.clone(), seen.clone()));
    assert_eq!(release_elsewhere(t, &seen, || ev.set()), 2, "the Rc is usable: the frame's clone and ours");

    let seen: Seen = Rc::default();
    let ev = Arc::new(SingleConsumerEvent::new());
    let t = Driven::start(home_sc_event(ev.clone(), seen.clone()));
    assert_eq!(release_elsewhere(t, &seen, || ev.set()), 2);

    let seen: Seen = Rc::default();
    let l = Arc::new(Latch::new(2));
    let t = Driven::start(home_latch(l.clone(), seen.clone()));
    l.count_down(); // on this thread, not yet zero
    assert_eq!(release_elsewhere(t, &seen, || l.count_down()), 2);
}

#[test]
fn a_task_handed_a_mutex_permit_or_value_on_another_thread_gets_it_on_its_own_thread() {
    let log = Log::new();

    let seen: Seen = Rc::default();
    let m = Arc::new(Mutex::new(0));
    let held = m.try_lock().unwrap();
    let t = Driven::start(home_mutex(m.clone(), seen.clone(), log.counted("mutex task")));
    assert_eq!(release_elsewhere(t, &seen, move || drop(held)), 1);
    assert!(!m.is_locked(), "the task's guard unlocked on its thread");

    let seen: Seen = Rc::default();
    let s = Arc::new(Semaphore::new(0));
    let t = Driven::start(home_permit(s.clone(), seen.clone(), log.counted("permit task")));
    assert_eq!(release_elsewhere(t, &seen, || s.release(1)), 0, "the released permit was the task's");
    assert_eq!(s.available_permits(), 1, "and went back when it finished");

    let seen: Seen = Rc::default();
    let ch = Arc::new(Channel::new(1));
    let t = Driven::start(home_recv(ch.clone(), seen.clone(), log.counted("recv task")));
    let v = release_elsewhere(t, &seen, || ch.try_send(log.counted("value")).unwrap());
    assert_eq!(v.map(|c| c.name().to_owned()).as_deref(), Some("value"));

    let seen: Seen = Rc::default();
    ch.try_send(log.counted("first")).unwrap(); // full
    let t = Driven::start(home_send(ch.clone(), log.counted("second"), seen.clone()));
    let first = release_elsewhere(t, &seen, || drop(ch.try_recv().unwrap()));
    assert!(first, "the waiting sender's value went in when room was made");
    assert_eq!(ch.try_recv().unwrap().name(), "second");
    log.assert_each_dropped_once();
}

#[test]
fn tasks_holding_an_rc_wait_under_sync_wait_for_primitives_released_on_another_thread() {
    /// Waits on all four primitives in turn; each is released by `worker`
    /// once this task says it is about to wait.
    #[coro::coroutine]
    fn all_four(
        ev: Arc<Event>,
        m: Arc<Mutex<u32>>,
        s: Arc<Semaphore>,
        ch: Arc<Channel<u32>>,
        waiting: Arc<AtomicUsize>,
        rc: Rc<Cell<u32>>,
    ) -> Task<u32> {
        let me = thread::current().id();
        waiting.store(1, SeqCst);
        co_await!(ev.wait());
        assert_eq!(thread::current().id(), me);
        rc.set(rc.get() + 1);
        waiting.store(2, SeqCst);
        let g = co_await!(m.lock());
        assert_eq!(thread::current().id(), me);
        rc.set(rc.get() + *g);
        drop(g);
        waiting.store(3, SeqCst);
        let p = co_await!(s.acquire());
        assert_eq!(thread::current().id(), me);
        rc.set(rc.get() + 1);
        drop(p);
        waiting.store(4, SeqCst);
        let v = co_await!(ch.recv()).unwrap();
        assert_eq!(thread::current().id(), me);
        rc.set(rc.get() + v);
        co_return!(rc.get())
    }
    let (ev, m, s, ch) =
        (Arc::new(Event::new()), Arc::new(Mutex::new(10)), Arc::new(Semaphore::new(0)), Arc::new(Channel::new(0)));
    let waiting = Arc::new(AtomicUsize::new(0));
    let held = m.try_lock().unwrap();
    let rc = Rc::new(Cell::new(0));
    let total = thread::scope(|sc| {
        let releaser = sc.spawn(|| {
            let wait_for = |n| {
                eventually(&format!("{n} waiting"), || waiting.load(SeqCst) >= n);
                thread::sleep(Duration::from_millis(2)); // let it suspend (either way is correct)
            };
            wait_for(1);
            ev.set();
            wait_for(2);
            drop(held);
            wait_for(3);
            s.release(1);
            wait_for(4);
            // A rendezvous channel: blocks (spinning) until the receiver waits.
            let mut v = 100;
            while let Err(e) = ch.try_send(v) {
                v = e.into_inner();
                thread::yield_now();
            }
        });
        let total = sync_wait(all_four(ev.clone(), m.clone(), s.clone(), ch.clone(), waiting.clone(), rc.clone()));
        releaser.join().unwrap();
        total
    });
    assert_eq!(total, 1 + 10 + 1 + 100);
    assert_eq!(rc.get(), total);
    assert_eq!(coro::resume_woken(), 0, "sync_wait ran every wake-up");
    assert!(!m.is_locked());
    assert_eq!(s.available_permits(), 1);
}

#[test]
fn a_task_destroyed_after_another_thread_granted_it_hands_the_grant_on_and_its_wake_up_does_nothing() {
    let log = Log::new();

    // Mutex: the lock goes to the next waiter, here on this thread.
    let seen: Seen = Rc::default();
    let m = Arc::new(Mutex::new(0));
    let held = m.try_lock().unwrap();
    let victim = Driven::start(home_mutex(m.clone(), seen.clone(), log.counted("mutex victim")));
    let mut next = Driven::start(home_mutex(m.clone(), seen.clone(), log.counted("mutex next")));
    thread::scope(|s| s.spawn(move || drop(held)).join().unwrap());
    assert!(seen.borrow().is_empty());
    drop(victim); // granted the lock, queued home, not resumed
                  // The lock went on to the next waiter, resumed here at once (this is
                  // its thread), which finished.
    assert_eq!(*seen.borrow(), [thread::current().id()]);
    assert!(log.live().is_empty());
    assert_eq!(coro::resume_woken(), 1, "the stale wake-up ran, and did nothing");
    assert_eq!(seen.borrow().len(), 1);
    assert_eq!(next.poll(), Some(1), "only the next waiter incremented");
    assert_eq!(*m.try_lock().expect("the mutex is usable"), 1);

    // Semaphore: the permit is not lost.
    let seen: Seen = Rc::default();
    let s = Arc::new(Semaphore::new(0));
    let victim = Driven::start(home_permit(s.clone(), seen.clone(), log.counted("permit victim")));
    thread::scope(|sc| sc.spawn(|| s.release(1)).join().unwrap());
    assert_eq!(s.available_permits(), 0, "granted to the victim");
    drop(victim);
    assert_eq!(s.available_permits(), 1, "handed back");
    assert_eq!(coro::resume_woken(), 1);
    assert!(seen.borrow().is_empty());

    // Channel: the value goes back into the channel.
    let seen: Seen = Rc::default();
    let ch = Arc::new(Channel::new(1));
    let victim = Driven::start(home_recv(ch.clone(), seen.clone(), log.counted("recv victim")));
    thread::scope(|sc| sc.spawn(|| ch.try_send(log.counted("value")).unwrap()).join().unwrap());
    assert!(ch.is_empty(), "handed to the victim");
    drop(victim);
    assert_eq!(ch.try_recv().unwrap().name(), "value");
    assert_eq!(coro::resume_woken(), 1);

    // Event: nothing to hand on; the frame is freed once.
    let seen: Seen = Rc::default();
    let ev = Arc::new(Event::new());
    let victim = Driven::start(home_event(ev.clone(), seen.clone()));
    thread::scope(|sc| sc.spawn(|| ev.set()).join().unwrap());
    drop(victim);
    assert_eq!(Rc::strong_count(&seen), 1);
    assert_eq!(coro::resume_woken(), 1);
    assert!(seen.borrow().is_empty());
    log.assert_each_dropped_once();
}

#[test]
fn a_stale_wake_up_left_in_the_queue_of_a_thread_that_exits_is_freed_with_it() {
    let log = Log::new();
    let s = Arc::new(Semaphore::new(0));
    thread::scope(|sc| {
        sc.spawn(|| {
            let seen: Seen = Rc::default();
            let victim = Driven::start(home_permit(s.clone(), seen, log.counted("victim")));
            thread::scope(|sc| sc.spawn(|| s.release(1)).join().unwrap());
            drop(victim); // its wake-up stays queued: this thread never runs it
        })
        .join()
        .unwrap()
    });
    assert_eq!(s.available_permits(), 1);
    log.assert_each_dropped_once(); // and memcheck sees no leak
}

#[test]
fn tasks_on_four_threads_share_thread_safe_primitives_and_always_resume_at_home() {
    const THREADS: usize = 4;
    const ROUNDS: u32 = 250;
    #[coro::coroutine]
    fn worker(
        m: Arc<Mutex<u64>>,
        s: Arc<Semaphore>,
        ch: Arc<Channel<u32>>,
        inside: Arc<AtomicUsize>,
        c: Counted,
    ) -> Task<u32> {
        let _c = c;
        let me = thread::current().id();
        let mine = Rc::new(Cell::new(0u32));
        for i in 0..ROUNDS {
            {
                let mut g = co_await!(m.lock());
                assert_eq!(thread::current().id(), me);
                *g += 1;
            }
            {
                let _p = co_await!(s.acquire());
                assert_eq!(thread::current().id(), me);
                assert!(inside.fetch_add(1, SeqCst) < 2, "at most two permits");
                thread::yield_now();
                inside.fetch_sub(1, SeqCst);
            }
            co_await!(ch.send(i)).unwrap();
            let v = co_await!(ch.recv()).unwrap();
            assert_eq!(thread::current().id(), me);
            mine.set(mine.get() + v);
        }
        co_return!(mine.get())
    }
    let log = Log::new();
    let m = Arc::new(Mutex::new(0));
    let s = Arc::new(Semaphore::new(2));
    let ch = Arc::new(Channel::new(1));
    let inside = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let sum: u32 = thread::scope(|sc| {
        let threads: Vec<_> = (0..THREADS)
            .map(|i| {
                let (m, s, ch, inside) = (m.clone(), s.clone(), ch.clone(), inside.clone());
                let c = log.counted(format!("worker {i}"));
                sc.spawn(move || {
                    let sum = sync_wait(worker(m, s, ch, inside, c));
                    assert_eq!(coro::resume_woken(), 0);
                    sum
                })
            })
            .collect();
        threads.into_iter().map(|t| t.join().unwrap()).sum()
    });
    assert_eq!(sum, THREADS as u32 * (0..ROUNDS).sum::<u32>());
    assert_eq!(*m.try_lock().unwrap(), THREADS as u64 * ROUNDS as u64);
    assert_eq!(s.available_permits(), 2);
    assert!(ch.is_empty());
    log.assert_each_dropped_once();
    eprintln!("{} rounds in {:?}", THREADS as u32 * ROUNDS, start.elapsed());
}

#[test]
fn tasks_destroyed_while_another_thread_grants_them_never_lose_a_permit_or_the_lock() {
    let log = Log::new();
    let s = Arc::new(Semaphore::new(0));
    let m = Arc::new(Mutex::new(0));
    let worker = Worker::new("granter");
    let mut budget = Budget::new(2000, 5);
    let mut rounds = 0;
    while budget.next() {
        rounds += 1;
        let seen: Seen = Rc::default();
        // The permit is released on the worker while this thread destroys
        // the waiting task: granted first (then handed back) or not.
        let victim = Driven::start(home_permit(s.clone(), seen.clone(), log.counted("permit")));
        let (done_tx, done_rx) = mpsc::channel();
        let s2 = s.clone();
        worker.run(move || {
            s2.release(1);
            done_tx.send(()).unwrap();
        });
        if rounds % 2 == 0 {
            thread::yield_now();
        }
        drop(victim);
        done_rx.recv().unwrap();
        coro::resume_woken();
        assert_eq!(s.available_permits(), 1, "round {rounds}");
        s.try_acquire().unwrap().forget();

        // The same with the lock, held by the worker.
        let guard_owner = m.clone();
        let (locked_tx, locked_rx) = mpsc::channel();
        let (go_tx, go_rx) = mpsc::channel::<()>();
        let (done_tx, done_rx) = mpsc::channel();
        worker.run(move || {
            let g = guard_owner.try_lock().unwrap();
            locked_tx.send(()).unwrap();
            go_rx.recv().unwrap();
            drop(g);
            done_tx.send(()).unwrap();
        });
        locked_rx.recv().unwrap();
        let victim = Driven::start(home_mutex(m.clone(), seen.clone(), log.counted("lock")));
        go_tx.send(()).unwrap();
        if rounds % 3 == 0 {
            thread::yield_now();
        }
        drop(victim);
        done_rx.recv().unwrap();
        coro::resume_woken();
        assert!(seen.borrow().is_empty(), "never resumed");
        assert!(!m.is_locked(), "round {rounds}");
    }
    drop(worker);
    log.assert_each_dropped_once();
}

/// A promise whose `before_resume` can be made to block: it holds a
/// resuming thread inside the window between taking a waiter out of its
/// ready queue and the coroutine running.
#[derive(Default)]
struct SlowResume;

static SLOW_ARMED: AtomicBool = AtomicBool::new(false);
static SLOW_ENTERED: AtomicBool = AtomicBool::new(false);

impl coro::Promise for SlowResume {
    type ReturnObject = coro::UniqueCoroutineHandle<SlowResume>;
    type InitialSuspend = coro::SuspendNever;
    type FinalSuspend = coro::SuspendAlways;
    type Return = coro::promise::ReturnsVoid;
    type Await = coro::promise::AwaitDirect;
    unsafe fn get_return_object(&mut self) -> Self::ReturnObject {
        // SAFETY: the returned owner is the frame's only owner.
        unsafe { coro::UniqueCoroutineHandle::from_raw(CoroutineHandle::from_promise(self)) }
    }
    fn initial_suspend(&mut self) -> coro::SuspendNever {
        coro::SuspendNever
    }
    fn final_suspend(&mut self) -> coro::SuspendAlways {
        coro::SuspendAlways
    }
    fn unhandled_exception(&mut self, p: coro::promise::Payload) {
        std::panic::resume_unwind(p)
    }
    // SAFETY: its only coroutine, `slow_victim`, holds an `Arc<Event>`:
    // the frame is `Send`.
    const AFFINITY: coro::promise::ThreadAffinity = unsafe { coro::promise::ThreadAffinity::any_thread() };
    fn before_resume(&self) {
        if SLOW_ARMED.load(SeqCst) {
            SLOW_ENTERED.store(true, SeqCst);
            thread::sleep(Duration::from_secs(10)); // the process aborts meanwhile
        }
    }
}

impl coro::promise::ReturnVoid for SlowResume {
    fn return_void(&mut self) {}
}

#[coro::coroutine(promise = SlowResume)]
fn slow_victim(ev: Arc<Event>) -> coro::UniqueCoroutineHandle<SlowResume> {
    co_await!(ev.wait());
}

#[test]
#[cfg(unix)]
fn destroying_a_waiter_while_another_thread_is_resuming_it_aborts() {
    if std::env::var_os(ABORT_CHILD).is_some() {
        let ev = Arc::new(Event::new());
        let v = slow_victim(ev.clone()); // waits on the event
        SLOW_ARMED.store(true, SeqCst);
        thread::spawn(move || ev.set()); // takes it out of its ready queue, then blocks resuming it
        while !SLOW_ENTERED.load(SeqCst) {
            thread::yield_now();
        }
        drop(v); // its node is `RESUMING` on the other thread: abort
        unreachable!("destroying the victim should have aborted");
    }
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "destroying_a_waiter_while_another_thread_is_resuming_it_aborts"])
        .args(["--nocapture", "--test-threads=1"])
        .env(ABORT_CHILD, "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    {
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(out.status.signal(), Some(6), "SIGABRT expected; stderr: {stderr}");
    }
    assert!(stderr.contains("destroyed while another thread was resuming it"), "{stderr}");
}

// ===========================================================================
// Releases from thread-local destructors
// ===========================================================================

static TLS_MUTEX: Mutex<u32> = Mutex::new(0);

thread_local! {
    static HELD: RefCell<Option<coro::sync::MutexGuard<'static, u32>>> = const { RefCell::new(None) };
}

#[coro::coroutine]
fn tls_locker() -> SendJob<()> {
    *co_await!(TLS_MUTEX.lock()) += 1;
    co_return!(())
}

#[test]
fn a_guard_dropped_by_a_thread_local_destructor_hands_the_lock_to_a_waiter() {
    let (locked_tx, locked_rx) = mpsc::channel();
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let t = thread::spawn(move || {
        HELD.with(|h| *h.borrow_mut() = Some(TLS_MUTEX.try_lock().unwrap()));
        // Use this thread's ready queue after `HELD` registered its
        // destructor: a ready queue with a destructor would be gone first.
        let ev = Arc::new(Event::new());
        let v = victim(ev.clone());
        v.resume();
        ev.set();
        assert!(v.done());
        locked_tx.send(()).unwrap();
        go_rx.recv().unwrap();
        // Exiting drops `HELD`: the unlock resumes the waiter here.
    });
    locked_rx.recv().unwrap();
    let waiter = tls_locker();
    waiter.resume();
    assert!(!waiter.done());
    go_tx.send(()).unwrap();
    t.join().unwrap();
    assert!(waiter.done());
    assert_eq!(*TLS_MUTEX.try_lock().unwrap(), 1);
}

// ---------------------------------------------------------------------------
// A wrapping awaiter that does not forward `await_resume`
// ---------------------------------------------------------------------------

/// Forwards everything but `await_resume`: the inner awaiter is dropped
/// after its coroutine was resumed, without taking what it was granted.
struct NoForward<A>(A);

impl<A: Awaiter> Awaiter for NoForward<A> {
    type Output = ();
    fn await_ready(&mut self) -> bool {
        self.0.await_ready()
    }
    unsafe fn await_suspend(&mut self, h: CoroutineHandle) -> impl AwaitSuspend {
        // SAFETY: forwarded contract: the inner awaiter lives in this one.
        unsafe { self.0.await_suspend(h) }
    }
    fn await_resume(self) {}
}

#[coro::coroutine]
fn locks_without_taking(m: Arc<Mutex<u32>>, log: Log) -> Task<()> {
    log.push("waiting");
    co_await!(NoForward(m.lock()));
    co_return!(())
}

#[test]
fn a_lock_granted_home_to_an_awaiter_that_never_takes_it_is_handed_on() {
    // The lock is released on another thread, so a thread-bound waiter's
    // grant travels home (`HOME`); its wrapper then drops the awaiter
    // without `await_resume`: the lock must not stay taken by nobody.
    let log = Log::new();
    let m = Arc::new(Mutex::new(0));
    let guard = m.try_lock().unwrap();
    let mut task = Driven::start(locks_without_taking(m.clone(), log.clone()));
    assert_eq!(task.poll(), None, "waits for the lock");
    thread::scope(|s| {
        s.spawn(move || drop(guard)); // granted on another thread: sent home
    });
    assert!(m.is_locked(), "granted to the waiting task");
    assert_eq!(task.poll(), Some(()), "resumed at home, finished");
    assert!(!m.is_locked(), "the grant was lost: the mutex stays locked");
}
