//! Combinators: `when_all` over a tuple and a `Vec`, `when_all_ready`,
//! `when_any` with cancellation. Asserts its own claims.

use std::rc::Rc;

use coro::cancellation::{CancellationSource, CancellationToken};
use coro::sync::local::Event;
use coro::{co_await, co_return, sync_wait, when_all, when_all_ready, when_any, Task};

#[coro::coroutine]
fn fetch(id: u32) -> Task<String> {
    co_return!(format!("item {id}"))
}

#[coro::coroutine]
fn count(n: u32) -> Task<u32> {
    if n == 0 {
        panic!("count(0)");
    }
    co_return!(n)
}

#[coro::coroutine]
fn slow(e: Rc<Event>, token: CancellationToken) -> Task<&'static str> {
    // Stops as soon as cancellation is requested (or the event is set).
    if !token.is_cancellation_requested() {
        co_await!(token.cancelled());
    }
    let _ = e;
    co_return!("slow")
}

#[coro::coroutine]
fn fast() -> Task<&'static str> {
    co_return!("fast")
}

#[coro::coroutine]
fn program(e: Rc<Event>, source: CancellationSource) -> Task<()> {
    let (name, n) = co_await!(when_all((fetch(1), count(2))));
    assert_eq!((name.as_str(), n), ("item 1", 2));

    let items = co_await!(when_all((1..=3).map(fetch).collect::<Vec<_>>()));
    assert_eq!(items, ["item 1", "item 2", "item 3"]);

    let outcomes = co_await!(when_all_ready(vec![count(1), count(0)]));
    assert!(outcomes[0].is_ok() && outcomes[1].is_err());

    let winner = co_await!(when_any(vec![slow(e, source.token()), fast()]).cancel_on_completion(&source));
    assert_eq!(winner, (1, "fast"));
    assert!(source.is_cancellation_requested());
    co_return!(())
}

fn main() {
    std::panic::set_hook(Box::new(|_| {})); // count(0) panics on purpose
    sync_wait(program(Rc::new(Event::new()), CancellationSource::new()));
    let _ = std::panic::take_hook();
    println!("combinators: ok");
}
