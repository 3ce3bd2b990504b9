//! The two generator types beyond `Generator<T>`:
//!
//! - `RecursiveGenerator<T>`: a recursive tree walk with
//!   `co_yield!(elements_of(child))`, 10,000 levels deep, on a 256 KiB stack,
//!   with a bounded number of resumptions per element;
//! - `AsyncGenerator<T>`: a generator that awaits a task and an event between
//!   its yields, consumed with `co_await!(gen.next())`.
//!
//! Run with `cargo run --release --example generators`; every claim is asserted.

use std::cell::RefCell;
use std::rc::Rc;

use coro::sync::local::Event;
use coro::{co_await, co_return, co_yield, elements_of, sync_wait, AsyncGenerator, RecursiveGenerator, Task};

/// A linked chain of nodes: a tree as deep as it is long.
struct Node {
    value: u64,
    next: Option<Box<Node>>,
}

#[coro::coroutine]
fn walk<'a>(node: &'a Node) -> RecursiveGenerator<u64, &'a Node> {
    co_yield!(node.value);
    if let Some(next) = &node.next {
        co_yield!(elements_of(walk(next)));
    }
}

fn recursive_walk() {
    const DEPTH: u64 = 10_000;
    let sum = std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(|| {
            let mut head: Option<Box<Node>> = None;
            for v in (1..=DEPTH).rev() {
                head = Some(Box::new(Node { value: v, next: head }));
            }
            let head = head.expect("non-empty");
            let mut gen = walk(&head);
            let sum: u64 = gen.by_ref().sum();
            let resumes = gen.resumes();
            drop(gen);
            // Unlink iteratively: a recursive Box drop this deep would not fit.
            let mut next = head.next;
            while let Some(mut n) = next {
                next = n.next.take();
            }
            assert!(resumes <= 3 * DEPTH + 1, "{resumes} resumes for {DEPTH} elements");
            println!("recursive walk: {DEPTH} levels deep, {resumes} resumes for {DEPTH} elements");
            sum
        })
        .expect("spawn")
        .join()
        .expect("the walk runs on a 256 KiB stack");
    assert_eq!(sum, DEPTH * (DEPTH + 1) / 2);
}

#[coro::coroutine]
fn scale(x: u32) -> Task<u32> {
    co_return!(x * 100)
}

#[coro::coroutine]
fn readings(ready: Rc<Event>) -> AsyncGenerator<u32> {
    for i in 1..=3 {
        let v = co_await!(scale(i)); // a task, by symmetric transfer
        co_yield!(v);
    }
    co_await!(ready.wait()); // suspends until someone sets the event
    co_yield!(999);
}

#[coro::coroutine]
fn consume(ready: Rc<Event>, seen: Rc<RefCell<Vec<u32>>>) -> Task<usize> {
    let mut gen = readings(ready);
    while let Some(v) = co_await!(gen.next()) {
        seen.borrow_mut().push(v);
    }
    co_return!(seen.borrow().len())
}

fn async_generator() {
    let ready = Rc::new(Event::new());
    let seen = Rc::new(RefCell::new(Vec::new()));
    ready.set(); // already set: the generator's wait does not suspend
    let n = sync_wait(consume(ready, seen.clone()));
    assert_eq!(n, 4);
    assert_eq!(*seen.borrow(), [100, 200, 300, 999]);
    println!("async generator: {:?}", seen.borrow());
}

fn main() {
    recursive_walk();
    async_generator();
}
