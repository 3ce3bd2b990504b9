//! A `Task` / `SendTask` awaited from async Rust, driven by a real executor
//! (the `futures` crate).

use std::future::IntoFuture;
use std::sync::Arc;

use coro::{co_await, co_return, SendTask, Task};

#[coro::coroutine]
fn double(x: u32) -> Task<u32> {
    co_return!(2 * x)
}

#[coro::coroutine]
fn sum(n: u32) -> Task<u32> {
    let mut s = 0;
    for i in 0..n {
        s += co_await!(double(i));
    }
    co_return!(s)
}

#[test]
fn a_task_is_awaited_from_async_rust_under_futures_block_on() {
    let v = futures::executor::block_on(async { sum(10).await + 1 });
    assert_eq!(v, 2 * 45 + 1);
}

#[test]
fn several_tasks_are_joined_by_a_futures_combinator() {
    let (a, b) = futures::executor::block_on(futures::future::join(sum(3).into_future(), sum(4).into_future()));
    assert_eq!((a, b), (6, 12));
}

#[coro::coroutine]
fn wait_then_answer(ev: Arc<coro::sync::Event>) -> SendTask<u32> {
    co_await!(ev.wait());
    co_return!(42)
}

#[test]
fn a_send_task_woken_by_another_thread_wakes_the_async_executor() {
    let ev = Arc::new(coro::sync::Event::new());
    let setter = {
        let ev = ev.clone();
        std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(5));
            ev.set();
        })
    };
    let v = futures::executor::block_on(wait_then_answer(ev).into_future());
    setter.join().unwrap();
    assert_eq!(v, 42);
}

#[test]
fn send_tasks_run_on_a_futures_thread_pool() {
    let pool = futures::executor::ThreadPool::builder().pool_size(2).create().unwrap();
    let handles: Vec<_> = (0..8u64)
        .map(|i| {
            #[coro::coroutine]
            fn square(x: u64) -> SendTask<u64> {
                co_return!(x * x)
            }
            let (tx, rx) = futures::channel::oneshot::channel();
            pool.spawn_ok(async move {
                let _ = tx.send(square(i).await);
            });
            rx
        })
        .collect();
    let total: u64 = futures::executor::block_on(async {
        let mut t = 0;
        for h in handles {
            t += h.await.unwrap();
        }
        t
    });
    assert_eq!(total, (0..8u64).map(|i| i * i).sum());
}

#[test]
fn a_panic_in_a_task_reaches_the_awaiting_async_code() {
    #[coro::coroutine]
    fn boom() -> Task<u32> {
        if true {
            std::panic::resume_unwind(Box::new("task failed"));
        }
        co_return!(0)
    }
    let r = std::panic::catch_unwind(|| futures::executor::block_on(async { boom().await }));
    let payload = r.expect_err("the panic crosses the .await");
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"task failed"));
}
