//! The loop's clock: nanoseconds of the monotonic clock since the loop was
//! made, as one `u64`, so that a loop turn reads the time with one
//! `clock_gettime` and compares and subtracts integers (an `Instant` costs
//! a conversion each way: about 50 instructions per turn).
//!
//! Deadlines come in as [`Instant`]s and are converted once, when a timer
//! is registered. `Instant` is the same clock (`CLOCK_MONOTONIC` on Linux
//! and the other Unixes std supports, per its documentation); the loop's
//! base pairs an `Instant` with a raw reading taken just after it, so a
//! converted deadline is reached no earlier than the `Instant` itself (a
//! timer may fire late by the gap between the two readings, a fraction of
//! a microsecond, never early).

use std::time::Instant;

/// Nanoseconds since the loop's base.
pub(crate) type Ticks = u64;

/// The loop's clock (see the module docs).
#[derive(Debug)]
pub(crate) struct Clock {
    base: Instant,
    /// The raw clock just after `base` was read.
    base_raw: u64,
}

/// The monotonic clock, in nanoseconds.
fn raw() -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid, writable `timespec`; `CLOCK_MONOTONIC`
    // always exists, so the call only writes `ts` (it cannot fail).
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    (ts.tv_sec as u64).wrapping_mul(1_000_000_000).wrapping_add(ts.tv_nsec as u64)
}

impl Clock {
    pub(crate) fn new() -> Clock {
        let base = Instant::now();
        Clock { base, base_raw: raw() }
    }

    /// Now.
    #[inline]
    pub(crate) fn now(&self) -> Ticks {
        raw().saturating_sub(self.base_raw)
    }

    /// `deadline` on this clock (0 if before the base: due at once).
    pub(crate) fn ticks(&self, deadline: Instant) -> Ticks {
        u64::try_from(deadline.saturating_duration_since(self.base).as_nanos()).unwrap_or(u64::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_deadline_is_reached_on_the_loop_clock_no_earlier_than_its_instant() {
        let clock = Clock::new();
        let deadline = Instant::now() + Duration::from_millis(5);
        let t = clock.ticks(deadline);
        while clock.now() < t {}
        assert!(Instant::now() >= deadline);
        assert_eq!(clock.ticks(clock.base - Duration::from_secs(1)), 0, "a deadline in the past is due");
    }
}
