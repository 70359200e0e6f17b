//! The state directory: what `swarm` remembers about torrents, kept outside the user's data.
//!
//! `--state-dir`, else `$SWARM_STATE_DIR`, else `$XDG_STATE_HOME/swarm`, else
//! `~/.local/state/swarm`. Each torrent *downloaded into a given folder* has a record of its
//! own, `torrents/<info-hash>-<folder key>/`, holding:
//! - `location`: the folder's canonical path (so "which torrents live in this folder" is a scan);
//! - `meta`: a copy of the metainfo (for magnet links, the only copy);
//! - `resume`: the verified pieces (see [`resume`]);
//! - `lock`: held (an OS file lock) by the process using the record, so two processes never
//!   download the same torrent into the same folder; the lock dies with the process.
//!
//! The same torrent in two folders has two records. The download folder itself holds the
//! torrent's files and nothing else.
//!
//! `shared/<name>-<folder key>.meta`: the metainfo `swarm seed` made for a file or folder of
//! one's own when it could not put it in the current directory without adding it to what is
//! shared (see [`StateDir::shared_meta`]).

pub mod resume;

use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

use metainfo::{Info, InfoHash};
use sha1::{Digest, Sha1};

use crate::storage::{Storage, StorageError};
use crate::wire::Bitfield;
use resume::ResumeRecord;

/// Why the state directory cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("no state directory: set --state-dir or SWARM_STATE_DIR (HOME is not set)")]
    NoHome,
    #[error("state directory {}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
    #[error(
        "another swarm process is using {} for this torrent (lock {})",
        data.display(),
        lock.display()
    )]
    Locked { data: PathBuf, lock: PathBuf },
}

/// The root of the state directory.
#[derive(Debug, Clone)]
pub struct StateDir {
    root: PathBuf,
}

/// A torrent the state directory knows was downloaded into a folder.
#[derive(Debug, Clone)]
pub struct KnownTorrent {
    pub info_hash: InfoHash,
    /// The saved copy of its metainfo.
    pub meta: PathBuf,
}

impl StateDir {
    /// The state directory at `root` (created when first written to).
    pub fn at(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// `explicit` (from `--state-dir`), else `$SWARM_STATE_DIR`, else the XDG default.
    pub fn locate(explicit: Option<PathBuf>) -> Result<Self, StateError> {
        if let Some(root) = explicit {
            return Ok(Self::at(root));
        }
        let env = |name| std::env::var_os(name).filter(|v| !v.is_empty());
        if let Some(root) = env("SWARM_STATE_DIR") {
            return Ok(Self::at(root));
        }
        if let Some(state_home) = env("XDG_STATE_HOME") {
            return Ok(Self::at(PathBuf::from(state_home).join("swarm")));
        }
        let home = env("HOME").ok_or(StateError::NoHome)?;
        Ok(Self::at(PathBuf::from(home).join(".local/state/swarm")))
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Opens (creating it if new) and locks the record of `info_hash` downloaded into
    /// `data_root`. Fails with [`StateError::Locked`] while another process holds it.
    pub fn open_record(
        &self,
        info_hash: &InfoHash,
        data_root: &Path,
    ) -> Result<TorrentRecord, StateError> {
        let location = canonical(data_root);
        let dir = self
            .root
            .join("torrents")
            .join(format!("{info_hash}-{}", folder_key(&location)));
        fs::create_dir_all(&dir).map_err(|source| StateError::Io {
            path: dir.clone(),
            source,
        })?;
        let lock_path = dir.join("lock");
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|source| StateError::Io {
                path: lock_path.clone(),
                source,
            })?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => {
                return Err(StateError::Locked {
                    data: location,
                    lock: lock_path,
                });
            }
            Err(fs::TryLockError::Error(source)) => {
                return Err(StateError::Io {
                    path: lock_path,
                    source,
                });
            }
        }
        let location_file = dir.join("location");
        fs::write(&location_file, location.as_os_str().as_encoded_bytes()).map_err(|source| {
            StateError::Io {
                path: location_file,
                source,
            }
        })?;
        Ok(TorrentRecord {
            dir,
            data_root: data_root.to_path_buf(),
            _lock: lock,
        })
    }

    /// Where `swarm seed` keeps the metainfo it made for `shared` (a file or folder of one's
    /// own, named `name` in the torrent) when the current directory is inside it: one place
    /// per shared path, so sharing it again finds the same file.
    pub fn shared_meta(&self, shared: &Path, name: &str) -> PathBuf {
        let key = folder_key(&canonical(shared));
        self.root.join("shared").join(format!("{name}-{key}.meta"))
    }

    /// The torrents whose records say they were downloaded into `data_root`, sorted by
    /// info-hash. Records without a metainfo copy are left out.
    pub fn torrents_in(&self, data_root: &Path) -> Vec<KnownTorrent> {
        let location = canonical(data_root);
        let key = folder_key(&location);
        let Ok(entries) = fs::read_dir(self.root.join("torrents")) else {
            return Vec::new();
        };
        let mut found: Vec<KnownTorrent> = entries
            .flatten()
            .filter_map(|entry| {
                let name = entry.file_name();
                let (hash, entry_key) = name.to_str()?.split_once('-')?;
                let dir = entry.path();
                let recorded = fs::read(dir.join("location")).ok()?;
                let same = entry_key == key && recorded == location.as_os_str().as_encoded_bytes();
                let meta = dir.join("meta");
                (same && meta.is_file()).then(|| {
                    Some(KnownTorrent {
                        info_hash: hash.parse().ok()?,
                        meta,
                    })
                })?
            })
            .collect();
        found.sort_by_key(|t| t.info_hash.0);
        found
    }
}

/// One torrent's record in the state directory, locked for this process while it lives.
#[derive(Debug)]
pub struct TorrentRecord {
    dir: PathBuf,
    data_root: PathBuf,
    _lock: File,
}

impl TorrentRecord {
    /// Where the saved metainfo copy lives.
    pub fn meta_path(&self) -> PathBuf {
        self.dir.join("meta")
    }

    fn resume_path(&self) -> PathBuf {
        self.dir.join("resume")
    }

    /// Saves a copy of the metainfo (atomically; an identical copy is left alone).
    pub fn save_meta(&self, bytes: &[u8]) -> Result<(), StorageError> {
        let path = self.meta_path();
        if fs::read(&path).is_ok_and(|old| old == bytes) {
            return Ok(());
        }
        resume::write_atomically(&path, bytes)
    }

    /// The verified pieces recorded, if the record can be trusted (see [`resume`]); `None`
    /// means the data must be rechecked.
    pub fn load_resume(&self, info_hash: &InfoHash, info: &Info) -> Option<Bitfield> {
        ResumeRecord::load(&self.resume_path(), &self.data_root, info_hash, info)
    }

    /// Records `verified` without flushing the data: trusted until the next boot.
    pub fn save_resume_unflushed(
        &self,
        info_hash: &InfoHash,
        info: &Info,
        verified: &Bitfield,
    ) -> Result<(), StorageError> {
        ResumeRecord::save(
            &self.resume_path(),
            &self.data_root,
            info_hash,
            info,
            verified,
            false,
        )
    }

    /// Flushes `storage`, then records `verified` as durable.
    pub fn save_resume_flushed(
        &self,
        storage: &Storage,
        info_hash: &InfoHash,
        info: &Info,
        verified: &Bitfield,
    ) -> Result<(), StorageError> {
        storage.flush()?;
        ResumeRecord::save(
            &self.resume_path(),
            &self.data_root,
            info_hash,
            info,
            verified,
            true,
        )
    }
}

/// `path` made absolute and resolved where it exists (so `.`, `./x/..` and symlinks to one
/// folder share a record).
fn canonical(path: &Path) -> PathBuf {
    path.canonicalize()
        .unwrap_or_else(|_| std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf()))
}

/// A short key for a folder's canonical path (the first 8 bytes of its SHA-1, in hex).
fn folder_key(location: &Path) -> String {
    let digest = Sha1::digest(location.as_os_str().as_encoded_bytes());
    hex::encode(&digest[..8])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hash(b: u8) -> InfoHash {
        InfoHash([b; 20])
    }

    #[test]
    fn a_record_is_refused_to_a_second_holder_while_the_first_lives() {
        let state = tempfile::tempdir().unwrap();
        let data = tempfile::tempdir().unwrap();
        let dir = StateDir::at(state.path());
        let first = dir.open_record(&hash(1), data.path()).unwrap();
        match dir.open_record(&hash(1), data.path()) {
            Err(StateError::Locked { data: d, .. }) => {
                assert_eq!(d, data.path().canonicalize().unwrap())
            }
            other => panic!("expected Locked, got {other:?}"),
        }
        drop(first);
        dir.open_record(&hash(1), data.path())
            .expect("the lock went with its holder");
    }

    #[test]
    fn one_torrent_in_two_folders_has_two_records() {
        let state = tempfile::tempdir().unwrap();
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let dir = StateDir::at(state.path());
        let ra = dir.open_record(&hash(1), a.path()).unwrap();
        let rb = dir.open_record(&hash(1), b.path()).unwrap();
        assert_ne!(ra.meta_path(), rb.meta_path());
    }

    #[test]
    fn torrents_in_a_folder_are_the_ones_recorded_there_with_metainfo() {
        let state = tempfile::tempdir().unwrap();
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let dir = StateDir::at(state.path());
        for (h, folder) in [(1, a.path()), (2, a.path()), (3, b.path())] {
            let record = dir.open_record(&hash(h), folder).unwrap();
            record.save_meta(b"d4:infod4:name1:xee").unwrap();
        }
        // A record without a metainfo copy does not count.
        drop(dir.open_record(&hash(4), a.path()).unwrap());
        let found: Vec<InfoHash> = dir
            .torrents_in(&a.path().join("."))
            .into_iter()
            .map(|t| t.info_hash)
            .collect();
        assert_eq!(found, vec![hash(1), hash(2)]);
    }

    #[test]
    fn the_state_directory_follows_the_environment_unless_given() {
        let explicit = StateDir::locate(Some("/x/y".into())).unwrap();
        assert_eq!(explicit.root(), Path::new("/x/y"));
    }
}
