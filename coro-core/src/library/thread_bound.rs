//! The marker that makes a thread-bound coroutine type (`Task`,
//! `Generator`, `SharedTask`) not `Send`, named so that the compiler's
//! "cannot be sent between threads safely" error leads with the user's type
//! and the type to use instead.
//!
//! rustc names the innermost type that is not `Send` in the first line of
//! that error, looking at fields in declaration order; each thread-bound
//! owner therefore has this marker as its first field, and the error reads
//! "`*const StaysOnItsThread<Task<u32>, ForThreadsReturn<SendTask<u32>>>`
//! cannot be sent between threads safely".

use core::fmt;
use core::marker::PhantomData;
use core::ops::{Deref, DerefMut};

/// `Owner` stays on the thread that made it; to cross threads, return
/// `Instead` (see [`ForThreadsReturn`]) from the coroutine.
///
/// Only ever behind a `*const` in a `PhantomData`: not `Send`, not `Sync`,
/// covariant, and (a function pointer inside) neutral for every other auto
/// trait.
#[doc(hidden)]
#[derive(Debug)]
pub struct StaysOnItsThread<Owner, Instead>(PhantomData<fn() -> (Owner, Instead)>);

/// The `Send` counterpart of a thread-bound type, named in
/// [`StaysOnItsThread`].
#[doc(hidden)]
#[derive(Debug)]
pub struct ForThreadsReturn<T>(PhantomData<fn() -> T>);

/// The field a thread-bound owner starts with.
pub(crate) type ThreadBound<Owner, Instead> = PhantomData<*const StaysOnItsThread<Owner, ForThreadsReturn<Instead>>>;

/// A field of a thread-bound owner, left out of the compiler's `Send`
/// check so that the owner's [`ThreadBound`] marker is the one type the
/// "cannot be sent between threads safely" error names (across crates rustc
/// reports every field that is not `Send`, one error each).
pub(crate) struct Unsent<T>(T);

impl<T> Unsent<T> {
    /// Wraps a field of an owner that has a [`ThreadBound`] field.
    #[inline(always)]
    pub(crate) fn new(value: T) -> Self {
        Unsent(value)
    }

    /// The field, taken out of its owner: `Send` only if it is itself.
    #[inline(always)]
    pub(crate) fn into_inner(self) -> T {
        self.0
    }
}

impl<T: fmt::Debug> fmt::Debug for Unsent<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl<T> Deref for Unsent<T> {
    type Target = T;
    #[inline(always)]
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T> DerefMut for Unsent<T> {
    #[inline(always)]
    fn deref_mut(&mut self) -> &mut T {
        &mut self.0
    }
}

// SAFETY: this impl only hides the field from the auto-trait check; it
// never makes anything `Send` by itself, because an `Unsent` (crate-private)
// is only ever a field of an owner whose `Send` is decided elsewhere:
// - `Task`, `Generator`, `SharedTask`: their first field is a `ThreadBound`
//   marker (a `*const`), so the owner is never `Send` (pinned by
//   tests/ui/{task,generator,shared_task}_sent_to_thread.rs);
// - `SendTask`, and `SendGenerator` through its inner `Generator`: their own
//   `unsafe impl Send` decides, with its own bounds (`T: Send`, a `Send`
//   frame).
// The wrapped value leaves its owner only through `into_inner`, as its own
// type (with its own auto traits); `Deref`/`DerefMut` are used by the
// owner's methods only, on the owner's thread.
unsafe impl<T> Send for Unsent<T> {}
