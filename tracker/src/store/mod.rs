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
use std::time::Duration;

use crate::domain::{AnnounceParams, InfoHash, ScrapeStats, StoreSummary, SwarmView, SweepStats};

pub mod any;
pub mod memory;
pub mod redis;

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

    /// Totals over every swarm and the `top` busiest swarms (for the status page and
    /// metrics; not on the announce path).
    fn summary(&self, top: usize) -> impl Future<Output = Result<StoreSummary, StoreError>> + Send;

    /// Drop peers that have not announced within the peer lifetime as of `now` (Unix
    /// seconds). Called periodically by the sweeper; a store that expires by itself
    /// (Redis TTLs / sorted-set scores) may do little or nothing here.
    fn sweep(&self, now: u64) -> impl Future<Output = Result<SweepStats, StoreError>> + Send;
}
