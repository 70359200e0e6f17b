//! The store chosen at run time by `--store`.

use super::{Store, StoreConfig, StoreError, memory, redis};
use crate::domain::{AnnounceParams, InfoHash, ScrapeStats, StoreSummary, SwarmView, SweepStats};

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

    async fn summary(&self, top: usize) -> Result<StoreSummary, StoreError> {
        match self {
            AnyStore::Memory(s) => s.summary(top).await,
            AnyStore::Redis(s) => s.summary(top).await,
        }
    }

    async fn sweep(&self, now: u64) -> Result<SweepStats, StoreError> {
        match self {
            AnyStore::Memory(s) => s.sweep(now).await,
            AnyStore::Redis(s) => s.sweep(now).await,
        }
    }
}
