//! How many block requests to keep outstanding with one peer: enough to cover the time a
//! request takes to be answered at the peer's measured rate, so a fast peer is never starved.

use std::time::{Duration, Instant};

use crate::wire::BLOCK_SIZE;

/// Fewest requests kept outstanding with an unchoking peer.
pub const MIN_DEPTH: usize = 16;
/// Requests kept outstanding when a peer starts sending (512 KiB). Until its rate is first
/// measured, each block it delivers allows one more (as TCP's slow start), so a fast peer
/// doubles its pipeline every round trip while a slow one is not handed 2 MiB that would sit
/// in its queue: with 128 from the start, the lab's churn scenario (20 upload slots, so
/// 0.5 Mbit/s flows) took 70.7-71.4 s instead of 62.8-64.7, each restarted leecher's pieces
/// stuck behind 33 s queues.
pub const INITIAL_DEPTH: usize = 32;
/// Most requests kept outstanding with one peer (8 MiB of blocks).
pub const MAX_DEPTH: usize = 512;
/// The request latency a pipeline must cover: depth = rate × budget / block size.
const LATENCY_BUDGET: Duration = Duration::from_millis(1500);
/// How often the rate estimate is updated.
const WINDOW: Duration = Duration::from_millis(500);

/// Measures a peer's download rate and derives the request pipeline depth from it.
#[derive(Debug)]
pub struct Pipeline {
    /// Smoothed bytes per second.
    rate: f64,
    /// Has a whole window been measured yet?
    measured: bool,
    window_bytes: u64,
    window_start: Instant,
}

impl Default for Pipeline {
    fn default() -> Self {
        Self::new()
    }
}

impl Pipeline {
    /// A pipeline for a peer whose rate is not known yet.
    pub fn new() -> Self {
        Self {
            rate: 0.0,
            measured: false,
            window_bytes: 0,
            window_start: Instant::now(),
        }
    }

    /// Starts a fresh measurement window (the peer just unchoked us: time spent choked is
    /// not a slow rate).
    pub fn restart_window(&mut self, now: Instant) {
        self.window_bytes = 0;
        self.window_start = now;
    }

    /// Counts `bytes` of block data received `now`.
    pub fn received(&mut self, bytes: u64, now: Instant) {
        self.window_bytes += bytes;
        self.update(now);
    }

    /// Folds the current window into the rate estimate once it is long enough.
    pub fn update(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.window_start);
        if elapsed < WINDOW {
            return;
        }
        let sample = self.window_bytes as f64 / elapsed.as_secs_f64();
        // Rise fast (a fast peer must not wait for the average), fall smoothly.
        self.rate = if sample > self.rate {
            sample
        } else {
            0.6 * self.rate + 0.4 * sample
        };
        self.window_bytes = 0;
        self.window_start = now;
        self.measured = true;
    }

    /// Smoothed download rate from this peer, bytes per second.
    pub fn rate(&self) -> f64 {
        self.rate
    }

    /// Requests to keep outstanding.
    pub fn depth(&self) -> usize {
        if !self.measured {
            let delivered = usize::try_from(self.window_bytes / u64::from(BLOCK_SIZE));
            return INITIAL_DEPTH
                .saturating_add(delivered.unwrap_or(MAX_DEPTH))
                .min(MAX_DEPTH);
        }
        let blocks = self.rate * LATENCY_BUDGET.as_secs_f64() / f64::from(BLOCK_SIZE);
        (blocks as usize).clamp(MIN_DEPTH, MAX_DEPTH)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fast peer must not wait half a second for its first measurement at a shallow
    /// pipeline (loopback downloads were 12 % slower with a flat 32).
    #[test]
    fn before_the_first_measurement_each_delivered_block_allows_one_more() {
        let mut p = Pipeline::new();
        let start = p.window_start;
        p.received(u64::from(BLOCK_SIZE) * 10, start);
        assert_eq!(p.depth(), INITIAL_DEPTH + 10);
        p.received(u64::from(BLOCK_SIZE) * 10_000, start);
        assert_eq!(p.depth(), MAX_DEPTH);
    }

    #[test]
    fn depth_follows_rate() {
        let mut p = Pipeline::new();
        assert_eq!(p.depth(), INITIAL_DEPTH);
        let start = p.window_start;
        p.update(start + Duration::from_secs(1));
        assert_eq!(p.depth(), MIN_DEPTH, "a peer that sent nothing");
        p.window_bytes = 100 * 1024 * 1024;
        p.update(start + Duration::from_secs(2));
        assert_eq!(p.depth(), MAX_DEPTH);
        p.window_bytes = 1024 * 1024;
        for s in 3..30 {
            p.window_bytes = 1024 * 1024;
            p.update(start + Duration::from_secs(s));
        }
        // ~1 MiB/s × 1.5 s / 16 KiB ≈ 96 blocks.
        assert!((80..=110).contains(&p.depth()), "{}", p.depth());
    }
}
