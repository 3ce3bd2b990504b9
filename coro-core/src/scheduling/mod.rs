//! Schedulers: things that resume coroutines later ([`Scheduler`],
//! [`LocalScheduler`]), hopping onto one ([`Scheduler::schedule`]), and
//! tasks launched without an owner ([`spawn_detached`]).

pub(crate) mod pool_join;
pub(crate) mod thread_pool;

use core::cell::RefCell;
use core::fmt;
use core::ptr;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicPtr, Ordering};
use std::collections::VecDeque;
use std::panic::resume_unwind;
use std::sync::Arc;

use crate::language::awaiter::{AwaitSuspend, Awaiter, CancelOutcome};
use crate::language::frame::{counted_handle, take_counted, Header, VTable};
use crate::language::handle::{CoroutineHandle, UniqueCoroutineHandle};
use crate::language::point::SuspendPoint;
use crate::library::combinators::IntoTask;
use crate::library::task::{TaskKind, TaskPromise};

/// Something that resumes coroutines later: a run queue, an event loop
/// (the hook `coro-io` uses). Object safe.
///
/// # Safety
///
/// An implementor promises, for every handle given to [`post`](Self::post):
///
/// - it either **resumes** it ([`CoroutineHandle::resume`]) or
///   **destroys** it ([`CoroutineHandle::destroy`]) — exactly once, and
///   does nothing else with it (a scheduler destroys a handle only when it
///   is itself being dropped with the handle still queued);
/// - never from inside `post` itself: the poster may still be suspending;
/// - on the thread that called `post` (the coroutines posted may hold
///   thread-bound values: a `Task`'s frame is not `Send`) — unless
///   [`resumes_on_posting_thread`](Self::resumes_on_posting_thread)
///   returns `false`, which allows any thread (a thread pool).
///
/// A scheduler that resumes on other threads relies on what is posted to
/// it: the library's stand-ins are thread-safe, [`spawn_detached`] refuses
/// (with a panic, before anything runs) a thread-bound `Task`, and a
/// coroutine whose frame is not `Send` must refuse to run on another thread
/// (as `Task` does in [`Promise::before_resume`](crate::Promise::before_resume):
/// a panic, frame untouched) — the same rule the thread-safe `coro::sync`
/// primitives, which resume waiters on the releasing thread, rely on.
///
/// ```
/// use std::cell::RefCell;
/// use coro::schedule::Scheduler;
/// use coro::CoroutineHandle;
///
/// /// A LIFO scheduler, driven by hand.
/// #[derive(Default)]
/// struct Stack(RefCell<Vec<CoroutineHandle>>);
///
/// // SAFETY: `run` resumes each handle once, on this thread (the type is
/// // not `Send`), outside `post`; `Drop` destroys the rest.
/// unsafe impl Scheduler for Stack {
///     unsafe fn post(&self, handle: CoroutineHandle) { self.0.borrow_mut().push(handle) }
/// }
/// impl Stack {
///     fn run(&self) {
///         while let Some(h) = self.0.borrow_mut().pop() {
///             // SAFETY: posted handles are ours to resume once.
///             unsafe { h.resume() }
///         }
///     }
/// }
/// impl Drop for Stack {
///     fn drop(&mut self) {
///         // SAFETY: posted handles are ours to destroy once.
///         for h in self.0.get_mut().drain(..) { unsafe { h.destroy() } }
///     }
/// }
///
/// let s = Stack::default();
/// s.run();
/// ```
pub unsafe trait Scheduler {
    /// Queues `handle` to be resumed later (see the trait's contract).
    ///
    /// # Safety
    /// `handle` is a live, suspended coroutine (or stand-in frame) that
    /// nothing else will resume or destroy, and which may be resumed on this
    /// thread (on any thread if `resumes_on_posting_thread()` is `false`),
    /// or destroyed, by the scheduler.
    ///
    /// # Example
    ///
    /// Schedulers are posted to by [`spawn_detached`] and [`schedule`](Self::schedule);
    /// an implementation may forward to another one:
    /// ```
    /// use std::cell::Cell;
    /// use coro::schedule::{spawn_detached, LocalScheduler, Scheduler};
    /// use coro::{co_return, CoroutineHandle, Task};
    ///
    /// /// A `LocalScheduler` that counts what is posted to it.
    /// struct Counting(LocalScheduler, Cell<u32>);
    /// // SAFETY: every handle goes to the inner scheduler, which keeps the contract.
    /// unsafe impl Scheduler for Counting {
    ///     unsafe fn post(&self, handle: CoroutineHandle) {
    ///         self.1.set(self.1.get() + 1);
    ///         unsafe { self.0.post(handle) } // SAFETY: our caller's promise, passed on
    ///     }
    /// }
    ///
    /// #[coro::coroutine]
    /// fn nothing() -> Task<()> { co_return!(()) }
    ///
    /// let s = Counting(LocalScheduler::new(), Cell::new(0));
    /// spawn_detached(nothing(), &s);
    /// assert_eq!((s.0.run_until_idle(), s.1.get()), (1, 1));
    /// ```
    unsafe fn post(&self, handle: CoroutineHandle);

    /// `true` (the default) if every posted handle is resumed on the thread
    /// that posted it; `false` for a scheduler that resumes on threads of
    /// its own ([`ThreadPool`](crate::ThreadPool)).
    ///
    /// ```
    /// use coro::schedule::{LocalScheduler, Scheduler};
    /// use coro::ThreadPool;
    /// assert!(LocalScheduler::new().resumes_on_posting_thread());
    /// assert!(!ThreadPool::new(1).resumes_on_posting_thread());
    /// ```
    fn resumes_on_posting_thread(&self) -> bool {
        true
    }

    /// `co_await!(scheduler.schedule())` suspends the current coroutine and
    /// has the scheduler resume it (cppcoro's `schedule()`).
    ///
    /// If the awaiting coroutine is destroyed while queued, the scheduler
    /// later resumes (or destroys) only a small stand-in, never the dead
    /// coroutine.
    ///
    /// ```
    /// use coro::schedule::{spawn_detached, LocalScheduler, Scheduler};
    /// use coro::{co_await, co_return, Task};
    /// use std::cell::Cell;
    /// use std::rc::Rc;
    ///
    /// #[coro::coroutine]
    /// fn hop(s: Rc<LocalScheduler>, log: Rc<Cell<u32>>) -> Task<()> {
    ///     log.set(1);
    ///     co_await!(s.schedule());
    ///     log.set(2);
    ///     co_return!(())
    /// }
    ///
    /// let s = Rc::new(LocalScheduler::new());
    /// let log = Rc::new(Cell::new(0));
    /// spawn_detached(hop(s.clone(), log.clone()), &*s);
    /// s.run_until_idle();
    /// assert_eq!(log.get(), 2);
    /// ```
    fn schedule(&self) -> Schedule<'_>
    where
        Self: Sized,
    {
        Schedule { scheduler: self, hop: None }
    }
}

// ===========================================================================
// LocalScheduler
// ===========================================================================

/// A single-threaded FIFO run queue, driven by
/// [`run_until_idle`](Self::run_until_idle). Not `Send`: it resumes
/// coroutines on the thread that owns it.
///
/// Dropping it **destroys** the handles still queued: a detached task that
/// never started is destroyed with its parameters; a coroutine that hopped
/// onto it ([`Scheduler::schedule`]) is not resumed and stays suspended
/// (its owner destroys it as usual; a *detached* task suspended there is
/// leaked — its frame is never freed).
///
/// ```
/// use coro::schedule::{spawn_detached, LocalScheduler};
/// use coro::{co_return, Task};
/// use std::cell::Cell;
/// use std::rc::Rc;
///
/// #[coro::coroutine]
/// fn set(flag: Rc<Cell<bool>>) -> Task<()> { flag.set(true); co_return!(()) }
///
/// let s = LocalScheduler::new();
/// let flag = Rc::new(Cell::new(false));
/// spawn_detached(set(flag.clone()), &s);
/// assert!(!flag.get());             // queued, not run yet
/// assert_eq!(s.run_until_idle(), 1);
/// assert!(flag.get());
/// ```
#[derive(Default)]
pub struct LocalScheduler {
    queue: RefCell<VecDeque<CoroutineHandle>>,
    _not_send: core::marker::PhantomData<*const ()>,
}

impl fmt::Debug for LocalScheduler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalScheduler").field("queued", &self.queue.borrow().len()).finish()
    }
}

impl LocalScheduler {
    /// An empty run queue.
    ///
    /// ```
    /// let s = coro::schedule::LocalScheduler::new();
    /// assert_eq!(s.run_until_idle(), 0);
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Resumes queued coroutines, oldest first, including those queued while
    /// it runs, until the queue is empty; returns how many it resumed. It
    /// also runs this thread's coroutines woken by futures on other threads
    /// ([`resume_woken`](crate::resume_woken)).
    ///
    /// A panic escaping a resumed coroutine (a detached task's panic)
    /// propagates from here; the rest of the queue stays queued.
    ///
    /// ```
    /// let s = coro::schedule::LocalScheduler::new();
    /// assert_eq!(s.run_until_idle(), 0);
    /// ```
    pub fn run_until_idle(&self) -> usize {
        let _driver = crate::home::DriverScope::this_thread();
        let mut n = 0;
        loop {
            let next = self.queue.borrow_mut().pop_front();
            let Some(h) = next else {
                // Coroutines of this thread woken by futures on other
                // threads count as ready work too.
                match crate::home::resume_woken() {
                    0 => return n,
                    woken => {
                        n += woken;
                        continue;
                    }
                }
            };
            n += 1;
            // SAFETY: `post`'s contract: the handle is live, suspended and
            // ours to resume, once; this is the thread that posted it.
            unsafe { h.resume() }
        }
    }

    /// How many handles are queued.
    ///
    /// ```
    /// assert_eq!(coro::schedule::LocalScheduler::new().len(), 0);
    /// ```
    pub fn len(&self) -> usize {
        self.queue.borrow().len()
    }

    /// `true` if nothing is queued.
    ///
    /// ```
    /// assert!(coro::schedule::LocalScheduler::new().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

// SAFETY: handles are resumed once by `run_until_idle` or destroyed once by
// `Drop`, never inside `post`, on the owning thread (`LocalScheduler` is
// neither `Send` nor `Sync`).
unsafe impl Scheduler for LocalScheduler {
    unsafe fn post(&self, handle: CoroutineHandle) {
        self.queue.borrow_mut().push_back(handle);
    }
}

impl Drop for LocalScheduler {
    fn drop(&mut self) {
        loop {
            let next = self.queue.get_mut().pop_front();
            let Some(h) = next else { return };
            // SAFETY: `post`'s contract: the handle is ours to destroy, once.
            unsafe { h.destroy() }
        }
    }
}

// ===========================================================================
// schedule()
// ===========================================================================

/// A stand-in posted for a hopping coroutine: resuming it transfers to the
/// coroutine unless the coroutine's awaiter is gone. Thread-safe (`Arc`, an
/// atomic target): a thread pool may resume or destroy it on a worker while
/// the coroutine's owner destroys the coroutine.
#[repr(C)]
pub(crate) struct Hop {
    header: Header,
    /// The coroutine's header, or null once taken (by the resume) or
    /// cancelled (by the awaiter's drop): whoever swaps it out first decides.
    target: AtomicPtr<Header>,
}

static HOP_VTABLE: VTable = VTable::stand_in(hop_resume, hop_destroy);

unsafe fn hop_resume(h: NonNull<Header>) -> Option<NonNull<Header>> {
    // SAFETY: only `post_hop` posts hops, giving the scheduler one strong
    // count (`Arc::into_raw`), taken back here or in `hop_destroy`, once.
    let hop: Arc<Hop> = unsafe { take_counted(h) };
    // The target was written before the hop was posted (the scheduler's
    // queue orders that); the swap only decides against `cancel_hop`.
    NonNull::new(hop.target.swap(ptr::null_mut(), Ordering::Acquire))
}

unsafe fn hop_destroy(h: NonNull<Header>) {
    // SAFETY: as in `hop_resume`.
    drop(unsafe { take_counted::<Hop>(h) });
}

/// A hop to `awaiting`: the `Arc` the awaiter keeps (to cancel it with
/// [`cancel_hop`] if the coroutine is destroyed first), and the stand-in's
/// handle to post, which owns one strong count (given back by `hop_resume`
/// or `hop_destroy`). The awaiter must store the `Arc` *before* posting:
/// once posted, the coroutine may run on another thread and the awaiter be
/// gone.
fn new_hop(awaiting: CoroutineHandle) -> (Arc<Hop>, CoroutineHandle) {
    let hop =
        Arc::new(Hop { header: Header::stand_in(&HOP_VTABLE), target: AtomicPtr::new(awaiting.header().as_ptr()) });
    let stand_in = counted_handle(&hop);
    (hop, stand_in)
}

/// The `await_suspend` of an awaiter that hops to `scheduler`: refuses a
/// thread-bound coroutine if the scheduler may resume it elsewhere, then
/// makes the hop, keeps its `Arc` in `slot` (for [`cancel_hop`]) and posts
/// its stand-in. The `Arc` is stored *before* posting: once posted, the
/// coroutine may run (on another thread, for a pool) and the awaiter be
/// gone.
///
/// # Safety
/// `awaiting` is the live handle the frame passes to `await_suspend`.
#[inline(always)]
pub(crate) unsafe fn post_hop<S: Scheduler + ?Sized>(
    scheduler: &S,
    slot: &mut Option<Arc<Hop>>,
    awaiting: CoroutineHandle,
) {
    // SAFETY: a live handle (caller's contract).
    if unsafe { awaiting.is_thread_bound() } && !scheduler.resumes_on_posting_thread() {
        // SAFETY: as above; the frame is suspended at the `co_await!` that
        // awaits this hop, so its record names the user's line.
        thread_bound_hop(unsafe { awaiting.suspend_point() })
    }
    let (hop, stand_in) = new_hop(awaiting);
    *slot = Some(hop);
    // SAFETY: the stand-in is live (its strong count goes to the
    // scheduler), nothing else resumes or destroys it, and it may be
    // resumed on any thread (`Hop` is thread-safe).
    unsafe { scheduler.post(stand_in) }
}

/// For a hand-written scheduler's awaiter (an event loop of another
/// thread): panics, naming the `co_await!`'s line, if `awaiting` is a
/// thread-bound coroutine (a `Task`), which must not be resumed on
/// another thread; call it in `await_suspend` before handing the handle
/// over. The check `co_await!(pool.schedule())` makes.
///
/// # Safety
/// `awaiting` is live: the handle the frame passes to `await_suspend`.
///
/// ```
/// use coro::{AwaitSuspend, Awaiter, CoroutineHandle};
///
/// /// Hands the coroutine to another thread, which resumes it.
/// struct ToThread;
/// impl Awaiter for ToThread {
///     type Output = ();
///     fn await_ready(&mut self) -> bool { false }
///     unsafe fn await_suspend(&mut self, h: CoroutineHandle) -> impl AwaitSuspend {
///         // SAFETY: the frame's own handle.
///         unsafe { coro::schedule::assert_not_thread_bound(h) };
///         // SAFETY: handed over once; a `Send` coroutine may run there.
///         std::thread::spawn(move || unsafe { h.resume() });
///     }
///     fn await_resume(self) {}
/// }
/// ```
pub unsafe fn assert_not_thread_bound(awaiting: CoroutineHandle) {
    // SAFETY: live (caller's contract).
    if unsafe { awaiting.is_thread_bound() } {
        // SAFETY: as above; suspended at the `co_await!` awaiting the caller.
        thread_bound_hop(unsafe { awaiting.suspend_point() })
    }
}

/// The awaiter's drop: if the coroutine is destroyed while queued, the hop
/// must not resume it; after a normal resumption the target is already
/// taken and this does nothing.
/// The cancel step of a hop's awaiter: takes the target back unless the
/// scheduler's resume of the hop already took it (`hop_resume` swaps it
/// out). `Withdrawn`: the queued hop will resume nothing.
pub(crate) fn withdraw_hop(hop: &Option<Arc<Hop>>) -> CancelOutcome {
    match hop {
        // `AcqRel`: decides against `hop_resume`'s swap.
        Some(hop) if !hop.target.swap(ptr::null_mut(), Ordering::AcqRel).is_null() => CancelOutcome::Withdrawn,
        _ => CancelOutcome::ResumeComing,
    }
}

pub(crate) fn cancel_hop(hop: Option<Arc<Hop>>) {
    if let Some(hop) = hop {
        hop.target.store(ptr::null_mut(), Ordering::Release);
    }
}

/// The awaiter of [`Scheduler::schedule`].
pub struct Schedule<'s> {
    scheduler: &'s dyn Scheduler,
    hop: Option<Arc<Hop>>,
}

impl<'s> Schedule<'s> {
    /// [`Scheduler::schedule`] for a `dyn Scheduler`.
    ///
    /// ```
    /// use coro::schedule::{LocalScheduler, Schedule, Scheduler};
    /// let s = LocalScheduler::new();
    /// let d: &dyn Scheduler = &s;
    /// let _awaiter = Schedule::new(d);
    /// ```
    pub fn new(scheduler: &'s dyn Scheduler) -> Self {
        Schedule { scheduler, hop: None }
    }
}

impl fmt::Debug for Schedule<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Schedule").field("queued", &self.hop.is_some()).finish()
    }
}

#[diagnostic::do_not_recommend]
impl Awaiter for Schedule<'_> {
    type Output = ();
    fn await_ready(&mut self) -> bool {
        false
    }
    unsafe fn await_suspend(&mut self, awaiting: CoroutineHandle) -> impl AwaitSuspend {
        // SAFETY: the frame calls this with its own, live handle.
        unsafe { post_hop(self.scheduler, &mut self.hop, awaiting) }
    }
    /// Takes the hop back unless the scheduler is already resuming it.
    unsafe fn await_cancel(&mut self) -> CancelOutcome {
        withdraw_hop(&self.hop)
    }
    fn await_resume(self) {}
}

impl Drop for Schedule<'_> {
    fn drop(&mut self) {
        cancel_hop(self.hop.take());
    }
}

// ===========================================================================
// Detached tasks
// ===========================================================================

/// The owner of a detached task: a stand-in frame, posted to the scheduler
/// to start the task, then the task's continuation, which takes the result
/// and frees everything.
#[repr(C)]
struct Detached<T, K: TaskKind> {
    header: Header,
    task: UniqueCoroutineHandle<TaskPromise<T, K>>,
    started: bool,
}

impl<T, K: TaskKind> Detached<T, K> {
    const VTABLE: VTable = VTable::stand_in(detached_resume::<T, K>, detached_destroy::<T, K>);
}

unsafe fn detached_resume<T, K: TaskKind>(h: NonNull<Header>) -> Option<NonNull<Header>> {
    let p = h.cast::<Detached<T, K>>().as_ptr();
    // SAFETY: `spawn_detached` made this box and gave its handle to the
    // scheduler (first resumption) and to the task (its continuation,
    // second resumption); each resumes it once, one after the other.
    unsafe {
        if !(*p).started {
            (*p).started = true;
            return Some((*p).task.handle().erase().header());
        }
        let mut d = Box::from_raw(p);
        let outcome = d.task.promise_mut().take_outcome();
        drop(d);
        match outcome {
            Err(payload) => resume_unwind(payload),
            Ok(_) => None,
        }
    }
}

unsafe fn detached_destroy<T, K: TaskKind>(h: NonNull<Header>) {
    // SAFETY: only the scheduler destroys it, instead of resuming it, so the
    // task has not started: drop the box and the unstarted task.
    drop(unsafe { Box::from_raw(h.cast::<Detached<T, K>>().as_ptr()) });
}

/// Launches `task` on `scheduler` with no owner: the scheduler starts it,
/// it runs to completion, its value is dropped and its frame destroyed as
/// soon as it finishes.
///
/// A panic in a detached task propagates out of whoever resumed it last
/// (for a [`LocalScheduler`], out of
/// [`run_until_idle`](LocalScheduler::run_until_idle)), after its frame has
/// been destroyed — like a panicking thread's `join`. If the scheduler is
/// dropped before starting the task, the task is destroyed unstarted.
///
/// # Panics
/// If `task` is a thread-bound [`Task`](crate::Task) and the scheduler
/// resumes on threads of its own (a [`ThreadPool`](crate::ThreadPool)):
/// the task is dropped unstarted. Use a [`SendTask`](crate::SendTask)
/// ([`ThreadPool::spawn`](crate::ThreadPool::spawn) only accepts those).
///
/// ```
/// use coro::schedule::{spawn_detached, LocalScheduler, Scheduler};
/// use coro::{co_await, co_return, Task};
/// use std::cell::RefCell;
/// use std::rc::Rc;
///
/// #[coro::coroutine]
/// fn worker(s: Rc<LocalScheduler>, id: u32, log: Rc<RefCell<Vec<u32>>>) -> Task<()> {
///     for _ in 0..2 {
///         log.borrow_mut().push(id);
///         co_await!(s.schedule());    // let the other one run
///     }
///     co_return!(())
/// }
///
/// let s = Rc::new(LocalScheduler::new());
/// let log = Rc::new(RefCell::new(Vec::new()));
/// spawn_detached(worker(s.clone(), 1, log.clone()), &*s);
/// spawn_detached(worker(s.clone(), 2, log.clone()), &*s);
/// s.run_until_idle();
/// assert_eq!(*log.borrow(), [1, 2, 1, 2]);
/// ```
pub fn spawn_detached<C>(task: C, scheduler: &dyn Scheduler)
where
    C: IntoTask,
    C::Output: 'static,
    C::Kind: TaskKind + 'static,
{
    if C::Kind::THREAD_BOUND && !scheduler.resumes_on_posting_thread() {
        wrong_scheduler()
    }
    let task = task.into_child().task.into_handle();
    let d = Box::into_raw(Box::new(Detached {
        header: Header::stand_in(&Detached::<C::Output, C::Kind>::VTABLE),
        task,
        started: false,
    }));
    // SAFETY: just allocated; the box stays put until `detached_resume`
    // (second time) or `detached_destroy` frees it.
    unsafe {
        let h = CoroutineHandle::from_header(NonNull::new_unchecked(d).cast());
        (*d).task.promise_mut().continuation = Some(h);
        scheduler.post(h);
    }
}

/// A thread-bound coroutine awaited a scheduler that resumes on other
/// threads: refused before anything is posted, so the panic reaches the
/// coroutine at its `co_await!`, on its own thread. (Posting it would have
/// it resumed on a worker: refused there by a `Task`'s home check, which
/// leaves it suspended for ever, or run there with its `!Send` data.)
#[cold]
#[inline(never)]
fn thread_bound_hop(at: Option<&'static SuspendPoint>) -> ! {
    let at = match at {
        Some(p) => format!("{}:{}:{}: at the `co_await!` in `{}`: ", p.file(), p.line(), p.column(), p.function()),
        None => String::new(),
    };
    panic!(
        "{at}a thread-bound coroutine (a Task, or one whose promise keeps ThreadAffinity::THREAD_BOUND: its frame may \
         hold data that is not Send) cannot move onto a scheduler that resumes on other threads; \
         make the coroutine return SendTask"
    )
}

#[cold]
#[inline(never)]
fn wrong_scheduler() -> ! {
    panic!(
        "spawn_detached: a Task (its frame is not Send) cannot run on a scheduler that resumes on other threads; \
         make the coroutine return SendTask"
    )
}
