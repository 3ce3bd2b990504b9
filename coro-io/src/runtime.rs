//! The multi-threaded runtime: one [`EventLoop`] per thread
//! (thread-per-core, as glommio, monoio and seastar), [`LoopHandle`]s to
//! reach each loop from anywhere, and hops between loops.
//!
//! A task spawned on the runtime is placed on one loop (round-robin) and
//! stays there: the loop polls it, its timers fire there, and a coroutine
//! it resumes (its own frame, or a `Task` it spawned) runs on that thread.
//! Moving is explicit: `co_await!(handle.schedule())` hops a `Send`
//! coroutine onto another loop.
//!
//! Invariants:
//! - a loop's state is touched only on its thread; other threads post
//!   messages (`event_loop::Message`) through its injection queue;
//! - the `Runtime` owns the loop threads: its drop sets each loop's stop
//!   flag, wakes it, and joins it; each loop thread then drops its
//!   `EventLoop`, which destroys the tasks still registered there, on that
//!   thread (each frame once), and refuses later posts (a spawn onto a
//!   stopped loop panics);
//! - `RtShared` (what `coro_io::spawn` reaches from a loop thread) is held
//!   weakly by the loops, so a runtime is not kept alive by its own loops.

use core::fmt;
use core::future::IntoFuture;
use std::io;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Weak};
use std::thread;

use coro_core::awaiter::CancelOutcome;
use coro_core::schedule::Scheduler;
use coro_core::{AwaitSuspend, Awaiter, CoroutineHandle};

use crate::event_loop::{self, Hop, Message, Shared};
use crate::registration::Key;
use crate::task::{JoinHandle, Spawned};
use crate::EventLoop;

/// A handle to one event loop, usable from any thread (`Send + Sync +
/// Clone`): spawn `Send` tasks on that loop ([`spawn`](Self::spawn)), hop a
/// `Send` coroutine onto it ([`schedule`](Self::schedule)), or post to it
/// as a [`Scheduler`] (`spawn_detached`).
///
/// Get one from [`Runtime::handle`] (or [`Runtime::loops`]),
/// [`EventLoop::handle`], or [`LoopHandle::current`].
///
/// ```
/// use coro::{co_await, co_return, SendTask};
/// use coro_io::{LoopHandle, Runtime};
///
/// #[coro::coroutine]
/// fn hop_to(target: LoopHandle) -> SendTask<bool> {
///     co_await!(target.schedule());           // continues on that loop's thread
///     co_return!(LoopHandle::current().index() == target.index())
/// }
///
/// let rt = Runtime::new(2).unwrap();
/// assert!(rt.block_on(hop_to(rt.handle(1).clone())));
/// ```
#[derive(Clone)]
pub struct LoopHandle {
    shared: Arc<Shared>,
    index: usize,
}

impl fmt::Debug for LoopHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoopHandle").field("index", &self.index).finish()
    }
}

impl PartialEq for LoopHandle {
    fn eq(&self, other: &LoopHandle) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }
}

impl Eq for LoopHandle {}

impl LoopHandle {
    pub(crate) fn new(shared: Arc<Shared>, index: usize) -> LoopHandle {
        LoopHandle { shared, index }
    }

    /// The handle of this thread's loop.
    ///
    /// # Panics
    /// If this thread has no [`EventLoop`].
    ///
    /// ```
    /// let lp = coro_io::EventLoop::new().unwrap();
    /// assert_eq!(coro_io::LoopHandle::current(), lp.handle());
    /// ```
    pub fn current() -> LoopHandle {
        let lp = event_loop::current_for("LoopHandle::current");
        let index = lp.index.get();
        LoopHandle::new(lp.shared.clone(), index)
    }

    /// The loop's index in its [`Runtime`] (0 for a loop of its own).
    ///
    /// ```
    /// let rt = coro_io::Runtime::new(2).unwrap();
    /// assert_eq!(rt.handle(1).index(), 1);
    /// ```
    pub fn index(&self) -> usize {
        self.index
    }

    /// Starts `task` (a [`SendTask`](coro_core::SendTask) or any `Send`
    /// future) on this loop and returns its [`JoinHandle`]. From the loop's
    /// own thread the task is added at once; from another, it is posted and
    /// starts at the loop's next turn.
    ///
    /// # Panics
    /// If the loop has stopped (its [`Runtime`] or [`EventLoop`] was
    /// dropped): the task is dropped here, unstarted.
    ///
    /// ```
    /// use coro::{co_return, sync_wait, SendTask};
    ///
    /// #[coro::coroutine]
    /// fn where_am_i() -> SendTask<usize> { co_return!(coro_io::LoopHandle::current().index()) }
    ///
    /// let rt = coro_io::Runtime::new(2).unwrap();
    /// assert_eq!(sync_wait(rt.handle(1).spawn(where_am_i())), 1);
    /// ```
    pub fn spawn<F>(&self, task: F) -> JoinHandle<F::Output>
    where
        F: IntoFuture,
        F::IntoFuture: Send + 'static,
        F::Output: Send + 'static,
    {
        if let Some(lp) = event_loop::local(&self.shared) {
            return lp.spawn(task.into_future());
        }
        let (run, state) = Spawned::new(task.into_future());
        let handle = JoinHandle::new(self.shared.clone(), state);
        if let Err(message) = self.shared.post(Message::Spawn(Box::new(run))) {
            drop(message);
            handle.detach();
            stopped("LoopHandle::spawn")
        }
        handle
    }

    /// `co_await!(handle.schedule())` suspends the current coroutine and
    /// resumes it on this loop's thread (cppcoro's `schedule()`); on that
    /// thread already, it lets what is ready run first (as
    /// [`yield_now`](crate::yield_now)). The awaiter is `Send`: a
    /// [`SendTask`](coro_core::SendTask) hops with it.
    ///
    /// # Panics
    /// At the `co_await!`: if the coroutine is thread-bound (a `Task`) and
    /// this is another thread's loop; if the loop has stopped.
    ///
    /// ```
    /// use coro::{co_await, co_return, SendTask};
    /// use coro_io::{LoopHandle, Runtime};
    ///
    /// #[coro::coroutine]
    /// fn tour(rt: &'static Runtime) -> SendTask<Vec<usize>> {
    ///     let mut seen = Vec::new();
    ///     for lp in rt.loops() {
    ///         co_await!(lp.schedule());
    ///         seen.push(LoopHandle::current().index());
    ///     }
    ///     co_return!(seen)
    /// }
    ///
    /// let rt: &'static Runtime = Box::leak(Box::new(Runtime::new(3).unwrap()));
    /// assert_eq!(rt.block_on(tour(rt)), [0, 1, 2]);
    /// ```
    pub fn schedule(&self) -> LoopSchedule {
        LoopSchedule { target: self.shared.clone(), hop: None, reg: None }
    }
}

// SAFETY: a posted handle is resumed once by the loop (a `Ready::Post`, on
// the loop's thread, never inside `post`), or destroyed once: by the loop's
// drop if still queued, or here if the loop has stopped and refuses it.
// The loop's thread is generally not the posting thread, as
// `resumes_on_posting_thread` says.
unsafe impl Scheduler for LoopHandle {
    unsafe fn post(&self, handle: CoroutineHandle) {
        if let Err(Message::Post(h)) = self.shared.post(Message::Post(handle)) {
            // SAFETY: never queued: ours to destroy, once.
            unsafe { h.destroy() }
        }
    }
    fn resumes_on_posting_thread(&self) -> bool {
        false
    }
}

#[cold]
#[inline(never)]
fn stopped(what: &str) -> ! {
    panic!("{what}: the loop has stopped (its Runtime or EventLoop was dropped)")
}

/// The awaiter of [`LoopHandle::schedule`] and [`Runtime::schedule_on`].
///
/// ```
/// let rt = coro_io::Runtime::new(1).unwrap();
/// let _awaiter: coro_io::LoopSchedule = rt.schedule_on(0);
/// ```
pub struct LoopSchedule {
    target: Arc<Shared>,
    /// A hop to another thread's loop.
    hop: Option<Arc<Hop>>,
    /// A registration with this thread's loop (the target itself).
    reg: Option<(Arc<Shared>, Key)>,
}

impl fmt::Debug for LoopSchedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoopSchedule").field("queued", &(self.hop.is_some() || self.reg.is_some())).finish()
    }
}

impl Awaiter for LoopSchedule {
    type Output = ();
    fn await_ready(&mut self) -> bool {
        false
    }
    unsafe fn await_suspend(&mut self, awaiting: CoroutineHandle) -> impl AwaitSuspend {
        if let Some(lp) = event_loop::local(&self.target) {
            let key = lp.register(awaiting);
            lp.wake(key);
            self.reg = Some((lp.shared.clone(), key));
            return;
        }
        // SAFETY: the frame's own handle.
        unsafe { coro_core::schedule::assert_not_thread_bound(awaiting) };
        let hop = Hop::new(awaiting);
        // Kept before posting: once posted, the coroutine may run on the
        // loop's thread and this awaiter be gone.
        self.hop = Some(hop.clone());
        if self.target.post(Message::Hop(hop)).is_err() {
            // Not posted: nothing else has the handle.
            self.hop = None;
            stopped("LoopHandle::schedule")
        }
    }
    fn await_resume(self) {}
    unsafe fn await_cancel(&mut self) -> CancelOutcome {
        if self.reg.is_some() {
            return event_loop::cancel(&mut self.reg);
        }
        // A hop is on its way: the loop resumes the coroutine.
        CancelOutcome::ResumeComing
    }
}

/// The cancel step: a hop still queued resumes nothing; a registration is
/// withdrawn.
impl Drop for LoopSchedule {
    fn drop(&mut self) {
        if let Some(hop) = self.hop.take() {
            hop.cancel();
        }
        if let Some((shared, key)) = self.reg.take() {
            event_loop::withdraw(&shared, key);
        }
    }
}

/// What the loops of a runtime reach (weakly): where `coro_io::spawn`
/// spawns.
pub(crate) struct RtShared {
    loops: Vec<LoopHandle>,
    next: AtomicUsize,
}

impl RtShared {
    /// The next loop, round-robin.
    fn pick(&self) -> &LoopHandle {
        &self.loops[self.next.fetch_add(1, Ordering::Relaxed) % self.loops.len()]
    }

    pub(crate) fn spawn<F>(&self, task: F) -> JoinHandle<F::Output>
    where
        F: IntoFuture,
        F::IntoFuture: Send + 'static,
        F::Output: Send + 'static,
    {
        self.pick().spawn(task)
    }
}

/// The multi-threaded runtime: `N` threads, each running an
/// [`EventLoop`] (thread-per-core). Tasks are placed on a loop and stay
/// there; coroutines move between loops only when they ask
/// ([`LoopHandle::schedule`]).
///
/// - [`spawn`](Self::spawn) places a `Send` task (a
///   [`SendTask`](coro_core::SendTask), a `Send` future) on the next loop,
///   **round-robin**, and returns its [`JoinHandle`] (`Send`: await it from
///   any loop, `sync_wait` it, `.await` it, detach it; dropping it cancels
///   the task, on the task's own loop). [`coro_io::spawn`](crate::spawn)
///   does the same from inside a runtime's task.
/// - [`block_on`](Self::block_on) runs a task on the calling thread (a
///   thread-bound `Task` works), giving it a loop of its own for the
///   duration if it has none.
/// - [`handle`](Self::handle)`(i)` reaches loop `i`;
///   `co_await!(rt.schedule_on(i))` hops there.
/// - Dropping the runtime stops its loops, destroys the tasks still
///   registered on them (on their own threads, each frame once) and joins
///   the threads.
///
/// A panic escaping a detached task is caught on its loop's thread, counted
/// ([`panics`](Self::panics)) and reported by the panic hook; the loop goes
/// on.
///
/// ```
/// use std::time::Duration;
/// use coro::{co_await, co_return, SendTask, Task};
/// use coro_io::{sleep, Runtime};
///
/// #[coro::coroutine]
/// fn work(x: u64) -> SendTask<u64> {
///     co_await!(sleep(Duration::from_millis(1))); // on its loop's timers
///     co_return!(x * x)
/// }
///
/// #[coro::coroutine]
/// fn main_task() -> Task<u64> {
///     let handles: Vec<_> = (0..8).map(|x| coro_io::spawn(work(x))).collect();
///     let mut sum = 0;
///     for h in handles {
///         sum += co_await!(h);
///     }
///     co_return!(sum)
/// }
///
/// let rt = Runtime::new(2)?;
/// assert_eq!(rt.block_on(main_task()), 140);
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Runtime {
    shared: Arc<RtShared>,
    threads: Vec<thread::JoinHandle<()>>,
    panics: Arc<AtomicUsize>,
}

impl fmt::Debug for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runtime").field("loops", &self.shared.loops.len()).finish()
    }
}

impl Runtime {
    /// Starts `threads` loop threads (named `coro-io-<i>`).
    ///
    /// # Errors
    /// If a thread cannot be spawned or the OS refuses a loop its poller;
    /// the loops already started are stopped first.
    ///
    /// # Panics
    /// If `threads` is 0.
    ///
    /// ```
    /// let rt = coro_io::Runtime::new(2)?;
    /// assert_eq!(rt.loops().len(), 2);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn new(threads: usize) -> io::Result<Runtime> {
        assert!(threads > 0, "a coro_io::Runtime needs at least one loop thread");
        let panics = Arc::new(AtomicUsize::new(0));
        let mut started = Vec::new();
        let mut handles = Vec::new();
        let mut error = None;
        for index in 0..threads {
            let (tx, rx) = mpsc::channel();
            let (rt_tx, rt_rx) = mpsc::channel::<Weak<RtShared>>();
            let panics = panics.clone();
            let spawned = thread::Builder::new()
                .name(format!("coro-io-{index}"))
                .spawn(move || loop_thread(index, &tx, &rt_rx, &panics));
            match spawned.and_then(|t| rx.recv().map_err(io::Error::other).and_then(|r| r.map(|h| (t, h)))) {
                Ok((thread, handle)) => {
                    started.push((thread, rt_tx));
                    handles.push(handle);
                }
                Err(e) => {
                    error = Some(e);
                    break;
                }
            }
        }
        if let Some(e) = error {
            // Dropping the senders stops the threads started so far.
            for (thread, rt_tx) in started {
                drop(rt_tx);
                let _ = thread.join();
            }
            return Err(e);
        }
        let shared = Arc::new(RtShared { loops: handles, next: AtomicUsize::new(0) });
        let threads = started
            .into_iter()
            .map(|(thread, rt_tx)| {
                // A thread gone already (it cannot be) just is not reached.
                let _ = rt_tx.send(Arc::downgrade(&shared));
                thread
            })
            .collect();
        Ok(Runtime { shared, threads, panics })
    }

    /// The loops, in index order.
    ///
    /// ```
    /// let rt = coro_io::Runtime::new(2).unwrap();
    /// assert_eq!(rt.loops()[1], *rt.handle(1));
    /// ```
    pub fn loops(&self) -> &[LoopHandle] {
        &self.shared.loops
    }

    /// Loop `i`'s handle.
    ///
    /// # Panics
    /// If `i` is not below the number of loops.
    ///
    /// ```
    /// let rt = coro_io::Runtime::new(1).unwrap();
    /// assert_eq!(rt.handle(0).index(), 0);
    /// ```
    pub fn handle(&self, i: usize) -> &LoopHandle {
        &self.shared.loops[i]
    }

    /// Starts `task` on the next loop (round-robin) and returns its
    /// [`JoinHandle`]; see [`LoopHandle::spawn`].
    ///
    /// ```
    /// use coro::{co_return, sync_wait, SendTask};
    ///
    /// #[coro::coroutine]
    /// fn thread_name() -> SendTask<String> {
    ///     co_return!(std::thread::current().name().unwrap().to_string())
    /// }
    ///
    /// let rt = coro_io::Runtime::new(2).unwrap();
    /// let a = rt.spawn(thread_name());
    /// let b = rt.spawn(thread_name());
    /// assert_eq!((sync_wait(a), sync_wait(b)), ("coro-io-0".into(), "coro-io-1".into()));
    /// ```
    pub fn spawn<F>(&self, task: F) -> JoinHandle<F::Output>
    where
        F: IntoFuture,
        F::IntoFuture: Send + 'static,
        F::Output: Send + 'static,
    {
        self.shared.spawn(task)
    }

    /// `co_await!(rt.schedule_on(i))`: hops the (`Send`) coroutine onto
    /// loop `i`; see [`LoopHandle::schedule`].
    ///
    /// # Panics
    /// If `i` is not below the number of loops.
    ///
    /// ```
    /// use coro::{co_await, co_return, SendTask};
    ///
    /// #[coro::coroutine]
    /// fn to_one(rt: &'static coro_io::Runtime) -> SendTask<String> {
    ///     co_await!(rt.schedule_on(1));
    ///     co_return!(std::thread::current().name().unwrap().to_string())
    /// }
    ///
    /// let rt: &'static coro_io::Runtime = Box::leak(Box::new(coro_io::Runtime::new(2).unwrap()));
    /// assert_eq!(rt.block_on(to_one(rt)), "coro-io-1");
    /// ```
    pub fn schedule_on(&self, i: usize) -> LoopSchedule {
        self.handle(i).schedule()
    }

    /// Runs `task` (a `Task`, a `SendTask`, a [`JoinHandle`], any future)
    /// to completion on the calling thread and returns its value. The
    /// thread's own [`EventLoop`] runs meanwhile — one made for the
    /// duration if it has none — so a thread-bound `Task` may sleep, spawn
    /// on the runtime ([`coro_io::spawn`](crate::spawn)) and await what
    /// runs on its loops.
    ///
    /// # Panics
    /// With the task's panic; if called from inside a loop (a coroutine
    /// it runs); if this thread has no loop and the OS refuses one.
    ///
    /// ```
    /// use coro::{co_await, co_return, SendTask, Task};
    ///
    /// #[coro::coroutine]
    /// fn on_a_loop() -> SendTask<bool> {
    ///     co_return!(std::thread::current().name().is_some_and(|n| n.starts_with("coro-io-")))
    /// }
    ///
    /// #[coro::coroutine]
    /// fn here() -> Task<bool> {
    ///     let rc = std::rc::Rc::new(());        // a thread-bound Task is fine here
    ///     let remote = co_await!(coro_io::spawn(on_a_loop()));
    ///     co_return!(remote && std::rc::Rc::strong_count(&rc) == 1)
    /// }
    ///
    /// let rt = coro_io::Runtime::new(1).unwrap();
    /// assert!(rt.block_on(here()));
    /// ```
    pub fn block_on<F>(&self, task: F) -> F::Output
    where
        F: IntoFuture,
        F::IntoFuture: 'static,
        F::Output: 'static,
    {
        let weak = Some(Arc::downgrade(&self.shared));
        match event_loop::try_current() {
            Some(lp) => {
                // This thread's own loop joins the runtime for the duration.
                let outer = lp.runtime.replace(weak);
                struct Restore<'a>(&'a crate::event_loop::Inner, Option<Weak<RtShared>>);
                impl Drop for Restore<'_> {
                    fn drop(&mut self) {
                        *self.0.runtime.borrow_mut() = self.1.take();
                    }
                }
                let _restore = Restore(&lp, outer);
                lp.block_on(task.into_future())
            }
            None => {
                let lp = EventLoop::new().expect("coro_io::Runtime::block_on: make this thread's EventLoop");
                *lp.inner().runtime.borrow_mut() = weak;
                lp.block_on(task)
            }
        }
    }

    /// How many panics escaped detached tasks on the loops (each caught on
    /// its loop's thread, which went on).
    ///
    /// ```
    /// assert_eq!(coro_io::Runtime::new(1).unwrap().panics(), 0);
    /// ```
    pub fn panics(&self) -> usize {
        self.panics.load(Ordering::Relaxed)
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        for lp in &self.shared.loops {
            lp.shared.stop.store(true, Ordering::Release);
            lp.shared.notify();
        }
        for (lp, thread) in self.shared.loops.iter().zip(self.threads.drain(..)) {
            // Dropped from one of its own loops (a task held the runtime):
            // that loop stops after this turn; joining it would wait for
            // ourselves.
            if lp.shared.is_loop_thread() {
                continue;
            }
            let _ = thread.join();
        }
    }
}

/// A loop thread: makes its loop, hands its handle to `Runtime::new`,
/// learns its runtime, then runs until stopped; dropping the loop at the
/// end destroys the tasks still registered, here.
fn loop_thread(
    index: usize,
    tx: &mpsc::Sender<io::Result<LoopHandle>>,
    rt: &mpsc::Receiver<Weak<RtShared>>,
    panics: &AtomicUsize,
) {
    let lp = match EventLoop::new() {
        Ok(lp) => lp,
        Err(e) => {
            let _ = tx.send(Err(e));
            return;
        }
    };
    let inner = lp.inner().clone();
    inner.index.set(index);
    let _ = tx.send(Ok(LoopHandle::new(inner.shared.clone(), index)));
    let Ok(weak) = rt.recv() else { return };
    *inner.runtime.borrow_mut() = Some(weak);
    let stop = || inner.shared.stop.load(Ordering::Acquire);
    while !stop() {
        // A detached task's panic: reported by the hook, counted, and the
        // loop goes on.
        if catch_unwind(AssertUnwindSafe(|| inner.run_until(&stop))).is_err() {
            panics.fetch_add(1, Ordering::Relaxed);
        }
    }
    drop(inner);
    drop(lp);
}
