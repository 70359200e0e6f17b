//! Creating metainfo from a file or a directory.
//!
//! Two entry points share one path:
//! - [`make`] (or [`plan`] then [`Plan::hash`]) creates metainfo exactly as `mkmeta PATH`
//!   does: the options are checked and completed by mkmeta's rules (every URL checked; with
//!   no tracker given, `$SWARM_TRACKER`, else [`DEFAULT_TRACKER`]; a piece length that is not
//!   a power of two of at least 16 KiB refused unless [`CreateOptions::any_piece_length`]).
//!   `mkmeta` and `swarm seed` use it. [`Created`] then holds everything needed to seed at
//!   once: every piece was hashed from the files listed in [`Created::sources`].
//! - [`create`] and [`create_with_report`] write exactly the options given (no tracker
//!   unless given, any piece length the format allows): for tests and tools with their own
//!   rules.
//!
//! Both walk the input in a deterministic order (see below), pick the piece length
//! ([`crate::auto_piece_length`] unless given) and hash the pieces on every core, four side
//! by side per core, while streaming the data in positional reads; memory use does not grow
//! with the input (128 KiB of buffers per core).
//!
//! The walk: the path given is always followed, even when it is a symlink. Inside a
//! directory, entries are taken in byte order of their names (so files are sorted by their
//! path components), hidden files included, empty directories ignored. Symbolic links are
//! **not followed** unless [`CreateOptions::follow_symlinks`] is set: they are skipped and
//! listed in [`Created::skipped_symlinks`]. FIFOs, sockets and devices are errors.

mod defaults;
mod hash;
mod walk;

pub use defaults::{
    BadUrl, DEFAULT_TRACKER, MIN_STANDARD_PIECE_LENGTH, TRACKER_ENV, TrackerSource, check_url,
    default_tracker, is_standard_piece_length,
};

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use thiserror::Error;

use crate::{
    FileEntry, GeometryError, Info, MAX_FILES, MAX_PIECE_LENGTH, Metainfo, MetainfoError,
    PathProblem, PieceGeometry,
};

/// Options for [`make`] and [`create`]; the defaults are mkmeta's.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CreateOptions {
    /// Tracker URLs: the first becomes `announce`; when there are several, each also gets its
    /// own BEP 12 `announce-list` tier, in order. [`make`] checks them and, when there are
    /// none, uses [`default_tracker`]; [`create`] writes them as they are (none: no
    /// `announce`).
    pub trackers: Vec<String>,
    /// Piece length in bytes (any value from 1 to [`MAX_PIECE_LENGTH`]); `None` picks
    /// [`crate::auto_piece_length`]. [`make`] refuses one that is not
    /// [standard](is_standard_piece_length) unless `any_piece_length` is set.
    pub piece_length: Option<u64>,
    /// Let [`make`] accept a piece length that is not a power of two of at least 16 KiB
    /// (libtorrent and other clients reject or mishandle such torrents).
    pub any_piece_length: bool,
    /// Set the BEP 27 private flag.
    pub private: bool,
    /// `comment` field.
    pub comment: Option<String>,
    /// Torrent name; defaults to the file or directory name.
    pub name: Option<String>,
    /// BEP 19 web seed URLs (`url-list`); [`make`] checks them.
    pub web_seeds: Vec<String>,
    /// `created by`; `None` means `swarm/<version>`.
    pub created_by: Option<String>,
    /// `creation date` in Unix seconds; `None` means now. Set it for reproducible output.
    pub creation_date: Option<i64>,
    /// Follow symbolic links inside a directory. Off by default: links are skipped and listed
    /// in [`Created::skipped_symlinks`].
    pub follow_symlinks: bool,
}

/// New metainfo and where its data is: enough to start seeding without hashing again (every
/// piece was hashed from the files in `sources` just now).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Created {
    /// The new metainfo.
    pub metainfo: Metainfo,
    /// Where each file of `metainfo.info.files` was read from, in the same order (inside the
    /// input path as given, symlinks not resolved).
    pub sources: Vec<PathBuf>,
    /// The directory the torrent's files sit in, named as in the metainfo:
    /// `data_dir.join(file.relative_path())` is file's source, for every file. `None` when
    /// the torrent was given another name than the input's ([`CreateOptions::name`]).
    pub data_dir: Option<PathBuf>,
    /// Symbolic links that were not followed (empty when following them).
    pub skipped_symlinks: Vec<PathBuf>,
    /// Where the announce URLs came from.
    pub trackers_from: TrackerSource,
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
    /// A tracker or web seed URL is not a URL.
    #[error(transparent)]
    BadUrl(BadUrl),
    /// `$SWARM_TRACKER` is set to something that is not a URL.
    #[error("${TRACKER_ENV}: {0}")]
    BadTrackerEnv(BadUrl),
    /// The piece length asked for is not a power of two of at least 16 KiB.
    #[error(
        "piece length {0} is not a power of two of at least 16 KiB: libtorrent and other clients reject or mishandle such torrents"
    )]
    NonStandardPieceLength(u64),
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

/// Creates metainfo for the file or directory at `path` exactly as `mkmeta PATH` does: see
/// [`plan`] for the rules and defaults applied; hashes on every core.
///
/// `progress` is called, from several threads, with the number of bytes just hashed (a delta;
/// the calls add up to the total length).
pub fn make(
    path: &Path,
    options: &CreateOptions,
    progress: impl Fn(u64) + Sync,
) -> Result<Created, CreateError> {
    plan(path, options)?.hash(progress)
}

/// Everything [`make`] does before hashing: checks every URL, fills in the default tracker
/// when none is given (`$SWARM_TRACKER`, else [`DEFAULT_TRACKER`]), refuses a piece length
/// that is not a power of two of at least 16 KiB unless [`CreateOptions::any_piece_length`],
/// walks the input and picks the name and piece length. Cheap next to hashing; what it
/// returns tells the total size, for a progress bar, before [`Plan::hash`] starts.
pub fn plan(path: &Path, options: &CreateOptions) -> Result<Plan, CreateError> {
    let (options, trackers_from) = defaults::apply(options, std::env::var_os(TRACKER_ENV))?;
    Plan::new(path, options, trackers_from)
}

/// Creates metainfo for the file or directory at `path` with exactly the options given (no
/// default tracker, any piece length the format allows), hashing on every core.
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

/// Like [`create`], also returning where the data is and the symlinks that were skipped.
pub fn create_with_report(
    path: &Path,
    options: &CreateOptions,
    progress: impl Fn(u64) + Sync,
) -> Result<Created, CreateError> {
    Plan::new(path, options.clone(), TrackerSource::Given)?.hash(progress)
}

/// Metainfo ready to be hashed: the input walked, the options settled. From [`plan`].
#[derive(Debug)]
pub struct Plan {
    input: PathBuf,
    listing: walk::Listing,
    options: CreateOptions,
    trackers_from: TrackerSource,
    name: String,
    geometry: PieceGeometry,
}

impl Plan {
    /// Walks `path` and checks that `options` make valid metainfo of it.
    fn new(
        path: &Path,
        options: CreateOptions,
        trackers_from: TrackerSource,
    ) -> Result<Plan, CreateError> {
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
        crate::validate::check_piece_count(
            total_length,
            piece_length,
            geometry.piece_count() as usize,
        )?;
        Ok(Plan {
            input: path.to_path_buf(),
            listing,
            options,
            trackers_from,
            name,
            geometry,
        })
    }

    /// The torrent's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Bytes to hash: the sum of the files' lengths.
    pub fn total_length(&self) -> u64 {
        self.geometry.total_length()
    }

    /// How the payload will be cut into pieces (piece length, count, file spans).
    pub fn geometry(&self) -> &PieceGeometry {
        &self.geometry
    }

    /// Number of files (zero-length ones included).
    pub fn file_count(&self) -> usize {
        self.listing.files.len()
    }

    /// The announce URLs that will be written.
    pub fn trackers(&self) -> &[String] {
        &self.options.trackers
    }

    /// Where those URLs came from.
    pub fn trackers_from(&self) -> TrackerSource {
        self.trackers_from
    }

    /// Symbolic links that will be left out (empty when following them).
    pub fn skipped_symlinks(&self) -> &[PathBuf] {
        &self.listing.skipped_symlinks
    }

    /// Hashes every piece on every core and builds the metainfo. `progress` is called, from
    /// several threads, with the number of bytes just hashed (a delta; the calls add up to
    /// [`Plan::total_length`]).
    pub fn hash(self, progress: impl Fn(u64) + Sync) -> Result<Created, CreateError> {
        let pieces = hash::hash_pieces(&self.listing.files, &self.geometry, &progress)?;
        let data_dir = self.data_dir();
        let info = Info {
            files: file_entries(&self.name, &self.listing.files),
            name: self.name,
            piece_length: u64::from(self.geometry.piece_length()),
            pieces,
            private: self.options.private,
            single_file: self.listing.single_file,
        };
        Ok(Created {
            metainfo: with_options(Metainfo::new(info), &self.options),
            sources: self.listing.files.into_iter().map(|f| f.fs_path).collect(),
            data_dir,
            skipped_symlinks: self.listing.skipped_symlinks,
            trackers_from: self.trackers_from,
        })
    }

    /// The directory holding the input under the torrent's name, if the name is the input's.
    fn data_dir(&self) -> Option<PathBuf> {
        let named = |path: PathBuf| match path.file_name() {
            Some(name) if name == self.name.as_str() => path.parent().map(Path::to_path_buf),
            _ => None,
        };
        // As given (a symlinked input keeps its own name), else resolved (`.`, `..`).
        std::path::absolute(&self.input)
            .ok()
            .and_then(named)
            .or_else(|| std::fs::canonicalize(&self.input).ok().and_then(named))
    }
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
