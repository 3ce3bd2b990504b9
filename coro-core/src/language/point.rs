//! Static records of suspension points: where a suspended coroutine is.
//!
//! Every `co_await!`/`co_yield!` in a `#[coro::coroutine]` body, and the initial and
//! final suspend points of each coroutine, get one `static` record. A frame's
//! header points at the record of the point it is suspended at, so a
//! suspended coroutine can say where it is without any per-frame storage
//! beyond that one pointer.

use core::fmt;

/// What kind of suspension point a coroutine is stopped at.
///
/// ```
/// use coro::handle::SuspendKind;
/// assert_ne!(SuspendKind::Initial, SuspendKind::Final);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SuspendKind {
    /// `co_await promise.initial_suspend()`, before the body starts.
    Initial,
    /// A `co_await!` in the body.
    Await,
    /// A `co_yield!` in the body.
    Yield,
    /// `co_await promise.final_suspend()`, after the body has finished.
    Final,
}

/// The coroutine function a suspension point belongs to.
///
/// One `static` per `#[coro::coroutine]` function; every [`SuspendPoint`] of that
/// function refers to it, which is how the frame finds its final suspend
/// point without storing it.
#[derive(Debug)]
pub struct CoroutineInfo {
    name: &'static str,
    initial: SuspendPoint,
    final_: SuspendPoint,
}

/// Where a suspended coroutine is: kind, index, file, line and column.
///
/// Obtained from [`CoroutineHandle::suspend_point`](crate::CoroutineHandle::suspend_point).
/// Index 0 is the initial suspend point, `1..=n` number the `co_await!` and
/// `co_yield!` expressions of the body in source order, and `n + 1` is the
/// final suspend point.
///
/// ```
/// use coro::handle::SuspendKind;
/// use coro::{co_yield, Generator};
///
/// #[coro::coroutine]
/// fn two() -> Generator<u32> {
///     co_yield!(1);
///     co_yield!(2);
/// }
///
/// let mut g = two();
/// assert_eq!(g.next(), Some(1));
/// let p = g.suspend_point().unwrap();
/// assert_eq!((p.kind(), p.index(), p.function()), (SuspendKind::Yield, 1, "two"));
/// ```
#[derive(Debug)]
pub struct SuspendPoint {
    kind: SuspendKind,
    index: u32,
    file: &'static str,
    line: u32,
    column: u32,
    coroutine: Option<&'static CoroutineInfo>,
}

impl SuspendPoint {
    /// Builds a record; used by the code `#[coro::coroutine]` generates.
    #[doc(hidden)]
    pub const fn new(
        kind: SuspendKind,
        index: u32,
        file: &'static str,
        line: u32,
        column: u32,
        coroutine: &'static CoroutineInfo,
    ) -> Self {
        SuspendPoint { kind, index, file, line, column, coroutine: Some(coroutine) }
    }

    /// A record that belongs to no coroutine: the frame's "not suspended" markers.
    pub(crate) const fn sentinel() -> Self {
        SuspendPoint { kind: SuspendKind::Await, index: u32::MAX, file: "", line: 0, column: 0, coroutine: None }
    }

    /// The kind of point: initial, `co_await!`, `co_yield!` or final.
    pub fn kind(&self) -> SuspendKind {
        self.kind
    }

    /// 0 for the initial point, `1..=n` for the body's points in source order,
    /// `n + 1` for the final point.
    pub fn index(&self) -> u32 {
        self.index
    }

    /// The source file, as `file!()` gives it.
    pub fn file(&self) -> &'static str {
        self.file
    }

    /// The 1-based line of the `co_await!`/`co_yield!` (or of the function for
    /// the initial and final points).
    pub fn line(&self) -> u32 {
        self.line
    }

    /// The 1-based column, as `column!()` gives it.
    pub fn column(&self) -> u32 {
        self.column
    }

    /// The name of the coroutine function.
    pub fn function(&self) -> &'static str {
        self.coroutine.map_or("", |c| c.name)
    }
}

impl fmt::Display for SuspendPoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.kind {
            SuspendKind::Initial => "initial suspend",
            SuspendKind::Await => "co_await",
            SuspendKind::Yield => "co_yield",
            SuspendKind::Final => "final suspend",
        };
        write!(f, "{} #{} in {} at {}:{}:{}", what, self.index, self.function(), self.file, self.line, self.column)
    }
}

impl CoroutineInfo {
    /// Builds the record of a coroutine function; used by generated code,
    /// which passes a reference to the `static` being defined.
    #[doc(hidden)]
    pub const fn new(
        name: &'static str,
        file: &'static str,
        (line, column): (u32, u32),
        final_index: u32,
        (end_line, end_column): (u32, u32),
        this: &'static CoroutineInfo,
    ) -> Self {
        CoroutineInfo {
            name,
            initial: SuspendPoint::new(SuspendKind::Initial, 0, file, line, column, this),
            final_: SuspendPoint::new(SuspendKind::Final, final_index, file, end_line, end_column, this),
        }
    }

    /// The function's name.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The initial suspend point's record.
    pub fn initial_point(&'static self) -> &'static SuspendPoint {
        &self.initial
    }

    /// The final suspend point's record.
    pub fn final_point(&'static self) -> &'static SuspendPoint {
        &self.final_
    }
}

/// A coroutine function's record, supplied as a type so that the frame
/// knows it at compile time; implemented by the code `#[coro::coroutine]`
/// generates.
#[doc(hidden)]
pub trait Info {
    /// The record.
    const INFO: &'static CoroutineInfo;
}

/// The header's `point` while the frame is running (between a resume and the
/// next suspension): null, not the address of a `static`, so that the
/// resume path tests and stores an immediate (a static's address takes a
/// `lea` first, and a compare with it a load and a register).
pub(crate) const RUNNING: *mut SuspendPoint = core::ptr::null_mut();
/// The header's `point` while the frame is being built by its ramp and has
/// not reached its initial point: an address no record can have (records
/// are aligned to more than 2 bytes) with the final bit clear.
pub(crate) const UNSTARTED: *mut SuspendPoint = core::ptr::without_provenance_mut(2);
const _: () = assert!(core::mem::align_of::<SuspendPoint>() > 2);
