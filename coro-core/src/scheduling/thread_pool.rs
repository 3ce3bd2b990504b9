//! `ThreadPool`: a [`Scheduler`] with N worker threads for `SendTask`s.
//!
//! Invariants:
//! - every posted handle is in the queue until exactly one of: a worker
//!   pops it and resumes it (once), or the pool's drop (or, for handles
//!   posted while the pool was being dropped from one of its own workers,
//!   the shared state's drop) pops it and destroys it (once);
//! - workers stop as soon as `stopping` is set, without popping more: what
//!   is still queued then is destroyed, never resumed;
//! - a panic escaping a resumed coroutine (a detached task's) is caught by
//!   the worker, counted, and does not stop it.

use core::fmt;
use core::sync::atomic::{AtomicUsize, Ordering};
use std::collections::VecDeque;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, Weak};

use crate::home::{DriverScope, WakeTarget, Wakeup};
use std::thread::{self, JoinHandle};

use crate::language::awaiter::{AwaitSuspend, Awaiter};
use crate::language::handle::CoroutineHandle;
use crate::library::task::SendTask;
use crate::scheduling::{cancel_hop, post_hop, spawn_detached, Hop, Scheduler};

/// A fixed set of worker threads resuming the coroutines posted to it, in
/// FIFO order: the multi-threaded [`Scheduler`], for [`SendTask`]s.
///
/// - `co_await!(pool.schedule())` moves the awaiting coroutine onto a
///   worker (it continues there); [`spawn`](Self::spawn) and
///   [`spawn_detached`] start a task there.
/// - Only coroutines whose frame is `Send` belong here: `spawn` takes a
///   `SendTask`, [`spawn_detached`] panics (before anything runs) if given a
///   thread-bound `Task`, and a `Task` (any thread-bound coroutine) that
///   awaits `pool.schedule()` panics at that `co_await!`, on its own
///   thread, before anything is posted.
/// - A panic escaping a coroutine a worker resumed (a detached task's) is
///   caught there and counted ([`panics`](Self::panics)); the default panic
///   hook has reported it; the worker goes on.
/// - Dropping the pool stops the workers (each finishes what it is running),
///   joins them, and **destroys** what is still queued: a detached task that
///   never started is destroyed with its parameters; a coroutine that hopped
///   onto the pool is not resumed (its owner destroys it as usual; a
///   *started* detached task suspended there is leaked, as with
///   [`LocalScheduler`](crate::schedule::LocalScheduler)). Dropped from one of its own
///   workers (the last `Arc` held by a coroutine), it joins the others and
///   that worker exits when its coroutine returns.
///
/// `ThreadPool` is `Send + Sync`: share it with an `Arc` or a reference.
///
/// ```
/// use std::sync::Arc;
/// use coro::{co_await, co_return, sync_wait, when_all, SendTask, ThreadPool};
///
/// #[coro::coroutine]
/// fn on_pool(pool: Arc<ThreadPool>, x: u64) -> SendTask<u64> {
///     co_await!(pool.schedule());                // continues on a worker
///     co_return!(x * x)
/// }
///
/// #[coro::coroutine]
/// fn all(pool: Arc<ThreadPool>) -> SendTask<u64> {
///     let squares = co_await!(when_all((0..100).map(|x| on_pool(pool.clone(), x)).collect::<Vec<_>>()));
///     co_return!(squares.iter().sum())
/// }
///
/// let pool = Arc::new(ThreadPool::new(4));
/// assert_eq!(sync_wait(all(pool)), (0..100u64).map(|x| x * x).sum());
/// ```
pub struct ThreadPool {
    shared: Arc<Shared>,
    workers: Vec<JoinHandle<()>>,
}

struct Shared {
    queue: Mutex<Queue>,
    /// Signalled when a handle is queued or the pool stops.
    available: Condvar,
    panics: AtomicUsize,
}

struct Queue {
    jobs: VecDeque<Job>,
    stopping: bool,
}

/// What a worker runs.
enum Job {
    /// A posted coroutine (`Scheduler::post`).
    Resume(CoroutineHandle),
    /// A coroutine that ran on the pool, woken by a Rust future it awaits.
    Wake(Arc<dyn Wakeup>),
}

/// The pool as the driver of the coroutines its workers run: a future
/// that wakes one of them queues it back on the pool. Weak: a wake-up
/// kept by a future must not keep a dropped pool's state alive.
struct PoolTarget(Weak<Shared>);

impl WakeTarget for PoolTarget {
    fn post(&self, wakeup: Arc<dyn Wakeup>) -> Result<(), Arc<dyn Wakeup>> {
        if let Some(shared) = self.0.upgrade() {
            let mut q = shared.lock();
            if !q.stopping {
                q.jobs.push_back(Job::Wake(wakeup));
                drop(q);
                shared.available.notify_one();
                return Ok(());
            }
        }
        // The pool is stopping or gone: no worker will run it. The waker
        // (a `Send` coroutine's) resumes it itself rather than never.
        Err(wakeup)
    }
}

impl Shared {
    /// The queue. Nothing panics while holding it, except an allocation
    /// failure (which aborts), so poisoning is ignored.
    fn lock(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Destroys every queued handle. Queued wake-ups are run instead: their
    /// coroutines are not the pool's to destroy (their owners wait for
    /// them), and being `Send` they may finish on this thread.
    fn destroy_queued(&self) {
        loop {
            let next = self.lock().jobs.pop_front();
            match next {
                None => return,
                // SAFETY: `post`'s contract: the handle is ours to destroy,
                // once; it was popped, so nobody else will. Destroyed outside
                // the lock: a destroy runs user drops.
                Some(Job::Resume(h)) => unsafe { h.destroy() },
                Some(Job::Wake(w)) => {
                    if catch_unwind(AssertUnwindSafe(|| w.run())).is_err() {
                        self.panics.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }
    }

    fn work(self: &Arc<Self>) {
        // Coroutines resumed here that suspend on a Rust future come back to
        // the pool when it wakes them.
        let _driver = DriverScope::enter(Arc::new(PoolTarget(Arc::downgrade(self))));
        loop {
            let job = {
                let mut q = self.lock();
                loop {
                    if q.stopping {
                        return;
                    }
                    if let Some(job) = q.jobs.pop_front() {
                        break job;
                    }
                    q = self.available.wait(q).unwrap_or_else(|e| e.into_inner());
                }
            };
            let run = || match job {
                // SAFETY: `post`'s contract: the handle is live, suspended and
                // ours to resume, once, on any thread (this pool says so in
                // `resumes_on_posting_thread`).
                Job::Resume(h) => unsafe { h.resume() },
                Job::Wake(w) => w.run(),
            };
            if catch_unwind(AssertUnwindSafe(run)).is_err() {
                self.panics.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        // Handles posted after the pool's own drop drained the queue (by a
        // coroutine still running on the worker that dropped the pool).
        self.destroy_queued();
    }
}

impl ThreadPool {
    /// Starts `threads` worker threads (named `coro-pool-<i>`).
    ///
    /// # Panics
    /// If `threads` is 0, or a thread cannot be spawned.
    ///
    /// ```
    /// let pool = coro::ThreadPool::new(2);
    /// assert_eq!(pool.thread_count(), 2);
    /// ```
    pub fn new(threads: usize) -> ThreadPool {
        assert!(threads > 0, "a ThreadPool needs at least one thread");
        let shared = Arc::new(Shared {
            queue: Mutex::new(Queue { jobs: VecDeque::new(), stopping: false }),
            available: Condvar::new(),
            panics: AtomicUsize::new(0),
        });
        let workers = (0..threads)
            .map(|i| {
                let shared = shared.clone();
                thread::Builder::new()
                    .name(format!("coro-pool-{i}"))
                    .spawn(move || shared.work())
                    .expect("spawn a ThreadPool worker")
            })
            .collect();
        ThreadPool { shared, workers }
    }

    /// The number of worker threads.
    ///
    /// ```
    /// assert_eq!(coro::ThreadPool::new(3).thread_count(), 3);
    /// ```
    pub fn thread_count(&self) -> usize {
        self.workers.len()
    }

    /// How many panics escaped coroutines the workers resumed (each was
    /// caught on its worker, which went on).
    ///
    /// ```
    /// assert_eq!(coro::ThreadPool::new(1).panics(), 0);
    /// ```
    pub fn panics(&self) -> usize {
        self.shared.panics.load(Ordering::Relaxed)
    }

    /// `co_await!(pool.schedule())` suspends the current coroutine and has
    /// a worker resume it (cppcoro's `static_thread_pool::schedule()`). The
    /// awaiter is `Send`, so a `SendTask` may await it; a thread-bound
    /// `Task` must not (see the type's docs). If the coroutine is destroyed
    /// while queued, the worker resumes only a small stand-in.
    ///
    /// ```
    /// use coro::{co_await, co_return, sync_wait, SendTask, ThreadPool};
    ///
    /// #[coro::coroutine]
    /// fn where_am_i(pool: &'static ThreadPool) -> SendTask<String> {
    ///     co_await!(pool.schedule());
    ///     co_return!(std::thread::current().name().unwrap_or("").to_string())
    /// }
    ///
    /// let pool: &'static ThreadPool = Box::leak(Box::new(ThreadPool::new(1)));
    /// assert_eq!(sync_wait(where_am_i(pool)), "coro-pool-0");
    /// ```
    pub fn schedule(&self) -> PoolSchedule<'_> {
        PoolSchedule { pool: self, hop: None }
    }

    /// Starts `task` on a worker with no owner ([`spawn_detached`] for
    /// `SendTask`s, checked at compile time): it runs to completion, its
    /// value is dropped and its frame destroyed as soon as it finishes.
    ///
    /// ```
    /// use std::sync::mpsc;
    /// use coro::{co_return, SendTask, ThreadPool};
    ///
    /// #[coro::coroutine]
    /// fn report(tx: mpsc::Sender<u32>, x: u32) -> SendTask<()> {
    ///     tx.send(x * 10).unwrap();
    ///     co_return!(())
    /// }
    ///
    /// let pool = ThreadPool::new(2);
    /// let (tx, rx) = mpsc::channel();
    /// for x in 0..4 { pool.spawn(report(tx.clone(), x)); }
    /// let mut got: Vec<u32> = rx.iter().take(4).collect();
    /// got.sort();
    /// assert_eq!(got, [0, 10, 20, 30]);
    /// ```
    pub fn spawn<T: Send + 'static>(&self, task: SendTask<T>) {
        spawn_detached(task, self)
    }
}

impl fmt::Debug for ThreadPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ThreadPool")
            .field("threads", &self.workers.len())
            .field("queued", &self.shared.lock().jobs.len())
            .finish()
    }
}

// SAFETY: every posted handle is resumed once by a worker (`Shared::work`)
// or destroyed once by the pool's drop / the shared state's drop (never
// both: each pops it from the queue under the lock first), never inside
// `post`. Handles are resumed on worker threads, which
// `resumes_on_posting_thread` declares.
unsafe impl Scheduler for ThreadPool {
    unsafe fn post(&self, handle: CoroutineHandle) {
        let mut q = self.shared.lock();
        q.jobs.push_back(Job::Resume(handle));
        // Notified under the lock: once it is released, a worker may run
        // the coroutine, which may drop the last handle to this pool, so
        // `self` is not touched afterwards.
        self.shared.available.notify_one();
        drop(q);
    }

    fn resumes_on_posting_thread(&self) -> bool {
        false
    }
}

impl Drop for ThreadPool {
    fn drop(&mut self) {
        self.shared.lock().stopping = true;
        self.shared.available.notify_all();
        let me = thread::current().id();
        for w in self.workers.drain(..) {
            // Dropped by a coroutine running on one of the workers: that
            // one exits on its own once the coroutine returns.
            if w.thread().id() != me {
                // A worker only ends by returning (resume panics are caught).
                let _ = w.join();
            }
        }
        self.shared.destroy_queued();
    }
}

/// The awaiter of [`ThreadPool::schedule`].
pub struct PoolSchedule<'p> {
    pool: &'p ThreadPool,
    hop: Option<Arc<Hop>>,
}

impl fmt::Debug for PoolSchedule<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PoolSchedule").field("queued", &self.hop.is_some()).finish()
    }
}

#[diagnostic::do_not_recommend]
impl Awaiter for PoolSchedule<'_> {
    type Output = ();
    fn await_ready(&mut self) -> bool {
        false
    }
    unsafe fn await_suspend(&mut self, awaiting: CoroutineHandle) -> impl AwaitSuspend {
        // SAFETY: the frame calls this with its own, live handle; the pool
        // resumes on its workers, so a thread-bound coroutine is refused.
        unsafe { post_hop(self.pool, &mut self.hop, awaiting) }
    }
    fn await_resume(self) {}
}

impl Drop for PoolSchedule<'_> {
    fn drop(&mut self) {
        cancel_hop(self.hop.take());
    }
}
