//! The embedded store: one redb file, `catalog.redb` under `--data-dir`.
//!
//! redb is a pure-Rust, crash-safe (copy-on-write B-trees, checksummed commits) key-value
//! store: no C library to build, one file, and the catalog needs nothing but keyed records
//! (search and sorting run over the summaries in memory). Calls block; the caller runs them
//! off the async runtime.

use std::path::{Path, PathBuf};

use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};

use super::{PersistError, Record};

/// hex info-hash → JSON summary.
const SUMMARIES: TableDefinition<'static, &str, &[u8]> = TableDefinition::new("summaries");
/// hex info-hash → metainfo bytes as published.
const METAINFO: TableDefinition<'static, &str, &[u8]> = TableDefinition::new("metainfo");
/// passkey → nothing.
const PASSKEYS: TableDefinition<'static, &str, ()> = TableDefinition::new("passkeys");

/// The redb database of one tracker.
pub struct EmbeddedDb {
    db: Database,
}

fn backend(e: impl std::fmt::Display) -> PersistError {
    PersistError::Backend(format!("embedded store: {e}"))
}

impl EmbeddedDb {
    /// Open (creating) `DIR/catalog.redb`, creating `dir` if needed. Another process holding
    /// the file is an error that names it.
    pub fn open(dir: &Path) -> Result<EmbeddedDb, PersistError> {
        let path: PathBuf = dir.join("catalog.redb");
        let open_error = |reason: String| PersistError::Open {
            path: path.display().to_string(),
            reason,
        };
        std::fs::create_dir_all(dir).map_err(|e| PersistError::Open {
            path: dir.display().to_string(),
            reason: e.to_string(),
        })?;
        let db = Database::create(&path).map_err(|e| match e {
            redb::DatabaseError::DatabaseAlreadyOpen => open_error(
                "in use by another tracker process (give each one its own --data-dir)".into(),
            ),
            other => open_error(other.to_string()),
        })?;
        let txn = db.begin_write().map_err(backend)?;
        txn.open_table(SUMMARIES).map_err(backend)?;
        txn.open_table(METAINFO).map_err(backend)?;
        txn.open_table(PASSKEYS).map_err(backend)?;
        txn.commit().map_err(backend)?;
        Ok(EmbeddedDb { db })
    }

    /// Every catalog summary.
    pub fn summaries(&self) -> Result<Vec<Record>, PersistError> {
        let txn = self.db.begin_read().map_err(backend)?;
        let table = txn.open_table(SUMMARIES).map_err(backend)?;
        let mut out = Vec::new();
        for row in table.iter().map_err(backend)? {
            let (key, value) = row.map_err(backend)?;
            out.push(Record {
                key: key.value().to_string(),
                summary: value.value().to_vec(),
            });
        }
        Ok(out)
    }

    /// Store a record unless `key` exists; returns whether it was new.
    pub fn insert(&self, key: &str, summary: &[u8], meta: &[u8]) -> Result<bool, PersistError> {
        let txn = self.db.begin_write().map_err(backend)?;
        let new = {
            let mut summaries = txn.open_table(SUMMARIES).map_err(backend)?;
            if summaries.get(key).map_err(backend)?.is_some() {
                false
            } else {
                summaries.insert(key, summary).map_err(backend)?;
                let mut metainfo = txn.open_table(METAINFO).map_err(backend)?;
                metainfo.insert(key, meta).map_err(backend)?;
                true
            }
        };
        txn.commit().map_err(backend)?;
        Ok(new)
    }

    /// The metainfo bytes of `key`.
    pub fn metainfo(&self, key: &str) -> Result<Option<Vec<u8>>, PersistError> {
        let txn = self.db.begin_read().map_err(backend)?;
        let table = txn.open_table(METAINFO).map_err(backend)?;
        let value = table.get(key).map_err(backend)?;
        Ok(value.map(|v| v.value().to_vec()))
    }

    /// Remove `key`; returns whether it was there.
    pub fn remove(&self, key: &str) -> Result<bool, PersistError> {
        let txn = self.db.begin_write().map_err(backend)?;
        let found = {
            let mut summaries = txn.open_table(SUMMARIES).map_err(backend)?;
            let found = summaries.remove(key).map_err(backend)?.is_some();
            let mut metainfo = txn.open_table(METAINFO).map_err(backend)?;
            metainfo.remove(key).map_err(backend)?;
            found
        };
        txn.commit().map_err(backend)?;
        Ok(found)
    }

    /// Every API-managed passkey.
    pub fn passkeys(&self) -> Result<Vec<String>, PersistError> {
        let txn = self.db.begin_read().map_err(backend)?;
        let table = txn.open_table(PASSKEYS).map_err(backend)?;
        let mut out = Vec::new();
        for row in table.iter().map_err(backend)? {
            let (key, ()) = row.map(|(k, v)| (k, v.value())).map_err(backend)?;
            out.push(key.value().to_string());
        }
        Ok(out)
    }

    /// Add (`true`) or remove (`false`) a passkey; returns whether anything changed.
    pub fn set_passkey(&self, key: &str, present: bool) -> Result<bool, PersistError> {
        let txn = self.db.begin_write().map_err(backend)?;
        let changed = {
            let mut table = txn.open_table(PASSKEYS).map_err(backend)?;
            if present {
                table.insert(key, ()).map_err(backend)?.is_none()
            } else {
                table.remove(key).map_err(backend)?.is_some()
            }
        };
        txn.commit().map_err(backend)?;
        Ok(changed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_and_passkeys_survive_reopening_and_a_second_opener_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        {
            let db = EmbeddedDb::open(dir.path()).unwrap();
            assert!(db.insert("aa", b"{}", b"d4:infoe").unwrap());
            assert!(!db.insert("aa", b"{\"x\":1}", b"other").unwrap());
            assert!(db.set_passkey("k1", true).unwrap());
            assert!(matches!(
                EmbeddedDb::open(dir.path()),
                Err(PersistError::Open { .. })
            ));
        }
        let db = EmbeddedDb::open(dir.path()).unwrap();
        assert_eq!(db.summaries().unwrap()[0].summary, b"{}");
        assert_eq!(db.metainfo("aa").unwrap().unwrap(), b"d4:infoe");
        assert_eq!(db.passkeys().unwrap(), ["k1"]);
        assert!(db.remove("aa").unwrap());
        assert!(!db.remove("aa").unwrap());
        assert!(db.metainfo("aa").unwrap().is_none());
        assert!(db.set_passkey("k1", false).unwrap());
        assert!(db.passkeys().unwrap().is_empty());
    }
}
