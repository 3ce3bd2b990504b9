//! [`EventLoop`]: one per thread, on a `mio::Poll`.
//!
//! A loop turn: (1) take the wake-ups other threads posted (task wakers,
//! the thread home's notification) and re-register for the next one with
//! [`notify_when_woken`]; (2) run this thread's coroutines woken elsewhere
//! ([`resume_woken`]); (3) fire the timers that are due; (4) run what was
//! ready at the start of the pass, oldest first (registrations to resume,
//! spawned tasks to poll); (5) if nothing is ready, block in `mio::Poll`
//! until the next deadline or a [`mio::Waker`] wake-up.
//!
//! Wake-ups from any thread go through [`Shared`]: a mutex-protected list
//! of task keys and a `notified` flag; only the first wake-up after the
//! loop cleared the flag writes to the `mio::Waker` (a syscall), and only
//! from another thread (the loop checks the flag before blocking).

use core::cell::{Cell, RefCell};
use core::fmt;
use std::collections::VecDeque;
use std::io;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll as TaskPoll, Wake, Waker};
use std::thread::{self, ThreadId};
use std::time::Instant;

use coro_core::schedule::notify_when_woken;
use coro_core::{resume_woken, CoroutineHandle};
use mio::{Events, Poll, Token};
use slab::Slab;

use crate::registration::{Key, Registrations, Timers};
use crate::task::{JoinHandle, Runnable, Spawned};

const WAKER: Token = Token(0);

/// Names a spawned task: its slab index and generation (never reused).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TaskKey {
    index: usize,
    generation: u64,
}

/// What the ready queue holds: names, never frames.
#[derive(Clone, Copy, Debug)]
enum Ready {
    /// A registration to resume (if still live).
    Resume(Key),
    /// A spawned task to poll (if still live).
    Poll(TaskKey),
}

struct TaskEntry {
    generation: u64,
    /// `None` while it is being polled.
    run: Option<Box<dyn Runnable>>,
    waker: Waker,
    /// On the ready queue already.
    queued: bool,
    /// Cancelled while being polled: dropped when the poll returns.
    cancelled: bool,
}

/// The part other threads reach: task wake-ups and the `mio::Waker`.
pub(crate) struct Shared {
    injected: Mutex<Vec<TaskKey>>,
    /// Set by every wake-up, cleared by the loop before it takes them.
    notified: AtomicBool,
    waker: mio::Waker,
    thread: ThreadId,
}

impl Shared {
    fn notify(&self) {
        // `AcqRel`: the loop's swap to `false` happens before it takes the
        // list, so a post it misses sets the flag again after that swap.
        if !self.notified.swap(true, Ordering::AcqRel) && thread::current().id() != self.thread {
            // The loop may be blocked in `poll`; on its own thread it is
            // running (this wake-up comes from code it runs) and checks the
            // flag before blocking. An error (the poll is gone) means
            // nobody is left to wake.
            let _ = self.waker.wake();
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Nothing panics under these locks; a poisoned one is still consistent.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The waker of a spawned task.
struct TaskWake {
    shared: Arc<Shared>,
    key: TaskKey,
}

impl Wake for TaskWake {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref()
    }
    fn wake_by_ref(self: &Arc<Self>) {
        lock(&self.shared.injected).push(self.key);
        self.shared.notify();
    }
}

/// The waker registered with [`notify_when_woken`]: this thread's
/// coroutines were woken from elsewhere.
struct HomeWake(Arc<Shared>);

impl Wake for HomeWake {
    fn wake(self: Arc<Self>) {
        self.0.notify()
    }
}

/// The loop's state, shared (`Rc`) with the awaiters registered on it.
pub(crate) struct Inner {
    regs: RefCell<Registrations>,
    timers: RefCell<Timers>,
    ready: RefCell<VecDeque<Ready>>,
    tasks: RefCell<Slab<TaskEntry>>,
    next_task: Cell<u64>,
    shared: Arc<Shared>,
    home_waker: Waker,
    /// The injected keys, taken out of the mutex (keeps its capacity).
    taken: RefCell<Vec<TaskKey>>,
    poll: RefCell<Poll>,
    events: RefCell<Events>,
    running: Cell<bool>,
}

thread_local! {
    static CURRENT: RefCell<Option<Rc<Inner>>> = const { RefCell::new(None) };
}

/// This thread's loop.
///
/// # Panics
/// If this thread has no [`EventLoop`].
pub(crate) fn current() -> Rc<Inner> {
    CURRENT.with(|c| c.borrow().clone()).unwrap_or_else(|| no_loop())
}

#[cold]
#[inline(never)]
fn no_loop() -> ! {
    panic!(
        "no coro_io::EventLoop on this thread: sleep, yield_now, timeout and spawn_local need one \
         (create it with EventLoop::new() and run the task with its block_on)"
    )
}

impl Inner {
    /// Registers `handle` (see `registration`): the awaiter keeps the key.
    pub(crate) fn register(&self, handle: CoroutineHandle) -> Key {
        self.regs.borrow_mut().insert(handle)
    }

    /// Registers `handle` to be resumed at `deadline`.
    pub(crate) fn register_timer(&self, handle: CoroutineHandle, deadline: Instant) -> Key {
        let mut regs = self.regs.borrow_mut();
        let key = regs.insert(handle);
        self.timers.borrow_mut().push(deadline, key, &mut regs);
        key
    }

    /// Queues `key` to be resumed (once, however often it is woken).
    pub(crate) fn wake(&self, key: Key) {
        if self.regs.borrow_mut().fire(key) {
            self.ready.borrow_mut().push_back(Ready::Resume(key));
        }
    }

    /// The awaiter's `await_resume` or drop: withdraws `key`.
    pub(crate) fn deregister(&self, key: Key) {
        let mut regs = self.regs.borrow_mut();
        if regs.remove(key) {
            self.timers.borrow_mut().cancelled(&regs);
        }
    }

    /// Starts `future` as a task of this loop.
    pub(crate) fn spawn<T: 'static>(
        self: &Rc<Self>,
        future: impl core::future::Future<Output = T> + 'static,
    ) -> JoinHandle<T> {
        let generation = self.next_task.get() + 1;
        self.next_task.set(generation);
        let (run, state) = Spawned::boxed(future);
        let mut tasks = self.tasks.borrow_mut();
        let entry = tasks.vacant_entry();
        let key = TaskKey { index: entry.key(), generation };
        let waker = Waker::from(Arc::new(TaskWake { shared: self.shared.clone(), key }));
        entry.insert(TaskEntry { generation, run: Some(run), waker, queued: true, cancelled: false });
        drop(tasks);
        self.ready.borrow_mut().push_back(Ready::Poll(key));
        JoinHandle::new(self.clone(), key, state)
    }

    fn schedule_task(&self, key: TaskKey) {
        let mut tasks = self.tasks.borrow_mut();
        if let Some(t) = tasks.get_mut(key.index).filter(|t| t.generation == key.generation && !t.queued) {
            t.queued = true;
            self.ready.borrow_mut().push_back(Ready::Poll(key));
        }
    }

    /// Destroys the task at once (or after its current poll, if it is
    /// running: it cancelled itself).
    pub(crate) fn cancel_task(&self, key: TaskKey) {
        let mut tasks = self.tasks.borrow_mut();
        let Some(t) = tasks.get_mut(key.index).filter(|t| t.generation == key.generation) else { return };
        if t.run.is_none() {
            t.cancelled = true;
            return;
        }
        let entry = tasks.remove(key.index);
        drop(tasks);
        // Outside the borrow: destroying the frame runs its awaiters' drops,
        // which deregister, and may cancel other tasks.
        drop(entry);
    }

    fn poll_task(&self, key: TaskKey) {
        let taken = {
            let mut tasks = self.tasks.borrow_mut();
            match tasks.get_mut(key.index).filter(|t| t.generation == key.generation) {
                Some(t) => {
                    t.queued = false;
                    t.run.take().map(|run| (run, t.waker.clone()))
                }
                None => None,
            }
        };
        let Some((mut run, waker)) = taken else { return };
        let outcome = run.poll(self, &mut Context::from_waker(&waker));
        let mut tasks = self.tasks.borrow_mut();
        let t = &mut tasks[key.index];
        match outcome {
            TaskPoll::Pending if !t.cancelled => t.run = Some(run),
            TaskPoll::Pending => {
                let entry = tasks.remove(key.index);
                drop(tasks);
                drop((entry, run));
            }
            TaskPoll::Ready(panic) => {
                let entry = tasks.remove(key.index);
                drop(tasks);
                drop((entry, run));
                if let Some(payload) = panic {
                    // A detached task panicked: like a panicking thread's
                    // `join`, out of whoever drives the loop.
                    std::panic::resume_unwind(payload)
                }
            }
        }
    }

    /// One loop turn (see the module docs); blocks in `poll` only if
    /// nothing is ready and `done()` is false.
    fn turn(&self, done: &dyn Fn() -> bool) {
        // (1) Wake-ups from other threads.
        if self.shared.notified.swap(false, Ordering::AcqRel) {
            notify_when_woken(&self.home_waker);
            let mut taken = self.taken.borrow_mut();
            taken.extend(lock(&self.shared.injected).drain(..));
            for key in taken.drain(..) {
                self.schedule_task(key);
            }
        }
        // (2) This thread's coroutines woken elsewhere.
        resume_woken();
        // (3) Timers.
        {
            let mut regs = self.regs.borrow_mut();
            let mut ready = self.ready.borrow_mut();
            self.timers.borrow_mut().fire_due(Instant::now(), &mut regs, |key| ready.push_back(Ready::Resume(key)));
        }
        // (4) What is ready now; what it readies waits for the next pass.
        let n = self.ready.borrow().len();
        for _ in 0..n {
            let Some(next) = self.ready.borrow_mut().pop_front() else { break };
            match next {
                Ready::Resume(key) => {
                    let handle = self.regs.borrow_mut().take(key);
                    if let Some(h) = handle {
                        // SAFETY: a live registration names a frame suspended
                        // on the awaiter that registered it (registration
                        // invariant 1), registered on this thread, which
                        // is the frame's; `take` hands it out once.
                        unsafe { h.resume() }
                    }
                }
                Ready::Poll(key) => self.poll_task(key),
            }
            if done() {
                return;
            }
        }
        // (5) Block until a deadline or a wake-up.
        if !self.ready.borrow().is_empty() || done() {
            return;
        }
        let next = self.timers.borrow_mut().next_deadline(&self.regs.borrow());
        let timeout = if self.shared.notified.load(Ordering::Acquire) {
            Some(std::time::Duration::ZERO)
        } else {
            next.map(|d| d.saturating_duration_since(Instant::now()))
        };
        let mut events = self.events.borrow_mut();
        match self.poll.borrow_mut().poll(&mut events, timeout) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => panic!("coro_io::EventLoop: mio::Poll::poll failed: {e}"),
        }
        // The only source is the waker, whose wake-ups `notified` records.
        debug_assert!(events.iter().all(|e| e.token() == WAKER));
    }
}

/// A single-threaded event loop: runs coroutines and tasks of this thread,
/// its timers, and wake-ups posted from other threads. Not `Send`: one per
/// thread, which owns it.
///
/// Creating one makes it *this thread's loop*: [`sleep`](crate::sleep),
/// [`yield_now`](crate::yield_now), [`timeout`](crate::timeout) and
/// [`spawn_local`](crate::spawn_local) use it. Dropping it destroys the
/// tasks still registered (each frame once, its locals dropped) and frees
/// the thread for another loop.
///
/// ```
/// use std::time::Duration;
/// use coro::{co_await, co_return, Task};
/// use coro_io::{sleep, EventLoop};
///
/// #[coro::coroutine]
/// fn late(x: u32) -> Task<u32> {
///     co_await!(sleep(Duration::from_millis(1)));
///     co_return!(x + 1)
/// }
///
/// let rt = EventLoop::new().unwrap();
/// assert_eq!(rt.block_on(late(41)), 42);
/// ```
pub struct EventLoop {
    inner: Rc<Inner>,
}

impl fmt::Debug for EventLoop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventLoop")
            .field("tasks", &self.inner.tasks.borrow().len())
            .field("registrations", &self.inner.regs.borrow().len())
            .field("timers", &self.inner.timers.borrow().live())
            .finish()
    }
}

impl EventLoop {
    /// Makes this thread's event loop.
    ///
    /// # Errors
    /// If the OS refuses a poller (`epoll`, `kqueue`...) or its waker.
    ///
    /// # Panics
    /// If this thread already has one.
    ///
    /// ```
    /// let rt = coro_io::EventLoop::new()?;
    /// # drop(rt);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn new() -> io::Result<EventLoop> {
        if CURRENT.with(|c| c.borrow().is_some()) {
            panic!("this thread already has a coro_io::EventLoop (one per thread)");
        }
        let poll = Poll::new()?;
        let waker = mio::Waker::new(poll.registry(), WAKER)?;
        let shared = Arc::new(Shared {
            injected: Mutex::new(Vec::new()),
            notified: AtomicBool::new(false),
            waker,
            thread: thread::current().id(),
        });
        let home_waker = Waker::from(Arc::new(HomeWake(shared.clone())));
        notify_when_woken(&home_waker);
        let inner = Rc::new(Inner {
            regs: RefCell::default(),
            timers: RefCell::default(),
            ready: RefCell::default(),
            tasks: RefCell::default(),
            next_task: Cell::new(0),
            shared,
            home_waker,
            taken: RefCell::default(),
            poll: RefCell::new(poll),
            events: RefCell::new(Events::with_capacity(16)),
            running: Cell::new(false),
        });
        CURRENT.with(|c| *c.borrow_mut() = Some(inner.clone()));
        Ok(EventLoop { inner })
    }

    /// Runs the loop until `future` (a [`Task`](coro_core::Task), a
    /// [`SendTask`](coro_core::SendTask), a [`JoinHandle`] or any Rust
    /// future) completes, and returns its value. Other tasks of the loop
    /// run meanwhile; those still unfinished stay registered.
    ///
    /// # Panics
    /// With the task's panic; with a detached task's panic (the loop
    /// stays usable); if called from inside the loop (a coroutine it runs).
    ///
    /// ```
    /// use coro::{co_return, Task};
    ///
    /// #[coro::coroutine]
    /// fn seven() -> Task<u32> { co_return!(7) }
    ///
    /// let rt = coro_io::EventLoop::new().unwrap();
    /// assert_eq!(rt.block_on(seven()), 7);
    /// ```
    pub fn block_on<F>(&self, future: F) -> F::Output
    where
        F: core::future::IntoFuture,
        F::IntoFuture: 'static,
        F::Output: 'static,
    {
        let handle = self.inner.spawn(future.into_future());
        self.run_until(&|| handle.is_finished());
        handle.into_result()
    }

    /// Runs the loop until no task, timer or registration is left (the
    /// loop would block for ever otherwise: a coroutine waiting for
    /// something only another thread gives is still counted).
    ///
    /// ```
    /// use coro::{co_return, Task};
    ///
    /// #[coro::coroutine]
    /// fn hello() -> Task<()> { println!("hello"); co_return!(()) }
    ///
    /// let rt = coro_io::EventLoop::new().unwrap();
    /// rt.spawn_local(hello()).detach();
    /// rt.run();
    /// assert_eq!(rt.tasks(), 0);
    /// ```
    pub fn run(&self) {
        let inner = &self.inner;
        self.run_until(&|| {
            inner.ready.borrow().is_empty() && inner.tasks.borrow().is_empty() && inner.regs.borrow().len() == 0
        });
    }

    fn run_until(&self, done: &dyn Fn() -> bool) {
        if self.inner.running.replace(true) {
            panic!("coro_io::EventLoop::block_on or run called from inside the loop (co_await! the task instead)");
        }
        struct Running<'a>(&'a Cell<bool>);
        impl Drop for Running<'_> {
            fn drop(&mut self) {
                self.0.set(false);
            }
        }
        let _running = Running(&self.inner.running);
        while !done() {
            self.inner.turn(done);
        }
    }

    /// Runs `task` on this loop; see [`JoinHandle`] for what the handle
    /// does (await it, `block_on` it, [`detach`](JoinHandle::detach) or
    /// [`cancel`](JoinHandle::cancel) it; dropping it cancels the task).
    /// The task starts at the loop's next turn.
    ///
    /// ```
    /// use coro::{co_return, Task};
    ///
    /// #[coro::coroutine]
    /// fn two() -> Task<u32> { co_return!(2) }
    ///
    /// let rt = coro_io::EventLoop::new().unwrap();
    /// let h = rt.spawn_local(two());
    /// assert_eq!(rt.block_on(h), 2);
    /// ```
    pub fn spawn_local<F>(&self, task: F) -> JoinHandle<F::Output>
    where
        F: core::future::IntoFuture,
        F::IntoFuture: 'static,
        F::Output: 'static,
    {
        self.inner.spawn(task.into_future())
    }

    /// How many spawned tasks are registered (unfinished, not cancelled).
    ///
    /// ```
    /// assert_eq!(coro_io::EventLoop::new().unwrap().tasks(), 0);
    /// ```
    pub fn tasks(&self) -> usize {
        self.inner.tasks.borrow().len()
    }

    /// How many timers are waiting to fire (cancelled ones not counted).
    ///
    /// ```
    /// assert_eq!(coro_io::EventLoop::new().unwrap().timers(), 0);
    /// ```
    pub fn timers(&self) -> usize {
        self.inner.timers.borrow().live()
    }

    /// How many coroutines are registered with the loop (sleeping,
    /// yielding, awaiting a [`JoinHandle`] or a [`timeout`](crate::timeout)).
    ///
    /// ```
    /// assert_eq!(coro_io::EventLoop::new().unwrap().registrations(), 0);
    /// ```
    pub fn registrations(&self) -> usize {
        self.inner.regs.borrow().len()
    }
}

impl Drop for EventLoop {
    fn drop(&mut self) {
        // Destroy the tasks one at a time, outside any borrow: a frame's
        // drops deregister, and may cancel or spawn tasks.
        loop {
            let entry = {
                let mut tasks = self.inner.tasks.borrow_mut();
                let Some(index) = tasks.iter().map(|(i, _)| i).next() else { break };
                tasks.remove(index)
            };
            drop(entry);
        }
        self.inner.ready.borrow_mut().clear();
        self.inner.timers.borrow_mut().clear();
        self.inner.regs.borrow_mut().forget_timers();
        let _ = CURRENT.try_with(|c| c.borrow_mut().take());
    }
}
