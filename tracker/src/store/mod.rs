//! Swarm state behind a trait, so one tracker process can keep it in memory
//! ([`memory::MemoryStore`], the default) or several processes can share it in Redis.
//!
//! Every call is one round trip: an announce records the peer and returns the swarm's
//! counts and a peer sample together; a scrape asks for many torrents at once.
//!
//! Peer identity is the pair (IP address, announced port): a re-announce from the same
//! address and port updates the same record, whatever its `peer_id`. Peers are returned
//! only to announcers of the same address family (IPv4 peers to IPv4 announcers in
//! `peers`, IPv6 peers to IPv6 announcers in `peers6`).
//!
//! Peer ids are kept only when [`StoreConfig::peer_ids`] is on (`--peer-ids`): they are
//! needed for nothing but `compact=0` replies, and cost more than the compact record itself
//! (20 bytes per peer against 8). Without them a `compact=0` reply lists `ip` and `port`
//! only (as if `no_peer_id` were set).

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

pub use metainfo::InfoHash;
pub use metainfo::tracker::ScrapeStats;

pub mod memory;
pub mod redis;

/// What happened at the client, from the `event` parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Event {
    /// A regular re-announce (no or empty `event`).
    #[default]
    None,
    /// The client started the download.
    Started,
    /// The client finished the download; counts toward `downloaded`.
    Completed,
    /// The client is leaving: its record is removed at once.
    Stopped,
}

/// One announce as the store sees it (already validated and capped by the front end).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AnnounceParams {
    pub info_hash: InfoHash,
    /// The peer's address and announced port: its identity and what others connect to.
    pub peer: SocketAddr,
    /// The peer's 20-byte id (kept only by a store configured with `peer_ids`).
    pub peer_id: [u8; 20],
    /// `left == 0`: the peer has everything. Seeders are not sent other seeders.
    pub seeder: bool,
    pub event: Event,
    /// How many peers to return at most (already capped).
    pub numwant: usize,
    /// Return the sampled peers' ids too (a `compact=0` reply without `no_peer_id`), if
    /// the store keeps them.
    pub want_peer_ids: bool,
    /// Now, in seconds since the Unix epoch. A store with its own shared clock (Redis)
    /// may use that instead.
    pub now: u64,
}

/// The swarm as one announcer sees it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SwarmView {
    /// Seeders, the announcer included if it is one.
    pub complete: u32,
    /// Leechers, the announcer included if it is one.
    pub incomplete: u32,
    /// Compact IPv4 peers, 6 bytes each; never the announcer, no seeders for a seeder.
    pub peers_v4: Vec<u8>,
    /// Compact IPv6 peers, 18 bytes each; same rules.
    pub peers_v6: Vec<u8>,
    /// The ids of the peers in `peers_v4` then `peers_v6`, in the same order; empty unless
    /// asked for (`want_peer_ids`) and kept by the store.
    pub peer_ids: Vec<[u8; 20]>,
}

/// What a sweep removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SweepStats {
    /// Peers dropped because they did not re-announce within the peer lifetime.
    pub peers_expired: usize,
    /// Torrents dropped because no peer was left.
    pub torrents_removed: usize,
}

/// Settings every store needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreConfig {
    /// A peer that has not announced for this long is expired (interval × expiry factor).
    pub peer_ttl: Duration,
    /// Keep each peer's id, for `compact=0` replies with `peer id` (`--peer-ids`).
    pub peer_ids: bool,
}

/// A failure of the store's backend (not of the request).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The backend (e.g. Redis) failed or could not be reached.
    #[error("swarm store unavailable: {0}")]
    Backend(String),
    /// The store does not implement this operation.
    #[error("{0} is not supported by this swarm store")]
    Unsupported(&'static str),
}

/// Swarm state shared by the HTTP and UDP front ends.
pub trait Store: Send + Sync + 'static {
    /// Record the announce (or remove the peer on `stopped`; count `completed`) and return
    /// the counts after the update and up to `numwant` other peers — in one round trip.
    fn announce(
        &self,
        params: &AnnounceParams,
    ) -> impl Future<Output = Result<SwarmView, StoreError>> + Send;

    /// Counts for each hash in `hashes`, in the same order (zeros for unknown torrents).
    fn scrape(
        &self,
        hashes: &[InfoHash],
    ) -> impl Future<Output = Result<Vec<ScrapeStats>, StoreError>> + Send;

    /// Counts for up to `limit` torrents the store knows (a "full scrape").
    fn full_scrape(
        &self,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<(InfoHash, ScrapeStats)>, StoreError>> + Send {
        let _ = limit;
        async { Err(StoreError::Unsupported("full scrape")) }
    }

    /// Drop peers that have not announced within the peer lifetime as of `now` (Unix
    /// seconds). Called periodically by the sweeper; a store that expires by itself
    /// (Redis TTLs / sorted-set scores) may do little or nothing here.
    fn sweep(&self, now: u64) -> impl Future<Output = Result<SweepStats, StoreError>> + Send;
}

/// The store chosen at run time by `--store`.
pub enum AnyStore {
    Memory(memory::MemoryStore),
    Redis(redis::RedisStore),
}

impl AnyStore {
    /// Open the store named by `spec`: `memory`, or `redis://HOST:PORT[/DB]`.
    pub async fn open(spec: &str, config: StoreConfig) -> Result<AnyStore, StoreError> {
        if spec == "memory" {
            return Ok(AnyStore::Memory(memory::MemoryStore::new(config)));
        }
        if spec.starts_with("redis://") || spec.starts_with("rediss://") {
            return Ok(AnyStore::Redis(
                redis::RedisStore::connect(spec, config).await?,
            ));
        }
        Err(StoreError::Backend(format!(
            "unknown store `{spec}`: use `memory` or `redis://HOST:PORT`"
        )))
    }
}

impl Store for AnyStore {
    async fn announce(&self, params: &AnnounceParams) -> Result<SwarmView, StoreError> {
        match self {
            AnyStore::Memory(s) => s.announce(params).await,
            AnyStore::Redis(s) => s.announce(params).await,
        }
    }

    async fn scrape(&self, hashes: &[InfoHash]) -> Result<Vec<ScrapeStats>, StoreError> {
        match self {
            AnyStore::Memory(s) => s.scrape(hashes).await,
            AnyStore::Redis(s) => s.scrape(hashes).await,
        }
    }

    async fn full_scrape(&self, limit: usize) -> Result<Vec<(InfoHash, ScrapeStats)>, StoreError> {
        match self {
            AnyStore::Memory(s) => s.full_scrape(limit).await,
            AnyStore::Redis(s) => s.full_scrape(limit).await,
        }
    }

    async fn sweep(&self, now: u64) -> Result<SweepStats, StoreError> {
        match self {
            AnyStore::Memory(s) => s.sweep(now).await,
            AnyStore::Redis(s) => s.sweep(now).await,
        }
    }
}
