//! The in-memory swarm store: torrents sharded by info-hash over independently locked maps,
//! each torrent a pair of sorted arrays of packed peer records.
//!
//! # Bytes per peer
//! An IPv4 peer is one [`Record`] of 8 bytes: 4 address + 2 port (network order, so the
//! array sorts by address then port) + 2 bytes holding a 15-bit coarse timestamp and the
//! seeder bit. An IPv6 peer takes 20 bytes (16 + 2 + 2). Arrays grow by an eighth at a
//! time and are shrunk by the sweeper, so a swarm uses 8–9 bytes per IPv4 peer plus about
//! 100–150 bytes per torrent (a 48-byte `Swarm` in its map slot, allocation headers):
//! about 10–11 bytes per peer at 100 peers per torrent. bench/tracker.sh measures about
//! 12.6 bytes of RSS per peer with 1,000,000 peers (the rest is allocator slack), the same
//! as opentracker.
//!
//! With `peer_ids` on (`--peer-ids`), each torrent also has a side table of 20-byte peer
//! ids, parallel to its record arrays (same index, same order), so a peer costs about 20
//! bytes more (about 41 bytes of RSS per peer measured); without it the side table is
//! never allocated.
//!
//! # Time
//! Timestamps count in units of `max(1, ceil(ttl / 4096))` seconds modulo 2^15, so the
//! peer lifetime is at most 4096 units and a stamp is unambiguous for eight lifetimes;
//! the sweeper runs far more often than that.

use metainfo::tracker::{compact_v4, compact_v6};
use parking_lot::{Mutex, MutexGuard};
use std::cell::Cell;
use std::collections::HashMap;
use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::net::SocketAddr;

use super::{Store, StoreConfig, StoreError};
use crate::domain::{
    AnnounceParams, Event, InfoHash, PeerId, ScrapeStats, StoreSummary, SwarmView, SweepStats,
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

/// The peer ids of one torrent: `v4[i]` belongs to `Swarm::v4[i]`, `v6[i]` to `Swarm::v6[i]`.
#[derive(Debug, Default)]
struct PeerIds {
    v4: Vec<PeerId>,
    v6: Vec<PeerId>,
}

/// What few torrents need, boxed so that an IPv4-only torrent without peer ids pays one
/// pointer for it: IPv6 peers, and the peer ids when the store keeps them.
#[derive(Debug, Default)]
struct Rare {
    /// IPv6 peers sorted by address.
    v6: Vec<Record<18>>,
    /// The peer ids, only when the store keeps them.
    ids: Option<PeerIds>,
}

/// One torrent's peers and counters (48 bytes).
#[derive(Debug, Default)]
struct Swarm {
    /// IPv4 peers sorted by address.
    v4: Vec<Record<6>>,
    /// IPv6 peers and peer ids, when there are any.
    rare: Option<Box<Rare>>,
    seeders: u32,
    leechers: u32,
    downloaded: u32,
}

impl Swarm {
    fn new(keep_ids: bool) -> Swarm {
        Swarm {
            rare: keep_ids.then(|| {
                Box::new(Rare {
                    v6: Vec::new(),
                    ids: Some(PeerIds::default()),
                })
            }),
            ..Swarm::default()
        }
    }

    /// The IPv6 peers.
    fn v6(&self) -> &[Record<18>] {
        self.rare.as_ref().map_or(&[], |rare| &rare.v6)
    }

    /// The peer ids, if kept.
    fn ids(&self) -> Option<&PeerIds> {
        self.rare.as_ref().and_then(|rare| rare.ids.as_ref())
    }

    /// The IPv4 records and, if kept, their ids.
    fn v4_mut(&mut self) -> (&mut Vec<Record<6>>, Option<&mut Vec<PeerId>>) {
        let ids = self.rare.as_deref_mut().and_then(|rare| rare.ids.as_mut());
        (&mut self.v4, ids.map(|ids| &mut ids.v4))
    }

    /// The IPv6 records and, if kept, their ids; `None` if the torrent has no IPv6 part.
    fn v6_mut(&mut self) -> Option<(&mut Vec<Record<18>>, Option<&mut Vec<PeerId>>)> {
        let rare = self.rare.as_deref_mut()?;
        Some((&mut rare.v6, rare.ids.as_mut().map(|ids| &mut ids.v6)))
    }

    /// The IPv6 records and, if kept, their ids, adding the IPv6 part if needed.
    fn v6_for_insert(&mut self) -> (&mut Vec<Record<18>>, Option<&mut Vec<PeerId>>) {
        let rare = self.rare.get_or_insert_with(Box::default);
        (&mut rare.v6, rare.ids.as_mut().map(|ids| &mut ids.v6))
    }

    /// After a sweep: shrink the arrays, and drop an IPv6 part that holds nothing.
    fn compact(&mut self) {
        shrink(&mut self.v4);
        if let Some(rare) = self.rare.as_deref_mut() {
            shrink(&mut rare.v6);
            if let Some(ids) = rare.ids.as_mut() {
                shrink(&mut ids.v4);
                shrink(&mut ids.v6);
            }
            if rare.v6.is_empty() && rare.ids.is_none() {
                self.rare = None;
            }
        }
    }

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
        self.v4.is_empty() && self.v6().is_empty()
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
    keep_ids: bool,
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
            keep_ids: config.peer_ids,
        }
    }

    fn shard(&self, info_hash: &InfoHash) -> MutexGuard<'_, HashMap<InfoHash, Swarm>> {
        self.shards[usize::from(info_hash.0[0]) % SHARDS].lock()
    }

    fn announce_now(&self, p: &AnnounceParams) -> SwarmView {
        let stamp = self.clock.stamp(p.now);
        let mut shard = self.shard(&p.info_hash);
        if p.event == Event::Stopped {
            let Some(swarm) = shard.get_mut(&p.info_hash) else {
                return SwarmView::default();
            };
            let before = match p.peer {
                SocketAddr::V4(a) => remove(swarm.v4_mut(), &compact_v4(a)),
                SocketAddr::V6(a) => swarm
                    .v6_mut()
                    .and_then(|family| remove(family, &compact_v6(a))),
            };
            swarm.count(before, None);
            return SwarmView {
                complete: swarm.seeders,
                incomplete: swarm.leechers,
                ..SwarmView::default()
            };
        }
        let swarm = shard
            .entry(p.info_hash)
            .or_insert_with(|| Swarm::new(self.keep_ids));
        let mut view = SwarmView::default();
        let mut sampler = Sampler {
            p,
            clock: self.clock,
            now_stamp: stamp,
            ids_out: &mut view.peer_ids,
        };
        let before = match p.peer {
            SocketAddr::V4(a) => {
                let me = compact_v4(a);
                let (list, ids) = swarm.v4_mut();
                let before = upsert(list, ids, Record::new(me, p.seeder, stamp), p.peer_id);
                view.peers_v4 = sampler.sample(&swarm.v4, swarm.ids().map(|i| &i.v4), &me);
                before
            }
            SocketAddr::V6(a) => {
                let me = compact_v6(a);
                let (list, ids) = swarm.v6_for_insert();
                let before = upsert(list, ids, Record::new(me, p.seeder, stamp), p.peer_id);
                view.peers_v6 = sampler.sample(swarm.v6(), swarm.ids().map(|i| &i.v6), &me);
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
            let mut map = shard.lock();
            map.retain(|_, swarm| {
                let before = swarm.v4.len() + swarm.v6().len();
                let fresh = |stamp| !clock.expired(stamp, now_stamp);
                retain_fresh(swarm.v4_mut(), fresh);
                if let Some(family) = swarm.v6_mut() {
                    retain_fresh(family, fresh);
                }
                let after = swarm.v4.len() + swarm.v6().len();
                stats.peers_expired += before - after;
                let seeders = swarm.v4.iter().filter(|r| r.seeder()).count()
                    + swarm.v6().iter().filter(|r| r.seeder()).count();
                swarm.seeders = seeders as u32;
                swarm.leechers = (after - seeders) as u32;
                swarm.compact();
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
            let map = shard.lock();
            let room = limit.saturating_sub(all.len());
            all.extend(map.iter().take(room).map(|(h, s)| (*h, s.stats())));
        }
        Ok(all)
    }

    async fn summary(&self, top: usize) -> Result<StoreSummary, StoreError> {
        let mut summary = StoreSummary::default();
        let mut all = Vec::new();
        for shard in self.shards.iter() {
            let map = shard.lock();
            summary.torrents += map.len() as u64;
            for (hash, swarm) in map.iter() {
                summary.seeders += u64::from(swarm.seeders);
                summary.leechers += u64::from(swarm.leechers);
                all.push((*hash, swarm.stats()));
            }
            // Keep the candidate list short while walking big stores.
            if all.len() > 4 * top + 1024 {
                summary.keep_busiest(std::mem::take(&mut all), top);
                all = std::mem::take(&mut summary.busiest);
            }
        }
        summary.keep_busiest(all, top);
        Ok(summary)
    }

    async fn sweep(&self, now: u64) -> Result<SweepStats, StoreError> {
        Ok(self.sweep_now(now))
    }
}

/// Insert or refresh `record` (and its id, if ids are kept); returns the peer's previous
/// seeder flag if it was present.
fn upsert<const N: usize>(
    list: &mut Vec<Record<N>>,
    ids: Option<&mut Vec<PeerId>>,
    record: Record<N>,
    peer_id: PeerId,
) -> Option<bool> {
    match list.binary_search_by(|r| r.addr.cmp(&record.addr)) {
        Ok(i) => {
            let before = list[i].seeder();
            list[i] = record;
            if let Some(slot) = ids.and_then(|ids| ids.get_mut(i)) {
                *slot = peer_id;
            }
            Some(before)
        }
        Err(i) => {
            insert_at(list, i, record);
            if let Some(ids) = ids {
                insert_at(ids, i.min(ids.len()), peer_id);
            }
            None
        }
    }
}

/// Insert into a sorted array, growing it by an eighth rather than doubling: a full array
/// costs at most ~12 % slack, and inserting into a sorted array is O(n) anyway.
fn insert_at<T>(list: &mut Vec<T>, index: usize, item: T) {
    if list.len() == list.capacity() {
        list.reserve_exact(list.len() / 8 + 2);
    }
    list.insert(index, item);
}

/// Remove the peer at `addr` (and its id); returns its seeder flag if it was present.
fn remove<const N: usize>(
    (list, ids): (&mut Vec<Record<N>>, Option<&mut Vec<PeerId>>),
    addr: &[u8; N],
) -> Option<bool> {
    let i = list.binary_search_by(|r| r.addr.cmp(addr)).ok()?;
    if let Some(ids) = ids.filter(|ids| i < ids.len()) {
        ids.remove(i);
    }
    Some(list.remove(i).seeder())
}

/// Keep only the records whose stamp passes `fresh`, and their ids with them.
fn retain_fresh<const N: usize>(
    (list, ids): (&mut Vec<Record<N>>, Option<&mut Vec<PeerId>>),
    fresh: impl Fn(u16) -> bool,
) {
    let Some(ids) = ids else {
        list.retain(|r| fresh(r.stamp()));
        return;
    };
    let mut kept = 0;
    for i in 0..list.len() {
        if fresh(list[i].stamp()) {
            list[kept] = list[i];
            if let (Some(&id), true) = (ids.get(i), kept < ids.len()) {
                ids[kept] = id;
            }
            kept += 1;
        }
    }
    list.truncate(kept);
    ids.truncate(kept);
}

/// Draws the peers returned to one announcer.
struct Sampler<'a> {
    p: &'a AnnounceParams,
    clock: Clock,
    now_stamp: u16,
    /// Where the sampled peers' ids go, when they are asked for and kept.
    ids_out: &'a mut Vec<PeerId>,
}

impl Sampler<'_> {
    /// Up to `numwant` compact addresses from `list`, starting at a random position: never
    /// `me`, never an expired peer. A seeder is handed leechers first, then seeders while it
    /// has room (a `left=0` announcer may be fetching a magnet link's metadata, which
    /// seeders serve as well as anyone). Their ids (from `ids`, parallel to `list`) go to
    /// `ids_out` if the announcer wants them.
    fn sample<const N: usize>(
        &mut self,
        list: &[Record<N>],
        ids: Option<&Vec<PeerId>>,
        me: &[u8; N],
    ) -> Vec<u8> {
        let p = self.p;
        let want = p.numwant.min(list.len().saturating_sub(1));
        let mut out = Vec::with_capacity(want * N);
        if want == 0 {
            return out;
        }
        let ids = ids.filter(|ids| p.want_peer_ids && ids.len() == list.len());
        let start = random_below(list.len());
        // One pass for a leecher (anyone); for a seeder, leechers then seeders.
        let passes: &[Option<bool>] = if p.seeder {
            &[Some(false), Some(true)]
        } else {
            &[None]
        };
        for &only_seeders in passes {
            for i in (start..list.len()).chain(0..start) {
                if out.len() >= want * N {
                    return out;
                }
                let record = &list[i];
                if &record.addr == me
                    || only_seeders.is_some_and(|s| record.seeder() != s)
                    || self.clock.expired(record.stamp(), self.now_stamp)
                {
                    continue;
                }
                out.extend_from_slice(&record.addr);
                if let Some(id) = ids.and_then(|ids| ids.get(i)) {
                    self.ids_out.push(*id);
                }
            }
        }
        out
    }
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
            peer_ids: false,
        })
    }

    fn params(peer: &str, seeder: bool, event: Event, now: u64) -> AnnounceParams {
        AnnounceParams {
            info_hash: InfoHash([1; 20]),
            peer: peer.parse().unwrap(),
            peer_id: id_of(peer),
            seeder,
            event,
            numwant: 50,
            want_peer_ids: true,
            now,
        }
    }

    /// A distinct binary peer id per address (all 256 byte values appear across peers).
    fn id_of(peer: &str) -> PeerId {
        let seed = peer
            .bytes()
            .fold(7u8, |a, b| a.wrapping_mul(31).wrapping_add(b));
        std::array::from_fn(|i| seed.wrapping_add(i as u8 * 13))
    }

    #[test]
    fn record_sizes() {
        assert_eq!(std::mem::size_of::<Record<6>>(), 8);
        assert_eq!(std::mem::size_of::<Record<18>>(), 20);
        assert_eq!(std::mem::size_of::<Swarm>(), 48);
    }

    #[test]
    fn announce_counts_and_excludes_self() {
        let s = store(60);
        let a = s.announce_now(&params("10.0.0.1:1", false, Event::Started, 100));
        assert_eq!((a.complete, a.incomplete, a.peers_v4.len()), (0, 1, 0));
        s.announce_now(&params("10.0.0.2:2", true, Event::Started, 100));
        s.announce_now(&params("10.0.0.3:3", true, Event::Started, 100));
        let a = s.announce_now(&params("10.0.0.1:1", false, Event::None, 101));
        assert_eq!((a.complete, a.incomplete, a.peers_v4.len()), (2, 1, 12));
        let seed = s.announce_now(&params("10.0.0.2:2", true, Event::None, 101));
        assert_eq!(seed.peers_v4.len(), 12);
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

#[cfg(test)]
mod seeder_tests {
    use std::time::Duration;

    use super::*;

    fn announce(s: &MemoryStore, port: u16, seeder: bool, numwant: usize) -> SwarmView {
        s.announce_now(&AnnounceParams {
            info_hash: InfoHash([3; 20]),
            peer: SocketAddr::from(([10, 0, 0, 1], port)),
            peer_id: [0; 20],
            seeder,
            event: Event::None,
            numwant,
            want_peer_ids: false,
            now: 100,
        })
    }

    fn ports(view: &SwarmView) -> Vec<u16> {
        let mut out: Vec<u16> = view
            .peers_v4
            .chunks_exact(6)
            .map(|c| u16::from_be_bytes([c[4], c[5]]))
            .collect();
        out.sort();
        out
    }

    /// aria2c announces `left=0` while it fetches a magnet link's metadata: a tracker that
    /// gives a seeder no seeders gives it nobody.
    #[test]
    fn a_left_0_announce_gets_seeders_when_there_is_room() {
        let s = MemoryStore::new(StoreConfig {
            peer_ttl: Duration::from_secs(60),
            peer_ids: false,
        });
        announce(&s, 1, true, 50);
        announce(&s, 2, true, 50);
        assert_eq!(ports(&announce(&s, 9, true, 50)), [1, 2]);
        // Leechers come first; seeders fill the room that is left.
        for port in 10..15 {
            announce(&s, port, false, 50);
        }
        assert_eq!(ports(&announce(&s, 9, true, 5)), [10, 11, 12, 13, 14]);
        let view = announce(&s, 9, true, 6);
        let got = ports(&view);
        assert_eq!(got.len(), 6);
        assert_eq!(got[1..], [10, 11, 12, 13, 14]);
        assert!(got[0] == 1 || got[0] == 2);
        assert_eq!(
            ports(&announce(&s, 9, true, 50)),
            [1, 2, 10, 11, 12, 13, 14]
        );
    }
}

#[cfg(test)]
mod peer_id_tests {
    use std::time::Duration;

    use super::*;

    fn store(peer_ids: bool) -> MemoryStore {
        MemoryStore::new(StoreConfig {
            peer_ttl: Duration::from_secs(10),
            peer_ids,
        })
    }

    fn params(port: u16, id: u8, event: Event, now: u64) -> AnnounceParams {
        AnnounceParams {
            info_hash: InfoHash([2; 20]),
            peer: SocketAddr::from(([10, 0, 0, 1], port)),
            peer_id: [id; 20],
            seeder: false,
            event,
            numwant: 50,
            want_peer_ids: true,
            now,
        }
    }

    /// (port, id byte) of each sampled peer.
    fn sampled(view: &SwarmView) -> Vec<(u16, u8)> {
        let mut out: Vec<(u16, u8)> = view
            .peers_v4
            .chunks_exact(6)
            .zip(&view.peer_ids)
            .map(|(c, id)| (u16::from_be_bytes([c[4], c[5]]), id[0]))
            .collect();
        out.sort();
        out
    }

    #[test]
    fn ids_follow_their_peers_through_updates_stops_and_expiry() {
        let s = store(true);
        for (port, id) in [(3, 0xff), (1, 0x00), (2, 0x80)] {
            s.announce_now(&params(port, id, Event::Started, 1000));
        }
        let view = s.announce_now(&params(9, 9, Event::None, 1000));
        assert_eq!(view.peer_ids.len(), 3);
        assert_eq!(sampled(&view), [(1, 0x00), (2, 0x80), (3, 0xff)]);
        // A re-announce with a new id replaces it; a stop removes peer and id together.
        s.announce_now(&params(2, 0x42, Event::None, 1005));
        s.announce_now(&params(1, 0x00, Event::Stopped, 1005));
        let view = s.announce_now(&params(9, 9, Event::None, 1005));
        assert_eq!(sampled(&view), [(2, 0x42), (3, 0xff)]);
        // Port 3 and 9 announced last at 1000 and 1005; at 1012 only 2 and 9 (1005) are left.
        assert_eq!(s.sweep_now(1012).peers_expired, 1);
        let view = s.announce_now(&params(7, 7, Event::None, 1012));
        assert_eq!(sampled(&view), [(2, 0x42), (9, 9)]);
    }

    #[test]
    fn ipv6_peers_keep_ids_too_and_their_part_goes_when_empty() {
        let s = store(true);
        let v6 = |port: u16, id: u8, event: Event, now: u64| AnnounceParams {
            peer: format!("[2001:db8::1]:{port}").parse().unwrap(),
            ..params(port, id, event, now)
        };
        s.announce_now(&v6(1, 0xa1, Event::Started, 1000));
        s.announce_now(&v6(2, 0xa2, Event::Started, 1000));
        s.announce_now(&v6(1, 0xa1, Event::Stopped, 1000));
        let view = s.announce_now(&v6(3, 0xa3, Event::None, 1000));
        assert_eq!(view.peers_v6.len(), 18);
        assert_eq!(view.peer_ids, [[0xa2; 20]]);

        // Without ids, a torrent whose IPv6 peers all expired drops its IPv6 part.
        let s = store(false);
        s.announce_now(&params(1, 1, Event::Started, 1000));
        s.announce_now(&v6(2, 2, Event::Started, 995));
        s.sweep_now(1006);
        let hash = InfoHash([2; 20]);
        let shard = s.shard(&hash);
        let swarm = shard.get(&hash).unwrap();
        assert!(swarm.rare.is_none() && swarm.v4.len() == 1);
    }

    #[test]
    fn ids_only_when_kept_and_asked() {
        let s = store(true);
        s.announce_now(&params(1, 1, Event::Started, 0));
        let mut p = params(2, 2, Event::Started, 0);
        p.want_peer_ids = false;
        let view = s.announce_now(&p);
        assert_eq!((view.peers_v4.len(), view.peer_ids.len()), (6, 0));
        let off = store(false);
        off.announce_now(&params(1, 1, Event::Started, 0));
        let view = off.announce_now(&params(2, 2, Event::Started, 0));
        assert_eq!((view.peers_v4.len(), view.peer_ids.len()), (6, 0));
    }
}
