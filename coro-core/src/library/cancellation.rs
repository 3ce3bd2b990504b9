//! Cooperative cancellation: a [`CancellationSource`] requests it, any
//! number of [`CancellationToken`]s observe it (cppcoro's
//! `cancellation_source` / `cancellation_token` /
//! `cancellation_registration`).
//!
//! Cancellation is only a request: a coroutine checks
//! [`is_cancellation_requested`](CancellationToken::is_cancellation_requested)
//! or [`check`](CancellationToken::check)s it (`token.check()?;` ends a
//! coroutine returning a `Result` with [`OperationCancelled`], the Rust form
//! of cppcoro's `throw_if_cancellation_requested`), or suspends on
//! `co_await!(token.cancelled())`, which resumes it when cancellation is
//! requested, or registers a callback with
//! [`register`](CancellationToken::register), which returns a
//! [`CancellationRegistration`]: dropping it withdraws the callback.
//! [`CancellationToken::none()`] (the `Default`) can never be cancelled.
//!
//! Any awaitable can be cancelled through a token:
//! `co_await!(cancellable(&token, x))` (see [`cancellable`]) gives
//! `Ok(x's value)`, or `Err(OperationCancelled)` when cancellation is
//! requested before `x` has resumed the coroutine: `x`'s registration is
//! withdrawn through its cancel step (every `coro::sync` wait, a future, a
//! `SendTask`, the combinators, `coro-io`'s timers can), and what `x` was
//! granted meanwhile is handed on; the combinators also have
//! `with_cancellation(&token)`.
//!
//! ```
//! use coro::cancellation::{cancellable, CancellationSource, OperationCancelled};
//! use coro::sync::Event;
//! use coro::{co_await, co_return, sync_wait, SendTask};
//! use std::sync::Arc;
//!
//! #[coro::coroutine]
//! fn wait(source: CancellationSource, event: Arc<Event>) -> SendTask<Result<(), OperationCancelled>> {
//!     let token = source.token();
//!     let canceller = std::thread::spawn(move || source.request_cancellation());
//!     let r = co_await!(cancellable(&token, event.wait())); // nobody sets the event
//!     canceller.join().unwrap();
//!     co_return!(r)
//! }
//!
//! assert_eq!(sync_wait(wait(CancellationSource::new(), Arc::new(Event::new()))), Err(OperationCancelled));
//! ```
//!
//! Sources, tokens, registrations and `OperationCancelled` are
//! `Send + Sync`; a source and a token are cheap to clone
//! (an `Arc`): cancellation may be requested from any thread. As with
//! [`Event`](crate::sync::Event), on which `cancelled()` is built,
//! coroutines waiting on the token and the registered callbacks run on the
//! requesting thread, before
//! [`request_cancellation`](CancellationSource::request_cancellation)
//! returns (callbacks first, in registration order, then the waiters, in
//! the order they started waiting). Requesting twice does nothing more. A
//! callback registered once cancellation has been requested runs at once,
//! on the registering thread.
//!
//! # Registrations: states and synchronisation
//!
//! The shared state holds the `requested` flag (an atomic, so that
//! `is_cancellation_requested` takes no lock), a count of live sources (for
//! `can_be_cancelled`; advisory, nothing depends on it for safety), and,
//! under one `Mutex`, the registry: the pending callbacks by registration
//! number (which is their order) and which one, if any, is running and on
//! which thread. A registration is
//!
//! - **pending**: its callback is in the registry;
//! - **running**: `request_cancellation` took it out of the registry and
//!   named it `running`, under the lock, and calls it without the lock;
//! - **done**: it ran (or ran at once at registration, or its token can
//!   never be cancelled), or it was **withdrawn** by the registration's drop
//!   while pending (the callback is dropped without running, outside the
//!   lock).
//!
//! The drop of a registration takes the lock and finds it in one of those
//! states: pending, it withdraws it; running on another thread, it waits on
//! a `Condvar` until the callback has returned (cppcoro's destructor
//! waits the same way), so nothing the callback uses is freed under it;
//! running on this thread (the callback dropping its own registration, or
//! something it owns dropping it), it returns at once instead of deadlocking;
//! done, it does nothing. A callback therefore runs at most once, and never
//! after its registration's drop has returned.
//!
//! Registering checks `requested` under the lock, and `request_cancellation`
//! sets it (`swap`, `AcqRel`) before it first takes the lock: a registration
//! either enters the registry before the requester drains it, or sees the
//! flag and runs its callback at once. No callback runs while the lock is
//! held, so a callback may register, drop registrations or request
//! cancellation (a no-op) on the same source.
//!
//! The flags, the registry's lock and its condition variable, and the
//! thread identities come from `language::atomic`, so that the `loom`
//! models of `cancellable` drive this registry too (`.ci/loom`).
//!
//! A callback that panics does not stop the others: every callback runs and
//! the waiters are resumed, then the first panic resumes unwinding out of
//! `request_cancellation`. Do not drop a registration, on a thread other
//! than the requesting one, while holding something its running callback
//! waits for: the drop waits for the callback, as in cppcoro.

use core::fmt;
use std::collections::BTreeMap;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::Arc;

use crate::language::atomic::{
    current_thread, AtomicBool, AtomicUsize, Condvar, Mutex, MutexGuard, Ordering, ThreadId,
};
use crate::language::awaiter::{AwaitSuspend, Awaiter, CancelOutcome, SuspendOutcome};
use crate::language::handle::CoroutineHandle;
pub use crate::library::cancellable::{cancellable, Cancellable};
use crate::library::sync::event::{Event, Wait};

type Callback = Box<dyn FnOnce() + Send>;

struct State {
    requested: AtomicBool,
    /// Live `CancellationSource`s (clones included).
    sources: AtomicUsize,
    event: Event,
    registry: Mutex<Registry>,
    /// Notified each time a running callback returns.
    callback_returned: Condvar,
}

struct Registry {
    next_id: u64,
    /// Pending callbacks; ids grow, so the map's order is registration order.
    pending: BTreeMap<u64, Callback>,
    /// The callback `request_cancellation` is calling, and on which thread.
    running: Option<(u64, ThreadId)>,
}

impl State {
    fn registry(&self) -> MutexGuard<'_, Registry> {
        // Callbacks never run under the lock, and every update leaves the
        // registry consistent: a poisoned lock is safe to keep using.
        self.registry.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Requests cancellation; hands out [`CancellationToken`]s.
///
/// ```
/// use coro::cancellation::CancellationSource;
/// use coro::{co_await, co_return, sync_wait, Task};
///
/// let source = CancellationSource::new();
/// let token = source.token();
/// assert!(!token.is_cancellation_requested());
/// source.request_cancellation();
/// assert!(token.is_cancellation_requested());
///
/// #[coro::coroutine]
/// fn wait(token: coro::cancellation::CancellationToken) -> Task<&'static str> {
///     co_await!(token.cancelled()); // already requested: does not suspend
///     co_return!("stopped")
/// }
/// assert_eq!(sync_wait(wait(token)), "stopped");
/// ```
pub struct CancellationSource {
    state: Arc<State>,
}

/// Observes a [`CancellationSource`], or nothing: [`none()`](Self::none),
/// the `Default`, can never be cancelled. Cloning gives another token of
/// the same source.
///
/// ```
/// use coro::cancellation::{CancellationSource, CancellationToken};
/// use coro::{co_await, co_return, sync_wait, SendTask};
///
/// #[coro::coroutine]
/// fn until_cancelled(token: CancellationToken) -> SendTask<bool> {
///     co_await!(token.cancelled());
///     co_return!(token.is_cancellation_requested())
/// }
///
/// let source = CancellationSource::new();
/// let token = source.token(); // `Clone + Send + Sync`
/// let canceller = std::thread::spawn(move || source.request_cancellation());
/// assert!(sync_wait(until_cancelled(token)));
/// canceller.join().unwrap();
/// ```
#[derive(Clone, Default)]
pub struct CancellationToken {
    /// `None`: the token of [`CancellationToken::none`].
    state: Option<Arc<State>>,
}

/// A callback registered on a [`CancellationToken`] (cppcoro's
/// `cancellation_registration`), returned by
/// [`register`](CancellationToken::register). Dropping it withdraws the
/// callback if it has not run; if the callback is running on another thread
/// at that moment, the drop waits until it returns, so once the drop has
/// returned the callback is neither running nor will it ever run. A
/// callback may drop its own registration (the drop then returns at once).
///
/// ```
/// use std::sync::atomic::{AtomicU32, Ordering::SeqCst};
/// use std::sync::Arc;
/// use coro::cancellation::CancellationSource;
///
/// let source = CancellationSource::new();
/// let runs = Arc::new(AtomicU32::new(0));
/// let (r1, r2) = (runs.clone(), runs.clone());
/// let kept = source.token().register(move || { r1.fetch_add(1, SeqCst); });
/// let withdrawn = source.token().register(move || { r2.fetch_add(10, SeqCst); });
/// drop(withdrawn); // its callback is dropped without running
/// source.request_cancellation();
/// assert_eq!(runs.load(SeqCst), 1);
/// drop(kept); // already ran: nothing to do
/// ```
#[must_use = "dropping a `CancellationRegistration` at once withdraws its callback; keep it alive while the callback should run"]
pub struct CancellationRegistration {
    /// `None` once there is nothing to withdraw: the callback ran at once,
    /// or was dropped because the token can never be cancelled, or the
    /// registration was made by `on_cancel`, which never withdraws.
    state: Option<Arc<State>>,
    id: u64,
}

/// The error of a cancelled operation (what cppcoro's
/// `throw_if_cancellation_requested` throws as `operation_cancelled`),
/// returned by [`CancellationToken::check`].
///
/// Converts into [`std::io::Error`] with kind
/// [`Other`](std::io::ErrorKind::Other), the `OperationCancelled` as its
/// inner error, so it can be told apart by downcasting. Not
/// [`Interrupted`](std::io::ErrorKind::Interrupted): that kind means "retry"
/// to `std` (`read_exact`, `read_to_end`, `write_all` retry it silently), so
/// a cancellation would be swallowed by a retrying loop.
///
/// ```
/// use std::io;
/// use coro::cancellation::OperationCancelled;
///
/// let err = io::Error::from(OperationCancelled);
/// assert_eq!(err.kind(), io::ErrorKind::Other);
/// assert!(err.get_ref().is_some_and(|e| e.is::<OperationCancelled>()));
/// assert_eq!(err.to_string(), "the operation was cancelled");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct OperationCancelled;

impl CancellationSource {
    /// A source on which cancellation has not been requested.
    ///
    /// ```
    /// let source = coro::cancellation::CancellationSource::new();
    /// assert!(!source.is_cancellation_requested());
    /// ```
    pub fn new() -> Self {
        CancellationSource {
            state: Arc::new(State {
                requested: AtomicBool::new(false),
                sources: AtomicUsize::new(1),
                event: Event::<crate::library::sync::ThreadSafe>::new(),
                registry: Mutex::new(Registry { next_id: 0, pending: BTreeMap::new(), running: None }),
                callback_returned: Condvar::new(),
            }),
        }
    }

    /// A token observing this source.
    ///
    /// ```
    /// let source = coro::cancellation::CancellationSource::new();
    /// let (a, b) = (source.token(), source.token().clone());
    /// source.request_cancellation();
    /// assert!(a.is_cancellation_requested() && b.is_cancellation_requested());
    /// ```
    pub fn token(&self) -> CancellationToken {
        CancellationToken { state: Some(self.state.clone()) }
    }

    /// Requests cancellation: runs the registered callbacks, in registration
    /// order, then resumes the coroutines waiting in `token.cancelled()`, on
    /// this thread. Only the first call does anything. If callbacks panic,
    /// the others still run and the waiters are still resumed, then the
    /// first panic resumes unwinding from here.
    ///
    /// ```
    /// use std::sync::atomic::{AtomicU32, Ordering::SeqCst};
    /// use std::sync::Arc;
    ///
    /// let source = coro::cancellation::CancellationSource::new();
    /// let runs = Arc::new(AtomicU32::new(0));
    /// let r = runs.clone();
    /// let _registration = source.token().register(move || { r.fetch_add(1, SeqCst); });
    /// source.request_cancellation(); // runs the callback before returning
    /// source.request_cancellation(); // does nothing more
    /// assert_eq!(runs.load(SeqCst), 1);
    /// ```
    pub fn request_cancellation(&self) {
        let state = &*self.state;
        // Before the first lock below: a registration that takes the lock
        // after it sees the flag (see the module docs).
        if state.requested.swap(true, Ordering::AcqRel) {
            return;
        }
        let me = current_thread().id();
        let mut first_panic = None;
        let mut registry = state.registry();
        while let Some((id, callback)) = registry.pending.pop_first() {
            registry.running = Some((id, me));
            drop(registry);
            // Unwind safety: the panic is rethrown below, after the other
            // callbacks; the registry is not borrowed across the call.
            if let Err(payload) = catch_unwind(AssertUnwindSafe(callback)) {
                first_panic.get_or_insert(payload);
            }
            registry = state.registry();
            registry.running = None;
            state.callback_returned.notify_all();
        }
        drop(registry);
        state.event.set();
        if let Some(payload) = first_panic {
            resume_unwind(payload);
        }
    }

    /// Whether cancellation has been requested.
    ///
    /// ```
    /// let source = coro::cancellation::CancellationSource::new();
    /// source.request_cancellation();
    /// assert!(source.is_cancellation_requested());
    /// ```
    pub fn is_cancellation_requested(&self) -> bool {
        self.state.requested.load(Ordering::Acquire)
    }
}

impl Default for CancellationSource {
    fn default() -> Self {
        Self::new()
    }
}

impl Clone for CancellationSource {
    /// Another source of the same cancellation: requesting on either
    /// requests on both.
    fn clone(&self) -> Self {
        // Relaxed, as `Arc`'s count: a clone is made from a live source.
        self.state.sources.fetch_add(1, Ordering::Relaxed);
        CancellationSource { state: self.state.clone() }
    }
}

impl Drop for CancellationSource {
    fn drop(&mut self) {
        // Release / the Acquire in `can_be_cancelled`: a thread that sees
        // no source left sees everything the last source did.
        self.state.sources.fetch_sub(1, Ordering::Release);
    }
}

impl CancellationToken {
    /// A token that can never be cancelled (cppcoro's default-constructed
    /// `cancellation_token`); also `CancellationToken::default()`. Allocates
    /// nothing: pass it where a token is required but no cancellation is
    /// wanted.
    ///
    /// ```
    /// use coro::cancellation::CancellationToken;
    ///
    /// let token = CancellationToken::none();
    /// assert!(!token.can_be_cancelled());
    /// assert!(!token.is_cancellation_requested());
    /// assert!(token.check().is_ok());
    /// assert!(!CancellationToken::default().can_be_cancelled());
    /// ```
    pub const fn none() -> Self {
        CancellationToken { state: None }
    }

    /// Whether cancellation can still be requested on this token: `false`
    /// for [`none()`](Self::none), and once every [`CancellationSource`] of
    /// the token has been dropped without requesting it; `true` once it has
    /// been requested. A coroutine may skip registering callbacks or
    /// checking when it is `false`.
    ///
    /// ```
    /// use coro::cancellation::CancellationSource;
    ///
    /// let source = CancellationSource::new();
    /// let token = source.token();
    /// assert!(token.can_be_cancelled());
    /// drop(source); // nobody can request it any more
    /// assert!(!token.can_be_cancelled());
    ///
    /// let source = CancellationSource::new();
    /// let token = source.token();
    /// source.request_cancellation();
    /// drop(source);
    /// assert!(token.can_be_cancelled()); // it was requested
    /// ```
    pub fn can_be_cancelled(&self) -> bool {
        self.state
            .as_ref()
            .is_some_and(|s| s.requested.load(Ordering::Acquire) || s.sources.load(Ordering::Acquire) > 0)
    }

    /// Whether cancellation has been requested on the source (always
    /// `false` for [`none()`](Self::none)).
    ///
    /// A cooperative loop that stops when asked:
    /// ```
    /// use coro::cancellation::{CancellationSource, CancellationToken};
    /// use coro::{co_return, sync_wait, Task};
    ///
    /// #[coro::coroutine]
    /// fn count(token: CancellationToken, source: CancellationSource) -> Task<u32> {
    ///     let mut n = 0;
    ///     while !token.is_cancellation_requested() {
    ///         n += 1;
    ///         if n == 3 { source.request_cancellation(); } // someone else, usually
    ///     }
    ///     co_return!(n)
    /// }
    ///
    /// let source = CancellationSource::new();
    /// assert_eq!(sync_wait(count(source.token(), source)), 3);
    /// ```
    pub fn is_cancellation_requested(&self) -> bool {
        self.state.as_ref().is_some_and(|s| s.requested.load(Ordering::Acquire))
    }

    /// `Err(OperationCancelled)` if cancellation has been requested, else
    /// `Ok(())`: the Rust form of cppcoro's
    /// `throw_if_cancellation_requested`. In a coroutine returning
    /// `Result<T, E>` with `E: From<OperationCancelled>` (as
    /// [`std::io::Error`] is), `token.check()?;` ends it with the error.
    ///
    /// ```
    /// use std::io;
    /// use coro::cancellation::{CancellationSource, CancellationToken, OperationCancelled};
    /// use coro::{co_return, sync_wait, Task};
    ///
    /// #[coro::coroutine]
    /// fn step(token: CancellationToken) -> Task<io::Result<u32>> {
    ///     token.check()?; // ends the task with the error if cancelled
    ///     co_return!(Ok(1))
    /// }
    ///
    /// let source = CancellationSource::new();
    /// assert_eq!(sync_wait(step(source.token())).unwrap(), 1);
    /// source.request_cancellation();
    /// let err = sync_wait(step(source.token())).unwrap_err();
    /// assert!(err.get_ref().is_some_and(|e| e.is::<OperationCancelled>()));
    /// ```
    #[doc(alias = "throw_if_cancellation_requested")]
    pub fn check(&self) -> Result<(), OperationCancelled> {
        if self.is_cancellation_requested() {
            Err(OperationCancelled)
        } else {
            Ok(())
        }
    }

    /// An awaiter that completes when cancellation is requested (at once if
    /// it already was; never, for a token that [can never be
    /// cancelled](Self::none): the coroutine stays suspended until its owner
    /// destroys it). A coroutine destroyed while waiting on it unlinks
    /// itself (see [`Event`](crate::sync::Event)).
    ///
    /// ```
    /// use std::{cell::Cell, rc::Rc};
    /// use coro::schedule::{spawn_detached, LocalScheduler};
    /// use coro::cancellation::{CancellationSource, CancellationToken};
    /// use coro::{co_await, co_return, Task};
    ///
    /// #[coro::coroutine]
    /// fn wait(token: CancellationToken, stopped: Rc<Cell<bool>>) -> Task<()> {
    ///     co_await!(token.cancelled());
    ///     stopped.set(true);
    ///     co_return!(())
    /// }
    ///
    /// let (source, stopped) = (CancellationSource::new(), Rc::new(Cell::new(false)));
    /// let s = LocalScheduler::new();
    /// spawn_detached(wait(source.token(), stopped.clone()), &s);
    /// s.run_until_idle();
    /// assert!(!stopped.get());
    /// source.request_cancellation(); // resumes it before returning
    /// assert!(stopped.get());
    /// ```
    pub fn cancelled(&self) -> Cancelled<'_> {
        Cancelled { wait: self.state.as_ref().map(|s| s.event.wait()) }
    }

    /// Registers `f` to run when cancellation is requested (cppcoro's
    /// `cancellation_registration(token, f)`): on the requesting thread,
    /// inside [`request_cancellation`](CancellationSource::request_cancellation);
    /// at once, on this thread, if it already was requested. Dropping the
    /// returned [`CancellationRegistration`] withdraws `f` if it has not
    /// run (and waits for it if it is running on another thread). On a
    /// token that [can never be cancelled](Self::can_be_cancelled), `f` is
    /// dropped at once and never runs.
    ///
    /// ```
    /// use std::sync::mpsc;
    /// use coro::cancellation::CancellationSource;
    ///
    /// let source = CancellationSource::new();
    /// let (tx, rx) = mpsc::channel();
    /// let tx2 = tx.clone();
    /// let _before = source.token().register(move || tx.send("registered before").unwrap());
    /// source.request_cancellation();
    /// let _after = source.token().register(move || tx2.send("registered after: runs at once").unwrap());
    /// assert_eq!(rx.try_iter().collect::<Vec<_>>(), ["registered before", "registered after: runs at once"]);
    /// ```
    #[doc(alias = "cancellation_registration")]
    pub fn register(&self, f: impl FnOnce() + Send + 'static) -> CancellationRegistration {
        let inert = CancellationRegistration { state: None, id: 0 };
        let Some(state) = &self.state else { return inert };
        let mut registry = state.registry();
        // Under the lock: `request_cancellation` sets the flag before it
        // first takes the lock to drain the registry.
        if state.requested.load(Ordering::Acquire) {
            drop(registry);
            f();
            return inert;
        }
        // Not requested and no source left: it never will be.
        if state.sources.load(Ordering::Acquire) == 0 {
            drop(registry);
            drop(f);
            return inert;
        }
        let id = registry.next_id;
        registry.next_id += 1;
        registry.pending.insert(id, Box::new(f));
        CancellationRegistration { state: Some(state.clone()), id }
    }

    /// Runs `f` when cancellation is requested, on the requesting thread; at
    /// once, on this thread, if it already was. Kept for compatibility: it
    /// is [`register`](Self::register) without a registration, so `f` can
    /// never be withdrawn (if cancellation is never requested, it is
    /// dropped with the last token or source).
    ///
    /// ```
    /// use std::sync::mpsc;
    ///
    /// let source = coro::cancellation::CancellationSource::new();
    /// let (tx, rx) = mpsc::channel();
    /// let tx2 = tx.clone();
    /// source.token().on_cancel(move || tx.send("registered before").unwrap());
    /// source.request_cancellation();
    /// source.token().on_cancel(move || tx2.send("registered after: runs at once").unwrap());
    /// assert_eq!(rx.try_iter().collect::<Vec<_>>(), ["registered before", "registered after: runs at once"]);
    /// ```
    pub fn on_cancel(&self, f: impl FnOnce() + Send + 'static) {
        let mut registration = self.register(f);
        // Disarmed: its drop neither withdraws nor waits.
        registration.state = None;
    }
}

impl Drop for CancellationRegistration {
    fn drop(&mut self) {
        let Some(state) = self.state.take() else { return };
        let mut registry = state.registry();
        if let Some(callback) = registry.pending.remove(&self.id) {
            drop(registry);
            drop(callback); // outside the lock: its drop may do anything
            return;
        }
        let mut me = None;
        while let Some((id, thread)) = registry.running {
            if id != self.id || thread == *me.get_or_insert_with(|| current_thread().id()) {
                // Another callback, or ours running on this thread: it is
                // dropping its own registration, and must not wait for itself.
                return;
            }
            registry = state.callback_returned.wait(registry).unwrap_or_else(|e| e.into_inner());
        }
    }
}

impl From<OperationCancelled> for std::io::Error {
    /// Kind [`Other`](std::io::ErrorKind::Other), the `OperationCancelled`
    /// as the inner error (see [`OperationCancelled`] for why not
    /// `Interrupted`).
    ///
    /// ```
    /// use coro::cancellation::OperationCancelled;
    ///
    /// fn read() -> std::io::Result<()> {
    ///     Err(OperationCancelled)?
    /// }
    /// assert_eq!(read().unwrap_err().kind(), std::io::ErrorKind::Other);
    /// ```
    fn from(e: OperationCancelled) -> Self {
        std::io::Error::other(e)
    }
}

impl fmt::Display for OperationCancelled {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the operation was cancelled")
    }
}

impl std::error::Error for OperationCancelled {}

/// The awaiter of [`CancellationToken::cancelled`].
#[must_use = "an awaiter does nothing unless `co_await!`ed"]
pub struct Cancelled<'a> {
    /// `None` for a token that can never be cancelled: never ready, and
    /// suspending leaves the coroutine suspended.
    wait: Option<Wait<'a>>,
}

#[diagnostic::do_not_recommend]
impl Awaiter for Cancelled<'_> {
    type Output = ();
    fn await_ready(&mut self) -> bool {
        self.wait.as_mut().is_some_and(|w| w.await_ready())
    }
    unsafe fn await_suspend(&mut self, h: CoroutineHandle) -> impl AwaitSuspend {
        match &mut self.wait {
            // SAFETY: forwarded contract: the inner awaiter lives in this
            // one, which stays in place in the frame.
            Some(wait) => unsafe { wait.await_suspend(h) }.into_outcome(),
            None => SuspendOutcome::Suspend,
        }
    }
    /// Forwards to the event wait; a token that can never be cancelled
    /// registered nothing, so nothing will ever resume it: `Withdrawn`.
    unsafe fn await_cancel(&mut self) -> CancelOutcome {
        match &mut self.wait {
            // SAFETY: forwarded contract.
            Some(wait) => unsafe { wait.await_cancel() },
            None => CancelOutcome::Withdrawn,
        }
    }
    fn await_resume(self) {}
}

impl fmt::Debug for Cancelled<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cancelled").finish_non_exhaustive()
    }
}

impl fmt::Debug for CancellationSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CancellationSource").field("requested", &self.is_cancellation_requested()).finish()
    }
}

impl fmt::Debug for CancellationToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CancellationToken")
            .field("requested", &self.is_cancellation_requested())
            .field("can_be_cancelled", &self.can_be_cancelled())
            .finish()
    }
}

impl fmt::Debug for CancellationRegistration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CancellationRegistration").field("armed", &self.state.is_some()).finish()
    }
}
