//! How long a connection may stay idle or take over a request, and how
//! often the servers look: shared by the coro servers and the io bench's
//! peers, which all enforce them the same way (a coarse clock that ticks
//! every [`Timeouts::tick`], and a sweep of the connections at each tick,
//! as nginx and h2o do), so that no request pays for a timer of its own.

// Each includer uses its share of the module.
#![allow(dead_code)]

use std::time::Duration;

/// The connection timeouts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeouts {
    /// How often the clock ticks and the connections are swept.
    pub tick: Duration,
    /// How long a keep-alive connection may wait for its next request.
    pub idle: Duration,
    /// How long a request may take from its first byte to its last answer
    /// byte written (a slow header, a slow body, a client that does not
    /// read its answers).
    pub request: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts { tick: Duration::from_secs(1), idle: Duration::from_secs(60), request: Duration::from_secs(10) }
    }
}

impl Timeouts {
    /// `d` in ticks, rounded up (at least 1).
    pub fn ticks(&self, d: Duration) -> u32 {
        let t = self.tick.as_nanos().max(1);
        (d.as_nanos().div_ceil(t)).clamp(1, u32::MAX as u128) as u32
    }

    /// Whether a connection in `phase` since tick `since` has outlived its
    /// timeout at tick `now` (it gets one more tick than the timeout, as
    /// the tick it started in was partly gone).
    pub fn expired(&self, busy: bool, since: u32, now: u32) -> bool {
        let limit = if busy { self.ticks(self.request) } else { self.ticks(self.idle) };
        now.wrapping_sub(since) > limit
    }
}
