// A generator may yield references into data it borrows, with the borrow named in its type.
use coro::{co_yield, AsyncGenerator, Generator, SendGenerator};

#[coro::coroutine]
fn iter<'a>(xs: &'a [u32]) -> Generator<&'a u32, &'a [u32]> {
    for i in 0..xs.len() {
        co_yield!(&xs[i]);
    }
}

#[coro::coroutine]
fn words<'a>(s: &'a str) -> Generator<&'a str> {
    for w in s.split(' ') {
        co_yield!(w);
    }
}

#[coro::coroutine]
fn send_iter<'a>(xs: &'a [u32]) -> SendGenerator<&'a u32, &'a [u32]> {
    for x in xs {
        co_yield!(x);
    }
}

#[coro::coroutine]
fn async_iter<'a>(xs: &'a [u32]) -> AsyncGenerator<&'a u32, &'a [u32]> {
    for x in xs {
        co_yield!(x);
    }
}

#[coro::coroutine]
fn literals() -> Generator<&'static str> {
    let s = String::from("owned");
    co_yield!("static");
    co_yield!(if s.is_empty() { "empty" } else { "full" });
}

#[coro::coroutine]
fn sum_async(xs: Vec<u32>) -> coro::Task<u32> {
    let mut g = async_iter(&xs);
    let mut sum = 0;
    while let Some(x) = coro::co_await!(g.next()) {
        sum += *x;
    }
    coro::co_return!(sum)
}

fn main() {
    let xs = vec![1, 2, 3];
    assert_eq!(iter(&xs).copied().sum::<u32>(), 6);
    assert_eq!(send_iter(&xs).copied().sum::<u32>(), 6);
    let text = String::from("a b");
    assert_eq!(words(&text).collect::<Vec<_>>(), ["a", "b"]);
    assert_eq!(literals().collect::<Vec<_>>(), ["static", "full"]);
    assert_eq!(coro::sync_wait(sum_async(xs)), 6);
}
