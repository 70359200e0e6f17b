//! The optional allowlist of info-hashes (`--allowlist FILE`), reloadable on SIGHUP.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::RwLock;

use crate::domain::InfoHash;

/// Why an allowlist file could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum AllowlistError {
    #[error("cannot read allowlist {path}: {error}")]
    Read {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("allowlist {path} line {line}: not a 40-digit hex info-hash")]
    BadLine { path: PathBuf, line: usize },
}

/// Which torrents are served: every one, or those listed in a file.
#[derive(Debug, Default)]
pub struct Allowlist {
    path: Option<PathBuf>,
    hashes: RwLock<Option<Arc<HashSet<InfoHash>>>>,
}

impl Allowlist {
    /// Load `path` (or allow everything when `None`).
    pub fn open(path: Option<PathBuf>) -> Result<Allowlist, AllowlistError> {
        let list = Allowlist {
            path,
            hashes: RwLock::new(None),
        };
        list.reload()?;
        Ok(list)
    }

    /// Is `info_hash` served?
    pub fn allows(&self, info_hash: &InfoHash) -> bool {
        // Without a file every torrent is served: no lock on the announce path.
        if self.path.is_none() {
            return true;
        }
        self.hashes
            .read()
            .as_ref()
            .is_none_or(|set| set.contains(info_hash))
    }

    /// Re-read the file; on error the previous list stays in force. Returns the entry count.
    pub fn reload(&self) -> Result<Option<usize>, AllowlistError> {
        let Some(path) = &self.path else {
            return Ok(None);
        };
        let set = Arc::new(load(path)?);
        let count = set.len();
        *self.hashes.write() = Some(set);
        Ok(Some(count))
    }
}

/// Parse the file: one hex info-hash per line; blank lines and `#` comments are skipped.
fn load(path: &Path) -> Result<HashSet<InfoHash>, AllowlistError> {
    let text = std::fs::read_to_string(path).map_err(|error| AllowlistError::Read {
        path: path.to_path_buf(),
        error,
    })?;
    let mut set = HashSet::new();
    for (index, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let hash = InfoHash::from_hex(line).map_err(|_| AllowlistError::BadLine {
            path: path.to_path_buf(),
            line: index + 1,
        })?;
        set.insert(hash);
    }
    Ok(set)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loads_and_reloads() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("allow");
        let a = "aa".repeat(20);
        std::fs::write(&path, format!("# list\n{a}\n\n")).unwrap();
        let list = Allowlist::open(Some(path.clone())).unwrap();
        assert!(list.allows(&InfoHash([0xaa; 20])));
        assert!(!list.allows(&InfoHash([0xbb; 20])));
        std::fs::write(&path, "nothex\n").unwrap();
        assert!(list.reload().is_err());
        assert!(list.allows(&InfoHash([0xaa; 20])));
        std::fs::write(&path, "BB".repeat(20)).unwrap();
        assert_eq!(list.reload().unwrap(), Some(1));
        assert!(list.allows(&InfoHash([0xbb; 20])));
        assert!(Allowlist::open(None).unwrap().allows(&InfoHash([0; 20])));
    }
}
