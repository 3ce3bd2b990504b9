//! `InlineGenerator<T>`: the frame in the caller. The same body, written
//! once and compiled both as a heap `Generator<T>` and as an
//! `InlineGenerator<T>` (on the stack, and boxed), leaves the same event
//! trace: parameters, locals, yields, drops on completion, on an early drop,
//! before the first resume, and after a panic.

mod common;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::pin;

use common::{panic_message, Counted, Log};
use coro::generator::InlineGenerator;
use coro::{co_return, co_yield, Generator};

/// The body under test, as a heap and as an inline generator: two
/// parameters with drop glue, a local that lives across every yield, a
/// local per iteration, and an optional panic.
macro_rules! traced {
    ($name:ident -> $ret:ty) => {
        #[coro::coroutine]
        fn $name(log: Log, first: Counted, second: Counted, panic_at: Option<u32>) -> $ret {
            let _whole = log.counted("local whole");
            log.push(format!("started with {} and {}", first.name(), second.name()));
            for i in 0..3 {
                let _each = log.counted(format!("local {i}"));
                if panic_at == Some(i) {
                    panic!("boom at {i}");
                }
                log.push(format!("yield {i}"));
                co_yield!(i);
                log.push(format!("resumed after {i}"));
            }
            log.push("end of body");
        }
    };
}

traced!(heap -> Generator<u32>);
traced!(inline -> InlineGenerator<u32>);

/// How the consumer drives the generator.
#[derive(Clone, Copy)]
enum Consumer {
    /// Never asks for an element.
    Never,
    /// Takes `n` elements (or all there are), then drops the generator.
    Take(usize),
}

/// Drives `it` as `how` says, logging what it sees; a panic from `next` is
/// caught, logged, and followed by one more `next`.
fn drive(log: &Log, mut it: impl Iterator<Item = u32>, how: Consumer) {
    let Consumer::Take(n) = how else { return };
    for _ in 0..n {
        match catch_unwind(AssertUnwindSafe(|| it.next())) {
            Ok(Some(v)) => log.push(format!("consumer got {v}")),
            Ok(None) => {
                log.push("consumer got None");
                break;
            }
            Err(p) => {
                log.push(format!("consumer caught: {}", panic_message(&*p)));
                log.push(format!("then next() is {:?}", it.next()));
                break;
            }
        }
    }
}

/// Where the frame lives.
#[derive(Clone, Copy, Debug)]
enum Frame {
    Heap,
    InlineOnStack,
    InlineBoxed,
}

fn trace(frame: Frame, how: Consumer, panic_at: Option<u32>) -> Vec<String> {
    let log = Log::new();
    let (a, b) = (log.counted("param first"), log.counted("param second"));
    log.push("call");
    match frame {
        Frame::Heap => drive(&log, heap(log.clone(), a, b, panic_at), how),
        Frame::InlineOnStack => {
            let g = pin!(inline(log.clone(), a, b, panic_at));
            log.push("pinned");
            drive(&log, g, how);
        }
        Frame::InlineBoxed => drive(&log, Box::pin(inline(log.clone(), a, b, panic_at)), how),
    }
    log.push("generator gone");
    log.assert_each_dropped_once();
    log.events().into_iter().filter(|e| e != "pinned").collect()
}

fn same_trace_in_every_frame(how: Consumer, panic_at: Option<u32>) -> Vec<String> {
    let heap = trace(Frame::Heap, how, panic_at);
    for frame in [Frame::InlineOnStack, Frame::InlineBoxed] {
        assert_eq!(trace(frame, how, panic_at), heap, "{frame:?}");
    }
    heap
}

#[test]
fn an_inline_generator_run_to_completion_leaves_the_heap_generators_trace() {
    let t = same_trace_in_every_frame(Consumer::Take(10), None);
    assert_eq!(t.first().map(String::as_str), Some("call"));
    assert!(t.contains(&"consumer got 2".to_string()), "{t:?}");
    let end = t.iter().position(|e| e == "end of body").unwrap();
    // Parameters are locals of the body (declared first, so dropped last, in
    // reverse order), then the generator reports its end.
    assert_eq!(
        t[end + 1..],
        ["drop local whole", "drop param second", "drop param first", "consumer got None", "generator gone"]
    );
}

#[test]
fn dropping_an_inline_generator_early_drops_its_live_locals_then_its_parameters_as_the_heap_frame_does() {
    let t = same_trace_in_every_frame(Consumer::Take(2), None);
    let got = t.iter().position(|e| e == "consumer got 1").unwrap();
    assert_eq!(
        t[got + 1..],
        ["drop local 1", "drop local whole", "drop param second", "drop param first", "generator gone"]
    );
}

#[test]
fn an_inline_generator_never_resumed_runs_no_body_and_drops_its_parameters_as_the_heap_frame_does() {
    let t = same_trace_in_every_frame(Consumer::Never, None);
    assert_eq!(t, ["call", "drop param first", "drop param second", "generator gone"]);
}

#[test]
fn a_panic_in_an_inline_generator_reaches_next_once_and_then_it_is_done_as_the_heap_generator_is() {
    let t = same_trace_in_every_frame(Consumer::Take(10), Some(1));
    let caught = t.iter().position(|e| e == "consumer caught: boom at 1").unwrap();
    // The body's locals and parameters are dropped while the panic unwinds
    // out of it, before the consumer catches it.
    assert_eq!(t[caught - 4..caught], ["drop local 1", "drop local whole", "drop param second", "drop param first"]);
    assert_eq!(t[caught + 1], "then next() is None");
}

#[test]
fn a_panic_at_the_first_resume_is_the_same_in_both_frames() {
    same_trace_in_every_frame(Consumer::Take(10), Some(0));
}

#[test]
fn done_is_false_until_the_body_has_finished() {
    #[coro::coroutine]
    fn one() -> InlineGenerator<u8> {
        co_yield!(7);
    }
    let mut g = pin!(one());
    assert!(!g.done());
    assert_eq!(g.next(), Some(7));
    assert!(!g.done());
    assert_eq!(g.next(), None);
    assert!(g.done());
    assert_eq!(g.next(), None, "fused");
}

#[test]
fn co_return_ends_an_inline_generator_early() {
    #[coro::coroutine]
    fn until(limit: u32) -> InlineGenerator<u32> {
        let mut i = 0;
        loop {
            if i == limit {
                co_return!();
            }
            co_yield!(i);
            i += 1;
        }
    }
    assert_eq!(pin!(until(4)).collect::<Vec<_>>(), [0, 1, 2, 3]);
}

#[test]
fn an_inline_generator_may_borrow_its_parameters_and_yield_borrows_of_them() {
    #[coro::coroutine]
    fn words<'a>(text: &'a str) -> InlineGenerator<&'a str, &'a str> {
        for w in text.split(' ') {
            co_yield!(w);
        }
    }
    let text = String::from("to be or not");
    let found: Vec<&str> = pin!(words(&text)).collect();
    assert_eq!(found, ["to", "be", "or", "not"]);
}

#[test]
fn an_inline_generator_may_be_generic_and_a_method() {
    struct Bag<T>(Vec<T>);
    impl<T: Clone> Bag<T> {
        #[coro::coroutine]
        fn each<'a>(&'a self) -> InlineGenerator<T, &'a Self> {
            for x in &self.0 {
                co_yield!(x.clone());
            }
        }
    }
    let bag = Bag(vec!['a', 'b']);
    assert_eq!(pin!(bag.each()).collect::<String>(), "ab");
}

#[test]
fn a_boxed_inline_generator_can_be_returned_and_kept() {
    #[coro::coroutine]
    fn squares(n: u64) -> InlineGenerator<u64> {
        for i in 0..n {
            co_yield!(i * i);
        }
    }
    fn kept(n: u64) -> impl Iterator<Item = u64> {
        Box::pin(squares(n))
    }
    let mut held: Vec<Box<dyn Iterator<Item = u64>>> = vec![Box::new(Box::pin(squares(3)))];
    assert_eq!(held.pop().unwrap().collect::<Vec<_>>(), [0, 1, 4]);
    assert_eq!(kept(4).sum::<u64>(), 14);
}

#[test]
fn an_inline_generator_is_send_when_its_frame_is() {
    fn assert_send<T: Send>(_: &T) {}
    #[coro::coroutine]
    fn plain(n: u32) -> InlineGenerator<u32> {
        for i in 0..n {
            co_yield!(i);
        }
    }
    let g = plain(3);
    assert_send(&g);
    let sum = std::thread::spawn(move || pin!(g).sum::<u32>()).join().unwrap();
    assert_eq!(sum, 3);
}

#[test]
fn yielded_values_are_moved_out_never_cloned() {
    #[coro::coroutine]
    fn owned(log: Log) -> InlineGenerator<Counted> {
        co_yield!(log.counted("a"));
        co_yield!(log.counted("b"));
    }
    let log = Log::new();
    {
        let mut g = pin!(owned(log.clone()));
        let a = g.next().unwrap();
        assert_eq!(a.name(), "a");
        assert_eq!(log.created(), 1);
    }
    log.assert_each_dropped_once();
    assert_eq!(log.created(), 1, "b was never made: the generator was dropped first");
}

#[test]
fn an_inline_generator_may_iterate_another_inline_generator_and_a_heap_one_inside_its_body() {
    #[coro::coroutine]
    fn inner(n: u32) -> InlineGenerator<u32> {
        for i in 0..n {
            co_yield!(i);
        }
    }
    #[coro::coroutine]
    fn heap_inner(n: u32) -> Generator<u32> {
        for i in 0..n {
            co_yield!(i * 10);
        }
    }
    #[coro::coroutine]
    fn outer(n: u32) -> InlineGenerator<u32> {
        for x in pin!(inner(n)) {
            co_yield!(x);
        }
        for x in heap_inner(n) {
            co_yield!(x);
        }
    }
    assert_eq!(pin!(outer(3)).collect::<Vec<_>>(), [0, 1, 2, 0, 10, 20]);
}
