//! The peer addresses a torrent knows (from the user, trackers, incoming connections), when
//! each may be dialled again, and the penalty points that get a peer banned for bad data.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// Points for a failed piece this peer alone sent, and for a wrong block proven by comparing
/// with the piece's good copy.
pub const STRIKE_SOLE: u32 = 2;
pub const STRIKE_PROVEN: u32 = 2;
/// A peer with this many points is banned.
const BAN_POINTS: u32 = 4;
/// Longest wait before dialling a failing address again (2^6 s).
const MAX_BACKOFF_SHIFT: u32 = 6;

/// What we know of one address.
#[derive(Debug)]
struct Entry {
    connected: bool,
    failures: u32,
    retry_at: Instant,
    banned: bool,
    points: u32,
    /// Had every piece when we last saw it (no use dialling it once we are complete too).
    seed: bool,
}

impl Entry {
    /// May this address be dialled at `now`?
    fn dialable(&self, now: Instant, skip_seeds: bool) -> bool {
        let useless = skip_seeds && self.seed;
        !(self.connected || self.banned || useless) && self.retry_at <= now
    }
}

/// Known peer addresses of one torrent.
#[derive(Debug, Default)]
pub struct AddressBook {
    entries: HashMap<SocketAddr, Entry>,
}

impl AddressBook {
    /// Remembers `addr` (due at once if new).
    pub fn add(&mut self, addr: SocketAddr) {
        self.entries.entry(addr).or_insert(Entry {
            connected: false,
            failures: 0,
            retry_at: Instant::now(),
            banned: false,
            points: 0,
            seed: false,
        });
    }

    /// Addresses known.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Up to `limit` addresses to dial now (not connected, not banned, not backing off; not
    /// known seeds when `skip_seeds`, i.e. we are complete ourselves); each is marked
    /// connected.
    pub fn take_due(&mut self, now: Instant, limit: usize, skip_seeds: bool) -> Vec<SocketAddr> {
        let due: Vec<SocketAddr> = self
            .entries
            .iter()
            .filter(|(_, e)| e.dialable(now, skip_seeds))
            .map(|(a, _)| *a)
            .take(limit)
            .collect();
        for addr in &due {
            self.mark_connected(*addr);
        }
        due
    }

    /// `addr` has a connection now (dialled or incoming).
    pub fn mark_connected(&mut self, addr: SocketAddr) {
        if let Some(e) = self.entries.get_mut(&addr) {
            e.connected = true;
        }
    }

    /// The connection to `addr` completed its handshake.
    pub fn reached(&mut self, addr: SocketAddr) {
        if let Some(e) = self.entries.get_mut(&addr) {
            e.failures = 0;
        }
    }

    /// The connection to `addr` ended: a misbehaving peer is banned, others are dialled again
    /// after a backoff that doubles with each failure.
    pub fn closed(&mut self, addr: SocketAddr, misbehaved: bool) {
        let Some(e) = self.entries.get_mut(&addr) else {
            return;
        };
        e.connected = false;
        if misbehaved {
            e.banned = true;
        } else {
            e.failures += 1;
            let backoff = Duration::from_secs(1u64 << e.failures.min(MAX_BACKOFF_SHIFT));
            e.retry_at = Instant::now() + backoff;
        }
    }

    /// The peer at `addr` had every piece.
    pub fn mark_seed(&mut self, addr: SocketAddr) {
        if let Some(e) = self.entries.get_mut(&addr) {
            e.seed = true;
        }
    }

    /// Adds penalty points to `addr`; true when this bans it (only the first time).
    pub fn strike(&mut self, addr: SocketAddr, points: u32) -> bool {
        self.add(addr);
        let Some(e) = self.entries.get_mut(&addr) else {
            return false;
        };
        let before = e.points;
        e.points += points;
        if e.points < BAN_POINTS || before >= BAN_POINTS {
            return false;
        }
        e.banned = true;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(port: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    #[test]
    fn a_failed_address_waits_before_it_is_dialled_again() {
        let mut book = AddressBook::default();
        book.add(addr(1));
        let now = Instant::now();
        assert_eq!(book.take_due(now, 10, false), vec![addr(1)]);
        assert!(book.take_due(now, 10, false).is_empty(), "connected");
        book.closed(addr(1), false);
        assert!(
            book.take_due(Instant::now(), 10, false).is_empty(),
            "backing off"
        );
        assert_eq!(
            book.take_due(now + Duration::from_secs(3), 10, false),
            vec![addr(1)]
        );
    }

    #[test]
    fn a_peer_is_banned_once_its_points_reach_the_limit() {
        let mut book = AddressBook::default();
        assert!(!book.strike(addr(1), STRIKE_SOLE));
        assert!(book.strike(addr(1), STRIKE_PROVEN), "the ban is reported");
        assert!(!book.strike(addr(1), STRIKE_PROVEN), "only once");
        book.closed(addr(1), false);
        assert!(
            book.take_due(Instant::now() + Duration::from_secs(999), 10, false)
                .is_empty()
        );
    }

    #[test]
    fn a_complete_torrent_does_not_dial_known_seeds() {
        let mut book = AddressBook::default();
        book.add(addr(1));
        book.add(addr(2));
        book.mark_seed(addr(1));
        assert_eq!(book.take_due(Instant::now(), 10, true), vec![addr(2)]);
        assert_eq!(book.take_due(Instant::now(), 10, false), vec![addr(1)]);
    }

    #[test]
    fn a_misbehaving_peer_is_never_dialled_again() {
        let mut book = AddressBook::default();
        book.add(addr(1));
        book.take_due(Instant::now(), 1, false);
        book.closed(addr(1), true);
        assert!(
            book.take_due(Instant::now() + Duration::from_secs(999), 10, false)
                .is_empty()
        );
    }
}
