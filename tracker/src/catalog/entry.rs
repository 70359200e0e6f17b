//! One published torrent as the catalog lists it, made from validated metainfo bytes.

use metainfo::{InfoHash, Metainfo, MetainfoError};
use serde::{Deserialize, Serialize};

/// One file of a torrent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileRow {
    /// The path inside the torrent, `/`-separated.
    pub path: String,
    pub length: u64,
}

/// What the catalog knows of one torrent (stored as JSON next to its metainfo bytes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// 40 lowercase hex digits.
    pub info_hash: String,
    pub name: String,
    /// Total bytes.
    pub size: u64,
    pub files: Vec<FileRow>,
    pub pieces: u32,
    pub piece_length: u64,
    /// When it was published, Unix seconds.
    pub added: u64,
    /// The magnet link (info-hash, name, the metainfo's trackers).
    pub magnet: String,
}

impl Entry {
    /// Validate `bytes` as a metainfo file (bencode, info dictionary, safe file paths: the
    /// `metainfo` crate's checks) and describe it.
    pub fn from_metainfo(bytes: &[u8], added: u64) -> Result<(InfoHash, Entry), MetainfoError> {
        let meta = Metainfo::from_bytes(bytes)?;
        let files = meta
            .info
            .files
            .iter()
            .map(|f| FileRow {
                path: f.display_path(),
                length: f.length,
            })
            .collect();
        let entry = Entry {
            info_hash: meta.info_hash.to_hex(),
            name: meta.info.name.clone(),
            size: meta.info.total_length(),
            files,
            pieces: meta.info.piece_count(),
            piece_length: meta.info.piece_length,
            added,
            magnet: meta.magnet(),
        };
        Ok((meta.info_hash, entry))
    }

    /// `added` as an RFC 3339 UTC time.
    pub fn added_rfc3339(&self) -> String {
        let time = std::time::UNIX_EPOCH + std::time::Duration::from_secs(self.added);
        humantime::format_rfc3339_seconds(time).to_string()
    }
}
