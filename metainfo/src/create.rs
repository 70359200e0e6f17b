//! Creating metainfo from a file or a directory.
//!
//! [`create`] walks the input in a deterministic order (see below), picks the piece length
//! ([`crate::auto_piece_length`] unless given) and hashes the pieces on every core, four side
//! by side per core, while streaming the data in positional reads; memory use does not grow
//! with the input (128 KiB of buffers per core).
//!
//! The walk: the path given is always followed, even when it is a symlink. Inside a
//! directory, entries are taken in byte order of their names (so files are sorted by their
//! path components), hidden files included, empty directories ignored. Symbolic links are
//! **not followed** unless [`CreateOptions::follow_symlinks`] is set: they are skipped and
//! listed in [`Created::skipped_symlinks`]. FIFOs, sockets and devices are errors.

mod hash;
mod walk;

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use thiserror::Error;

use crate::{
    FileEntry, GeometryError, Info, MAX_FILES, MAX_PIECE_LENGTH, Metainfo, MetainfoError,
    PathProblem, PieceGeometry,
};

/// Options for [`create`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CreateOptions {
    /// Tracker URLs: the first becomes `announce`; when there are several, each also gets its
    /// own BEP 12 `announce-list` tier, in order.
    pub trackers: Vec<String>,
    /// Piece length in bytes (any value from 1 to [`MAX_PIECE_LENGTH`]); `None` picks
    /// [`crate::auto_piece_length`].
    pub piece_length: Option<u64>,
    /// Set the BEP 27 private flag.
    pub private: bool,
    /// `comment` field.
    pub comment: Option<String>,
    /// Torrent name; defaults to the file or directory name.
    pub name: Option<String>,
    /// BEP 19 web seed URLs (`url-list`).
    pub web_seeds: Vec<String>,
    /// `created by`; `None` means `swarm/<version>`.
    pub created_by: Option<String>,
    /// `creation date` in Unix seconds; `None` means now. Set it for reproducible output.
    pub creation_date: Option<i64>,
    /// Follow symbolic links inside a directory. Off by default: links are skipped and listed
    /// in [`Created::skipped_symlinks`].
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
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A file got shorter while it was being hashed.
    #[error("{}: file changed while it was being hashed", .0.display())]
    FileChanged(PathBuf),
    /// A file or directory name is not valid UTF-8.
    #[error("{}: file name is not valid UTF-8", .0.display())]
    NonUtf8Name(PathBuf),
    /// A file or directory name cannot be used in metainfo.
    #[error("{}: unusable file name: it {problem}", path.display())]
    InvalidName { path: PathBuf, problem: PathProblem },
    /// The input path has no name (e.g. `/`) and no `name` was given.
    #[error("{}: cannot tell the torrent's name; give one", .0.display())]
    NoName(PathBuf),
    /// The input, or an entry inside it, is neither a regular file nor a directory.
    #[error("{}: not a regular file or directory", .0.display())]
    NotAFileOrDirectory(PathBuf),
    /// A followed symlink leads back to a directory being walked.
    #[error("{}: symbolic link loop", .0.display())]
    SymlinkLoop(PathBuf),
    /// The directory holds no files (only empty directories, or skipped symlinks).
    #[error("{}: no files to share", .0.display())]
    NoFiles(PathBuf),
    /// Every file is empty: there is nothing to hash.
    #[error("{}: all files are empty, nothing to share", .0.display())]
    NoData(PathBuf),
    /// More files than metainfo may hold.
    #[error("{count} files is more than the {max} a metainfo file may hold")]
    TooManyFiles { count: usize, max: usize },
    /// The requested piece length is zero or too large.
    #[error("piece length {0} is out of range (1 to {MAX_PIECE_LENGTH} bytes)")]
    InvalidPieceLength(u64),
    /// The input cannot be cut into pieces of that length (too many pieces).
    #[error(transparent)]
    Geometry(GeometryError),
    /// The result would not be valid metainfo.
    #[error(transparent)]
    Invalid(#[from] MetainfoError),
}

impl CreateError {
    fn io(path: &Path, source: std::io::Error) -> CreateError {
        CreateError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// Creates metainfo for the file or directory at `path`, hashing on every core.
///
/// `progress` is called, from several threads, with the number of bytes just hashed (a delta;
/// the calls add up to the total length).
pub fn create(
    path: &Path,
    options: &CreateOptions,
    progress: impl Fn(u64) + Sync,
) -> Result<Metainfo, CreateError> {
    create_with_report(path, options, progress).map(|created| created.metainfo)
}

/// The total number of bytes [`create`] would hash for `path` (same walk, same rules).
pub fn input_length(path: &Path, options: &CreateOptions) -> Result<u64, CreateError> {
    let listing = walk::list(path, options.follow_symlinks)?;
    Ok(listing.files.iter().map(|file| file.length).sum())
}

/// Like [`create`], also returning the symlinks that were skipped.
pub fn create_with_report(
    path: &Path,
    options: &CreateOptions,
    progress: impl Fn(u64) + Sync,
) -> Result<Created, CreateError> {
    let listing = walk::list(path, options.follow_symlinks)?;
    if listing.files.is_empty() {
        return Err(CreateError::NoFiles(path.to_path_buf()));
    }
    if listing.files.len() > MAX_FILES {
        return Err(CreateError::TooManyFiles {
            count: listing.files.len(),
            max: MAX_FILES,
        });
    }
    let name = options
        .name
        .clone()
        .unwrap_or_else(|| listing.root_name.clone());
    crate::check_component(&name).map_err(|problem| MetainfoError::InvalidName {
        name: name.clone(),
        problem,
    })?;
    let total_length: u64 = listing.files.iter().map(|file| file.length).sum();
    if total_length == 0 {
        return Err(CreateError::NoData(path.to_path_buf()));
    }
    let piece_length = options
        .piece_length
        .unwrap_or_else(|| crate::auto_piece_length(total_length));
    if piece_length == 0 || piece_length > MAX_PIECE_LENGTH {
        return Err(CreateError::InvalidPieceLength(piece_length));
    }
    let geometry =
        PieceGeometry::from_lengths(piece_length, listing.files.iter().map(|file| file.length))
            .map_err(CreateError::Geometry)?;
    let pieces = hash::hash_pieces(&listing.files, &geometry, &progress)?;
    crate::validate::check_piece_count(total_length, piece_length, pieces.len())?;
    let info = Info {
        files: file_entries(&name, &listing.files),
        name,
        piece_length,
        pieces,
        private: options.private,
        single_file: listing.single_file,
    };
    Ok(Created {
        metainfo: with_options(Metainfo::new(info), options),
        skipped_symlinks: listing.skipped_symlinks,
    })
}

/// The files as metainfo entries: paths start with the torrent name.
fn file_entries(name: &str, files: &[walk::InputFile]) -> Vec<FileEntry> {
    let mut offset = 0;
    files
        .iter()
        .map(|file| {
            let mut path = Vec::with_capacity(file.components.len() + 1);
            path.push(name.to_owned());
            path.extend(file.components.iter().cloned());
            let entry = FileEntry {
                path,
                length: file.length,
                offset,
            };
            offset += file.length;
            entry
        })
        .collect()
}

/// Fills in the fields outside the info dictionary.
fn with_options(mut metainfo: Metainfo, options: &CreateOptions) -> Metainfo {
    metainfo.announce = options.trackers.first().cloned();
    if options.trackers.len() > 1 {
        metainfo.announce_list = options
            .trackers
            .iter()
            .map(|url| vec![url.clone()])
            .collect();
    }
    metainfo.comment = options.comment.clone();
    metainfo.created_by = Some(
        options
            .created_by
            .clone()
            .unwrap_or_else(|| format!("swarm/{}", env!("CARGO_PKG_VERSION"))),
    );
    metainfo.creation_date = Some(options.creation_date.unwrap_or_else(now));
    metainfo.url_list = options.web_seeds.clone();
    metainfo
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| {
            i64::try_from(elapsed.as_secs()).unwrap_or(i64::MAX)
        })
}
