//! Async backtraces: where each coroutine of a chain of awaiting coroutines
//! is suspended, innermost first.
//!
//! A debugger shows the native stack, which for a suspended coroutine is
//! empty. The chain that matters is logical: a task suspended at a
//! `co_await!`, awaited by another task suspended at its own `co_await!`,
//! and so on. Every suspension point has a static record (file, line,
//! column, function), and promises that know who awaits them report it
//! ([`Promise::continuation`](crate::Promise::continuation)), so the chain
//! can be walked without any per-frame cost.
//!
//! A [`SendTask`](crate::SendTask) reports its awaiting coroutine only when
//! that is a `SendTask` too: a `Task`, a combinator or a Rust future
//! awaiting it gives it a stand-in, which its owner may free while the
//! task still runs on another thread (a detached task), so the walk stops
//! at the `SendTask`.

use core::fmt;

use crate::language::awaiter::{AwaitSuspend, Awaiter};
use crate::language::handle::CoroutineHandle;
use crate::language::point::SuspendPoint;

/// The suspension points of a chain of awaiting coroutines, innermost first.
///
/// ```
/// use coro::handle::{AsyncBacktrace, CurrentBacktrace};
/// use coro::{co_await, co_return, sync_wait, Task};
///
/// #[coro::coroutine]
/// fn leaf() -> Task<AsyncBacktrace> {
///     let bt = co_await!(CurrentBacktrace);
///     co_return!(bt)
/// }
///
/// #[coro::coroutine]
/// fn root() -> Task<AsyncBacktrace> {
///     let bt = co_await!(leaf());
///     co_return!(bt)
/// }
///
/// let bt = sync_wait(root());
/// let names: Vec<_> = bt.frames().iter().map(|p| p.function()).collect();
/// assert_eq!(names, ["leaf", "root"]);
/// println!("{bt}");
/// ```
#[derive(Debug, Clone, Default)]
pub struct AsyncBacktrace {
    frames: Vec<&'static SuspendPoint>,
}

impl AsyncBacktrace {
    /// The suspension points, innermost coroutine first.
    pub fn frames(&self) -> &[&'static SuspendPoint] {
        &self.frames
    }
}

impl fmt::Display for AsyncBacktrace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.frames.iter().enumerate() {
            writeln!(f, "#{i} {p}")?;
        }
        Ok(())
    }
}

impl CoroutineHandle {
    /// Walks from this coroutine to the coroutines awaiting it, collecting
    /// where each is suspended. The walk stops at a coroutine whose promise
    /// does not report who awaits it, or that is not suspended.
    ///
    /// # Safety
    /// This coroutine and every coroutine awaiting it are alive and
    /// suspended (none is running or being destroyed) for the duration of
    /// the call — as they are when called from an `await_suspend` of this
    /// coroutine.
    pub unsafe fn async_backtrace(self) -> AsyncBacktrace {
        let mut frames = Vec::new();
        let mut at = Some(self);
        while let Some(h) = at {
            // SAFETY: the caller guarantees the chain is alive and suspended.
            let Some(point) = (unsafe { h.suspend_point() }) else { break };
            frames.push(point);
            // SAFETY: as above; the vtable belongs to `h`'s frame.
            at = unsafe { (h.header().as_ref().vtable.continuation)(h.header()) };
        }
        AsyncBacktrace { frames }
    }
}

/// An awaiter whose value is the async backtrace of the awaiting coroutine:
/// `let bt = co_await!(CurrentBacktrace);`. It suspends only long enough for
/// the chain to be walked, then resumes at once.
///
/// ```
/// use coro::handle::{CurrentBacktrace, SuspendKind};
/// use coro::{co_await, co_return, sync_wait, Task};
///
/// #[coro::coroutine]
/// fn here() -> Task<String> {
///     let bt = co_await!(CurrentBacktrace);
///     let p = bt.frames()[0];
///     assert_eq!((p.kind(), p.function()), (SuspendKind::Await, "here"));
///     co_return!(bt.to_string())
/// }
/// assert!(sync_wait(here()).contains("co_await #1 in here"));
/// ```
#[derive(Debug, Default)]
pub struct CurrentBacktrace;

/// The awaiter of [`CurrentBacktrace`].
#[derive(Debug, Default)]
pub struct CurrentBacktraceAwaiter {
    backtrace: AsyncBacktrace,
}

impl crate::language::awaiter::IntoAwaiter for CurrentBacktrace {
    type Awaiter = CurrentBacktraceAwaiter;
    fn into_awaiter(self) -> CurrentBacktraceAwaiter {
        CurrentBacktraceAwaiter::default()
    }
}

impl Awaiter for CurrentBacktraceAwaiter {
    type Output = AsyncBacktrace;
    fn await_ready(&mut self) -> bool {
        false
    }
    unsafe fn await_suspend(&mut self, handle: CoroutineHandle) -> impl AwaitSuspend {
        // SAFETY: `handle` is suspended right here, and the coroutines
        // awaiting it are suspended waiting for it.
        self.backtrace = unsafe { handle.async_backtrace() };
        false
    }
    fn await_resume(self) -> AsyncBacktrace {
        self.backtrace
    }
}
