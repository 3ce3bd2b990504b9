//! Wake-ups from other threads reach a loop blocked in `poll`.

use std::cell::Cell;
use std::rc::Rc;
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::Duration;

use coro::sync::Mutex;
use coro::{co_await, co_return, sync_wait, Task};
use coro_io::{sleep, EventLoop};

#[coro::coroutine]
fn holder(m: Arc<Mutex<u32>>, locked: mpsc::Sender<()>) -> Task<()> {
    let mut g = co_await!(m.lock());
    locked.send(()).unwrap();
    // Long enough for the other loop to block in poll (nothing else to do).
    thread::sleep(Duration::from_millis(50));
    *g += 1;
    drop(g);
    co_return!(())
}

#[coro::coroutine]
fn waiter(m: Arc<Mutex<u32>>, guard_fired: Rc<Cell<bool>>) -> Task<(u32, thread::ThreadId, bool)> {
    let g = co_await!(m.lock());
    co_return!((*g, thread::current().id(), guard_fired.get()))
}

#[coro::coroutine]
fn safety_net(fired: Rc<Cell<bool>>) -> Task<()> {
    co_await!(sleep(Duration::from_secs(60)));
    fired.set(true);
    co_return!(())
}

#[test]
fn a_task_blocked_on_a_mutex_held_on_another_thread_resumes_on_its_own_loop_when_unlocked() {
    let m = Arc::new(Mutex::new(0));
    let (tx, rx) = mpsc::channel();
    let other = {
        let m = m.clone();
        thread::spawn(move || sync_wait(holder(m, tx)))
    };
    rx.recv().unwrap();
    let rt = EventLoop::new().unwrap();
    // Without the wake-up, the loop would wait for this timer: it must
    // resume the waiter long before.
    let fired = Rc::new(Cell::new(false));
    rt.spawn_local(safety_net(fired.clone())).detach();
    let (value, on, net_fired) = rt.block_on(waiter(m.clone(), fired));
    assert_eq!(value, 1);
    assert_eq!(on, thread::current().id());
    assert!(!net_fired, "resumed by the unlock, not by the loop's next timer");
    other.join().unwrap();
}

#[test]
fn a_future_woken_on_another_thread_resumes_the_task_on_its_loop() {
    #[coro::coroutine]
    fn receive(rx: mpsc::Receiver<u32>) -> Task<u32> {
        // A future completed by a waker on another thread.
        let v = co_await!(ThreadFuture::new(rx));
        co_return!(v + 1)
    }
    let (tx, rx) = mpsc::channel();
    let rt = EventLoop::new().unwrap();
    let sender = thread::spawn(move || {
        thread::sleep(Duration::from_millis(20));
        tx.send(41).unwrap();
    });
    assert_eq!(rt.block_on(receive(rx)), 42);
    sender.join().unwrap();
}

/// A future that a helper thread completes: it waits for a value on a
/// channel, then wakes the waker from that thread.
struct ThreadFuture {
    rx: Option<mpsc::Receiver<u32>>,
    slot: Arc<std::sync::Mutex<(Option<u32>, Option<std::task::Waker>)>>,
}

impl ThreadFuture {
    fn new(rx: mpsc::Receiver<u32>) -> Self {
        ThreadFuture { rx: Some(rx), slot: Arc::default() }
    }
}

impl std::future::Future for ThreadFuture {
    type Output = u32;
    fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<u32> {
        let mut s = self.slot.lock().unwrap();
        if let Some(v) = s.0 {
            return std::task::Poll::Ready(v);
        }
        s.1 = Some(cx.waker().clone());
        drop(s);
        if let Some(rx) = self.rx.take() {
            let slot = self.slot.clone();
            thread::spawn(move || {
                let v = rx.recv().unwrap();
                let mut s = slot.lock().unwrap();
                s.0 = Some(v);
                if let Some(w) = s.1.take() {
                    drop(s);
                    w.wake();
                }
            });
        }
        std::task::Poll::Pending
    }
}
