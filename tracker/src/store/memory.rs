//! The in-memory swarm store: torrents sharded by info-hash over independently locked maps,
//! each torrent a pair of sorted arrays of packed peer records.
//!
//! # Bytes per peer
//! An IPv4 peer is one [`Record`] of 8 bytes: 4 address + 2 port (network order, so the
//! array sorts by address then port) + 2 bytes holding a 15-bit coarse timestamp and the
//! seeder bit. An IPv6 peer takes 20 bytes (16 + 2 + 2). Arrays grow by an eighth at a
//! time and are shrunk by the sweeper, so a swarm uses 8–9 bytes per IPv4 peer plus about
//! 100–150 bytes per torrent (map slot, counters, allocation headers): about 10–11 bytes
//! per peer at 100 peers per torrent (bench/tracker.sh measures RSS per peer).
//!
//! # Time
//! Timestamps count in units of `max(1, ceil(ttl / 4096))` seconds modulo 2^15, so the
//! peer lifetime is at most 4096 units and a stamp is unambiguous for eight lifetimes;
//! the sweeper runs far more often than that.

use std::cell::Cell;
use std::collections::HashMap;
use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::net::SocketAddr;
use std::sync::{Mutex, MutexGuard};

use metainfo::tracker::{compact_v4, compact_v6};

use super::{
    AnnounceParams, Event, InfoHash, ScrapeStats, Store, StoreConfig, StoreError, SwarmView,
    SweepStats,
};

/// Number of independently locked shards.
const SHARDS: usize = 64;

/// Timestamp bits in a record's meta word; the top bit is the seeder flag.
const STAMP_MASK: u16 = 0x7fff;
const SEEDER_BIT: u16 = 0x8000;

/// One peer: compact address (`N` = 6 for IPv4, 18 for IPv6) and a meta word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Record<const N: usize> {
    addr: [u8; N],
    /// Little-endian u16: bits 0–14 coarse timestamp, bit 15 seeder.
    meta: [u8; 2],
}

impl<const N: usize> Record<N> {
    fn new(addr: [u8; N], seeder: bool, stamp: u16) -> Self {
        let meta = (stamp & STAMP_MASK) | if seeder { SEEDER_BIT } else { 0 };
        Record {
            addr,
            meta: meta.to_le_bytes(),
        }
    }

    fn seeder(&self) -> bool {
        u16::from_le_bytes(self.meta) & SEEDER_BIT != 0
    }

    fn stamp(&self) -> u16 {
        u16::from_le_bytes(self.meta) & STAMP_MASK
    }
}

/// One torrent's peers and counters.
#[derive(Debug, Default)]
struct Swarm {
    /// IPv4 peers sorted by address.
    v4: Vec<Record<6>>,
    /// IPv6 peers sorted by address.
    v6: Vec<Record<18>>,
    seeders: u32,
    leechers: u32,
    downloaded: u32,
}

impl Swarm {
    fn stats(&self) -> ScrapeStats {
        ScrapeStats {
            complete: self.seeders.into(),
            incomplete: self.leechers.into(),
            downloaded: self.downloaded.into(),
        }
    }

    /// Adjust the counters for a peer that was `before` (None = absent) and is now `after`.
    fn count(&mut self, before: Option<bool>, after: Option<bool>) {
        match before {
            Some(true) => self.seeders = self.seeders.saturating_sub(1),
            Some(false) => self.leechers = self.leechers.saturating_sub(1),
            None => {}
        }
        match after {
            Some(true) => self.seeders += 1,
            Some(false) => self.leechers += 1,
            None => {}
        }
    }

    fn is_empty(&self) -> bool {
        self.v4.is_empty() && self.v6.is_empty()
    }
}

/// Converts Unix seconds into the coarse 15-bit stamps kept per peer.
#[derive(Debug, Clone, Copy)]
struct Clock {
    unit_secs: u64,
    ttl_units: u16,
}

impl Clock {
    fn new(config: StoreConfig) -> Clock {
        let ttl = config.peer_ttl.as_secs().max(1);
        let unit_secs = ttl.div_ceil(4096).max(1);
        Clock {
            unit_secs,
            ttl_units: ttl.div_ceil(unit_secs) as u16,
        }
    }

    fn stamp(&self, now: u64) -> u16 {
        ((now / self.unit_secs) as u16) & STAMP_MASK
    }

    fn expired(&self, stamp: u16, now_stamp: u16) -> bool {
        now_stamp.wrapping_sub(stamp) & STAMP_MASK >= self.ttl_units
    }
}

/// Swarm state in this process's memory. See the module docs for the layout.
pub struct MemoryStore {
    shards: Box<[Mutex<HashMap<InfoHash, Swarm>>]>,
    clock: Clock,
}

impl MemoryStore {
    /// An empty store expiring peers after `config.peer_ttl`.
    pub fn new(config: StoreConfig) -> MemoryStore {
        let hasher = RandomState::new();
        MemoryStore {
            shards: (0..SHARDS)
                .map(|_| Mutex::new(HashMap::with_hasher(hasher.clone())))
                .collect(),
            clock: Clock::new(config),
        }
    }

    fn shard(&self, info_hash: &InfoHash) -> MutexGuard<'_, HashMap<InfoHash, Swarm>> {
        let index = usize::from(info_hash.0[0]) % SHARDS;
        // A panic while holding a shard cannot leave a swarm half-updated in a way that
        // matters more than losing it, so a poisoned lock is used as is.
        self.shards[index]
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn announce_now(&self, p: &AnnounceParams) -> SwarmView {
        let stamp = self.clock.stamp(p.now);
        let mut shard = self.shard(&p.info_hash);
        if p.event == Event::Stopped {
            let Some(swarm) = shard.get_mut(&p.info_hash) else {
                return SwarmView::default();
            };
            let before = match p.peer {
                SocketAddr::V4(a) => remove(&mut swarm.v4, &compact_v4(a)),
                SocketAddr::V6(a) => remove(&mut swarm.v6, &compact_v6(a)),
            };
            swarm.count(before, None);
            return SwarmView {
                complete: swarm.seeders,
                incomplete: swarm.leechers,
                ..SwarmView::default()
            };
        }
        let swarm = shard.entry(p.info_hash).or_default();
        let mut view = SwarmView::default();
        let before = match p.peer {
            SocketAddr::V4(a) => {
                let me = compact_v4(a);
                let before = upsert(&mut swarm.v4, Record::new(me, p.seeder, stamp));
                view.peers_v4 = sample(&swarm.v4, &me, p, self.clock, stamp);
                before
            }
            SocketAddr::V6(a) => {
                let me = compact_v6(a);
                let before = upsert(&mut swarm.v6, Record::new(me, p.seeder, stamp));
                view.peers_v6 = sample(&swarm.v6, &me, p, self.clock, stamp);
                before
            }
        };
        swarm.count(before, Some(p.seeder));
        if p.event == Event::Completed && before != Some(true) {
            swarm.downloaded = swarm.downloaded.saturating_add(1);
        }
        view.complete = swarm.seeders;
        view.incomplete = swarm.leechers;
        view
    }

    fn sweep_now(&self, now: u64) -> SweepStats {
        let now_stamp = self.clock.stamp(now);
        let clock = self.clock;
        let mut stats = SweepStats::default();
        for shard in self.shards.iter() {
            let mut map = shard.lock().unwrap_or_else(|p| p.into_inner());
            map.retain(|_, swarm| {
                let before = swarm.v4.len() + swarm.v6.len();
                swarm.v4.retain(|r| !clock.expired(r.stamp(), now_stamp));
                swarm.v6.retain(|r| !clock.expired(r.stamp(), now_stamp));
                stats.peers_expired += before - swarm.v4.len() - swarm.v6.len();
                let seeders = swarm.v4.iter().filter(|r| r.seeder()).count()
                    + swarm.v6.iter().filter(|r| r.seeder()).count();
                swarm.seeders = seeders as u32;
                swarm.leechers = (swarm.v4.len() + swarm.v6.len() - seeders) as u32;
                shrink(&mut swarm.v4);
                shrink(&mut swarm.v6);
                if swarm.is_empty() {
                    stats.torrents_removed += 1;
                }
                !swarm.is_empty()
            });
            if map.capacity() > 2 * map.len() + 64 {
                map.shrink_to_fit();
            }
        }
        stats
    }
}

impl Store for MemoryStore {
    async fn announce(&self, params: &AnnounceParams) -> Result<SwarmView, StoreError> {
        Ok(self.announce_now(params))
    }

    async fn scrape(&self, hashes: &[InfoHash]) -> Result<Vec<ScrapeStats>, StoreError> {
        Ok(hashes
            .iter()
            .map(|h| self.shard(h).get(h).map(Swarm::stats).unwrap_or_default())
            .collect())
    }

    async fn full_scrape(&self, limit: usize) -> Result<Vec<(InfoHash, ScrapeStats)>, StoreError> {
        let mut all = Vec::new();
        for shard in self.shards.iter() {
            let map = shard.lock().unwrap_or_else(|p| p.into_inner());
            let room = limit.saturating_sub(all.len());
            all.extend(map.iter().take(room).map(|(h, s)| (*h, s.stats())));
        }
        Ok(all)
    }

    async fn sweep(&self, now: u64) -> Result<SweepStats, StoreError> {
        Ok(self.sweep_now(now))
    }
}

/// Insert or refresh `record`; returns the peer's previous seeder flag if it was present.
fn upsert<const N: usize>(list: &mut Vec<Record<N>>, record: Record<N>) -> Option<bool> {
    match list.binary_search_by(|r| r.addr.cmp(&record.addr)) {
        Ok(i) => {
            let before = list[i].seeder();
            list[i] = record;
            Some(before)
        }
        Err(i) => {
            // Grow by an eighth rather than doubling: a full array costs at most ~12 %
            // slack, and inserting into a sorted array is O(n) anyway.
            if list.len() == list.capacity() {
                list.reserve_exact(list.len() / 8 + 2);
            }
            list.insert(i, record);
            None
        }
    }
}

/// Remove the peer at `addr`; returns its seeder flag if it was present.
fn remove<const N: usize>(list: &mut Vec<Record<N>>, addr: &[u8; N]) -> Option<bool> {
    let i = list.binary_search_by(|r| r.addr.cmp(addr)).ok()?;
    Some(list.remove(i).seeder())
}

/// Up to `numwant` compact addresses from `list`, starting at a random position: never
/// `me`, never an expired peer, and no seeders when the announcer is a seeder.
fn sample<const N: usize>(
    list: &[Record<N>],
    me: &[u8; N],
    p: &AnnounceParams,
    clock: Clock,
    now_stamp: u16,
) -> Vec<u8> {
    let want = p.numwant.min(list.len().saturating_sub(1));
    let mut out = Vec::with_capacity(want * N);
    if want == 0 {
        return out;
    }
    let start = random_below(list.len());
    let (tail, head) = list.split_at(start);
    for record in head.iter().chain(tail) {
        if out.len() >= want * N {
            break;
        }
        if &record.addr == me
            || (p.seeder && record.seeder())
            || clock.expired(record.stamp(), now_stamp)
        {
            continue;
        }
        out.extend_from_slice(&record.addr);
    }
    out
}

/// Release memory of arrays that shrank to well under their capacity.
fn shrink<T>(list: &mut Vec<T>) {
    if list.capacity() > 2 * list.len() + 4 {
        list.shrink_to(list.len() + list.len() / 4);
    }
}

/// A fast per-thread pseudo-random number in `0..n` (n > 0); not for security, only to
/// spread which peers a sample starts at.
fn random_below(n: usize) -> usize {
    thread_local! {
        static STATE: Cell<u64> = Cell::new(RandomState::new().hash_one(0u8) | 1);
    }
    STATE.with(|state| {
        let mut x = state.get();
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        state.set(x);
        ((x >> 32) as usize * n) >> 32
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn store(ttl: u64) -> MemoryStore {
        MemoryStore::new(StoreConfig {
            peer_ttl: Duration::from_secs(ttl),
        })
    }

    fn params(peer: &str, seeder: bool, event: Event, now: u64) -> AnnounceParams {
        AnnounceParams {
            info_hash: InfoHash([1; 20]),
            peer: peer.parse().unwrap(),
            seeder,
            event,
            numwant: 50,
            now,
        }
    }

    #[test]
    fn record_sizes() {
        assert_eq!(std::mem::size_of::<Record<6>>(), 8);
        assert_eq!(std::mem::size_of::<Record<18>>(), 20);
    }

    #[test]
    fn announce_counts_and_excludes_self_and_seeders_for_seeders() {
        let s = store(60);
        let a = s.announce_now(&params("10.0.0.1:1", false, Event::Started, 100));
        assert_eq!((a.complete, a.incomplete, a.peers_v4.len()), (0, 1, 0));
        s.announce_now(&params("10.0.0.2:2", true, Event::Started, 100));
        s.announce_now(&params("10.0.0.3:3", true, Event::Started, 100));
        let a = s.announce_now(&params("10.0.0.1:1", false, Event::None, 101));
        assert_eq!((a.complete, a.incomplete, a.peers_v4.len()), (2, 1, 12));
        let seed = s.announce_now(&params("10.0.0.2:2", true, Event::None, 101));
        assert_eq!(seed.peers_v4, [10, 0, 0, 1, 0, 1]);
        let v6 = s.announce_now(&params("[::1]:9", false, Event::None, 101));
        assert_eq!((v6.complete, v6.incomplete), (2, 2));
        assert!(v6.peers_v4.is_empty() && v6.peers_v6.is_empty());
    }

    #[test]
    fn completed_counts_once_and_stopped_removes() {
        let s = store(60);
        s.announce_now(&params("10.0.0.1:1", false, Event::Started, 0));
        let c = s.announce_now(&params("10.0.0.1:1", true, Event::Completed, 1));
        assert_eq!((c.complete, c.incomplete), (1, 0));
        s.announce_now(&params("10.0.0.1:1", true, Event::Completed, 2));
        let hash = InfoHash([1; 20]);
        let stats = s.shard(&hash).get(&hash).unwrap().stats();
        assert_eq!(stats.downloaded, 1);
        let gone = s.announce_now(&params("10.0.0.1:1", true, Event::Stopped, 3));
        assert_eq!((gone.complete, gone.incomplete), (0, 0));
    }

    #[test]
    fn sweep_expires_after_ttl() {
        let s = store(10);
        s.announce_now(&params("10.0.0.1:1", false, Event::Started, 1000));
        s.announce_now(&params("10.0.0.2:1", false, Event::Started, 1005));
        assert_eq!(s.sweep_now(1009).peers_expired, 0);
        let st = s.sweep_now(1011);
        assert_eq!((st.peers_expired, st.torrents_removed), (1, 0));
        let st = s.sweep_now(1016);
        assert_eq!((st.peers_expired, st.torrents_removed), (1, 1));
    }

    #[test]
    fn numwant_limits_sample() {
        let s = store(60);
        for i in 0..100u16 {
            s.announce_now(&params(
                &format!("10.0.1.{}:{}", i % 250, i + 1),
                false,
                Event::None,
                5,
            ));
        }
        let mut p = params("10.9.9.9:9", false, Event::None, 5);
        p.numwant = 7;
        assert_eq!(s.announce_now(&p).peers_v4.len(), 42);
        p.numwant = 0;
        assert!(s.announce_now(&p).peers_v4.is_empty());
    }
}
