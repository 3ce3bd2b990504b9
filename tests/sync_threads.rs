//! The thread-safe flavour of `coro::sync` across threads: waiting on one
//! thread while another releases (racing with `await_suspend`, thousands of
//! times), mutual exclusion and bounded concurrency under contention, a
//! guard carried to another thread, a bounded MPMC channel delivering every
//! value exactly once, and waiters created and destroyed on many threads at
//! once. Every test is bounded in iterations and in time.

mod common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::mpsc;
use std::sync::{Arc, Barrier};
use std::thread::{self, ThreadId};
use std::time::{Duration, Instant};

use common::{Counted, Job, Log};
use coro::sync::{Channel, Event, Latch, Mutex, Semaphore, SingleConsumerEvent};
use coro::{co_await, co_return, sync_wait, AwaitSuspend, Awaiter, CoroutineHandle, SendTask};

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
        // SAFETY (in the closure): the coroutine is suspended here and
        // handed over whole; nobody else resumes it.
        self.0.run(move || unsafe { h.resume() });
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
fn lock_waiter(m: Arc<Mutex<u64>>, c: Counted) -> Job<()> {
    let mut g = co_await!(m.lock());
    *g += 1;
    drop(c);
    co_return!(())
}

#[coro::coroutine]
fn recv_waiter(ch: Arc<Channel<Counted>>, c: Counted) -> Job<()> {
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
fn relay(mine: Arc<Event>, next: Arc<Event>) -> Job<()> {
    co_await!(mine.wait());
    next.set();
    co_return!(())
}

/// Sets `victim_event` deep in a chain of releases, so that the victim is
/// only queued on this thread; then tells the test thread and blocks.
#[coro::coroutine]
fn release_and_block(go: Arc<Event>, victim_event: Arc<Event>, told: mpsc::Sender<()>) -> Job<()> {
    co_await!(go.wait());
    victim_event.set();
    told.send(()).unwrap();
    thread::sleep(Duration::from_secs(10)); // the process aborts meanwhile
    co_return!(())
}

#[coro::coroutine]
fn victim(ev: Arc<Event>) -> Job<()> {
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
