//! The persistent store chosen at start: embedded, or Redis when the swarms are in Redis.

use std::path::Path;
use std::sync::Arc;

use super::embedded::EmbeddedDb;
use super::redis::RedisDb;
use super::{PersistError, Record};

/// The tracker's persistent store.
#[derive(Clone)]
pub enum AnyDb {
    Embedded(Arc<EmbeddedDb>),
    Redis(RedisDb),
}

/// Run a blocking embedded-store call off the async runtime.
async fn blocking<T: Send + 'static>(
    db: &Arc<EmbeddedDb>,
    f: impl FnOnce(&EmbeddedDb) -> Result<T, PersistError> + Send + 'static,
) -> Result<T, PersistError> {
    let db = db.clone();
    tokio::task::spawn_blocking(move || f(&db))
        .await
        .map_err(|e| PersistError::Backend(format!("embedded store task failed: {e}")))?
}

impl AnyDb {
    /// Redis when `store` is a `redis://` URL, else the embedded file under `data_dir`.
    pub async fn open(store: &str, data_dir: &Path) -> Result<AnyDb, PersistError> {
        if store.starts_with("redis://") || store.starts_with("rediss://") {
            return Ok(AnyDb::Redis(RedisDb::connect(store).await?));
        }
        let dir = data_dir.to_path_buf();
        let db = tokio::task::spawn_blocking(move || EmbeddedDb::open(&dir))
            .await
            .map_err(|e| PersistError::Backend(e.to_string()))??;
        Ok(AnyDb::Embedded(Arc::new(db)))
    }

    /// Does every instance see the same records (so caches must be refreshed)?
    pub fn is_shared(&self) -> bool {
        matches!(self, AnyDb::Redis(_))
    }

    pub async fn summaries(&self) -> Result<Vec<Record>, PersistError> {
        match self {
            AnyDb::Embedded(db) => blocking(db, |db| db.summaries()).await,
            AnyDb::Redis(db) => db.summaries().await,
        }
    }

    pub async fn insert(
        &self,
        key: String,
        summary: Vec<u8>,
        meta: Vec<u8>,
    ) -> Result<bool, PersistError> {
        match self {
            AnyDb::Embedded(db) => blocking(db, move |db| db.insert(&key, &summary, &meta)).await,
            AnyDb::Redis(db) => db.insert(&key, &summary, &meta).await,
        }
    }

    pub async fn metainfo(&self, key: String) -> Result<Option<Vec<u8>>, PersistError> {
        match self {
            AnyDb::Embedded(db) => blocking(db, move |db| db.metainfo(&key)).await,
            AnyDb::Redis(db) => db.metainfo(&key).await,
        }
    }

    pub async fn remove(&self, key: String) -> Result<bool, PersistError> {
        match self {
            AnyDb::Embedded(db) => blocking(db, move |db| db.remove(&key)).await,
            AnyDb::Redis(db) => db.remove(&key).await,
        }
    }

    pub async fn passkeys(&self) -> Result<Vec<String>, PersistError> {
        match self {
            AnyDb::Embedded(db) => blocking(db, |db| db.passkeys()).await,
            AnyDb::Redis(db) => db.passkeys().await,
        }
    }

    pub async fn set_passkey(&self, key: String, present: bool) -> Result<bool, PersistError> {
        match self {
            AnyDb::Embedded(db) => blocking(db, move |db| db.set_passkey(&key, present)).await,
            AnyDb::Redis(db) => db.set_passkey(&key, present).await,
        }
    }
}
