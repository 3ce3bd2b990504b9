//! [`TaskScope`]: a group of eagerly started child tasks (cppcoro's
//! `async_scope`, libcoro's `task_container`), joined with
//! `co_await!(scope.join())`.
//!
//! # Design
//!
//! Each child is a [`Task<()>`] whose continuation is a stand-in frame of
//! its own ([`ChildFrame`], boxed, its address stable). The scope keeps a
//! slab of those stand-ins (raw pointers: the children hold their
//! addresses), a count of unfinished children, the suspended joiner and
//! the first panic. A child finishing transfers to its stand-in, which
//! takes itself out of the slab, frees the child's frame and itself (the
//! child is suspended at its final point and touches its frame no more, as
//! for `spawn_detached`), counts down, and transfers to the joiner if it
//! was the last.
//!
//! The scope's bookkeeping is thread-bound: the scope is not `Send` (an
//! `Rc`), so plain `Cell`s suffice, and every stand-in runs on the scope's
//! thread. A `Task` child runs on this thread only and transfers to its
//! stand-in directly. A `SendTask` child may move to another thread and
//! finish there: its continuation is a [`HomeHop`] for the stand-in (as
//! when a `Task` awaits a `SendTask`), which transfers to the stand-in if
//! the child finishes on the scope's thread and otherwise posts it to the
//! thread's wake-up queue ([`resume_woken`](crate::resume_woken), which
//! `sync_wait` and an event loop run). The scope's drop releases an
//! unfinished `SendTask` child as any owner does (`Owned::release`: it is
//! destroyed at once if it can be, else when it next resumes), detaches
//! the hop so that a late wake-up resumes nothing, and frees the stand-in.
//! No borrow of a `RefCell` is held while a child runs: a child may spawn
//! into the scope, or finish, from inside `spawn`.

use core::cell::{Cell, RefCell};
use core::fmt;
use core::ptr::NonNull;
use std::panic::resume_unwind;
use std::rc::{Rc, Weak};
use std::sync::Arc;

use crate::home::hop::HomeHop;
use crate::language::awaiter::{AwaitSuspend, Awaiter};
use crate::language::frame::{counted_handle, give_back_count, no_destroy, Header, VTable};
use crate::language::handle::{CoroutineHandle, UniqueCoroutineHandle};
use crate::language::promise::Payload;
use crate::library::task::{Local, Owned, SendTask, Sendable, Task, TaskPromise};

/// A group of child tasks ([`Task<()>`]s and [`SendTask<()>`]s) that run
/// concurrently with the code that spawned them and are joined later
/// (cppcoro's `async_scope`, libcoro's `task_container`).
///
/// - [`spawn`](Self::spawn) starts a child **at once**: it runs on this
///   thread until its first suspension, then `spawn` returns and the scope
///   keeps it. A child that finishes is freed at once.
/// - `co_await!(scope.join())` suspends until every child spawned so far,
///   and every child spawned while it waits, has finished; it is ready at
///   once if none is left. It may be awaited again after more spawns.
/// - A panic in a child is kept (the first one; later ones are dropped) and
///   resumed from the next `join`, once all children have finished (the
///   other children are not cancelled).
/// - Dropping the scope **destroys** the children that have not finished,
///   at once, as dropping a [`Task`] does: they are suspended (they run on
///   this thread only), so each live local is dropped once, and a
///   panic kept for `join` is dropped.
/// - A child that needs to spawn siblings gets a [`ScopeSpawner`]
///   ([`spawner`](Self::spawner)): it does not keep the scope alive.
///
/// The scope itself is not `Send`: it and its joiner live on one thread. A
/// `SendTask<()>` child may move to another thread (`co_await!(pool.schedule())`)
/// and finish there; its completion is then brought back to the scope's
/// thread through that thread's wake-up queue (run by `sync_wait`, an event
/// loop, or [`resume_woken`](crate::resume_woken)), as when a `Task` awaits a
/// `SendTask`. Dropping the scope gives an unfinished `SendTask` child up as
/// any owner does: destroyed at once when it can be, otherwise when it next
/// resumes (see [`SendTask`]).
///
/// ```
/// use std::{cell::RefCell, rc::Rc};
/// use coro::sync::local::Event;
/// use coro::task::TaskScope;
/// use coro::{co_await, co_return, sync_wait, Task};
///
/// #[coro::coroutine]
/// fn child(go: Rc<Event>, id: u32, log: Rc<RefCell<Vec<u32>>>) -> Task<()> {
///     co_await!(go.wait());
///     log.borrow_mut().push(id);
///     co_return!(())
/// }
///
/// #[coro::coroutine]
/// fn parent(log: Rc<RefCell<Vec<u32>>>) -> Task<usize> {
///     let go = Rc::new(Event::new());
///     let mut scope = TaskScope::new();
///     scope.spawn(child(go.clone(), 1, log.clone())); // runs to its `wait`
///     scope.spawn(child(go.clone(), 2, log.clone()));
///     assert_eq!(scope.len(), 2);
///     go.set();
///     co_await!(scope.join());
///     co_return!(log.borrow().len())
/// }
///
/// let log = Rc::new(RefCell::new(Vec::new()));
/// assert_eq!(sync_wait(parent(log.clone())), 2);
/// ```
pub struct TaskScope {
    inner: Rc<ScopeInner>,
}

/// Spawns into a [`TaskScope`] without keeping it alive: what a child
/// holds to spawn siblings (a child owning its scope would keep itself
/// alive). Cheap to clone; not `Send`.
///
/// ```
/// use std::{cell::Cell, rc::Rc};
/// use coro::task::{ScopeSpawner, TaskScope};
/// use coro::{co_await, co_return, sync_wait, Task};
///
/// #[coro::coroutine]
/// fn leaf(n: Rc<Cell<u32>>) -> Task<()> { n.set(n.get() + 1); co_return!(()) }
///
/// #[coro::coroutine]
/// fn branch(s: ScopeSpawner, n: Rc<Cell<u32>>) -> Task<()> {
///     assert!(s.spawn(leaf(n.clone())));
///     co_return!(())
/// }
///
/// #[coro::coroutine]
/// fn root(n: Rc<Cell<u32>>) -> Task<()> {
///     let mut scope = TaskScope::new();
///     scope.spawn(branch(scope.spawner(), n.clone()));
///     co_await!(scope.join());
///     co_return!(())
/// }
///
/// let n = Rc::new(Cell::new(0));
/// sync_wait(root(n.clone()));
/// assert_eq!(n.get(), 1);
/// ```
#[derive(Clone)]
pub struct ScopeSpawner {
    inner: Weak<ScopeInner>,
}

struct ScopeInner {
    /// The stand-ins of the unfinished children; `None` marks a free slot
    /// (reused by the next spawn). Owned here (made by `Box::into_raw`).
    children: RefCell<Vec<Option<NonNull<ChildFrame>>>>,
    /// Free slots of `children`.
    free: RefCell<Vec<usize>>,
    /// Unfinished children.
    pending: Cell<usize>,
    /// The coroutine suspended in `join`.
    joiner: Cell<Option<CoroutineHandle>>,
    /// The first panic of a child, for `join`.
    panic: Cell<Option<Payload>>,
    /// Set while the scope is dropped: spawns drop their task unstarted.
    closed: Cell<bool>,
}

/// The continuation of one child: a stand-in frame that the child's final
/// awaiter transfers to (a `SendTask` child's through its hop).
#[repr(C)]
struct ChildFrame {
    header: Header,
    scope: *const ScopeInner,
    slot: usize,
    task: ChildTask,
}

/// A child as the scope owns it.
enum ChildTask {
    /// Runs on this thread only; destroyed with the stand-in.
    Local(UniqueCoroutineHandle<TaskPromise<(), Local>>),
    /// May finish on another thread; `hop` (whose counted handle is its
    /// continuation; set right after the stand-in is allocated, since it
    /// names it) brings the stand-in back to this thread. `task` is `None`
    /// once released by the scope's drop.
    Send { task: Option<Owned<(), Sendable>>, hop: Option<Arc<HomeHop>> },
}

impl ChildTask {
    fn take_outcome(&mut self) -> Result<(), Payload> {
        match self {
            // SAFETY: the child has finished (it transferred to its
            // stand-in), so it is not running; the scope owns it.
            ChildTask::Local(task) => unsafe { task.promise_mut() }.take_outcome(),
            ChildTask::Send { task, .. } => task.as_mut().expect("a finished child is still owned").take_outcome(),
        }
    }
}

impl Drop for ChildFrame {
    fn drop(&mut self) {
        if let ChildTask::Send { task, hop: Some(hop) } = &mut self.task {
            if let Some(task) = task.take() {
                // The scope's drop: a late wake-up must not resume the
                // stand-in, which is freed right after this.
                hop.detach();
                if task.release() {
                    // SAFETY: the child will never transfer to the hop, so
                    // the count its continuation owned is taken back once.
                    unsafe { give_back_count(hop) };
                }
            }
        }
    }
}

/// What a [`TaskScope`] can spawn: [`Task<()>`] and [`SendTask<()>`].
/// Sealed: not implemented outside coro.
pub trait ScopeChild: sealed::Sealed {
    #[doc(hidden)]
    fn into_child(self) -> SpawnedChild;
}

/// A child on its way into a scope. Not a public API.
#[doc(hidden)]
pub struct SpawnedChild(Spawned);

enum Spawned {
    Local(UniqueCoroutineHandle<TaskPromise<(), Local>>),
    Send(Owned<(), Sendable>),
}

impl fmt::Debug for SpawnedChild {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.0 {
            Spawned::Local(_) => "SpawnedChild(Task)",
            Spawned::Send(_) => "SpawnedChild(SendTask)",
        })
    }
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for super::Task<()> {}
    impl Sealed for super::SendTask<()> {}
}

impl ScopeChild for Task<()> {
    fn into_child(self) -> SpawnedChild {
        SpawnedChild(Spawned::Local(self.into_handle()))
    }
}

impl ScopeChild for SendTask<()> {
    fn into_child(self) -> SpawnedChild {
        SpawnedChild(Spawned::Send(self.into_owned()))
    }
}

static CHILD_VTABLE: VTable = VTable::stand_in(child_finished, no_destroy);

impl ScopeInner {
    fn spawn(&self, task: SpawnedChild) -> bool {
        if self.closed.get() {
            return false;
        }
        let slot = self.free.borrow_mut().pop().unwrap_or_else(|| {
            let mut children = self.children.borrow_mut();
            children.push(None);
            children.len() - 1
        });
        let frame = NonNull::from(Box::leak(Box::new(ChildFrame {
            header: Header::stand_in(&CHILD_VTABLE),
            scope: self,
            slot,
            task: match task.0 {
                Spawned::Local(task) => ChildTask::Local(task),
                Spawned::Send(task) => ChildTask::Send { task: Some(task), hop: None },
            },
        })));
        self.children.borrow_mut()[slot] = Some(frame);
        self.pending.set(self.pending.get() + 1);
        let stand_in = CoroutineHandle::from_header(frame.cast());
        // SAFETY: the stand-in was just allocated and is owned by the slab
        // until `child_finished` or the scope's drop frees it; the child,
        // now owned by the stand-in, is unstarted, so nobody else uses its
        // promise, and it is started here, on this thread, by its only
        // owner. No `RefCell` borrow is held while it runs.
        unsafe {
            let start = match &mut (*frame.as_ptr()).task {
                ChildTask::Local(task) => {
                    task.promise_mut().continuation = Some(stand_in);
                    task.handle().erase()
                }
                ChildTask::Send { task, hop } => {
                    let task = task.as_mut().expect("just spawned");
                    // The child may finish elsewhere: it transfers to a hop
                    // that brings the stand-in home (one strong count owned
                    // by the continuation; `hop_resume` or our drop takes it
                    // back).
                    let hop = hop.insert(HomeHop::new(stand_in));
                    task.set_continuation(counted_handle(hop));
                    task.handle().erase()
                }
            };
            // Nothing of the stand-in is borrowed any more: the child may
            // finish (and free it) before `resume` returns.
            start.resume();
        }
        true
    }
}

/// The resume of a child's stand-in: the child has finished and transferred
/// here from its final point.
///
/// # Safety
/// `h` is the header of a live `ChildFrame`, resumed once, by its child.
unsafe fn child_finished(h: NonNull<Header>) -> Option<NonNull<Header>> {
    let p = h.cast::<ChildFrame>().as_ptr();
    // SAFETY: the stand-in is alive (caller); its scope outlives every
    // stand-in in its slab, and the scope's drop empties the slab before
    // destroying the children, so a stand-in missing from it is not ours to
    // free (the drop frees it once the child's destruction returns).
    unsafe {
        let scope = &*(*p).scope;
        let slot = (*p).slot;
        // Not in the slab: the scope is being dropped, and frees us.
        let mine = scope.children.borrow_mut().get_mut(slot).and_then(Option::take);
        mine?;
        scope.free.borrow_mut().push(slot);
        let mut frame = Box::from_raw(p);
        let outcome = frame.task.take_outcome();
        // The child is at its final point: destroying it drops nothing of
        // its body.
        drop(frame);
        if let Err(payload) = outcome {
            let first = scope.panic.take().unwrap_or(payload);
            scope.panic.set(Some(first));
        }
        let left = scope.pending.get() - 1;
        scope.pending.set(left);
        if left == 0 {
            return scope.joiner.take().map(CoroutineHandle::header);
        }
    }
    None
}

impl TaskScope {
    /// An empty scope.
    ///
    /// ```
    /// let scope = coro::task::TaskScope::new();
    /// assert!(scope.is_empty());
    /// ```
    pub fn new() -> Self {
        TaskScope {
            inner: Rc::new(ScopeInner {
                children: RefCell::new(Vec::new()),
                free: RefCell::new(Vec::new()),
                pending: Cell::new(0),
                joiner: Cell::new(None),
                panic: Cell::new(None),
                closed: Cell::new(false),
            }),
        }
    }

    /// Starts `task` at once: it runs on this thread until its first
    /// suspension (or to its end), then the scope keeps it until it
    /// finishes. A panic in it is kept for [`join`](Self::join).
    ///
    /// ```
    /// use std::{cell::Cell, rc::Rc};
    /// use coro::{co_return, task::TaskScope, Task};
    ///
    /// #[coro::coroutine]
    /// fn mark(c: Rc<Cell<bool>>) -> Task<()> { c.set(true); co_return!(()) }
    ///
    /// let c = Rc::new(Cell::new(false));
    /// let scope = TaskScope::new();
    /// scope.spawn(mark(c.clone()));
    /// assert!(c.get() && scope.is_empty()); // ran, finished, freed
    /// ```
    pub fn spawn(&self, task: impl ScopeChild) {
        self.inner.spawn(task.into_child());
    }

    /// A handle that spawns into this scope without keeping it alive (for
    /// children that spawn siblings).
    ///
    /// ```
    /// let scope = coro::task::TaskScope::new();
    /// let spawner = scope.spawner();
    /// drop(scope);
    /// assert!(!spawner.is_alive());
    /// ```
    pub fn spawner(&self) -> ScopeSpawner {
        ScopeSpawner { inner: Rc::downgrade(&self.inner) }
    }

    /// The number of children that have not finished.
    ///
    /// ```
    /// assert_eq!(coro::task::TaskScope::new().len(), 0);
    /// ```
    pub fn len(&self) -> usize {
        self.inner.pending.get()
    }

    /// `true` if every child has finished.
    ///
    /// ```
    /// assert!(coro::task::TaskScope::new().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `co_await!(scope.join())`: suspends until every child has finished
    /// (those spawned while it waits too), then resumes the first panic of
    /// a child, if any. Ready at once if no child is left. `&mut`: one
    /// joiner at a time; awaiting it again after more spawns is fine.
    ///
    /// ```
    /// use coro::{co_await, co_return, sync_wait, task::TaskScope, Task};
    ///
    /// #[coro::coroutine]
    /// fn empty() -> Task<()> {
    ///     let mut scope = TaskScope::new();
    ///     co_await!(scope.join()); // no children: ready at once
    ///     co_return!(())
    /// }
    /// sync_wait(empty());
    /// ```
    pub fn join(&mut self) -> ScopeJoin<'_> {
        ScopeJoin { scope: self, registered: false }
    }
}

impl Default for TaskScope {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for TaskScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskScope").field("unfinished", &self.len()).finish()
    }
}

impl Drop for TaskScope {
    fn drop(&mut self) {
        let inner = &*self.inner;
        inner.closed.set(true);
        // Emptied first, without a borrow held while children are
        // destroyed: a local dropped by one may release another child,
        // which then finishes and finds no slot (see `child_finished`).
        let children = core::mem::take(&mut *inner.children.borrow_mut());
        for frame in children.into_iter().flatten() {
            // SAFETY: the stand-in is in the slab, so its child has not
            // finished and is suspended (a `Task` runs on this thread only,
            // and the scope's owner is running, not the child); the box is
            // freed once, here, and its child destroyed with it.
            drop(unsafe { Box::from_raw(frame.as_ptr()) });
        }
        inner.pending.set(0);
        drop(inner.panic.take());
    }
}

impl ScopeSpawner {
    /// Spawns `task` into the scope, as [`TaskScope::spawn`]; if the scope
    /// is gone (or being dropped), drops `task` unstarted and returns
    /// `false`.
    ///
    /// ```
    /// use coro::{co_return, task::TaskScope, Task};
    ///
    /// #[coro::coroutine]
    /// fn nothing() -> Task<()> { co_return!(()) }
    ///
    /// let scope = TaskScope::new();
    /// let spawner = scope.spawner();
    /// assert!(spawner.spawn(nothing()));
    /// drop(scope);
    /// assert!(!spawner.spawn(nothing()));
    /// ```
    pub fn spawn(&self, task: impl ScopeChild) -> bool {
        match self.inner.upgrade() {
            // The upgraded `Rc` keeps the scope's state alive while the
            // child first runs.
            Some(inner) => inner.spawn(task.into_child()),
            None => false,
        }
    }

    /// `true` while the scope exists.
    ///
    /// ```
    /// let scope = coro::task::TaskScope::new();
    /// assert!(scope.spawner().is_alive());
    /// ```
    pub fn is_alive(&self) -> bool {
        self.inner.strong_count() > 0
    }
}

impl fmt::Debug for ScopeSpawner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScopeSpawner").field("alive", &self.is_alive()).finish()
    }
}

/// What [`TaskScope::join`] returns: an awaiter that resumes the joining
/// coroutine when the scope's last child finishes.
pub struct ScopeJoin<'a> {
    scope: &'a mut TaskScope,
    registered: bool,
}

impl fmt::Debug for ScopeJoin<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScopeJoin").field("unfinished", &self.scope.len()).finish()
    }
}

impl Awaiter for ScopeJoin<'_> {
    type Output = ();
    fn await_ready(&mut self) -> bool {
        self.scope.is_empty()
    }
    unsafe fn await_suspend(&mut self, awaiting: CoroutineHandle) -> impl AwaitSuspend {
        // The last child to finish transfers to `awaiting` (on this
        // thread: the children are `Task`s); `Drop` takes it back if the
        // joining coroutine is destroyed first.
        self.scope.inner.joiner.set(Some(awaiting));
        self.registered = true;
        true
    }
    fn await_resume(mut self) {
        self.registered = false;
        if let Some(payload) = self.scope.inner.panic.take() {
            resume_unwind(payload);
        }
    }
}

impl Drop for ScopeJoin<'_> {
    fn drop(&mut self) {
        if self.registered {
            self.scope.inner.joiner.set(None);
        }
    }
}
