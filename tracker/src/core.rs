//! The tracker's service layer, shared by the HTTP and UDP front ends: configuration, the
//! store, the allowlist, and the announce/scrape steps that do not depend on the transport.

use std::sync::Arc;

use crate::allowlist::Allowlist;
use crate::config::Config;
use crate::domain::{
    AnnounceInput, AnnouncePolicy, BadAnnounce, InfoHash, ScrapeStats, SwarmView, unix_now,
};
use crate::store::any::AnyStore;
use crate::store::{Store, StoreError};

/// Why an announce or scrape got a failure reply instead of peers.
#[derive(Debug, thiserror::Error)]
pub enum RefuseReason {
    #[error("{0}")]
    BadRequest(#[from] BadAnnounce),
    #[error("unknown torrent: {0} is not served by this tracker")]
    NotAllowed(InfoHash),
    #[error("tracker storage is unavailable, retry later")]
    Store(#[from] StoreError),
}

/// The tracker shared by every connection and datagram.
pub struct Tracker {
    pub config: Config,
    pub policy: AnnouncePolicy,
    pub store: AnyStore,
    pub allowlist: Arc<Allowlist>,
}

impl Tracker {
    /// Check the allowlist, then record the announce and return the swarm as the peer sees it.
    pub async fn announce(&self, input: &AnnounceInput) -> Result<SwarmView, RefuseReason> {
        let params = self.policy.params(input, unix_now())?;
        if !self.allowlist.allows(&params.info_hash) {
            return Err(RefuseReason::NotAllowed(params.info_hash));
        }
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
