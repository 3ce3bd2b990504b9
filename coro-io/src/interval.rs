//! [`interval`]: a periodic timer, awaited one tick at a time.
//!
//! The [`Interval`] keeps only the next deadline and the period; each
//! [`Tick`] awaiter carries its timer entry like a [`Sleep`](crate::Sleep)
//! (the registration key, withdrawn by its drop), so once the loop is warm
//! a tick allocates nothing.

use core::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use coro_core::awaiter::CancelOutcome;
use coro_core::{AwaitSuspend, Awaiter, CoroutineHandle};

use crate::event_loop::{self, current, Shared};
use crate::registration::Key;

/// A periodic timer made by [`interval`] or [`interval_at`]; await
/// [`tick`](Interval::tick) for each period.
///
/// - **First tick**: at once (at the loop's next turn; like a
///   [`sleep`](crate::sleep) whose deadline has passed, a tick always
///   suspends), then one every `period`.
/// - **Missed ticks burst**: deadlines stay on the grid `start + k·period`.
///   A coroutine that comes back late finds the missed deadlines already
///   passed, and its next ticks complete one per loop turn until it has
///   caught up (tokio's default, `MissedTickBehavior::Burst`). Each tick
///   returns its scheduled deadline, so a caller can tell how late it is.
/// - **Cancellation**: dropping a [`Tick`] before it completes (its
///   coroutine destroyed, a `timeout` running out) withdraws its timer and
///   does not consume the tick: the next `tick()` waits for the same
///   deadline.
///
/// `Send`, like the other timers: a `SendTask` ticks on the loop of the
/// thread it runs on.
///
/// ```
/// use std::time::{Duration, Instant};
/// use coro::{co_await, co_return, Task};
/// use coro_io::{interval, EventLoop};
///
/// #[coro::coroutine]
/// fn three_ticks() -> Task<Vec<Instant>> {
///     let mut iv = interval(Duration::from_millis(2));
///     let mut seen = Vec::new();
///     for _ in 0..3 {
///         seen.push(co_await!(iv.tick()));
///     }
///     co_return!(seen)
/// }
///
/// let rt = EventLoop::new().unwrap();
/// let seen = rt.block_on(three_ticks());
/// assert_eq!(seen[1] - seen[0], Duration::from_millis(2));
/// assert_eq!(seen[2] - seen[1], Duration::from_millis(2));
/// assert!(Instant::now() >= seen[2]);
/// ```
pub struct Interval {
    /// The deadline of the next tick.
    next: Instant,
    period: Duration,
}

impl fmt::Debug for Interval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Interval").field("next", &self.next).field("period", &self.period).finish()
    }
}

/// An [`Interval`] whose first tick is at once, then one every `period`.
///
/// # Panics
/// If `period` is zero.
///
/// ```
/// use std::time::{Duration, Instant};
/// let iv = coro_io::interval(Duration::from_secs(1));
/// assert!(iv.next_tick() <= Instant::now());
/// assert_eq!(iv.period(), Duration::from_secs(1));
/// ```
pub fn interval(period: Duration) -> Interval {
    interval_at(Instant::now(), period)
}

/// An [`Interval`] whose first tick is at `start`, then one every `period`.
///
/// # Panics
/// If `period` is zero.
///
/// ```
/// use std::time::{Duration, Instant};
/// let start = Instant::now() + Duration::from_secs(5);
/// assert_eq!(coro_io::interval_at(start, Duration::from_secs(1)).next_tick(), start);
/// ```
pub fn interval_at(start: Instant, period: Duration) -> Interval {
    assert!(!period.is_zero(), "coro_io::interval: the period must be non-zero");
    Interval { next: start, period }
}

impl Interval {
    /// `co_await!(iv.tick())` suspends until the next tick's deadline and
    /// gives that deadline (not the time it resumed).
    ///
    /// # Panics
    /// At the `co_await!`, if this thread has no [`EventLoop`](crate::EventLoop).
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// use coro::{co_await, co_return, Task};
    ///
    /// #[coro::coroutine]
    /// fn first() -> Task<bool> {
    ///     let start = Instant::now() + Duration::from_millis(3);
    ///     let mut iv = coro_io::interval_at(start, Duration::from_secs(60));
    ///     let t = co_await!(iv.tick());
    ///     co_return!(t == start && Instant::now() >= start)
    /// }
    ///
    /// let rt = coro_io::EventLoop::new().unwrap();
    /// assert!(rt.block_on(first()));
    /// ```
    pub fn tick(&mut self) -> Tick<'_> {
        Tick { interval: self, reg: None }
    }

    /// The deadline of the next tick.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// let t = Instant::now();
    /// assert_eq!(coro_io::interval_at(t, Duration::from_millis(1)).next_tick(), t);
    /// ```
    pub fn next_tick(&self) -> Instant {
        self.next
    }

    /// The period.
    ///
    /// ```
    /// use std::time::Duration;
    /// assert_eq!(coro_io::interval(Duration::from_millis(7)).period(), Duration::from_millis(7));
    /// ```
    pub fn period(&self) -> Duration {
        self.period
    }

    /// Moves the grid: the next tick is one period from now.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// let mut iv = coro_io::interval(Duration::from_secs(1));
    /// iv.reset();
    /// assert!(iv.next_tick() > Instant::now());
    /// ```
    pub fn reset(&mut self) {
        let now = Instant::now();
        self.next = now.checked_add(self.period).unwrap_or(now);
    }

    /// The deadline after `self.next` (saturating: a period too large to
    /// add keeps the deadline, which is then centuries away anyway).
    fn advance(&mut self) {
        self.next = self.next.checked_add(self.period).unwrap_or(self.next);
    }
}

/// The awaiter of [`Interval::tick`]: resumes the coroutine once the tick's
/// deadline has passed, with that deadline.
///
/// ```
/// use std::time::Duration;
/// let mut iv = coro_io::interval(Duration::from_secs(1));
/// let tick: coro_io::Tick<'_> = iv.tick();
/// # drop(tick);
/// ```
pub struct Tick<'a> {
    interval: &'a mut Interval,
    reg: Option<(Arc<Shared>, Key)>,
}

impl fmt::Debug for Tick<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tick").field("deadline", &self.interval.next).field("registered", &self.reg.is_some()).finish()
    }
}

impl Awaiter for Tick<'_> {
    type Output = Instant;
    fn await_ready(&mut self) -> bool {
        false
    }
    unsafe fn await_suspend(&mut self, awaiting: CoroutineHandle) -> impl AwaitSuspend {
        let lp = current();
        let key = lp.register_timer(awaiting, self.interval.next);
        self.reg = Some((lp.shared.clone(), key));
    }
    fn await_resume(mut self) -> Instant {
        if let Some((shared, key)) = self.reg.take() {
            event_loop::withdraw(&shared, key);
        }
        let deadline = self.interval.next;
        self.interval.advance();
        deadline
    }
    unsafe fn await_cancel(&mut self) -> CancelOutcome {
        event_loop::cancel(&mut self.reg)
    }
}

/// The cancel step: the registration goes with the awaiter; the tick is
/// not consumed.
impl Drop for Tick<'_> {
    fn drop(&mut self) {
        if let Some((shared, key)) = self.reg.take() {
            event_loop::withdraw(&shared, key);
        }
    }
}
