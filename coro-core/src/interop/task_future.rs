//! Interop with Rust `async`: a [`Task`] or [`SendTask`] can be `.await`ed
//! from async Rust (`IntoFuture`), so coro code can be used by async
//! libraries and executors.
//!
//! The first poll starts the task on the polling thread (a task is lazy)
//! with a small heap-allocated stand-in frame as its continuation: when the
//! task reaches its final suspend point it transfers to the stand-in, which
//! wakes the last waker the future was polled with. A task that finishes
//! synchronously is ready on that first poll. Dropping the future before the
//! task finishes destroys the task, as dropping the task would.
//!
//! A `Task` polled as a future also runs this thread's queue of coroutines
//! woken from other threads ([`resume_woken`](crate::resume_woken)), and
//! asks for its waker to be woken when that queue gets work, so a `Task`
//! that `co_await!`s a future completed on another thread makes progress
//! under any executor. The other direction, `co_await!` of a future, is
//! [`FutureAwaiter`](crate::awaiter::FutureAwaiter).

use core::fmt;
use core::future::{Future, IntoFuture};
use core::mem::ManuallyDrop;
use core::pin::Pin;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicBool, Ordering};
use core::task::{Context, Poll, Waker};
use std::any::Any;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex};

use crate::home::{DriverScope, WakeQueue};
use crate::language::frame::{counted_handle, give_back_count, no_destroy, take_counted, Header, VTable};
use crate::library::task::{Local, Owned, SendTask, Sendable, Task, TaskKind};

/// The future of a task awaited from async Rust (`task.await`).
///
/// ```
/// use coro::{co_await, co_return, SendTask, Task};
///
/// #[coro::coroutine]
/// fn double(x: u32) -> Task<u32> { co_return!(2 * x) }
///
/// #[coro::coroutine]
/// fn sum() -> Task<u32> {
///     let a = co_await!(double(1));
///     let b = co_await!(double(20));
///     co_return!(a + b)
/// }
///
/// // Any executor will do; this one polls with a no-op waker.
/// let mut fut = std::pin::pin!(async { sum().await + 1 });
/// let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
/// use std::future::Future;
/// assert_eq!(fut.as_mut().poll(&mut cx), std::task::Poll::Ready(43));
/// ```
pub struct TaskFuture<T, K: TaskKind> {
    /// Given up in `drop` before the queue is closed.
    task: ManuallyDrop<Owned<T, K>>,
    /// The task's continuation once it has been started.
    waiter: Option<Arc<FutureWaiter>>,
    /// A `SendTask`'s own wake-up queue: where its coroutines go when a
    /// future they await wakes them, drained by the next poll on whatever
    /// thread the executor polls it (a `Task` uses its thread's queue).
    queue: Option<Arc<WakeQueue>>,
    /// A panic that escaped a wake-up this future ran for another coroutine
    /// (a detached task's) before its own task was done: rethrown by the
    /// poll that finds the task done, not earlier (an executor drops a future
    /// whose poll panicked, which would destroy the task while another
    /// thread may be running it).
    deferred: Option<Box<dyn Any + Send>>,
}

// SAFETY: a `SendTask`'s frame is `Send` (checked when its coroutine was
// defined) and `T: Send`; the stand-in frame is `Send + Sync` (atomics and a
// mutex); the future owns the task as `SendTask` did.
unsafe impl<T: Send> Send for TaskFuture<T, Sendable> {}

impl<T, K: TaskKind> Unpin for TaskFuture<T, K> {}

impl<T, K: TaskKind> fmt::Debug for TaskFuture<T, K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskFuture").field("started", &self.waiter.is_some()).finish()
    }
}

impl<T> IntoFuture for Task<T> {
    type Output = T;
    type IntoFuture = TaskFuture<T, Local>;
    fn into_future(self) -> TaskFuture<T, Local> {
        TaskFuture { task: ManuallyDrop::new(self.into_owned()), waiter: None, queue: None, deferred: None }
    }
}

impl<T> IntoFuture for SendTask<T> {
    type Output = T;
    type IntoFuture = TaskFuture<T, Sendable>;
    fn into_future(self) -> TaskFuture<T, Sendable> {
        TaskFuture { task: ManuallyDrop::new(self.into_owned()), waiter: None, queue: None, deferred: None }
    }
}

/// A stand-in frame: the task's continuation, which wakes the future.
#[repr(C)]
struct FutureWaiter {
    header: Header,
    done: AtomicBool,
    waker: Mutex<Option<Waker>>,
    /// Set under `waker`'s lock when the task transfers here, before the
    /// waker is taken: a poll that then finds `done` still unset knows the
    /// waker it would store could be missed, and wakes itself instead.
    finishing: AtomicBool,
}

static FUTURE_WAITER_VTABLE: VTable = VTable::stand_in(future_waiter_resume, no_destroy);

unsafe fn future_waiter_resume(h: NonNull<Header>) -> Option<NonNull<Header>> {
    // SAFETY: only `TaskFuture` builds frames with this vtable, from the
    // `Arc`'s own pointer, giving the task one strong count, taken back
    // here: the task transfers here once (and its future then does not
    // give it back). So the stand-in outlives a future dropped meanwhile.
    let waiter: Arc<FutureWaiter> = unsafe { take_counted(h) };
    let waker = {
        let mut slot = waiter.waker.lock().unwrap_or_else(|e| e.into_inner());
        waiter.finishing.store(true, Ordering::Relaxed);
        slot.take()
    };
    // The last touch of `waiter`: once `done` is set, the future may return
    // `Ready` and free it.
    waiter.done.store(true, Ordering::Release);
    if let Some(w) = waker {
        w.wake();
    }
    None
}

impl<T, K: TaskKind> TaskFuture<T, K> {
    /// The key this future's waker is registered under with the thread's
    /// wake-up queue (`Task`s only): its stand-in's address.
    fn driver_key(&self) -> Option<usize> {
        self.waiter.as_ref().map(|w| Arc::as_ptr(w) as usize)
    }

    /// Withdraws this future's waker from the queue it drives: from its
    /// thread's (a `Task`'s future is dropped on the thread that polled it:
    /// it is not `Send`), or by closing its own (a `SendTask`'s: what is
    /// still queued there belongs to the task being destroyed).
    ///
    /// What is still queued on its own queue then belongs to coroutines
    /// other than its task's (the task is finished or destroyed, so its own
    /// wake-ups are detached): `Send` coroutines that a release elsewhere
    /// resumed under this future. They are run here, not dropped: nothing
    /// else would ever resume them.
    fn withdraw(&mut self) {
        match &self.queue {
            Some(own) => {
                // Each one runs even if an earlier one panics (a detached
                // task's panic escaping its resume); the first panic is kept
                // in `deferred` for the caller.
                for wakeup in own.close_and_take() {
                    if let Err(p) = catch_unwind(AssertUnwindSafe(|| wakeup.run())) {
                        self.deferred.get_or_insert(p);
                    }
                }
            }
            None => {
                if let Some(key) = self.driver_key() {
                    crate::home::forget_driver(key);
                }
            }
        }
    }

    fn take_result(&mut self) -> T {
        self.task.take_outcome().unwrap_or_else(|p| resume_unwind(p))
    }

    /// The task was started and will never transfer to its stand-in: takes
    /// back the strong count it owned.
    fn give_back_stand_in(&self) {
        if let Some(waiter) = &self.waiter {
            // SAFETY: the started task owned one strong count of the
            // stand-in, which it will never take back now.
            unsafe { give_back_count(waiter) };
        }
    }
}

/// Withdraws a dropped future's waker from its queue ([`TaskFuture::withdraw`])
/// when dropped: also when giving its task up unwinds.
struct WithdrawOnDrop<'a, T, K: TaskKind>(&'a mut TaskFuture<T, K>);

impl<T, K: TaskKind> Drop for WithdrawOnDrop<'_, T, K> {
    fn drop(&mut self) {
        self.0.withdraw();
    }
}

impl<T, K: TaskKind> Future for TaskFuture<T, K> {
    type Output = T;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        let this = self.get_mut();
        // The queue this future drives: coroutines it runs that suspend on a
        // Rust future are queued there when that future wakes them.
        // (A `Task`'s is its thread's queue, made only when needed.)
        let queue = (!K::THREAD_BOUND).then(|| this.queue.get_or_insert_with(WakeQueue::for_driver).clone());
        let _driver = match &queue {
            Some(own) => DriverScope::enter(own.clone()),
            None => DriverScope::this_thread(),
        };
        match &this.waiter {
            None => {
                if this.task.is_ready() {
                    return Poll::Ready(this.take_result());
                }
                let waiter = Arc::new(FutureWaiter {
                    header: Header::stand_in(&FUTURE_WAITER_VTABLE),
                    done: AtomicBool::new(false),
                    waker: Mutex::new(Some(cx.waker().clone())),
                    finishing: AtomicBool::new(false),
                });
                let h = this.task.handle();
                // The task owns one strong count of the stand-in, taken back
                // when it transfers there (or by `drop` if it never will).
                this.task.set_continuation(counted_handle(&waiter));
                this.waiter = Some(waiter);
                // SAFETY: the task is owned here and suspended at its
                // initial point.
                unsafe { h.resume() };
            }
            Some(waiter) => {
                // The task (or a coroutine it awaits) may have been woken by a
                // future and queued here.
                let drained = catch_unwind(AssertUnwindSafe(|| match &queue {
                    Some(own) => own.drain(),
                    None => crate::home::resume_woken(),
                }));
                if let Err(p) = drained {
                    this.deferred.get_or_insert(p);
                    // The rest of the batch was requeued: poll again soon.
                    cx.waker().wake_by_ref();
                }
                let mut slot = waiter.waker.lock().unwrap_or_else(|e| e.into_inner());
                let finishing = waiter.finishing.load(Ordering::Relaxed);
                if !finishing {
                    match &mut *slot {
                        Some(w) if w.will_wake(cx.waker()) => {}
                        slot => *slot = Some(cx.waker().clone()),
                    }
                }
                drop(slot);
                if finishing && !waiter.done.load(Ordering::Acquire) {
                    // The task has finished and taken the waker stored
                    // before (maybe a stale one) but not yet set `done`: a
                    // waker stored now would never be woken, so ask to be
                    // polled again at once (outside the lock).
                    cx.waker().wake_by_ref();
                }
            }
        }
        let done = this.waiter.as_ref().is_some_and(|w| w.done.load(Ordering::Acquire));
        if done {
            this.withdraw();
            if let Some(p) = this.deferred.take() {
                resume_unwind(p);
            }
            Poll::Ready(this.take_result())
        } else {
            if let Some(key) = this.driver_key() {
                match &queue {
                    Some(own) => own.register_waker(key, cx.waker()),
                    None => crate::home::register_driver(key, cx.waker()),
                }
            }
            Poll::Pending
        }
    }
}

impl<T, K: TaskKind> Drop for TaskFuture<T, K> {
    fn drop(&mut self) {
        // The task first: its coroutines' pending wake-ups are detached by
        // their awaiters' drops, so `withdraw` runs only other coroutines'.
        // A `SendTask` still running elsewhere is detached instead.
        // SAFETY: taken once, here, and not used afterwards.
        let task = unsafe { ManuallyDrop::take(&mut self.task) };
        // The queue is withdrawn even if destroying the task panics (a
        // local's drop), and the stand-in's count given back first.
        let this = WithdrawOnDrop(self);
        let gives_back = if K::THREAD_BOUND {
            // Destroyed here; unfinished, it will never transfer to the
            // stand-in. Counted before the destruction, which runs drops.
            let unfinished = !task.is_ready();
            if unfinished {
                this.0.give_back_stand_in();
            }
            drop(task);
            false
        } else {
            // Detached, no user code runs; destroyed (unstarted, or
            // finished), it owes no count: unstarted, it was given none;
            // finished, it has transferred to the stand-in.
            task.release()
        };
        if gives_back {
            this.0.give_back_stand_in();
        }
        drop(this);
        // Not rethrown during an unwind (that would abort).
        if let Some(p) = self.deferred.take() {
            if !std::thread::panicking() {
                resume_unwind(p);
            }
        }
    }
}
