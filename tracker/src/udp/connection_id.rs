//! Connection ids a client cannot forge: a keyed SipHash of the client's address and the
//! current time period, under a key drawn at random when the tracker starts.
//!
//! An id issued in period `p` is accepted in `p` and `p + 1`, so it stays valid for at
//! least one full period (BEP 15 clients reuse an id for up to one minute).

use std::hash::Hasher;
use std::net::SocketAddr;

use siphasher::sip::SipHasher13;

/// Length of one period in seconds (ids live between 2 and 4 minutes).
pub const PERIOD_SECS: u64 = 120;

/// Issues and checks connection ids.
#[derive(Debug, Clone)]
pub struct ConnectionIds {
    key: [u8; 16],
}

impl ConnectionIds {
    /// A generator with a fresh random key.
    pub fn new() -> ConnectionIds {
        ConnectionIds {
            key: rand::random(),
        }
    }

    /// A generator with a fixed key (tests).
    pub fn with_key(key: [u8; 16]) -> ConnectionIds {
        ConnectionIds { key }
    }

    /// The id for `client` at `now` (Unix seconds).
    pub fn issue(&self, client: SocketAddr, now: u64) -> u64 {
        self.hash(client, now / PERIOD_SECS)
    }

    /// Was `id` issued to `client` in this period or the previous one?
    pub fn check(&self, id: u64, client: SocketAddr, now: u64) -> bool {
        let period = now / PERIOD_SECS;
        id == self.hash(client, period) || id == self.hash(client, period.wrapping_sub(1))
    }

    fn hash(&self, client: SocketAddr, period: u64) -> u64 {
        let mut h = SipHasher13::new_with_key(&self.key);
        match client.ip().to_canonical() {
            std::net::IpAddr::V4(ip) => h.write(&ip.octets()),
            std::net::IpAddr::V6(ip) => h.write(&ip.octets()),
        }
        h.write_u16(client.port());
        h.write_u64(period);
        h.finish()
    }
}

impl Default for ConnectionIds {
    fn default() -> Self {
        ConnectionIds::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_for_current_and_next_period_only() {
        let ids = ConnectionIds::with_key([3; 16]);
        let a: SocketAddr = "10.0.0.1:5000".parse().unwrap();
        let b: SocketAddr = "10.0.0.1:5001".parse().unwrap();
        let id = ids.issue(a, 1000);
        assert!(ids.check(id, a, 1000));
        assert!(ids.check(id, a, 1000 + PERIOD_SECS));
        assert!(!ids.check(id, a, 1000 + 3 * PERIOD_SECS));
        assert!(!ids.check(id, b, 1000));
        assert!(!ConnectionIds::with_key([4; 16]).check(id, a, 1000));
    }
}
