//! Where the tracker keeps what must outlive the process: published metainfo files (the
//! catalog) and API-managed passkeys. Embedded ([`embedded::EmbeddedDb`], a redb file under
//! `--data-dir`) by default; in Redis ([`redis::RedisDb`]) with `--store redis://…`, so that
//! every instance on one Redis serves the same catalog and accepts the same passkeys.
//!
//! Records are opaque here: the catalog stores a JSON summary and the metainfo bytes under
//! the info-hash in hex; passkeys are a set of strings.

pub mod any;
pub mod embedded;
pub mod redis;

/// A failure of the persistent store.
#[derive(Debug, thiserror::Error)]
pub enum PersistError {
    #[error("cannot open {path}: {reason}")]
    Open { path: String, reason: String },
    #[error("data store failed: {0}")]
    Backend(String),
}

/// One catalog summary (JSON) under its hex info-hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub key: String,
    pub summary: Vec<u8>,
}
