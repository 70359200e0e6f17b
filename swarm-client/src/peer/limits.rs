//! Session-wide transfer rate limits (`--up-rate`, `--down-rate`): token buckets (the
//! `governor` crate) shared by every connection. A connection takes tokens for each block it
//! sends (upload) or has received (download) and waits when the bucket is empty; waiting on
//! the read side stops reading the socket, so TCP slows the sender down.

use std::num::NonZeroU32;
use std::sync::Arc;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};

use super::upload_queue::SessionUploads;

/// Smallest burst: a few blocks, so a limit never splits one 16 KiB block into many waits.
const MIN_BURST: u32 = 64 * 1024;

/// One token bucket, in bytes per second.
#[derive(Debug)]
pub struct RateLimit {
    bucket: DefaultDirectRateLimiter,
    burst: NonZeroU32,
}

impl RateLimit {
    /// A limit of `bytes_per_sec` (`None` for 0: unlimited). The bucket holds an eighth of a
    /// second's worth (at least [`MIN_BURST`]), so the rate holds over any second or so.
    pub fn per_second(bytes_per_sec: u64) -> Option<Arc<RateLimit>> {
        let rate = NonZeroU32::new(u32::try_from(bytes_per_sec).unwrap_or(u32::MAX))?;
        let burst = NonZeroU32::new((rate.get() / 8).max(MIN_BURST)).unwrap_or(rate);
        let quota = Quota::per_second(rate).allow_burst(burst);
        Some(Arc::new(RateLimit {
            bucket: RateLimiter::direct(quota),
            burst,
        }))
    }

    /// Waits until `bytes` may pass.
    pub async fn take(&self, bytes: usize) {
        let mut left = u32::try_from(bytes).unwrap_or(u32::MAX);
        while let Some(n) = NonZeroU32::new(left.min(self.burst.get())) {
            // Cannot fail: `n` is at most the burst size.
            let _ = self.bucket.until_n_ready(n).await;
            left -= n.get();
        }
    }
}

/// What a connection shares with every other of its session: the rate limits it obeys,
/// and the count of upload requests queued (which tells whether the uplink is idle).
#[derive(Debug, Clone, Default)]
pub struct Limits {
    pub up: Option<Arc<RateLimit>>,
    pub down: Option<Arc<RateLimit>>,
    pub uploads: Arc<SessionUploads>,
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;

    #[test]
    fn zero_means_unlimited() {
        assert!(RateLimit::per_second(0).is_none());
    }

    #[tokio::test]
    async fn the_rate_holds_after_the_first_burst() {
        let limit = RateLimit::per_second(1024 * 1024).unwrap();
        limit.take(128 * 1024).await; // the burst
        let start = Instant::now();
        for _ in 0..32 {
            limit.take(16 * 1024).await;
        }
        // 512 KiB at 1 MiB/s: about half a second.
        let took = start.elapsed();
        assert!(took >= Duration::from_millis(400), "{took:?}");
    }
}
