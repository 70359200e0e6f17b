//! What the HTTP and UDP front ends share: configuration, the store, the allowlist, and
//! the announce/scrape rules that do not depend on the transport.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use crate::allowlist::Allowlist;
use crate::config::Config;
use crate::store::{
    AnnounceParams, AnyStore, Event, InfoHash, ScrapeStats, Store, StoreError, SwarmView,
};
use crate::sweeper::unix_now;

/// Why an announce or scrape got a failure reply instead of peers.
#[derive(Debug, thiserror::Error)]
pub enum RefuseReason {
    #[error("unknown torrent: {0} is not served by this tracker")]
    NotAllowed(InfoHash),
    #[error("tracker storage is unavailable, retry later")]
    Store(#[from] StoreError),
}

/// The tracker shared by every connection and datagram.
pub struct Tracker {
    pub config: Config,
    pub store: AnyStore,
    pub allowlist: Arc<Allowlist>,
}

/// One announce, transport-independent.
#[derive(Debug, Clone, Copy)]
pub struct Announce {
    pub info_hash: InfoHash,
    pub ip: IpAddr,
    pub port: u16,
    pub peer_id: [u8; 20],
    pub seeder: bool,
    pub event: Event,
    pub numwant: Option<u32>,
    /// The reply lists peers with their ids (`compact=0` without `no_peer_id`).
    pub want_peer_ids: bool,
}

impl Tracker {
    /// Check the allowlist, then record the announce and return the swarm as the peer sees it.
    pub async fn announce(&self, a: &Announce) -> Result<SwarmView, RefuseReason> {
        if !self.allowlist.allows(&a.info_hash) {
            return Err(RefuseReason::NotAllowed(a.info_hash));
        }
        let params = AnnounceParams {
            info_hash: a.info_hash,
            peer: SocketAddr::new(a.ip.to_canonical(), a.port),
            peer_id: a.peer_id,
            seeder: a.seeder,
            event: a.event,
            numwant: self.config.numwant(a.numwant),
            want_peer_ids: a.want_peer_ids,
            now: unix_now(),
        };
        self.store.announce(&params).await.map_err(|e| {
            tracing::error!("announce: {e}");
            RefuseReason::Store(e)
        })
    }

    /// Counts for each hash, in order.
    pub async fn scrape(&self, hashes: &[InfoHash]) -> Result<Vec<ScrapeStats>, RefuseReason> {
        self.store.scrape(hashes).await.map_err(|e| {
            tracing::error!("scrape: {e}");
            RefuseReason::Store(e)
        })
    }
}
