//! The catalog: metainfo files published to the tracker (`POST /torrents`), listed,
//! searched, served byte for byte and deleted. With `--catalog-only` it is also the
//! allowlist of torrents the tracker serves.
//!
//! The summaries are cached in memory (searching and sorting run over the cache); the
//! metainfo bytes are read from the persistent store on demand. With a shared store (Redis)
//! the cache is refreshed before each listing and every few seconds, so every instance lists,
//! serves and allows the same torrents.

pub mod entry;
pub mod listing;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use metainfo::{InfoHash, MetainfoError};
use parking_lot::RwLock;

use crate::persist::PersistError;
use crate::persist::any::AnyDb;
use entry::Entry;

/// How often a shared catalog's cache is refreshed in the background.
pub const REFRESH_EVERY: Duration = Duration::from_secs(2);

/// Why a publish was refused.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("not a valid metainfo file: {0}")]
    Invalid(#[from] MetainfoError),
    #[error("{0}")]
    Store(#[from] PersistError),
}

/// Whether a publish added an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Published {
    New,
    Existing,
}

/// The published torrents.
pub struct Catalog {
    db: AnyDb,
    cache: RwLock<Cache>,
}

#[derive(Default)]
struct Cache {
    entries: HashMap<InfoHash, Arc<Entry>>,
    refreshed: Option<Instant>,
}

impl Catalog {
    /// Load the catalog from `db`.
    pub async fn open(db: AnyDb) -> Result<Catalog, PersistError> {
        let catalog = Catalog {
            db,
            cache: RwLock::new(Cache::default()),
        };
        catalog.refresh().await?;
        Ok(catalog)
    }

    /// Re-read every summary from the store (records that do not parse are skipped).
    pub async fn refresh(&self) -> Result<(), PersistError> {
        let records = self.db.summaries().await?;
        let mut entries = HashMap::with_capacity(records.len());
        for record in records {
            let Ok(hash) = InfoHash::from_hex(&record.key) else {
                continue;
            };
            match serde_json::from_slice::<Entry>(&record.summary) {
                Ok(entry) => {
                    entries.insert(hash, Arc::new(entry));
                }
                Err(e) => tracing::warn!(info_hash = %record.key, "unreadable catalog record: {e}"),
            }
        }
        *self.cache.write() = Cache {
            entries,
            refreshed: Some(Instant::now()),
        };
        Ok(())
    }

    /// Refresh a shared catalog if the cache is older than `max_age`.
    pub async fn refresh_if_shared(&self, max_age: Duration) -> Result<(), PersistError> {
        let stale = self
            .cache
            .read()
            .refreshed
            .is_none_or(|at| at.elapsed() >= max_age);
        if self.db.is_shared() && stale {
            self.refresh().await?;
        }
        Ok(())
    }

    /// Is the catalog shared with other instances (Redis)?
    pub fn is_shared(&self) -> bool {
        self.db.is_shared()
    }

    /// Does the catalog list `hash`? (From the cache: cheap enough for every announce.)
    pub fn contains(&self, hash: &InfoHash) -> bool {
        self.cache.read().entries.contains_key(hash)
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.cache.read().entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The entry of `hash`, if published.
    pub fn get(&self, hash: &InfoHash) -> Option<Arc<Entry>> {
        self.cache.read().entries.get(hash).cloned()
    }

    /// Every entry (unordered).
    pub fn all(&self) -> Vec<Arc<Entry>> {
        self.cache.read().entries.values().cloned().collect()
    }

    /// Validate and store `bytes`, published at `now`. A torrent already in the catalog is
    /// left as it was and returned.
    pub async fn publish(
        &self,
        bytes: Vec<u8>,
        now: u64,
    ) -> Result<(Published, Arc<Entry>), PublishError> {
        let (hash, entry) = Entry::from_metainfo(&bytes, now)?;
        self.refresh_if_shared(Duration::ZERO).await?;
        if let Some(existing) = self.get(&hash) {
            return Ok((Published::Existing, existing));
        }
        let summary = serde_json::to_vec(&entry)
            .map_err(|e| PersistError::Backend(format!("cannot encode the summary: {e}")))?;
        let new = self.db.insert(hash.to_hex(), summary, bytes).await?;
        if !new {
            // Another instance published it meanwhile: list theirs.
            self.refresh().await?;
            if let Some(existing) = self.get(&hash) {
                return Ok((Published::Existing, existing));
            }
        }
        let entry = Arc::new(entry);
        self.cache.write().entries.insert(hash, entry.clone());
        Ok((Published::New, entry))
    }

    /// The metainfo bytes exactly as published.
    pub async fn metainfo(&self, hash: &InfoHash) -> Result<Option<Vec<u8>>, PersistError> {
        self.db.metainfo(hash.to_hex()).await
    }

    /// Remove `hash`; returns whether it was published.
    pub async fn delete(&self, hash: &InfoHash) -> Result<bool, PersistError> {
        let found = self.db.remove(hash.to_hex()).await?;
        let cached = self.cache.write().entries.remove(hash).is_some();
        Ok(found || cached)
    }
}
