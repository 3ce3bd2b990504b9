//! `RwLock` (libcoro's `shared_mutex`): readers share, a writer excludes;
//! a waiting writer holds back new readers, and a write unlock lets in the
//! whole batch of queued readers before the next writer; destroyed waiters
//! leave their queue or hand on what they were granted. Both flavours.

mod common;
mod sync_helpers;

use std::cell::RefCell;
use std::rc::Rc;

use common::{pause, Job, Log};
use coro::sync::rw_lock::RwLock;
use coro::sync::{Flavor, Local, ThreadSafe};
use coro::{co_await, co_return};
use sync_helpers::{deep, for_both_flavours, start};

trait Make: Flavor + Sized {
    fn lock(v: u32) -> RwLock<u32, Self>;
}
impl Make for Local {
    fn lock(v: u32) -> RwLock<u32, Self> {
        RwLock::<u32, Local>::new(v)
    }
}
impl Make for ThreadSafe {
    fn lock(v: u32) -> RwLock<u32, Self> {
        RwLock::<u32, ThreadSafe>::new(v)
    }
}

/// Reads, records, holds the read guard across one `pause()`.
#[coro::coroutine]
fn reader<F: Flavor>(l: Rc<RwLock<u32, F>>, log: Log, name: &'static str) -> Job<()> {
    let _local = log.counted(name);
    let g = co_await!(l.read());
    log.push(format!("{name} reads {}", *g));
    co_await!(pause());
    co_return!(())
}

/// Writes, records, holds the write guard across one `pause()`.
#[coro::coroutine]
fn writer<F: Flavor>(l: Rc<RwLock<u32, F>>, log: Log, name: &'static str) -> Job<()> {
    let _local = log.counted(name);
    let mut g = co_await!(l.write());
    *g += 1;
    log.push(format!("{name} writes {}", *g));
    co_await!(pause());
    co_return!(())
}

fn readers_share_the_lock_and_a_writer_waits_for_them_all<F: Make>() {
    let log = Log::new();
    let l = Rc::new(F::lock(0));
    let r1 = start(reader(l.clone(), log.clone(), "r1"));
    let r2 = start(reader(l.clone(), log.clone(), "r2"));
    let w = start(writer(l.clone(), log.clone(), "w"));
    assert_eq!(log.events(), ["r1 reads 0", "r2 reads 0"]);
    assert!(l.try_write().is_none());
    r1.resume();
    assert_eq!(log.count("w writes 1"), 0, "r2 still reads");
    r2.resume(); // the last reader hands the lock to w
    assert_eq!(log.events()[2..], ["drop r1", "w writes 1", "drop r2"]);
    assert!(l.try_read().is_none());
    w.resume();
    assert_eq!(*l.try_read().unwrap(), 1);
    drop((r1, r2, w));
    log.assert_each_dropped_once();
}

fn a_waiting_writer_holds_back_new_readers<F: Make>() {
    let log = Log::new();
    let l = Rc::new(F::lock(0));
    let r1 = start(reader(l.clone(), log.clone(), "r1"));
    let w = start(writer(l.clone(), log.clone(), "w"));
    let r2 = start(reader(l.clone(), log.clone(), "r2"));
    assert_eq!(log.events(), ["r1 reads 0"], "r2 queues behind the waiting writer");
    assert!(l.try_read().is_none());
    r1.resume();
    assert_eq!(log.events()[1..], ["w writes 1", "drop r1"]);
    w.resume(); // the write unlock lets r2 in
    assert_eq!(log.events()[3..], ["r2 reads 1", "drop w"]);
    r2.resume();
    drop((r1, w, r2));
    log.assert_each_dropped_once();
}

fn a_write_unlock_lets_in_every_queued_reader_before_the_next_writer<F: Make>() {
    let log = Log::new();
    let l = Rc::new(F::lock(0));
    let w1 = start(writer(l.clone(), log.clone(), "w1"));
    let ra = start(reader(l.clone(), log.clone(), "ra"));
    let w2 = start(writer(l.clone(), log.clone(), "w2"));
    let rb = start(reader(l.clone(), log.clone(), "rb"));
    log.take();
    w1.resume(); // the batch: ra and rb, although w2 queued between them
    assert_eq!(log.events(), ["ra reads 1", "rb reads 1", "drop w1"]);
    ra.resume();
    rb.resume(); // the last reader of the batch hands over to w2
    assert_eq!(log.events()[3..], ["drop ra", "w2 writes 2", "drop rb"]);
    w2.resume();
    drop((w1, ra, w2, rb));
    log.assert_each_dropped_once();
}

fn a_queued_writer_destroyed_lets_the_readers_behind_it_in<F: Make>() {
    let log = Log::new();
    let l = Rc::new(F::lock(0));
    let r1 = start(reader(l.clone(), log.clone(), "r1"));
    let w = start(writer(l.clone(), log.clone(), "w"));
    let r2 = start(reader(l.clone(), log.clone(), "r2"));
    assert_eq!(log.count("r2 reads 0"), 0);
    drop(w);
    assert_eq!(log.events()[1..], ["r2 reads 0", "drop w"], "nobody left to wait behind");
    r1.resume();
    r2.resume();
    assert!(l.try_write().is_some());
    drop((r1, r2));
    log.assert_each_dropped_once();
}

fn a_coroutine_destroyed_holding_a_guard_unlocks<F: Make>() {
    let log = Log::new();
    let l = Rc::new(F::lock(0));
    let w = start(writer(l.clone(), log.clone(), "w"));
    let r = start(reader(l.clone(), log.clone(), "r"));
    drop(w); // holding the write guard
    assert_eq!(log.events()[1..], ["r reads 1", "drop w"]);
    drop(r); // holding a read guard
    assert!(l.try_write().is_some());
    log.assert_each_dropped_once();
}

fn a_writer_granted_but_destroyed_before_it_ran_hands_the_lock_on<F: Make>() {
    let log = Log::new();
    let l = Rc::new(F::lock(0));
    let w0 = start(writer(l.clone(), log.clone(), "w0"));
    let victim = Rc::new(RefCell::new(Some(start(writer(l.clone(), log.clone(), "victim")))));
    let next = start(writer(l.clone(), log.clone(), "next"));
    let (v, w0c) = (victim.clone(), Rc::new(RefCell::new(Some(w0))));
    let w0d = w0c.clone();
    deep(vec![
        Box::new(move || w0d.borrow().as_ref().unwrap().resume()), // w0 unlocks: granted to the victim
        Box::new(move || drop(v.borrow_mut().take())),
    ]);
    assert_eq!(log.count("victim writes 2"), 0);
    assert_eq!(log.events().last().map(String::as_str), Some("next writes 2"), "{:?}", log.events());
    next.resume();
    assert!(l.try_write().is_some());
    drop((w0c, next));
    log.assert_each_dropped_once();
}

fn a_reader_granted_but_destroyed_before_it_ran_releases_its_hold<F: Make>() {
    let log = Log::new();
    let l = Rc::new(F::lock(0));
    let w0 = Rc::new(RefCell::new(Some(start(writer(l.clone(), log.clone(), "w0")))));
    let victim = Rc::new(RefCell::new(Some(start(reader(l.clone(), log.clone(), "victim")))));
    let w1 = start(writer(l.clone(), log.clone(), "w1"));
    let (v, w0d) = (victim.clone(), w0.clone());
    deep(vec![
        Box::new(move || w0d.borrow().as_ref().unwrap().resume()), // to the reader batch: the victim
        Box::new(move || drop(v.borrow_mut().take())),
    ]);
    assert_eq!(log.count("victim reads 1"), 0);
    assert_eq!(log.events().last().map(String::as_str), Some("w1 writes 2"), "the victim's hold was released");
    w1.resume();
    drop((w0, w1));
    log.assert_each_dropped_once();
}

fn awaiters_dropped_without_being_awaited_take_nothing<F: Make>() {
    let l = F::lock(0);
    drop(l.read());
    drop(l.write());
    assert!(l.try_write().is_some());
}

for_both_flavours!(
    readers_share_the_lock_and_a_writer_waits_for_them_all,
    a_waiting_writer_holds_back_new_readers,
    a_write_unlock_lets_in_every_queued_reader_before_the_next_writer,
    a_queued_writer_destroyed_lets_the_readers_behind_it_in,
    a_coroutine_destroyed_holding_a_guard_unlocks,
    a_writer_granted_but_destroyed_before_it_ran_hands_the_lock_on,
    a_reader_granted_but_destroyed_before_it_ran_releases_its_hold,
    awaiters_dropped_without_being_awaited_take_nothing,
);

/// Four threads, each 200 times a write (+1) or a read checking that the
/// value never goes backwards; the total is exact.
#[test]
fn readers_and_writers_on_threads_keep_the_value_consistent() {
    use std::sync::atomic::{AtomicU32, Ordering::SeqCst};
    use std::sync::Arc;

    #[coro::coroutine]
    fn work(l: Arc<coro::sync::RwLock<u32>>, seen: Arc<AtomicU32>, id: u32) -> coro::SendTask<()> {
        for i in 0..200u32 {
            if (i + id) % 3 == 0 {
                *co_await!(l.write()) += 1;
            } else {
                let g = co_await!(l.read());
                assert!(*g >= seen.load(SeqCst).min(*g));
                seen.fetch_max(*g, SeqCst);
            }
        }
        co_return!(())
    }

    let l = Arc::new(coro::sync::RwLock::new(0));
    let seen = Arc::new(AtomicU32::new(0));
    let threads: Vec<_> = (0..4)
        .map(|id| {
            let (l, seen) = (l.clone(), seen.clone());
            std::thread::spawn(move || coro::sync_wait(work(l, seen, id)))
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let writes: u32 = (0..4).map(|id| (0..200u32).filter(|i| (i + id) % 3 == 0).count() as u32).sum();
    assert_eq!(*l.try_read().unwrap(), writes);
}
