//! Cooperative cancellation: a [`CancellationSource`] requests it, any
//! number of [`CancellationToken`]s observe it (cppcoro's
//! `cancellation_source` / `cancellation_token`).
//!
//! Cancellation is only a request: a coroutine checks
//! [`is_cancellation_requested`](CancellationToken::is_cancellation_requested),
//! or suspends on `co_await!(token.cancelled())`, which resumes it when
//! cancellation is requested, or registers a callback with
//! [`on_cancel`](CancellationToken::on_cancel).
//!
//! Both types are `Send + Sync` and cheap to clone (an `Arc`): cancellation
//! may be requested from any thread. As with [`Event`](crate::sync::Event),
//! on which `cancelled()` is built, coroutines waiting on the token and the
//! registered callbacks run on the requesting thread, before
//! [`request_cancellation`](CancellationSource::request_cancellation)
//! returns (callbacks first, in registration order, then the waiters, in
//! the order they started waiting). Requesting twice does nothing more.

use core::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use crate::library::sync::event::{Event, Wait};

type Callback = Box<dyn FnOnce() + Send>;

struct State {
    requested: AtomicBool,
    event: Event,
    callbacks: Mutex<Vec<Callback>>,
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
#[derive(Clone)]
pub struct CancellationSource {
    state: Arc<State>,
}

/// Observes a [`CancellationSource`]. Cloning gives another token of the
/// same source.
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
#[derive(Clone)]
pub struct CancellationToken {
    state: Arc<State>,
}

impl Default for CancellationSource {
    fn default() -> Self {
        Self::new()
    }
}

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
                event: Event::<crate::library::sync::ThreadSafe>::new(),
                callbacks: Mutex::new(Vec::new()),
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
        CancellationToken { state: self.state.clone() }
    }

    /// Requests cancellation: runs the registered callbacks, then resumes
    /// the coroutines waiting in `token.cancelled()`, on this thread. Only
    /// the first call does anything.
    ///
    /// ```
    /// use std::sync::atomic::{AtomicU32, Ordering::SeqCst};
    /// use std::sync::Arc;
    ///
    /// let source = coro::cancellation::CancellationSource::new();
    /// let runs = Arc::new(AtomicU32::new(0));
    /// let r = runs.clone();
    /// source.token().on_cancel(move || { r.fetch_add(1, SeqCst); });
    /// source.request_cancellation(); // runs the callback before returning
    /// source.request_cancellation(); // does nothing more
    /// assert_eq!(runs.load(SeqCst), 1);
    /// ```
    pub fn request_cancellation(&self) {
        if self.state.requested.swap(true, Ordering::AcqRel) {
            return;
        }
        let callbacks = core::mem::take(&mut *self.state.callbacks.lock().unwrap_or_else(|e| e.into_inner()));
        for cb in callbacks {
            cb();
        }
        self.state.event.set();
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

impl CancellationToken {
    /// Whether cancellation has been requested on the source.
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
        self.state.requested.load(Ordering::Acquire)
    }

    /// An awaiter that completes when cancellation is requested (at once if
    /// it already was). A coroutine destroyed while waiting on it unlinks
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
        Cancelled { wait: self.state.event.wait() }
    }

    /// Runs `f` when cancellation is requested, on the requesting thread; at
    /// once, on this thread, if it already was.
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
        let mut cbs = self.state.callbacks.lock().unwrap_or_else(|e| e.into_inner());
        // Checked under the lock: `request_cancellation` sets the flag, then
        // takes the list under the lock.
        if self.state.requested.load(Ordering::Acquire) {
            drop(cbs);
            f();
        } else {
            cbs.push(Box::new(f));
        }
    }
}

/// The awaiter of [`CancellationToken::cancelled`].
#[must_use = "an awaiter does nothing unless `co_await!`ed"]
pub struct Cancelled<'a> {
    wait: Wait<'a>,
}

#[diagnostic::do_not_recommend]
impl crate::language::awaiter::Awaiter for Cancelled<'_> {
    type Output = ();
    fn await_ready(&mut self) -> bool {
        self.wait.await_ready()
    }
    unsafe fn await_suspend(
        &mut self,
        h: crate::language::handle::CoroutineHandle,
    ) -> impl crate::language::awaiter::AwaitSuspend {
        // SAFETY: forwarded contract: the inner awaiter lives in this one,
        // which stays in place in the frame.
        unsafe { self.wait.await_suspend(h) }
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
        f.debug_struct("CancellationToken").field("requested", &self.is_cancellation_requested()).finish()
    }
}
