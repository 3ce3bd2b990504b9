//! `ThreadPool`: a [`Scheduler`] with N worker threads for `SendTask`s,
//! with work stealing.
//!
//! Each worker owns a local FIFO deque (`crossbeam_deque::Worker`); what a
//! worker posts while it runs a coroutine (a `schedule()` hop, a spawn, a
//! wake-up of a coroutine it resumed) goes to its own deque, without a
//! lock. What other threads post goes to the shared `Injector`, under the
//! pool's lock (which also guards the phase). A worker looks in its own
//! deque first, then takes a batch from the injector, then steals from the
//! other workers; every 61st job it looks at the injector first, so that
//! outside work is not starved by a worker that keeps feeding itself.
//!
//! Invariants:
//! - every posted handle is in a queue (the injector or a worker's deque)
//!   until exactly one of: a worker pops or steals it and resumes it
//!   (once), or the pool's drop (or, for handles posted while the pool was
//!   being dropped from one of its own workers, the shared state's drop)
//!   pops it and destroys it (once). A worker that exits moves what is
//!   left in its deque to the injector first;
//! - the `phase` goes `Running -> Draining` (`shutdown`) `-> Stopped` (the
//!   last worker to fall asleep with every queue empty: nothing is left
//!   that could queue more, so nothing queued is lost), or straight to
//!   `Stopped` (the pool's drop). It changes only under the lock;
//! - no lost wake-up: a worker falls asleep only under the lock, after
//!   raising `sleeping` (`SeqCst`) and looking in every queue once more; a
//!   lock-free push to a worker's deque is followed by a `SeqCst` fence and
//!   a read of `sleeping`, and if anyone sleeps, the pusher notifies under
//!   the lock. So either the sleeper's last look sees the job, or the
//!   pusher sees the sleeper and wakes it after it has started waiting;
//! - workers stop as soon as the phase is `Stopped`, without popping more:
//!   what is still queued then (only after a drop, or posted after the
//!   stop) is destroyed, never resumed;
//! - `spawn` and `schedule()` from other threads check the phase and queue
//!   under one lock: refused, nothing was queued and they panic (a spawned
//!   task is destroyed unstarted first). From a worker, the phase is
//!   checked first and the job queued locally: the phase cannot reach
//!   `Stopped` by a shutdown while that worker runs (it is not asleep);
//! - a panic escaping a resumed coroutine (a detached task's) is caught by
//!   the worker, counted, and does not stop it.

use core::cell::Cell;
use core::fmt;
use core::sync::atomic::{fence, AtomicU8, AtomicUsize, Ordering};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, Weak};

use crossbeam_deque::{Injector, Steal, Stealer, Worker};

use crate::home::{DriverScope, WakeTarget, Wakeup};
use std::thread::{self, JoinHandle};

use crate::language::awaiter::{AwaitSuspend, Awaiter, CancelOutcome};
use crate::language::handle::CoroutineHandle;
use crate::library::task::SendTask;
use crate::scheduling::pool_join::PoolJoinHandle;
use crate::scheduling::{cancel_hop, new_hop, thread_bound_hop, withdraw_hop, Hop, Scheduler};

/// A fixed set of worker threads resuming the coroutines posted to it, with
/// work stealing: the multi-threaded [`Scheduler`], for [`SendTask`]s.
///
/// - `co_await!(pool.schedule())` moves the awaiting coroutine onto a
///   worker (it continues there); [`spawn`](Self::spawn) starts a task
///   there and returns its [`PoolJoinHandle`] (await it, `sync_wait` it,
///   or detach it), and [`spawn_detached`](crate::schedule::spawn_detached)
///   starts one with no handle at all.
/// - Work posted from outside the pool is queued in one shared FIFO queue;
///   work a worker posts (a task spawning children, a coroutine hopping
///   back onto the pool) goes to that worker's own FIFO queue, which idle
///   workers steal from. So order is FIFO per queue, not global.
/// - Only coroutines whose frame is `Send` belong here: `spawn` takes a
///   `SendTask`, `spawn_detached` panics (before anything runs) if given a
///   thread-bound `Task`, and a `Task` (any thread-bound coroutine) that
///   awaits `pool.schedule()` panics at that `co_await!`, on its own
///   thread, before anything is posted.
/// - A panic escaping a coroutine a worker resumed (a detached task's) is
///   caught there and counted ([`panics`](Self::panics)); the default panic
///   hook has reported it; the worker goes on. A spawned task's panic goes
///   to whoever joins it (counted only if its handle was dropped).
///
/// # Shutting down
///
/// [`shutdown`](Self::shutdown) is the graceful end: it stops taking new
/// tasks, runs everything already queued to completion — including the
/// coroutines that hop back onto the pool (`schedule()`), are woken onto
/// it, or are spawned by its own workers while finishing — then joins the
/// workers. Afterwards `spawn` and `co_await!(pool.schedule())` panic.
///
/// **Dropping the pool does not finish queued work: it discards it.** The
/// drop stops the workers (each finishes what it is running), joins them,
/// and **destroys** what is still queued: a task that never started is
/// destroyed with its parameters (joining its handle panics, saying so); a
/// coroutine that hopped onto the pool is not resumed (its owner destroys
/// it as usual; a *started* detached task suspended there is leaked, as
/// with [`LocalScheduler`](crate::schedule::LocalScheduler)). Call
/// `shutdown` first to finish the work. Dropped from one of its own
/// workers (the last `Arc` held by a coroutine), it joins the others and
/// that worker exits when its coroutine returns.
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
    /// Taken (and joined) by `shutdown` or the drop.
    workers: Mutex<Vec<JoinHandle<()>>>,
    threads: usize,
}

struct Shared {
    /// What threads other than the workers post.
    injector: Injector<Job>,
    /// One per worker, in worker order: how the others steal from it.
    stealers: Box<[Stealer<Job>]>,
    /// The phase; taken to post from outside, to fall asleep, and to wake
    /// a sleeper.
    state: Mutex<Phase>,
    /// Mirrors `state` for the lock-free checks of a worker's own posts.
    phase: AtomicU8,
    /// Signalled when a job is queued while someone sleeps, or the phase
    /// changes.
    available: Condvar,
    /// Workers asleep (or about to be: raised under the lock before their
    /// last look at the queues).
    sleeping: AtomicUsize,
    threads: usize,
    /// Shared with the join handles, which count a detached task's panic.
    panics: Arc<AtomicUsize>,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u8)]
enum Phase {
    Running,
    /// `shutdown` began: finishing what is queued and running.
    Draining,
    /// Workers exit; nothing more is resumed.
    Stopped,
}

impl Phase {
    fn from_u8(v: u8) -> Phase {
        match v {
            0 => Phase::Running,
            1 => Phase::Draining,
            _ => Phase::Stopped,
        }
    }
}

/// How many times an idle worker looks again before it sleeps.
const SEARCH_ROUNDS: u32 = 32;

std::thread_local! {
    /// The pool (its `Shared`'s address) whose worker this thread is, and
    /// that worker's own deque (null on other threads).
    static WORKER_OF: Cell<(usize, *const Worker<Job>)> = const { Cell::new((0, core::ptr::null())) };
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
            match shared.push(Job::Wake(wakeup), |p| p != Phase::Stopped) {
                Ok(()) => return Ok(()),
                Err(Job::Wake(w)) => return Err(w),
                Err(Job::Resume(_)) => unreachable!("push gives back what it was given"),
            }
        }
        // The pool has stopped or is gone: no worker will run it. The waker
        // (a `Send` coroutine's) resumes it itself rather than never.
        Err(wakeup)
    }
}

impl Shared {
    /// The phase. Nothing panics while holding it, except an allocation
    /// failure (which aborts), so poisoning is ignored.
    fn lock(&self) -> MutexGuard<'_, Phase> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn set_phase(&self, guard: &mut MutexGuard<'_, Phase>, phase: Phase) {
        **guard = phase;
        self.phase.store(phase as u8, Ordering::SeqCst);
    }

    /// Destroys every handle queued in the injector. Queued wake-ups are run
    /// instead: their coroutines are not the pool's to destroy (their owners
    /// wait for them), and being `Send` they may finish on this thread.
    fn destroy_queued(&self) {
        loop {
            let next = loop {
                match self.injector.steal() {
                    Steal::Success(job) => break Some(job),
                    Steal::Empty => break None,
                    Steal::Retry => continue,
                }
            };
            match next {
                None => return,
                // SAFETY: `post`'s contract: the handle is ours to destroy,
                // once; it was popped, so nobody else will. A destroy runs
                // user drops: no lock is held.
                Some(Job::Resume(h)) => unsafe { h.destroy() },
                Some(Job::Wake(w)) => {
                    if catch_unwind(AssertUnwindSafe(|| w.run())).is_err() {
                        self.panics.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }
    }

    /// This thread's deque, if it is one of this pool's workers.
    fn local(&self) -> Option<&Worker<Job>> {
        let (pool, local) = WORKER_OF.with(|w| w.get());
        if pool == self as *const Shared as usize {
            // SAFETY: set by this pool's worker loop to its own deque, which
            // lives on that thread's stack until the loop returns, and is
            // cleared before; only that thread reads it.
            Some(unsafe { &*local })
        } else {
            None
        }
    }

    /// Whether this thread is one of this pool's workers.
    fn is_worker_here(&self) -> bool {
        self.local().is_some()
    }

    /// Queues `job` if `accept` says the phase allows it; otherwise gives
    /// it back untouched. From one of this pool's workers, into its own
    /// deque without a lock; from elsewhere, into the injector under the
    /// lock.
    fn push(&self, job: Job, accept: impl FnOnce(Phase) -> bool) -> Result<(), Job> {
        if let Some(local) = self.local() {
            // This worker is running a job, so a shutdown cannot reach
            // `Stopped` meanwhile; only the pool's drop can, and then what
            // is queued is destroyed (module invariants).
            if !accept(Phase::from_u8(self.phase.load(Ordering::Acquire))) {
                return Err(job);
            }
            local.push(job);
            // Pairs with the sleeper's `SeqCst` raise of `sleeping`: either
            // it sees the job in its last look, or this sees it asleep.
            fence(Ordering::SeqCst);
            if self.sleeping.load(Ordering::SeqCst) > 0 {
                let _guard = self.lock();
                self.available.notify_one();
            }
            return Ok(());
        }
        let phase = self.lock();
        if !accept(*phase) {
            return Err(job);
        }
        self.injector.push(job);
        fence(Ordering::SeqCst);
        if self.sleeping.load(Ordering::SeqCst) > 0 {
            // Notified under the lock: once it is released, a worker may run
            // the coroutine, which may drop the last handle to this pool, so
            // `self` is not touched afterwards.
            self.available.notify_one();
        }
        drop(phase);
        Ok(())
    }

    /// A job for worker `me` (its deque `local`): its own first, then a
    /// batch from the injector, then one stolen from another worker.
    fn find_job(&self, me: usize, local: &Worker<Job>, injector_first: bool) -> Option<Job> {
        if injector_first {
            if let Some(job) = self.take_injected(local) {
                return Some(job);
            }
        }
        if let Some(job) = local.pop() {
            return Some(job);
        }
        if let Some(job) = self.take_injected(local) {
            return Some(job);
        }
        let n = self.stealers.len();
        loop {
            let mut retry = false;
            for i in 1..n {
                match self.stealers[(me + i) % n].steal_batch_and_pop(local) {
                    Steal::Success(job) => return Some(job),
                    Steal::Retry => retry = true,
                    Steal::Empty => {}
                }
            }
            if !retry {
                return None;
            }
        }
    }

    fn take_injected(&self, local: &Worker<Job>) -> Option<Job> {
        loop {
            match self.injector.steal_batch_and_pop(local) {
                Steal::Success(job) => return Some(job),
                Steal::Empty => return None,
                Steal::Retry => continue,
            }
        }
    }

    /// Whether any queue holds a job (a worker's last look before sleeping).
    fn anything_queued(&self) -> bool {
        !self.injector.is_empty() || self.stealers.iter().any(|s| !s.is_empty())
    }

    fn work(self: &Arc<Self>, me: usize, local: Worker<Job>) {
        // Coroutines resumed here that suspend on a Rust future come back to
        // the pool when it wakes them.
        let _driver = DriverScope::enter(Arc::new(PoolTarget(Arc::downgrade(self))));
        struct Registered<'a>(&'a Shared, &'a Worker<Job>);
        impl Drop for Registered<'_> {
            fn drop(&mut self) {
                WORKER_OF.with(|w| w.set((0, core::ptr::null())));
                // What is left here (after a drop stopped the pool) goes
                // where the drop, or the shared state's drop, destroys it.
                while let Some(job) = self.1.pop() {
                    self.0.injector.push(job);
                }
            }
        }
        WORKER_OF.with(|w| w.set((Arc::as_ptr(self) as usize, &local as *const Worker<Job>)));
        let _registered = Registered(self, &local);
        let mut tick: u32 = 0;
        loop {
            if self.phase.load(Ordering::Acquire) == Phase::Stopped as u8 {
                return;
            }
            tick = tick.wrapping_add(1);
            let job = match self.find_job(me, &local, tick % 61 == 0) {
                Some(job) => job,
                None => match self.search(me, &local) {
                    Some(job) => job,
                    None => match self.sleep_or_stop(me, &local) {
                        Some(job) => job,
                        None => return,
                    },
                },
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

    /// Looks for work a little longer before falling asleep: a worker
    /// that sleeps costs the next poster a wake-up (a futex call) and
    /// itself a context switch, more than a short search.
    fn search(&self, me: usize, local: &Worker<Job>) -> Option<Job> {
        for i in 0..SEARCH_ROUNDS {
            if i % 8 == 7 {
                thread::yield_now();
            } else {
                core::hint::spin_loop();
            }
            if let Some(job) = self.find_job(me, local, false) {
                return Some(job);
            }
        }
        None
    }

    /// Nothing found: falls asleep until a job is queued (returned), or
    /// returns `None` when the pool stops (this worker may be the one that
    /// completes a shutdown).
    fn sleep_or_stop(&self, me: usize, local: &Worker<Job>) -> Option<Job> {
        let mut phase = self.lock();
        loop {
            if *phase == Phase::Stopped {
                return None;
            }
            self.sleeping.fetch_add(1, Ordering::SeqCst);
            if self.anything_queued() {
                self.sleeping.fetch_sub(1, Ordering::SeqCst);
                drop(phase);
                if let Some(job) = self.find_job(me, local, false) {
                    return Some(job);
                }
                phase = self.lock();
                continue;
            }
            if *phase == Phase::Draining && self.sleeping.load(Ordering::SeqCst) == self.threads {
                // Every worker is asleep and every queue empty: nothing is
                // running that could queue more. The shutdown is complete.
                self.sleeping.fetch_sub(1, Ordering::SeqCst);
                self.set_phase(&mut phase, Phase::Stopped);
                self.available.notify_all();
                return None;
            }
            phase = self.available.wait(phase).unwrap_or_else(|e| e.into_inner());
            self.sleeping.fetch_sub(1, Ordering::SeqCst);
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
        let locals: Vec<Worker<Job>> = (0..threads).map(|_| Worker::new_fifo()).collect();
        let shared = Arc::new(Shared {
            injector: Injector::new(),
            stealers: locals.iter().map(Worker::stealer).collect(),
            state: Mutex::new(Phase::Running),
            phase: AtomicU8::new(Phase::Running as u8),
            available: Condvar::new(),
            sleeping: AtomicUsize::new(0),
            threads,
            panics: Arc::new(AtomicUsize::new(0)),
        });
        let workers = locals
            .into_iter()
            .enumerate()
            .map(|(i, local)| {
                let shared = shared.clone();
                thread::Builder::new()
                    .name(format!("coro-pool-{i}"))
                    .spawn(move || shared.work(i, local))
                    .expect("spawn a ThreadPool worker")
            })
            .collect();
        ThreadPool { shared, workers: Mutex::new(workers), threads }
    }

    /// The number of worker threads.
    ///
    /// ```
    /// assert_eq!(coro::ThreadPool::new(3).thread_count(), 3);
    /// ```
    pub fn thread_count(&self) -> usize {
        self.threads
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

    /// Starts `task` on a worker now (it is queued at once, not when the
    /// handle is awaited) and returns its [`PoolJoinHandle`]: `co_await!`
    /// it or [`sync_wait`](crate::sync_wait) it for the value (a panic in
    /// the task reaches the joiner), or [`detach`](PoolJoinHandle::detach)
    /// it. Dropping the handle detaches the task; it is never cancelled.
    ///
    /// # Panics
    /// Once [`shutdown`](Self::shutdown) has begun, except from one of
    /// this pool's own workers while it drains (a task finishing its work
    /// may spawn more); after the pool has stopped, always. The task is
    /// destroyed unstarted first.
    ///
    /// ```
    /// use coro::{co_await, co_return, sync_wait, SendTask, Task, ThreadPool};
    ///
    /// #[coro::coroutine]
    /// fn square(x: u64) -> SendTask<u64> { co_return!(x * x) }
    ///
    /// #[coro::coroutine]
    /// fn on_my_thread(pool: &'static ThreadPool) -> Task<u64> {
    ///     let h = pool.spawn(square(6));  // runs on a worker meanwhile
    ///     co_return!(co_await!(h))        // resumed back on this thread
    /// }
    ///
    /// let pool: &'static ThreadPool = Box::leak(Box::new(ThreadPool::new(2)));
    /// let handles: Vec<_> = (0..4).map(|x| pool.spawn(square(x))).collect();
    /// let squares: Vec<u64> = handles.into_iter().map(sync_wait).collect();
    /// assert_eq!(squares, [0, 1, 4, 9]);
    /// assert_eq!(sync_wait(on_my_thread(pool)), 36);
    /// ```
    pub fn spawn<T: Send + 'static>(&self, task: SendTask<T>) -> PoolJoinHandle<T> {
        let (handle, run) = PoolJoinHandle::start(task, self.shared.panics.clone());
        let from_worker = self.shared.is_worker_here();
        let accept = |p: Phase| p == Phase::Running || (p == Phase::Draining && from_worker);
        if let Err(Job::Resume(run)) = self.shared.push(Job::Resume(run), accept) {
            // SAFETY: never queued: the stand-in (and the unstarted task it
            // owns) is ours, destroyed once, here.
            unsafe { run.destroy() };
            drop(handle);
            refused("spawn")
        }
        handle
    }

    /// Shuts the pool down gracefully: stops taking new tasks
    /// ([`spawn`](Self::spawn) from other threads panics from now on),
    /// finishes everything queued and running — including coroutines that
    /// hop back onto the pool, are woken onto it, or are spawned by its
    /// workers meanwhile — and joins the worker threads. When it returns,
    /// every task spawned before it has finished (a coroutine suspended on
    /// something outside the pool is not the pool's work: it is not
    /// waited for, and if it later hops onto the pool, its `schedule()`
    /// panics).
    ///
    /// Takes `&self`, so a pool shared through an `Arc` can be shut down;
    /// calling it again waits for the first call to finish. The pool's
    /// [`Drop`] after a shutdown has nothing left to discard.
    ///
    /// # Panics
    /// If called from one of this pool's own workers (it would wait for
    /// itself).
    ///
    /// ```
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use std::sync::Arc;
    /// use coro::{co_await, co_return, SendTask, ThreadPool};
    ///
    /// #[coro::coroutine]
    /// fn job(pool: Arc<ThreadPool>, done: Arc<AtomicUsize>) -> SendTask<()> {
    ///     co_await!(pool.schedule());      // hops back while draining: still run
    ///     done.fetch_add(1, Ordering::Relaxed);
    ///     co_return!(())
    /// }
    ///
    /// let pool = Arc::new(ThreadPool::new(2));
    /// let done = Arc::new(AtomicUsize::new(0));
    /// for _ in 0..6 { pool.spawn(job(pool.clone(), done.clone())); }
    /// pool.shutdown();
    /// assert_eq!(done.load(Ordering::Relaxed), 6);
    /// ```
    pub fn shutdown(&self) {
        if self.shared.is_worker_here() {
            panic!(
                "ThreadPool::shutdown called from one of the pool's own workers: it would wait for itself; \
                 call it from another thread"
            );
        }
        let mut phase = self.shared.lock();
        if *phase == Phase::Running {
            self.shared.set_phase(&mut phase, Phase::Draining);
        }
        self.shared.available.notify_all();
        drop(phase);
        // A second caller waits here until the first has joined them all.
        let mut workers = self.workers.lock().unwrap_or_else(|e| e.into_inner());
        for w in workers.drain(..) {
            // A worker only ends by returning (resume panics are caught).
            let _ = w.join();
        }
    }

    /// Whether [`shutdown`](Self::shutdown) has begun (or the pool is being
    /// dropped): `spawn` from another thread would panic.
    ///
    /// ```
    /// let pool = coro::ThreadPool::new(1);
    /// assert!(!pool.is_shut_down());
    /// pool.shutdown();
    /// assert!(pool.is_shut_down());
    /// ```
    pub fn is_shut_down(&self) -> bool {
        *self.shared.lock() != Phase::Running
    }
}

/// `spawn` or `schedule()` on a pool that no longer takes that work.
#[cold]
#[inline(never)]
fn refused(what: &str) -> ! {
    panic!(
        "ThreadPool::{what} after the pool was shut down: it takes no new work once `shutdown` has begun \
         (only its own workers may still spawn while it drains) and resumes nothing once it has stopped"
    )
}

impl fmt::Debug for ThreadPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ThreadPool")
            .field("threads", &self.threads)
            .field("queued", &self.shared.injector.len())
            .field("phase", &*self.shared.lock())
            .finish()
    }
}

// SAFETY: every posted handle is resumed once by a worker (`Shared::work`)
// or destroyed once by the pool's drop / the shared state's drop (never
// both: each pops it from the queue under the lock first), never inside
// `post`. Handles are resumed on worker threads, which
// `resumes_on_posting_thread` declares.
unsafe impl Scheduler for ThreadPool {
    /// Queues `handle`, whatever the phase: posted after the pool stopped
    /// (after [`shutdown`](ThreadPool::shutdown) returned, or during the
    /// drop), it is never resumed, and destroyed when the pool is dropped.
    unsafe fn post(&self, handle: CoroutineHandle) {
        // Always accepted: `post` cannot refuse what it was given.
        let _ = self.shared.push(Job::Resume(handle), |_| true);
    }

    fn resumes_on_posting_thread(&self) -> bool {
        false
    }
}

impl Drop for ThreadPool {
    fn drop(&mut self) {
        let mut phase = self.shared.lock();
        self.shared.set_phase(&mut phase, Phase::Stopped);
        self.shared.available.notify_all();
        drop(phase);
        let me = thread::current().id();
        let workers = core::mem::take(self.workers.get_mut().unwrap_or_else(|e| e.into_inner()));
        for w in workers {
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
        // resumes on its workers, so a thread-bound coroutine is refused
        // before anything is queued (its record names the user's line).
        if unsafe { awaiting.is_thread_bound() } {
            // SAFETY: as above.
            thread_bound_hop(unsafe { awaiting.suspend_point() })
        }
        let (hop, stand_in) = new_hop(awaiting);
        // Stored before queuing: once queued, the coroutine may run on a
        // worker and this awaiter be gone.
        self.hop = Some(hop);
        // Accepted while the pool runs or drains (a coroutine finishing
        // its work may hop back); refused once it has stopped.
        if self.pool.shared.push(Job::Resume(stand_in), |p| p != Phase::Stopped).is_err() {
            self.hop = None;
            // SAFETY: never queued: the stand-in and its count are ours,
            // destroyed once, here.
            unsafe { stand_in.destroy() };
            refused("schedule()")
        }
    }
    /// Takes the hop back unless a worker is already resuming it: the
    /// queued job then resumes nothing.
    unsafe fn await_cancel(&mut self) -> CancelOutcome {
        withdraw_hop(&self.hop)
    }
    fn await_resume(self) {}
}

impl Drop for PoolSchedule<'_> {
    fn drop(&mut self) {
        cancel_hop(self.hop.take());
    }
}
