//! Creating metainfo from a file or directory. (Work in progress.)

use std::path::{Path, PathBuf};

use thiserror::Error;

use crate::{Metainfo, MetainfoError};

/// Options for [`create`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CreateOptions {
    /// Tracker URLs: the first becomes `announce`; when there are several, each also gets its
    /// own BEP 12 `announce-list` tier, in order.
    pub trackers: Vec<String>,
    /// Piece length in bytes; `None` picks [`crate::auto_piece_length`].
    pub piece_length: Option<u64>,
    /// Set the BEP 27 private flag.
    pub private: bool,
    /// `comment` field.
    pub comment: Option<String>,
    /// Torrent name; defaults to the file or directory name.
    pub name: Option<String>,
    /// BEP 19 web seed URLs (`url-list`).
    pub web_seeds: Vec<String>,
    /// `created by`; defaults to `swarm/<version>`.
    pub created_by: Option<String>,
    /// `creation date` in Unix seconds; `None` means now. Use `Some(0)`-like fixed values
    /// for reproducible output.
    pub creation_date: Option<i64>,
    /// Follow symbolic links. Off by default: symlinks are skipped and reported in
    /// [`Created::skipped_symlinks`].
    pub follow_symlinks: bool,
}

/// The result of [`create_with_report`]: the metainfo and what was left out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Created {
    /// The new metainfo.
    pub metainfo: Metainfo,
    /// Symbolic links that were not followed (empty when following them).
    pub skipped_symlinks: Vec<PathBuf>,
}

/// Why metainfo could not be created.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum CreateError {
    /// Reading the input failed.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The result would not be valid metainfo.
    #[error(transparent)]
    Invalid(#[from] MetainfoError),
}

/// Creates metainfo for the file or directory at `path`, hashing on every core.
/// `progress` is called with the number of bytes just hashed (a delta).
pub fn create(
    path: &Path,
    options: &CreateOptions,
    progress: impl Fn(u64) + Sync,
) -> Result<Metainfo, CreateError> {
    create_with_report(path, options, progress).map(|created| created.metainfo)
}

/// Like [`create`], also returning the symlinks that were skipped.
pub fn create_with_report(
    path: &Path,
    options: &CreateOptions,
    progress: impl Fn(u64) + Sync,
) -> Result<Created, CreateError> {
    let _ = (path, options, &progress);
    todo!("metainfo creation is being implemented")
}
