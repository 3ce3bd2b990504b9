//! The two trivial awaiters of the C++ standard library.

use crate::language::awaiter::{AwaitSuspend, Awaiter, Stateless};
use crate::language::handle::CoroutineHandle;

/// C++ `std::suspend_always`: always suspends, resumes with `()`.
///
/// ```
/// use coro::{Awaiter, SuspendAlways};
/// assert!(!SuspendAlways.await_ready());
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SuspendAlways;

/// C++ `std::suspend_never`: never suspends, resumes with `()`.
///
/// ```
/// use coro::{Awaiter, SuspendNever};
/// assert!(SuspendNever.await_ready());
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SuspendNever;

impl Awaiter for SuspendAlways {
    type Output = ();
    #[inline(always)]
    fn await_ready(&mut self) -> bool {
        false
    }
    #[inline(always)]
    unsafe fn await_suspend(&mut self, _: CoroutineHandle) -> impl AwaitSuspend {}
    #[inline(always)]
    fn await_resume(self) {}
    const SUSPEND_IS_NOOP: bool = true;
    // SAFETY: a `Copy` value without drop glue, read by `await_ready`; the
    // other two do nothing.
    const STATELESS: Option<Stateless<Self>> = Some(unsafe { Stateless::new() });
}

impl Awaiter for SuspendNever {
    type Output = ();
    #[inline(always)]
    fn await_ready(&mut self) -> bool {
        true
    }
    #[inline(always)]
    unsafe fn await_suspend(&mut self, _: CoroutineHandle) -> impl AwaitSuspend {}
    #[inline(always)]
    fn await_resume(self) {}
    const SUSPEND_IS_NOOP: bool = true;
    // SAFETY: a `Copy` value without drop glue, read by `await_ready`; the
    // other two do nothing.
    const STATELESS: Option<Stateless<Self>> = Some(unsafe { Stateless::new() });
}

/// `SuspendAlways` when `suspend` is true, else `SuspendNever`: C++'s common
/// `struct { bool ready; }` awaiter for a promise whose start mode is chosen at
/// run time.
///
/// ```
/// use coro::awaiter::Suspend;
/// use coro::Awaiter;
/// assert!(Suspend(false).await_ready());
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Suspend(pub bool);

impl Awaiter for Suspend {
    type Output = ();
    #[inline(always)]
    fn await_ready(&mut self) -> bool {
        !self.0
    }
    #[inline(always)]
    unsafe fn await_suspend(&mut self, _: CoroutineHandle) -> impl AwaitSuspend {}
    #[inline(always)]
    fn await_resume(self) {}
    const SUSPEND_IS_NOOP: bool = true;
    // SAFETY: a `Copy` value without drop glue, read by `await_ready`; the
    // other two do nothing.
    const STATELESS: Option<Stateless<Self>> = Some(unsafe { Stateless::new() });
}
