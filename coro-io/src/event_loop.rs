//! [`EventLoop`]: one per thread, on a `mio::Poll`.
//!
//! A loop turn: (1) take the messages other threads posted (task wake-ups,
//! tasks spawned from elsewhere, registrations to resume or withdraw,
//! cancellations, coroutines hopping here) and the thread home's
//! notification, and re-register for the next one with
//! [`notify_when_woken`] (only if the injection flag says a message or a
//! notification came: an idle turn costs one load); (2) if notified, run
//! this thread's coroutines woken elsewhere ([`resume_woken`]); (3) fire
//! the timers that are due (the clock is read once per turn, and not at
//! all without timers); (4) run what was ready at the start of the pass,
//! oldest first (registrations to resume, spawned tasks to poll, hops,
//! cancellations, I/O waiters queued by name); (5) if nothing is ready,
//! block in `mio::Poll` until the next deadline or a [`mio::Waker`]
//! wake-up, or until an I/O source is ready; then (6) dispatch the
//! readiness events: each names a source (`Sources` in
//! `registration.rs`), whose waiters are taken out of its list and resumed
//! there and then, on the loop's stack (registration invariant 7) — or,
//! if work is already queued, queued behind it by waiter id, so that the
//! ready queue keeps its order. A resume that unwinds out of a dispatch
//! leaves the rest of the events for the next turn (step 0). While work
//! is ready the poll does not block but still runs once per turn, so that
//! I/O is never starved by coroutines that keep yielding.
//!
//! Other threads reach the loop only through [`Shared`]: its injection
//! queue (`inject.rs` states the protocol and its orderings) in front of
//! the `mio::Waker`. They never touch the loop's `RefCell`s: an awaiter
//! dropped on another thread, a `JoinHandle` dropped there, a task
//! finishing on another loop, all post a message naming a registration or
//! a task (slab key + generation), and a stale one is dropped by the
//! generation check.
//!
//! While it runs, the loop is the driver of what it resumes
//! ([`DriverScope::this_thread`]): a `SendTask` it resumes that then
//! awaits a Rust future is woken back onto this loop (through
//! [`resume_woken`]), not resumed inside the future's `wake()`.

use core::cell::{Cell, RefCell};
use core::fmt;
use core::mem;
use std::collections::VecDeque;
use std::io;
use std::ptr;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicPtr, Ordering};
use std::sync::{Arc, Weak};
use std::task::{Context, Poll as TaskPoll, Wake, Waker};
use std::time::Instant;

use coro_core::awaiter::CancelOutcome;
use coro_core::schedule::{notify_when_woken, DriverScope};
use coro_core::{resume_woken, CoroutineHandle};
use mio::{Events, Poll, Token};
use slab::Slab;

use crate::clock::Clock;
use crate::inject::{Injector, Notifier};
use crate::registration::{Direction, Key, Registrations, SourceKey, Sources, Timers, WaiterId};
use crate::runtime::{LoopHandle, RtShared};
use crate::task::{JoinHandle, Runnable, Spawned};

const WAKER: Token = Token(0);

/// How many readiness events one poll takes in (the rest wait for the
/// next turn's poll).
const EVENTS: usize = 1024;

/// Names a spawned task: its slab index and generation (never reused).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TaskKey {
    index: usize,
    generation: u64,
}

/// What the ready queue holds: names, never frames (and hops, which
/// check their target themselves).
enum Ready {
    /// A registration to resume (if still live).
    Resume(Key),
    /// A spawned task to poll (if still live).
    Poll(TaskKey),
    /// A spawned task to destroy (if still live): its handle was dropped
    /// on another thread.
    Cancel(TaskKey),
    /// A coroutine hopping onto this loop (`LoopHandle::schedule`).
    Hop(Arc<Hop>),
    /// A handle posted through the `Scheduler` trait: resumed or destroyed
    /// once.
    Post(CoroutineHandle),
    /// An I/O waiter to resume early (if still waiting): its owner cancels
    /// it from another thread.
    ResumeIo(SourceKey, Direction, WaiterId),
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

/// What other threads post to a loop (see the module docs).
pub(crate) enum Message {
    /// A spawned task's waker fired.
    Wake(TaskKey),
    /// A task spawned from another thread.
    Spawn(Box<dyn Runnable + Send>),
    /// Resume a registration: the task its coroutine awaits finished on
    /// another loop, or its owner cancels it from another thread.
    Resume(Key),
    /// An awaiter dropped on another thread withdraws its registration.
    Withdraw(Key),
    /// A `JoinHandle` dropped on another thread cancels its task.
    Cancel(TaskKey),
    /// A coroutine hopping onto this loop.
    Hop(Arc<Hop>),
    /// A handle posted through the `Scheduler` trait.
    Post(CoroutineHandle),
    /// An I/O awaiter dropped on another thread withdraws its waiter.
    WithdrawIo(SourceKey, Direction, WaiterId),
    /// Resume an I/O waiter early: its owner cancels it from another
    /// thread.
    ResumeIo(SourceKey, Direction, WaiterId),
    /// A socket dropped (or moved to another loop) on another thread: its
    /// source entry goes (it is deregistered from mio already).
    DropSource(SourceKey),
}

/// A coroutine on its way to a loop: its address until the loop takes it
/// to resume it, or its awaiter's drop withdraws it (null then), whoever
/// swaps it out first.
pub(crate) struct Hop {
    target: AtomicPtr<()>,
}

impl Hop {
    pub(crate) fn new(handle: CoroutineHandle) -> Arc<Hop> {
        Arc::new(Hop { target: AtomicPtr::new(handle.address()) })
    }

    /// The awaiter's drop: a hop still queued resumes nothing.
    pub(crate) fn cancel(&self) {
        self.target.store(ptr::null_mut(), Ordering::Release);
    }

    fn take(&self) -> Option<CoroutineHandle> {
        let p = self.target.swap(ptr::null_mut(), Ordering::Acquire);
        (!p.is_null()).then(|| CoroutineHandle::from_address(p))
    }
}

/// The loop's `mio::Waker`, as the injection queue sees it.
struct MioNotifier(mio::Waker);

impl Notifier for MioNotifier {
    fn wake(&self) {
        // An error (the poll is gone) means nobody is left to wake.
        let _ = self.0.wake();
    }
}

/// The part other threads reach: the injection queue and the stop flag.
pub(crate) struct Shared {
    inj: Injector<Message, MioNotifier>,
    /// The loop's `mio::Registry` (a clone: the same poller), with which
    /// a socket registers on the loop's thread and deregisters from any.
    pub(crate) registry: mio::Registry,
    /// Set by the `Runtime`'s drop: the loop thread stops.
    pub(crate) stop: AtomicBool,
}

thread_local! {
    /// This thread's loop's `Shared`, for cheap "is this its thread?" checks.
    static LOOP_SHARED: Cell<*const Shared> = const { Cell::new(ptr::null()) };
    /// This thread's loop, for the socket awaiters' per-operation path
    /// ([`with_loop`]): set by `EventLoop::new`, cleared at the end of its
    /// drop, before its `Rc<Inner>` goes.
    static LOOP_INNER: Cell<*const Inner> = const { Cell::new(ptr::null()) };
    /// This thread's loop's number (0: none).
    static LOOP_NUMBER: Cell<u32> = const { Cell::new(0) };
}

/// The number of this thread's loop, for a socket's fast path
/// (`net/fast.rs`): each loop gets the next number at its creation, never
/// reused; 0 if the thread has no loop, or once 2^32 - 1 loops were made
/// (a socket's waits then take its mutex).
pub(crate) fn loop_number() -> u32 {
    LOOP_NUMBER.try_with(Cell::get).unwrap_or(0)
}

/// The address of this thread's loop's `Shared` (0 if it has none): what
/// a socket's registration compares with its homes'.
pub(crate) fn loop_id() -> usize {
    LOOP_SHARED.try_with(|c| c.get() as usize).unwrap_or(0)
}

/// Runs `f` with this thread's loop, if it has one, without cloning its
/// `Rc` (a thread-local load). `f` must not drop the loop (nothing it
/// runs reaches user code: the socket awaiters' registry updates only).
pub(crate) fn with_loop<R>(f: impl FnOnce(&Inner) -> R) -> Option<R> {
    let p = LOOP_INNER.try_with(Cell::get).ok()?;
    if p.is_null() {
        return None;
    }
    // SAFETY: `LOOP_INNER` is non-null only between `EventLoop::new` and
    // the end of its drop, during which the `EventLoop` holds an
    // `Rc<Inner>` to this allocation (dropped only after `Drop::drop`
    // cleared the pointer): it is live for the whole call, as `f` does not
    // drop the loop (the caller's contract). The loop is this thread's
    // (thread-local), and `Inner` is only ever shared within its thread.
    Some(f(unsafe { &*p }))
}

impl Shared {
    /// Whether this is the thread of the (live) loop.
    pub(crate) fn is_loop_thread(&self) -> bool {
        LOOP_SHARED.try_with(|c| ptr::eq(c.get(), self)).unwrap_or(false)
    }

    /// Posts `message` to the loop; gives it back if the loop is gone.
    pub(crate) fn post(&self, message: Message) -> Result<(), Message> {
        self.inj.post(message, self.is_loop_thread())
    }

    /// Wakes the loop (it checks its stop flag and its queues).
    pub(crate) fn notify(&self) {
        self.inj.notify(self.is_loop_thread())
    }
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
        // Refused: the loop is gone, and the task with it.
        let _ = self.shared.post(Message::Wake(self.key));
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
    sources: RefCell<Sources>,
    ready: RefCell<VecDeque<Ready>>,
    tasks: RefCell<Slab<TaskEntry>>,
    next_task: Cell<u64>,
    pub(crate) shared: Arc<Shared>,
    home_waker: Waker,
    /// The messages taken out of the injection queue (keeps its capacity).
    taken: RefCell<Vec<Message>>,
    poll: RefCell<Poll>,
    /// The last poll's events (kept until dispatched in full).
    events: RefCell<Events>,
    /// A dispatch of `events` is under way (it unwound if a turn finds it
    /// so), and how many of them it took.
    dispatching: Cell<bool>,
    dispatched: Cell<usize>,
    /// The I/O waiter last taken out of its list to be resumed (ids are
    /// never reused: a stale one matches no later waiter).
    resumed_io: Cell<Option<WaiterId>>,
    /// The loop's clock, for its timers.
    clock: Clock,
    running: Cell<bool>,
    /// A drain of the home queue (`resume_woken`) began and did not return:
    /// the next turn drains even without a notification.
    drain_unfinished: Cell<bool>,
    /// The runtime `coro_io::spawn` spawns on, while the loop belongs to one.
    pub(crate) runtime: RefCell<Option<Weak<RtShared>>>,
    /// Its index in its runtime (0 for a loop of its own).
    pub(crate) index: Cell<usize>,
}

thread_local! {
    static CURRENT: RefCell<Option<Rc<Inner>>> = const { RefCell::new(None) };
}

/// This thread's loop.
///
/// # Panics
/// If this thread has no [`EventLoop`].
pub(crate) fn current() -> Rc<Inner> {
    try_current().unwrap_or_else(|| no_loop())
}

/// This thread's loop, if it has one.
pub(crate) fn try_current() -> Option<Rc<Inner>> {
    CURRENT.try_with(|c| c.borrow().clone()).ok().flatten()
}

/// The loop of `shared` if this is its thread.
pub(crate) fn local(shared: &Shared) -> Option<Rc<Inner>> {
    if shared.is_loop_thread() {
        try_current()
    } else {
        None
    }
}

/// An awaiter's drop: withdraws `key` from its loop, at once on the loop's
/// thread, by a message from any other.
pub(crate) fn withdraw(shared: &Shared, key: Key) {
    match local(shared) {
        Some(lp) => lp.deregister(key),
        // Refused: the loop is gone, and its registrations with it.
        None => drop(shared.post(Message::Withdraw(key))),
    }
}

/// The cancel step of an awaiter registered as `reg` (see
/// [`coro_core::Awaiter::await_cancel`]): on the loop's thread the
/// registration is withdrawn (`reg` is cleared: the drop has nothing left
/// to do); from another thread the loop is asked to resume the coroutine
/// early, so that its owner destroys it there. A loop that is gone has
/// dropped its registrations: nothing will resume it.
pub(crate) fn cancel(reg: &mut Option<(Arc<Shared>, Key)>) -> CancelOutcome {
    let Some((shared, key)) = reg else { return CancelOutcome::ResumeComing };
    let key = *key;
    match local(shared) {
        Some(lp) => {
            lp.deregister(key);
            *reg = None;
            CancelOutcome::Withdrawn
        }
        None => match shared.post(Message::Resume(key)) {
            Ok(()) => CancelOutcome::ResumeComing,
            Err(_) => {
                *reg = None;
                CancelOutcome::Withdrawn
            }
        },
    }
}

/// This thread's loop, for `what`.
///
/// # Panics
/// If this thread has no [`EventLoop`], naming `what`.
pub(crate) fn current_for(what: &str) -> Rc<Inner> {
    try_current().unwrap_or_else(|| no_loop_for(what))
}

#[cold]
#[inline(never)]
fn no_loop_for(what: &str) -> ! {
    panic!(
        "no coro_io::EventLoop on this thread: {what} needs one (run the coroutine on a loop: \
         EventLoop::block_on, Runtime::block_on or Runtime::spawn; or use sync_wait / .await)"
    )
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
        self.timers.borrow_mut().push(self.clock.ticks(deadline), key, &mut regs);
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

    /// Registers a new I/O source, `fd`, with the loop's poller
    /// (edge-triggered, readable and writable).
    #[cfg(unix)]
    pub(crate) fn add_source(&self, fd: std::os::fd::RawFd) -> io::Result<SourceKey> {
        let key = self.sources.borrow_mut().insert();
        let interest = mio::Interest::READABLE | mio::Interest::WRITABLE;
        match self.shared.registry.register(&mut mio::unix::SourceFd(&fd), Sources::token(key), interest) {
            Ok(()) => Ok(key),
            Err(e) => {
                self.sources.borrow_mut().remove(key);
                Err(e)
            }
        }
    }

    /// Removes a source's entry (deregistered from the poller already).
    pub(crate) fn remove_source(&self, key: SourceKey) {
        self.sources.borrow_mut().remove(key);
    }

    /// Records `handle` as waiting for `direction` on `source`; `None` if
    /// the source is gone.
    pub(crate) fn wait_io(&self, source: SourceKey, direction: Direction, handle: CoroutineHandle) -> Option<WaiterId> {
        self.sources.borrow_mut().add_waiter(source, direction, handle)
    }

    /// An I/O awaiter's resume, drop or cancel step: withdraws `id` (a
    /// no-op if the loop took it to resume it).
    pub(crate) fn withdraw_io(&self, source: SourceKey, direction: Direction, id: WaiterId) {
        if self.resumed_io.get() == Some(id) {
            // The waiter a readiness event just took out to resume.
            return;
        }
        self.sources.borrow_mut().take_waiter(source, direction, id);
    }

    /// Resumes the coroutines waiting on the sources the polled events
    /// name, from event `self.dispatched` on. Each is taken out of its
    /// list (registration invariant 7) and resumed here, on the loop's
    /// stack, with no borrow held but the events' (shared; only a turn
    /// touches them, and a turn cannot run inside a resume); the waiters
    /// a resumed coroutine adds (it read all there was and waits again)
    /// wait for the next event. A resume that unwinds leaves `dispatching`
    /// set and `dispatched` at the event it was handling: the next turn
    /// goes on from there before it polls, handling that event again (the
    /// waiters it had not reached yet are resumed; any resumed already
    /// that waits again gets a spurious wake-up, which costs a retry), so
    /// no readiness is lost.
    fn dispatch(&self) {
        self.dispatching.set(true);
        let events = self.events.borrow();
        for (i, e) in events.iter().enumerate().skip(self.dispatched.get()) {
            self.dispatched.set(i);
            // The waker's wake-ups are recorded by `notified`; a stale
            // token names no source.
            let Some((key, readers, writers)) = self.sources.borrow().waiting_on(e.token()) else { continue };
            // Those waiting now (the waiters a resume adds wait for the
            // next event). An error or a hang-up wakes both directions:
            // the retried operation reports it.
            if readers > 0 && (e.is_readable() || e.is_read_closed() || e.is_error()) {
                self.wake_io(key, Direction::Read, readers);
            }
            if writers > 0 && (e.is_writable() || e.is_write_closed() || e.is_error()) {
                self.wake_io(key, Direction::Write, writers);
            }
        }
        self.dispatched.set(0);
        self.dispatching.set(false);
    }

    /// Resumes the `n` oldest waiters of `key` for `direction` (a withdrawn
    /// one's turn goes to a later waiter: a spurious wake-up, it retries).
    fn wake_io(&self, key: SourceKey, direction: Direction, n: usize) {
        for _ in 0..n {
            if !self.ready.borrow().is_empty() {
                // Work is queued: the waiters queue behind it, by name
                // (taken out when their turn comes, if still there), so
                // that the queue stays in order.
                let mut ready = self.ready.borrow_mut();
                self.sources
                    .borrow()
                    .for_each_waiter(key, direction, |id| ready.push_back(Ready::ResumeIo(key, direction, id)));
                return;
            }
            let Some((id, h)) = self.sources.borrow_mut().pop_waiter(key, direction) else { return };
            // Its awaiter's withdrawal (first thing after the resume) then
            // has nothing to look up.
            self.resumed_io.set(Some(id));
            // SAFETY: a handle in a source's list names a frame suspended
            // on the awaiter that put it there, on this thread
            // (registration invariant 7); `pop_waiter` took it out, so it
            // is resumed once.
            unsafe { h.resume() }
        }
    }

    /// Starts `future` as a task of this loop.
    pub(crate) fn spawn<T: 'static>(
        self: &Rc<Self>,
        future: impl core::future::Future<Output = T> + 'static,
    ) -> JoinHandle<T> {
        let (run, state) = Spawned::boxed(future);
        let handle = JoinHandle::new(self.shared.clone(), state);
        // Not cancelled yet: its handle is here.
        let _ = self.insert_task(run);
        handle
    }

    /// Adds a task to the slab and the ready queue, unless its handle was
    /// dropped meanwhile (then the task is dropped here, unstarted).
    fn insert_task(&self, run: Box<dyn Runnable>) -> Result<TaskKey, Box<dyn Runnable>> {
        let generation = self.next_task.get() + 1;
        self.next_task.set(generation);
        let mut tasks = self.tasks.borrow_mut();
        let entry = tasks.vacant_entry();
        let key = TaskKey { index: entry.key(), generation };
        if !run.attach(key) {
            return Err(run);
        }
        let waker = Waker::from(Arc::new(TaskWake { shared: self.shared.clone(), key }));
        entry.insert(TaskEntry { generation, run: Some(run), waker, queued: true, cancelled: false });
        drop(tasks);
        self.ready.borrow_mut().push_back(Ready::Poll(key));
        Ok(key)
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

    /// Files a message from another thread: what runs user code (a hop, a
    /// cancellation) goes through the ready queue, so that a panic there
    /// loses no other message.
    fn accept(&self, message: Message, doomed: &mut Vec<Box<dyn Runnable>>) {
        match message {
            Message::Wake(key) => self.schedule_task(key),
            Message::Spawn(run) => {
                if let Err(run) = self.insert_task(run) {
                    doomed.push(run);
                }
            }
            Message::Resume(key) => self.wake(key),
            Message::Withdraw(key) => self.deregister(key),
            Message::Cancel(key) => self.ready.borrow_mut().push_back(Ready::Cancel(key)),
            Message::Hop(hop) => self.ready.borrow_mut().push_back(Ready::Hop(hop)),
            Message::Post(h) => self.ready.borrow_mut().push_back(Ready::Post(h)),
            Message::WithdrawIo(source, direction, id) => self.withdraw_io(source, direction, id),
            Message::ResumeIo(source, direction, id) => {
                self.ready.borrow_mut().push_back(Ready::ResumeIo(source, direction, id))
            }
            Message::DropSource(source) => self.remove_source(source),
        }
    }

    /// Takes the messages other threads posted and files them; `false` if
    /// no notification came after all.
    #[inline(never)]
    fn accept_messages(&self) -> bool {
        let mut taken = mem::take(&mut *self.taken.borrow_mut());
        let notified = self.shared.inj.take(&mut taken);
        if notified {
            notify_when_woken(&self.home_waker);
            let mut doomed = Vec::new();
            for message in taken.drain(..) {
                self.accept(message, &mut doomed);
            }
            // Tasks cancelled before they started, dropped last.
            drop(doomed);
        }
        *self.taken.borrow_mut() = taken;
        notified
    }

    /// One loop turn (see the module docs); blocks in `poll` only if
    /// nothing is ready and `done()` is false.
    fn turn(&self, done: &dyn Fn() -> bool) {
        // (0) Events a dispatch left when a resume unwound.
        let leftover = self.dispatching.get();
        if leftover {
            self.dispatch();
        }
        // (1) Messages from other threads.
        let notified = self.shared.inj.is_notified() && self.accept_messages();
        // (2) This thread's coroutines woken elsewhere. Every post to this
        // thread's wake queue wakes the home waker (registered above, or at
        // once by `notify_when_woken` if the queue already holds posts), so
        // a turn without a notification has nothing to drain: the drain is
        // skipped (it costs a mutex and a thread-local per turn). A drain
        // that unwound (a detached task's panic) requeued the rest of its
        // batch without a notification, so the next turn drains again.
        let drain = notified || self.drain_unfinished.get();
        if drain {
            self.drain_unfinished.set(true);
            resume_woken();
            self.drain_unfinished.set(false);
        }
        // (3) Timers (no clock read if there are none). `timed`: the time
        // and the next deadline, for the poll's timeout if nothing runs.
        let mut timed = None;
        {
            let mut timers = self.timers.borrow_mut();
            if !timers.is_empty() {
                let t = self.clock.now();
                let mut regs = self.regs.borrow_mut();
                let mut ready = self.ready.borrow_mut();
                timers.fire_due(t, &mut regs, |key| ready.push_back(Ready::Resume(key)));
                timed = Some((t, timers.next_deadline(&regs)));
            }
        }
        // (4) What is ready now; what it readies waits for the next pass.
        let n = self.ready.borrow().len();
        if n > 0 {
            // Time passes while it runs, and it may add timers: the poll's
            // timeout looks again.
            timed = None;
        }
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
                Ready::Cancel(key) => self.cancel_task(key),
                Ready::Hop(hop) => {
                    if let Some(h) = hop.take() {
                        // SAFETY: the hop's target is a `Send` coroutine
                        // (its awaiter refused a thread-bound one)
                        // suspended on the awaiter that posted it; winning
                        // the swap against the awaiter's drop means it was
                        // not destroyed, and nothing else resumes it.
                        unsafe { h.resume() }
                    }
                }
                // SAFETY: `Scheduler::post`'s contract: a live, suspended
                // coroutine (or stand-in) ours to resume once, on any
                // thread (`resumes_on_posting_thread` is `false`).
                Ready::Post(h) => unsafe { h.resume() },
                Ready::ResumeIo(source, direction, id) => {
                    let handle = self.sources.borrow_mut().take_waiter(source, direction, id);
                    if let Some(h) = handle {
                        // SAFETY: as for a readiness event (registration
                        // invariant 7): still in its list, so suspended on
                        // its awaiter, on this thread; taken out once.
                        unsafe { h.resume() }
                    }
                }
            }
            if done() {
                return;
            }
        }
        // (5) Block until a deadline, a wake-up or I/O; only look at I/O
        // if work is ready. (`done()` was last asked before this turn: if
        // nothing ran since, its answer stands.)
        if (leftover || drain || n > 0) && done() {
            return;
        }
        let timeout = if !self.ready.borrow().is_empty() {
            if self.sources.borrow().len() == 0 {
                return;
            }
            Some(std::time::Duration::ZERO)
        } else if self.shared.inj.must_not_block() {
            Some(std::time::Duration::ZERO)
        } else {
            let (now, next) = match timed {
                Some(timed) => timed,
                None => match self.timers.borrow_mut().next_deadline(&self.regs.borrow()) {
                    Some(next) => (self.clock.now(), Some(next)),
                    None => (0, None),
                },
            };
            next.map(|d| std::time::Duration::from_nanos(d.saturating_sub(now)))
        };
        {
            let mut events = self.events.borrow_mut();
            match self.poll.borrow_mut().poll(&mut events, timeout) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => panic!("coro_io::EventLoop: mio::Poll::poll failed: {e}"),
            }
        }
        // (6) Readiness: the sockets' events resume their waiters.
        self.dispatch();
    }

    /// Runs turns until `done()`.
    pub(crate) fn run_until(&self, done: &dyn Fn() -> bool) {
        if self.running.replace(true) {
            panic!("coro_io::EventLoop::block_on or run called from inside the loop (co_await! the task instead)");
        }
        struct Running<'a>(&'a Cell<bool>);
        impl Drop for Running<'_> {
            fn drop(&mut self) {
                self.0.set(false);
            }
        }
        let _running = Running(&self.running);
        // The loop drives what it resumes: a `Send` coroutine woken by a
        // future comes back here.
        let _driver = DriverScope::this_thread();
        while !done() {
            self.turn(done);
        }
    }

    /// Runs the loop until `future` completes (see `EventLoop::block_on`).
    pub(crate) fn block_on<T: 'static>(self: &Rc<Self>, future: impl core::future::Future<Output = T> + 'static) -> T {
        let handle = self.spawn(future);
        self.run_until(&|| handle.is_finished());
        handle.into_result()
    }

    /// Nothing is left that could run.
    fn idle(&self) -> bool {
        self.ready.borrow().is_empty()
            && self.tasks.borrow().is_empty()
            && self.regs.borrow().len() == 0
            && self.sources.borrow().waiters() == 0
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
            .field("sources", &self.inner.sources.borrow().len())
            .field("io_waiters", &self.inner.sources.borrow().waiters())
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
        let registry = poll.registry().try_clone()?;
        let shared =
            Arc::new(Shared { inj: Injector::new(MioNotifier(waker)), registry, stop: AtomicBool::new(false) });
        let home_waker = Waker::from(Arc::new(HomeWake(shared.clone())));
        notify_when_woken(&home_waker);
        let inner = Rc::new(Inner {
            regs: RefCell::default(),
            timers: RefCell::default(),
            sources: RefCell::default(),
            ready: RefCell::default(),
            tasks: RefCell::default(),
            next_task: Cell::new(0),
            shared,
            home_waker,
            taken: RefCell::default(),
            poll: RefCell::new(poll),
            events: RefCell::new(Events::with_capacity(EVENTS)),
            dispatching: Cell::new(false),
            dispatched: Cell::new(0),
            resumed_io: Cell::new(None),
            clock: Clock::new(),
            running: Cell::new(false),
            drain_unfinished: Cell::new(false),
            runtime: RefCell::new(None),
            index: Cell::new(0),
        });
        LOOP_SHARED.with(|c| c.set(Arc::as_ptr(&inner.shared)));
        LOOP_INNER.with(|c| c.set(Rc::as_ptr(&inner)));
        static NEXT_NUMBER: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(1);
        // Never reused: once the numbers run out, loops get 0 (no fast path).
        let n = NEXT_NUMBER.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_add(1)).unwrap_or(0);
        LOOP_NUMBER.with(|c| c.set(n));
        CURRENT.with(|c| *c.borrow_mut() = Some(inner.clone()));
        Ok(EventLoop { inner })
    }

    pub(crate) fn inner(&self) -> &Rc<Inner> {
        &self.inner
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
        self.inner.block_on(future.into_future())
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
        inner.run_until(&|| inner.idle());
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

    /// A handle to this loop that other threads can use: spawn `Send`
    /// tasks on it, hop coroutines onto it ([`LoopHandle::schedule`]).
    ///
    /// ```
    /// use coro::{co_return, SendTask};
    ///
    /// #[coro::coroutine]
    /// fn three() -> SendTask<u32> { co_return!(3) }
    ///
    /// let rt = coro_io::EventLoop::new().unwrap();
    /// let handle = rt.handle();
    /// let h = std::thread::spawn(move || handle.spawn(three())).join().unwrap();
    /// assert_eq!(rt.block_on(h), 3);
    /// ```
    pub fn handle(&self) -> LoopHandle {
        LoopHandle::new(self.inner.shared.clone(), self.inner.index.get())
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
    /// yielding, awaiting a [`JoinHandle`], a [`timeout`](crate::timeout)
    /// or a socket).
    ///
    /// ```
    /// assert_eq!(coro_io::EventLoop::new().unwrap().registrations(), 0);
    /// ```
    pub fn registrations(&self) -> usize {
        self.inner.regs.borrow().len() + self.inner.sources.borrow().waiters()
    }

    /// How many sockets are registered with the loop's poller (each
    /// registers at its first wait on this loop and deregisters when it
    /// is dropped or moves to another loop).
    ///
    /// ```
    /// use std::net::SocketAddr;
    /// let rt = coro_io::EventLoop::new().unwrap();
    /// let listener = coro_io::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).unwrap();
    /// assert_eq!(rt.sources(), 0); // not awaited yet
    /// # drop(listener);
    /// ```
    pub fn sources(&self) -> usize {
        self.inner.sources.borrow().len()
    }
}

impl Drop for EventLoop {
    fn drop(&mut self) {
        let inner = &self.inner;
        // Destroy the tasks one at a time, outside any borrow: a frame's
        // drops deregister, and may cancel or spawn tasks.
        let destroy_tasks = || loop {
            let entry = {
                let mut tasks = inner.tasks.borrow_mut();
                let Some(index) = tasks.iter().map(|(i, _)| i).next() else { break };
                tasks.remove(index)
            };
            drop(entry);
        };
        destroy_tasks();
        // Refuse later posts; what was posted and not taken is handled here,
        // on the loop's thread: tasks spawned from elsewhere are destroyed
        // unstarted, handles posted through `Scheduler` destroyed.
        for message in inner.shared.inj.close() {
            match message {
                Message::Spawn(run) => drop(run),
                // SAFETY: `Scheduler::post`'s contract: ours to destroy once,
                // the scheduler being dropped with it still queued.
                Message::Post(h) => unsafe { h.destroy() },
                _ => {}
            }
        }
        destroy_tasks();
        let ready = mem::take(&mut *inner.ready.borrow_mut());
        for r in ready {
            if let Ready::Post(h) = r {
                // SAFETY: as above.
                unsafe { h.destroy() }
            }
        }
        inner.timers.borrow_mut().clear();
        inner.regs.borrow_mut().forget_timers();
        let _ = LOOP_SHARED.try_with(|c| c.set(ptr::null()));
        let _ = LOOP_INNER.try_with(|c| c.set(ptr::null()));
        let _ = LOOP_NUMBER.try_with(|c| c.set(0));
        let _ = CURRENT.try_with(|c| c.borrow_mut().take());
    }
}
