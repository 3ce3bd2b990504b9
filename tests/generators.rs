//! `RecursiveGenerator` and `AsyncGenerator`: nesting at O(1) per element,
//! awaiting inside a generator, panics, and drop accounting on every path.

mod common;

use std::cell::RefCell;
use std::rc::Rc;

use coro::sync::local::Event;
use coro::{co_await, co_return, co_yield, elements_of, sync_wait, AsyncGenerator, RecursiveGenerator, Task};

use common::{expect_panic, on_small_stack, Counted, Job, Log, PLANNED};

// ---------------------------------------------------------------------------
// RecursiveGenerator
// ---------------------------------------------------------------------------

/// Yields `n, n-1, .., 0`, each level nesting the next: a chain `n` deep.
#[coro::coroutine]
fn chain(n: u32) -> RecursiveGenerator<u32> {
    co_yield!(n);
    if n > 0 {
        co_yield!(elements_of(chain(n - 1)));
    }
}

/// A linked list, walked recursively.
struct Node {
    value: u32,
    next: Option<Box<Node>>,
}

fn linked(n: u32) -> Node {
    let mut head: Option<Box<Node>> = None;
    for v in (0..n).rev() {
        head = Some(Box::new(Node { value: v, next: head }));
    }
    *head.expect("n > 0")
}

#[coro::coroutine]
fn walk<'a>(node: &'a Node) -> RecursiveGenerator<u32, &'a Node> {
    co_yield!(node.value);
    if let Some(next) = &node.next {
        co_yield!(elements_of(walk(next)));
    }
}

/// Drops the chain iteratively (a recursive `Box` drop 10,000 deep would
/// itself overflow the small stack).
fn drop_linked(mut head: Node) {
    let mut next = head.next.take();
    while let Some(mut n) = next {
        next = n.next.take();
    }
}

#[test]
fn a_recursive_walk_of_a_tree_10000_deep_runs_in_constant_stack_and_constant_resumes_per_element() {
    on_small_stack(|| {
        let tree = linked(10_000);
        let mut g = walk(&tree);
        let mut expected = 0;
        for v in g.by_ref() {
            assert_eq!(v, expected);
            expected += 1;
        }
        assert_eq!(expected, 10_000);
        // One resume per next() and one transfer into and out of each
        // nested generator: bounded per element, independent of depth.
        assert!(g.resumes() <= 3 * 10_000 + 1, "resumes: {}", g.resumes());
        drop(g);
        drop_linked(tree);
    });
}

#[test]
fn resumes_per_element_do_not_grow_with_depth() {
    for depth in [10u32, 100, 1000] {
        let mut g = chain(depth);
        let n = g.by_ref().count() as u64;
        assert_eq!(n, u64::from(depth) + 1);
        assert!(g.resumes() <= 3 * n + 1, "depth {depth}: {} resumes for {n} elements", g.resumes());
    }
}

#[test]
fn dropping_a_half_consumed_generator_10000_deep_runs_in_constant_stack() {
    on_small_stack(|| {
        let mut g = chain(10_000);
        assert_eq!(g.by_ref().take(9_000).count(), 9_000);
        drop(g);
    });
}

#[test]
fn a_tree_is_walked_in_order() {
    enum Tree {
        Leaf(u32),
        Node(Vec<Tree>),
    }
    #[coro::coroutine]
    fn leaves<'a>(t: &'a Tree) -> RecursiveGenerator<u32, &'a Tree> {
        match t {
            Tree::Leaf(v) => co_yield!(*v),
            Tree::Node(children) => {
                for c in children {
                    co_yield!(elements_of(leaves(c)));
                }
            }
        }
    }
    use Tree::{Leaf, Node};
    let t = Node(vec![Leaf(1), Node(vec![]), Node(vec![Leaf(2), Node(vec![Leaf(3)])]), Leaf(4)]);
    assert_eq!(leaves(&t).collect::<Vec<_>>(), [1, 2, 3, 4]);
}

#[test]
fn a_finished_nested_generator_yields_nothing_and_a_half_consumed_one_yields_the_rest() {
    #[coro::coroutine]
    fn outer(mut a: RecursiveGenerator<u32>, b: RecursiveGenerator<u32>) -> RecursiveGenerator<u32> {
        co_yield!(100);
        a.by_ref().for_each(drop);
        co_yield!(elements_of(a));
        co_yield!(elements_of(b));
        co_yield!(200);
    }
    let a = chain(3);
    let mut b = chain(5);
    assert_eq!(b.next(), Some(5));
    assert_eq!(b.next(), Some(4)); // b's own leaf is now two levels down
    assert_eq!(outer(a, b).collect::<Vec<_>>(), [100, 3, 2, 1, 0, 200]);
}

/// Yields counted values `name.n`, .., nesting one level per step.
#[coro::coroutine]
fn counted_chain(log: Log, depth: u32, panic_at: Option<u32>) -> RecursiveGenerator<Counted> {
    let _frame = log.counted(format!("frame{depth}"));
    co_yield!(log.counted(format!("v{depth}")));
    if panic_at == Some(depth) {
        panic!("{PLANNED} at depth {depth}");
    }
    if depth > 0 {
        co_yield!(elements_of(counted_chain(log.clone(), depth - 1, panic_at)));
    }
    co_yield!(log.counted(format!("w{depth}")));
}

#[test]
fn every_frame_and_value_is_dropped_once_when_a_recursive_generator_completes() {
    let log = Log::new();
    let values: Vec<String> = counted_chain(log.clone(), 5, None).map(|c| c.name().to_owned()).collect();
    assert_eq!(values, ["v5", "v4", "v3", "v2", "v1", "v0", "w0", "w1", "w2", "w3", "w4", "w5"]);
    assert_eq!(log.created(), 18);
    log.assert_each_dropped_once();
}

#[test]
fn a_panic_in_a_nested_generator_reaches_next_and_every_frame_is_dropped_once() {
    for depth in [0u32, 1, 3, 5] {
        let log = Log::new();
        let mut g = counted_chain(log.clone(), 5, Some(depth));
        for _ in 0..(6 - depth) {
            assert!(g.next().is_some());
        }
        let msg = expect_panic(|| g.next());
        assert!(msg.contains(&format!("at depth {depth}")), "{msg}");
        // Frames of the nested generators are gone already; the root is done.
        assert!(g.done());
        assert!(g.next().is_none());
        drop(g);
        log.assert_each_dropped_once();
    }
}

#[test]
fn dropping_a_half_consumed_recursive_generator_drops_every_frame_once_innermost_first() {
    for taken in [0usize, 1, 3, 6, 8, 12] {
        let log = Log::new();
        let mut g = counted_chain(log.clone(), 5, None);
        for _ in 0..taken {
            assert!(g.next().is_some());
        }
        log.take();
        drop(g);
        log.assert_each_dropped_once();
        // The frames still alive go innermost (lowest depth) first.
        let frames: Vec<String> = log.drop_order().into_iter().filter(|n| n.starts_with("frame")).collect();
        let mut sorted = frames.clone();
        sorted.sort();
        assert_eq!(frames, sorted, "after {taken} elements");
    }
}

#[test]
fn a_recursive_generator_may_borrow_its_arguments() {
    #[coro::coroutine]
    fn words<'a>(s: &'a str) -> RecursiveGenerator<&'a str, &'a str> {
        if let Some((first, rest)) = s.split_once(' ') {
            co_yield!(first);
            co_yield!(elements_of(words(rest)));
        } else {
            co_yield!(s);
        }
    }
    let text = String::from("a recursive borrowing generator");
    assert_eq!(words(&text).collect::<Vec<_>>(), ["a", "recursive", "borrowing", "generator"]);
}

// ---------------------------------------------------------------------------
// AsyncGenerator
// ---------------------------------------------------------------------------

#[coro::coroutine]
fn double(x: u32) -> Task<u32> {
    co_return!(2 * x)
}

#[coro::coroutine]
fn doubles(n: u32) -> AsyncGenerator<u32> {
    for i in 0..n {
        let d = co_await!(double(i));
        co_yield!(d);
    }
}

#[coro::coroutine]
fn collect_all(mut g: AsyncGenerator<u32>) -> Task<Vec<u32>> {
    let mut out = Vec::new();
    while let Some(x) = co_await!(g.next()) {
        out.push(x);
    }
    // Awaiting a finished generator again gives None.
    assert!(co_await!(g.next()).is_none());
    co_return!(out)
}

#[test]
fn an_async_generator_awaits_tasks_and_the_consumer_awaits_each_element() {
    assert_eq!(sync_wait(collect_all(doubles(5))), [0, 2, 4, 6, 8]);
}

#[test]
fn an_async_generator_that_yields_nothing_gives_none_at_once() {
    assert_eq!(sync_wait(collect_all(doubles(0))), Vec::<u32>::new());
}

#[test]
fn an_async_generator_suspended_on_an_event_resumes_the_consumer_when_it_yields() {
    #[coro::coroutine]
    fn gated(ev: Rc<Event>) -> AsyncGenerator<u32> {
        co_yield!(1);
        co_await!(ev.wait());
        co_yield!(2);
    }
    #[coro::coroutine]
    fn consume(ev: Rc<Event>, seen: Rc<RefCell<Vec<u32>>>) -> Job<u32> {
        let mut g = gated(ev);
        while let Some(x) = co_await!(g.next()) {
            seen.borrow_mut().push(x);
        }
        co_return!(99)
    }
    let ev = Rc::new(Event::new());
    let seen = Rc::new(RefCell::new(Vec::new()));
    let job = consume(ev.clone(), seen.clone());
    job.resume();
    // The generator yielded 1, then waits on the event; the consumer waits
    // for the generator.
    assert_eq!(*seen.borrow(), [1]);
    assert!(!job.done());
    ev.set(); // resumes the generator, which yields 2 and transfers to the consumer
    assert_eq!(*seen.borrow(), [1, 2]);
    assert!(job.done());
    assert_eq!(job.into_result(), 99);
}

#[test]
fn a_panic_in_an_async_generator_reaches_the_consumers_co_await() {
    #[coro::coroutine]
    fn boom(log: Log) -> AsyncGenerator<Counted> {
        let _frame = log.counted("frame");
        co_yield!(log.counted("v0"));
        panic!("{PLANNED} in the generator");
    }
    #[coro::coroutine]
    fn consume(log: Log) -> Task<usize> {
        let mut g = boom(log);
        let mut n = 0;
        while co_await!(g.next()).is_some() {
            n += 1;
        }
        co_return!(n)
    }
    let log = Log::new();
    let msg = expect_panic(|| sync_wait(consume(log.clone())));
    assert!(msg.contains("in the generator"), "{msg}");
    log.assert_each_dropped_once();
}

#[test]
fn dropping_a_half_consumed_async_generator_destroys_its_frame_once() {
    #[coro::coroutine]
    fn values(log: Log) -> AsyncGenerator<Counted> {
        let _frame = log.counted("frame");
        for i in 0..5 {
            let held = log.counted(format!("held{i}"));
            co_yield!(log.counted(format!("v{i}")));
            drop(held);
        }
    }
    #[coro::coroutine]
    fn take(log: Log, k: usize) -> Task<Vec<String>> {
        let mut g = values(log);
        let mut out = Vec::new();
        for _ in 0..k {
            match co_await!(g.next()) {
                Some(c) => out.push(c.name().to_owned()),
                None => break,
            }
        }
        co_return!(out)
    }
    for k in [0usize, 1, 3, 5, 7] {
        let log = Log::new();
        let got = sync_wait(take(log.clone(), k));
        assert_eq!(got.len(), k.min(5));
        log.assert_each_dropped_once();
    }
}

#[test]
fn an_async_generator_yields_moved_values_and_may_borrow() {
    #[coro::coroutine]
    fn chars<'a>(s: &'a str) -> AsyncGenerator<char, &'a str> {
        for c in s.chars() {
            co_yield!(c);
        }
    }
    #[coro::coroutine]
    fn collect(s: String) -> Task<String> {
        let mut g = chars(&s);
        let mut out = String::new();
        while let Some(c) = co_await!(g.next()) {
            out.push(c);
        }
        co_return!(out)
    }
    let got = sync_wait(collect(String::from("abc")));
    assert_eq!(got, "abc");
}
