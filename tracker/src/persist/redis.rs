//! The catalog and passkeys in Redis (with `--store redis://…`): every instance on one Redis
//! reads and writes the same records.
//!
//! Keys: `catalog:summaries` (hash: hex info-hash → JSON summary), `catalog:meta` (hash:
//! hex info-hash → metainfo bytes), `catalog:passkeys` (set). A publish writes the bytes,
//! then the summary, each only if absent (HSETNX), so the first publish of a torrent wins.

use redis::AsyncCommands;
use redis::aio::ConnectionManager;

use super::{PersistError, Record};

const SUMMARIES: &str = "catalog:summaries";
const META: &str = "catalog:meta";
const PASSKEYS: &str = "catalog:passkeys";

/// The catalog's Redis keys on one connection (cheap to clone).
#[derive(Clone)]
pub struct RedisDb {
    connection: ConnectionManager,
}

fn backend(e: redis::RedisError) -> PersistError {
    PersistError::Backend(format!("redis: {e}"))
}

impl RedisDb {
    /// Connect to `url` now (fails if Redis cannot be reached).
    pub async fn connect(url: &str) -> Result<RedisDb, PersistError> {
        let client = redis::Client::open(url).map_err(backend)?;
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(std::time::Duration::from_secs(2)))
            .set_response_timeout(Some(std::time::Duration::from_secs(5)))
            .set_number_of_retries(3);
        let connection = ConnectionManager::new_with_config(client, config)
            .await
            .map_err(backend)?;
        Ok(RedisDb { connection })
    }

    pub async fn summaries(&self) -> Result<Vec<Record>, PersistError> {
        let mut c = self.connection.clone();
        let all: Vec<(String, Vec<u8>)> = c.hgetall(SUMMARIES).await.map_err(backend)?;
        Ok(all
            .into_iter()
            .map(|(key, summary)| Record { key, summary })
            .collect())
    }

    pub async fn insert(
        &self,
        key: &str,
        summary: &[u8],
        meta: &[u8],
    ) -> Result<bool, PersistError> {
        let mut c = self.connection.clone();
        // The metainfo first, so a summary is only ever visible with its bytes in place; both
        // only if absent, so a torrent published again keeps its first bytes.
        let _: bool = c.hset_nx(META, key, meta).await.map_err(backend)?;
        let new: bool = c.hset_nx(SUMMARIES, key, summary).await.map_err(backend)?;
        Ok(new)
    }

    pub async fn metainfo(&self, key: &str) -> Result<Option<Vec<u8>>, PersistError> {
        let mut c = self.connection.clone();
        c.hget(META, key).await.map_err(backend)
    }

    pub async fn remove(&self, key: &str) -> Result<bool, PersistError> {
        let mut c = self.connection.clone();
        let removed: u32 = c.hdel(SUMMARIES, key).await.map_err(backend)?;
        let _: u32 = c.hdel(META, key).await.map_err(backend)?;
        Ok(removed > 0)
    }

    pub async fn passkeys(&self) -> Result<Vec<String>, PersistError> {
        let mut c = self.connection.clone();
        c.smembers(PASSKEYS).await.map_err(backend)
    }

    pub async fn set_passkey(&self, key: &str, present: bool) -> Result<bool, PersistError> {
        let mut c = self.connection.clone();
        let changed: u32 = if present {
            c.sadd(PASSKEYS, key).await.map_err(backend)?
        } else {
            c.srem(PASSKEYS, key).await.map_err(backend)?
        };
        Ok(changed > 0)
    }
}
