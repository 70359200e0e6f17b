//! How many peers learned through PEX we take: at most so many per message and so many a
//! minute (a token bucket), so that a peer cannot flood our address book or make us dial
//! thousands of addresses.

use std::time::{Duration, Instant};

/// Default: peers taken from one message (libtorrent sends at most 100).
pub const DEFAULT_PER_MESSAGE: usize = 50;

/// Default: peers taken per minute.
pub const DEFAULT_PER_MINUTE: usize = 100;

const MINUTE: Duration = Duration::from_secs(60);

/// A budget of peers learned through PEX: per message and per minute.
#[derive(Debug, Clone)]
pub struct PexLimiter {
    per_message: usize,
    per_minute: usize,
    tokens: usize,
    /// When the bucket was last topped up (advanced only by whole tokens).
    refilled: Instant,
}

impl PexLimiter {
    /// A full budget of `per_minute`, taking at most `per_message` from one message.
    pub fn new(per_message: usize, per_minute: usize, now: Instant) -> Self {
        Self {
            per_message,
            per_minute,
            tokens: per_minute,
            refilled: now,
        }
    }

    /// The default budget ([`DEFAULT_PER_MESSAGE`], [`DEFAULT_PER_MINUTE`]).
    pub fn with_defaults(now: Instant) -> Self {
        Self::new(DEFAULT_PER_MESSAGE, DEFAULT_PER_MINUTE, now)
    }

    /// A message offers `offered` new peers: how many of them to take (the first ones).
    pub fn admit(&mut self, offered: usize, now: Instant) -> usize {
        self.refill(now);
        let taken = offered.min(self.per_message).min(self.tokens);
        self.tokens -= taken;
        taken
    }

    /// Adds `per_minute` tokens per minute elapsed, up to `per_minute`.
    fn refill(&mut self, now: Instant) {
        if self.per_minute == 0 {
            return;
        }
        let elapsed = now.saturating_duration_since(self.refilled);
        let per_token = MINUTE / u32::try_from(self.per_minute).unwrap_or(u32::MAX);
        let new = (elapsed.as_nanos() / per_token.as_nanos().max(1)) as usize;
        if new == 0 {
            return;
        }
        if self.tokens + new >= self.per_minute {
            self.tokens = self.per_minute;
            self.refilled = now;
        } else {
            self.tokens += new;
            self.refilled += per_token * new as u32;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_one_message() {
        let now = Instant::now();
        let mut limiter = PexLimiter::new(50, 100, now);
        assert_eq!(limiter.admit(3000, now), 50);
        assert_eq!(limiter.admit(10, now), 10);
    }

    #[test]
    fn caps_a_minute_and_refills_over_time() {
        let now = Instant::now();
        let mut limiter = PexLimiter::new(50, 100, now);
        assert_eq!(limiter.admit(50, now), 50);
        assert_eq!(limiter.admit(50, now), 50);
        assert_eq!(limiter.admit(50, now), 0);
        // 100 a minute: one every 600 ms.
        assert_eq!(limiter.admit(50, now + Duration::from_millis(1300)), 2);
        assert_eq!(limiter.admit(50, now + Duration::from_millis(1800)), 1);
        assert_eq!(limiter.admit(500, now + Duration::from_secs(3600)), 50);
        assert_eq!(limiter.admit(500, now + Duration::from_secs(3600)), 50);
        assert_eq!(limiter.admit(500, now + Duration::from_secs(3600)), 0);
    }

    #[test]
    fn zero_budget_takes_nothing() {
        let now = Instant::now();
        let mut limiter = PexLimiter::new(50, 0, now);
        assert_eq!(limiter.admit(5, now + Duration::from_secs(100)), 0);
    }
}
