//! Rate limits per source address (an IPv6 address counts by its /64, which one host
//! usually holds whole): a token bucket per address and kind of request, refilled at
//! `N` per minute with bursts of up to `N`. Buckets of addresses that went quiet are dropped
//! by [`RateLimits::forget_idle`], so memory follows the active addresses.
//!
//! Every announce passes through here, so the buckets are keyed with foldhash (randomly
//! seeded per process, the hasher `hashbrown` defaults to) rather than SipHash: hashing the
//! address was half of the limiter's cost, ~190 of ~380 instructions per announce. The keys are
//! source addresses, which a client can vary only within the networks it holds, and the
//! seed is random per process: the weaker flooding resistance of a seeded fast hash is
//! enough here. (The swarm store, keyed by info-hashes that anyone picks, keeps SipHash.)

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use foldhash::fast::RandomState;
use governor::clock::{Clock, DefaultClock};
use governor::state::keyed::DashMapStateStore;
use governor::{Quota, RateLimiter};

/// One bucket per address key.
type KeyedLimiter = RateLimiter<IpAddr, DashMapStateStore<IpAddr, RandomState>, DefaultClock>;

/// What a request is, for its limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Announce,
    Scrape,
    /// Pages and API requests.
    Web,
    Publish,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Announce => "announce",
            Kind::Scrape => "scrape",
            Kind::Web => "web",
            Kind::Publish => "publish",
        }
    }
}

/// Requests per minute allowed per address for each kind; 0 turns a limit off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub announce: u32,
    pub scrape: u32,
    pub web: u32,
    pub publish: u32,
}

/// The limiters.
pub struct RateLimits {
    announce: Option<KeyedLimiter>,
    scrape: Option<KeyedLimiter>,
    web: Option<KeyedLimiter>,
    publish: Option<KeyedLimiter>,
    clock: DefaultClock,
}

fn limiter(per_minute: u32, clock: &DefaultClock) -> Option<KeyedLimiter> {
    NonZeroU32::new(per_minute).map(|n| {
        RateLimiter::dashmap_with_clock_and_hasher(
            Quota::per_minute(n),
            clock.clone(),
            RandomState::default(),
        )
    })
}

/// The key of an address: IPv4 as is, IPv6 by its /64.
fn key(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => {
            let bits = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(bits.into())
        }
        v4 => v4,
    }
}

impl RateLimits {
    pub fn new(limits: Limits) -> RateLimits {
        let clock = DefaultClock::default();
        RateLimits {
            announce: limiter(limits.announce, &clock),
            scrape: limiter(limits.scrape, &clock),
            web: limiter(limits.web, &clock),
            publish: limiter(limits.publish, &clock),
            clock,
        }
    }

    /// Take one request of `kind` from `ip`'s bucket; `Err(wait)` when it is empty, with how
    /// long until the next request would pass (at least one second).
    pub fn check(&self, kind: Kind, ip: IpAddr) -> Result<(), Duration> {
        let limiter = match kind {
            Kind::Announce => &self.announce,
            Kind::Scrape => &self.scrape,
            Kind::Web => &self.web,
            Kind::Publish => &self.publish,
        };
        let Some(limiter) = limiter else {
            return Ok(());
        };
        limiter.check_key(&key(ip)).map_err(|not_until| {
            not_until
                .wait_time_from(self.clock.now())
                .max(Duration::from_secs(1))
        })
    }

    /// Drop the buckets of addresses that are full again (called periodically).
    pub fn forget_idle(&self) {
        for limiter in [&self.announce, &self.scrape, &self.web, &self.publish]
            .into_iter()
            .flatten()
        {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_passes_then_waits_and_addresses_are_apart() {
        let limits = RateLimits::new(Limits {
            announce: 3,
            scrape: 0,
            web: 60,
            publish: 1,
        });
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        for _ in 0..3 {
            assert!(limits.check(Kind::Announce, a).is_ok());
        }
        let wait = limits.check(Kind::Announce, a).unwrap_err();
        assert!(wait >= Duration::from_secs(1) && wait <= Duration::from_secs(20));
        assert!(limits.check(Kind::Announce, b).is_ok());
        for _ in 0..100 {
            assert!(limits.check(Kind::Scrape, a).is_ok());
        }
        assert!(limits.check(Kind::Publish, a).is_ok());
        assert!(limits.check(Kind::Publish, a).is_err());
    }

    #[test]
    fn ipv6_counts_by_its_64() {
        let limits = RateLimits::new(Limits {
            announce: 1,
            scrape: 0,
            web: 0,
            publish: 0,
        });
        assert!(
            limits
                .check(Kind::Announce, "2001:db8::1".parse().unwrap())
                .is_ok()
        );
        assert!(
            limits
                .check(Kind::Announce, "2001:db8::2".parse().unwrap())
                .is_err()
        );
        assert!(
            limits
                .check(Kind::Announce, "2001:db8:0:1::1".parse().unwrap())
                .is_ok()
        );
    }
}
