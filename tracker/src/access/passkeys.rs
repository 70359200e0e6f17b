//! Passkeys for private mode: announces and scrapes go to `/announce/<passkey>` and
//! `/scrape/<passkey>` (over UDP, the same path as BEP 41 URL data). Keys come from
//! `--passkeys FILE` (one per line, reloaded on SIGHUP) and from `POST /passkeys` (kept in
//! the persistent store). A passkey is never logged, shown or used as a metric label.

use std::collections::HashSet;
use std::path::PathBuf;

use parking_lot::RwLock;

use super::tokens::read_lines;
use crate::persist::PersistError;
use crate::persist::any::AnyDb;

/// Shortest and longest passkey accepted.
pub const MIN_LEN: usize = 8;
pub const MAX_LEN: usize = 64;

/// Why passkeys could not be loaded or changed.
#[derive(Debug, thiserror::Error)]
pub enum PasskeyError {
    #[error("cannot read passkey file {path}: {error}")]
    Read {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error(
        "passkey file {path} line {line}: a passkey is {MIN_LEN} to {MAX_LEN} letters, digits, `-` or `_`"
    )]
    BadLine { path: PathBuf, line: usize },
    #[error("a passkey is {MIN_LEN} to {MAX_LEN} letters, digits, `-` or `_`")]
    BadKey,
    #[error("{0}")]
    Store(#[from] PersistError),
}

/// Is `key` shaped like a passkey?
pub fn well_formed(key: &str) -> bool {
    (MIN_LEN..=MAX_LEN).contains(&key.len())
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The passkeys of a private tracker.
pub struct Passkeys {
    file: Option<PathBuf>,
    from_file: RwLock<HashSet<String>>,
    managed: RwLock<HashSet<String>>,
    db: AnyDb,
}

impl Passkeys {
    /// Load the file (if any) and the managed keys from `db`.
    pub async fn open(file: Option<PathBuf>, db: AnyDb) -> Result<Passkeys, PasskeyError> {
        let keys = Passkeys {
            file,
            from_file: RwLock::new(HashSet::new()),
            managed: RwLock::new(HashSet::new()),
            db,
        };
        keys.reload_file()?;
        keys.refresh_managed().await?;
        Ok(keys)
    }

    /// Is `key` a valid passkey?
    pub fn allows(&self, key: &str) -> bool {
        self.from_file.read().contains(key) || self.managed.read().contains(key)
    }

    /// Re-read the passkey file; on error the old keys stay. Returns how many it holds.
    pub fn reload_file(&self) -> Result<usize, PasskeyError> {
        let Some(path) = &self.file else {
            return Ok(0);
        };
        let lines = read_lines(path).map_err(|error| PasskeyError::Read {
            path: path.clone(),
            error,
        })?;
        let mut set = HashSet::with_capacity(lines.len());
        for (index, key) in lines.into_iter().enumerate() {
            if !well_formed(&key) {
                return Err(PasskeyError::BadLine {
                    path: path.clone(),
                    line: index + 1,
                });
            }
            set.insert(key);
        }
        let count = set.len();
        *self.from_file.write() = set;
        Ok(count)
    }

    /// Re-read the managed keys from the store (other instances may have changed them).
    pub async fn refresh_managed(&self) -> Result<(), PasskeyError> {
        let keys: HashSet<String> = self.db.passkeys().await?.into_iter().collect();
        *self.managed.write() = keys;
        Ok(())
    }

    /// Add `key` (or a new random one); returns it.
    pub async fn add(&self, key: Option<String>) -> Result<String, PasskeyError> {
        let key = match key {
            Some(k) if well_formed(&k) => k,
            Some(_) => return Err(PasskeyError::BadKey),
            None => hex::encode(rand::random::<[u8; 16]>()),
        };
        self.db.set_passkey(key.clone(), true).await?;
        self.managed.write().insert(key.clone());
        Ok(key)
    }

    /// Remove a managed key; returns whether it existed. (Keys from the file go by editing
    /// the file and sending SIGHUP.)
    pub async fn remove(&self, key: &str) -> Result<bool, PasskeyError> {
        if !well_formed(key) {
            return Ok(false);
        }
        let removed = self.db.set_passkey(key.to_string(), false).await?;
        let cached = self.managed.write().remove(key);
        Ok(removed || cached)
    }
}

/// The passkey in a private announce or scrape path: `/announce/<key>` or `/scrape/<key>`
/// (a query string, if any, is ignored).
pub fn from_path<'a>(path: &'a str, route: &str) -> Option<&'a str> {
    // Prefixes first: on every public announce (`/announce`) this returns at the third.
    let rest = path
        .strip_prefix('/')?
        .strip_prefix(route)?
        .strip_prefix('/')?;
    let key = rest.split_once('?').map_or(rest, |(key, _)| key);
    (!key.is_empty() && !key.contains('/')).then_some(key)
}

/// `path` with any passkey replaced, for logs.
pub fn redact(path: &str) -> std::borrow::Cow<'_, str> {
    for route in ["/announce/", "/scrape/", "/passkeys/"] {
        if path.starts_with(route) {
            return format!("{route}<passkey>").into();
        }
    }
    path.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_redaction() {
        assert_eq!(
            from_path("/announce/abcdefgh", "announce"),
            Some("abcdefgh")
        );
        assert_eq!(
            from_path("/announce/abcdefgh?x=1", "announce"),
            Some("abcdefgh")
        );
        assert_eq!(from_path("/announce", "announce"), None);
        assert_eq!(from_path("/announce/", "announce"), None);
        assert_eq!(from_path("/announce/a/b", "announce"), None);
        assert_eq!(from_path("/announce?x=/y", "announce"), None);
        assert_eq!(from_path("/announce/?x=1", "announce"), None);
        assert_eq!(from_path("/scrape/k", "announce"), None);
        assert_eq!(redact("/announce/s3cretkey"), "/announce/<passkey>");
        assert_eq!(redact("/passkeys/s3cretkey"), "/passkeys/<passkey>");
        assert_eq!(redact("/torrents"), "/torrents");
        assert!(well_formed("abcd-efgh_1234"));
        assert!(!well_formed("short"));
        assert!(!well_formed("has space in it"));
    }
}
