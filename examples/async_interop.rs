//! coro and Rust async, both ways: coroutines `co_await!` futures (an `async
//! fn`, a channel fed by another thread, work on a `futures` thread pool),
//! and async Rust `.await`s a coroutine `Task`. Asserts its own claims.

use std::cell::RefCell;
use std::rc::Rc;
use std::thread;
use std::time::Duration;

use coro::{co_await, co_return, sync_wait, SendTask, Task};
use futures::channel::{mpsc, oneshot};
use futures::executor::ThreadPool;
use futures::StreamExt;

/// An ordinary `async fn`: coroutines await its future directly.
async fn checksum(data: Vec<u8>) -> u32 {
    data.iter().map(|&b| u32::from(b)).sum()
}

/// A thread-bound task (it keeps an `Rc` across its suspensions) fed by a
/// producer thread through a `futures` channel. Every wake-up comes from the
/// producer's thread; the task still runs only on its own.
#[coro::coroutine]
fn consume(mut rx: mpsc::Receiver<Vec<u8>>, journal: Rc<RefCell<Vec<u32>>>) -> Task<u32> {
    let home = thread::current().id();
    let mut total = 0;
    while let Some(chunk) = co_await!(rx.next()) {
        assert_eq!(thread::current().id(), home, "a Task runs on its own thread");
        let sum = co_await!(checksum(chunk));
        journal.borrow_mut().push(sum);
        total += sum;
    }
    co_return!(total)
}

/// A `SendTask` farming work out to a thread pool and awaiting the answers.
#[coro::coroutine]
fn squares_on_pool(pool: ThreadPool, n: u64) -> SendTask<u64> {
    let mut total = 0;
    for i in 0..n {
        let (tx, rx) = oneshot::channel();
        pool.spawn_ok(async move {
            let _ = tx.send(i * i);
        });
        total += co_await!(rx).expect("the pool answers");
    }
    co_return!(total)
}

fn main() {
    // 1. A Task awaiting a channel fed by another thread.
    let (mut tx, rx) = mpsc::channel::<Vec<u8>>(2);
    let producer = thread::spawn(move || {
        for round in 0..10u8 {
            thread::sleep(Duration::from_micros(100));
            futures::executor::block_on(futures::SinkExt::send(&mut tx, vec![round; 4])).unwrap();
        }
    });
    let journal = Rc::new(RefCell::new(Vec::new()));
    let total = sync_wait(consume(rx, journal.clone()));
    producer.join().unwrap();
    assert_eq!(total, (0..10u32).map(|r| 4 * r).sum::<u32>());
    assert_eq!(journal.borrow().len(), 10);
    println!("consumed 10 chunks from another thread, checksum {total}");

    // 2. A SendTask awaiting work done on a futures thread pool.
    let pool = ThreadPool::builder().pool_size(2).create().unwrap();
    let squares = sync_wait(squares_on_pool(pool.clone(), 100));
    assert_eq!(squares, (0..100u64).map(|i| i * i).sum::<u64>());
    println!("sum of 100 squares computed on the pool: {squares}");

    // 3. The other way round: async Rust awaits coroutine tasks, and the
    //    pool itself runs a SendTask to completion.
    let answer = futures::executor::block_on(async {
        let t = squares_on_pool(pool.clone(), 10).await;
        t + 1
    });
    assert_eq!(answer, 286);
    let (done_tx, done_rx) = oneshot::channel();
    pool.spawn_ok(async move {
        let _ = done_tx.send(squares_on_pool(ThreadPool::new().unwrap(), 4).await);
    });
    assert_eq!(futures::executor::block_on(done_rx).unwrap(), 14);
    println!("async Rust awaited coroutine tasks: {answer}");
}
