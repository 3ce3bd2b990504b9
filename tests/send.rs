//! The thread-safe library types: `SendGenerator`, `SendSharedTask`,
//! `ThreadPool`, and `sync_wait` of shared tasks. Results, order, panics,
//! and drop accounting (every frame and captured value dropped exactly once)
//! on every path, across threads.

mod common;

use std::marker::PhantomData;
use std::rc::Rc;
use std::thread;

use common::{expect_panic, Counted, Log, PLANNED};
use coro::{co_yield, Generator, SendGenerator};

/// `is_send!(T)` / `is_sync!(T)`: decided at compile time, reported at run
/// time (autoref specialisation), so a wrong answer is a test failure.
struct Probe<T: ?Sized>(PhantomData<T>);
trait ViaSend {
    fn is_send(&self) -> bool {
        true
    }
}
impl<T: Send + ?Sized> ViaSend for Probe<T> {}
trait ViaAnySend {
    fn is_send(&self) -> bool {
        false
    }
}
impl<T: ?Sized> ViaAnySend for &Probe<T> {}
trait ViaSync {
    fn is_sync(&self) -> bool {
        true
    }
}
impl<T: Sync + ?Sized> ViaSync for Probe<T> {}
trait ViaAnySync {
    fn is_sync(&self) -> bool {
        false
    }
}
impl<T: ?Sized> ViaAnySync for &Probe<T> {}
macro_rules! is_send {
    ($t:ty) => {
        (&Probe::<$t>(PhantomData)).is_send()
    };
}
macro_rules! is_sync {
    ($t:ty) => {
        (&Probe::<$t>(PhantomData)).is_sync()
    };
}

// ===========================================================================
// SendGenerator
// ===========================================================================

#[coro::coroutine]
fn counted_range(c: Counted, n: u32) -> SendGenerator<Counted> {
    let log = c.log();
    let _local = log.counted("local");
    for i in 0..n {
        co_yield!(log.counted(format!("item {i}")));
    }
    drop(c);
}

#[test]
fn send_generator_is_send_when_its_items_are_and_generator_never_is() {
    assert!(is_send!(SendGenerator<u32>));
    assert!(is_send!(SendGenerator<char, &'static str>));
    assert!(!is_send!(SendGenerator<Rc<u32>>));
    assert!(!is_send!(Generator<u32>));
    assert!(!is_sync!(SendGenerator<u32>));
    assert!(is_sync!(u32) && is_send!(u32), "the probes themselves");
}

#[test]
fn a_send_generator_made_on_one_thread_is_iterated_on_another_and_frees_everything_once() {
    let log = Log::new();
    let gen = counted_range(log.counted("param"), 5);
    let names = thread::spawn(move || gen.map(|c| c.name().to_string()).collect::<Vec<_>>()).join().unwrap();
    assert_eq!(names, ["item 0", "item 1", "item 2", "item 3", "item 4"]);
    log.assert_each_dropped_once();
}

#[test]
fn a_half_consumed_send_generator_dropped_on_another_thread_drops_its_live_locals_once() {
    let log = Log::new();
    let mut gen = counted_range(log.counted("param"), 5);
    let first = gen.next().unwrap();
    assert_eq!(first.name(), "item 0");
    let second = thread::spawn(move || {
        let second = gen.next().unwrap();
        drop(gen); // suspended at the second co_yield!: drops `_local` and `c`
        second
    })
    .join()
    .unwrap();
    assert_eq!(second.name(), "item 1");
    assert_eq!(log.live(), ["item 0", "item 1"]);
    drop((first, second));
    log.assert_each_dropped_once();
}

#[test]
fn an_unstarted_send_generator_dropped_on_another_thread_drops_its_parameters() {
    let log = Log::new();
    let gen = counted_range(log.counted("param"), 5);
    thread::spawn(move || drop(gen)).join().unwrap();
    assert_eq!(log.created(), 1);
    log.assert_each_dropped_once();
}

#[test]
fn a_panic_in_a_send_generator_reaches_next_on_the_iterating_thread_then_it_is_finished() {
    #[coro::coroutine]
    fn fails(c: Counted) -> SendGenerator<u32> {
        let _c = c;
        co_yield!(1);
        panic!("generator {PLANNED}");
    }
    let log = Log::new();
    let mut gen = fails(log.counted("param"));
    let (msg, after) = thread::spawn(move || {
        assert_eq!(gen.next(), Some(1));
        let msg = expect_panic(|| gen.next());
        let after = (gen.next(), gen.done());
        (msg, after)
    })
    .join()
    .unwrap();
    assert_eq!(msg, format!("generator {PLANNED}"));
    assert_eq!(after, (None, true));
    log.assert_each_dropped_once();
}

#[test]
fn a_borrowing_send_generator_is_iterated_on_a_scoped_thread() {
    #[coro::coroutine]
    fn words<'a>(text: &'a str) -> SendGenerator<&'a str, &'a str> {
        for w in text.split(' ') {
            co_yield!(w);
        }
    }
    let text = String::from("made here used there");
    let gen = words(&text);
    let n = thread::scope(|s| s.spawn(move || gen.count()).join().unwrap());
    assert_eq!(n, 4);
}

#[test]
fn a_send_generator_converts_into_a_generator() {
    let log = Log::new();
    let gen: Generator<Counted> = counted_range(log.counted("param"), 3).into();
    assert_eq!(gen.count(), 3);
    log.assert_each_dropped_once();
}

// ===========================================================================
// sync_wait of a SharedTask
// ===========================================================================

mod shared_sync_wait {
    use super::*;
    use coro::{co_return, sync_wait, SharedTask};

    #[coro::coroutine]
    fn value(c: Counted, v: Rc<Counted>) -> SharedTask<Rc<Counted>> {
        let _c = c;
        co_return!(v)
    }

    #[test]
    fn sync_wait_of_an_unstarted_shared_task_runs_it_and_later_calls_get_a_clone() {
        let log = Log::new();
        let s = value(log.counted("frame"), Rc::new(log.counted("value")));
        let a = sync_wait(&s);
        assert!(s.is_ready());
        assert_eq!(log.live(), ["value"], "the frame is destroyed when the task finishes");
        let b = sync_wait(s.clone());
        assert!(Rc::ptr_eq(&a, &b));
        drop((a, b, s));
        log.assert_each_dropped_once();
    }

    #[test]
    fn sync_wait_of_a_panicking_shared_task_panics_on_every_call() {
        let log = Log::new();
        #[coro::coroutine]
        fn boom(c: Counted) -> SharedTask<u32> {
            let _c = c;
            panic!("shared {PLANNED}");
        }
        let s = boom(log.counted("frame"));
        assert_eq!(expect_panic(|| sync_wait(&s)), format!("shared {PLANNED}"));
        assert_eq!(expect_panic(|| sync_wait(&s)), format!("SharedTask panicked: shared {PLANNED}"));
        drop(s);
        log.assert_each_dropped_once();
    }
}
