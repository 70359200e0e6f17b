//! Announces and scrapes per second over the last minute, for the status page: a ring of
//! per-second snapshots of the running totals, filled by a one-second ticker.

use std::collections::VecDeque;
use std::time::Instant;

use parking_lot::Mutex;

/// Seconds the rate is averaged over.
const WINDOW: usize = 60;

/// The last minute of totals.
#[derive(Default)]
pub struct Rates {
    ring: Mutex<VecDeque<(Instant, u64, u64)>>,
}

impl Rates {
    /// Record the running totals (announces, scrapes) now.
    pub fn tick(&self, totals: (u64, u64)) {
        let mut ring = self.ring.lock();
        if ring.len() > WINDOW {
            ring.pop_front();
        }
        ring.push_back((Instant::now(), totals.0, totals.1));
    }

    /// (announces/s, scrapes/s) between the oldest snapshot and `totals` now.
    pub fn per_second(&self, totals: (u64, u64)) -> (f64, f64) {
        let ring = self.ring.lock();
        let Some(&(at, a, s)) = ring.front() else {
            return (0.0, 0.0);
        };
        let secs = at.elapsed().as_secs_f64();
        if secs < 0.5 {
            return (0.0, 0.0);
        }
        (
            totals.0.saturating_sub(a) as f64 / secs,
            totals.1.saturating_sub(s) as f64 / secs,
        )
    }
}
