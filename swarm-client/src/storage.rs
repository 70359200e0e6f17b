//! Torrent data on disk: the files of a torrent under a download directory, addressed by
//! piece through the torrent's [`metainfo::PieceGeometry`].
//!
//! Files are created sparse (`set_len`) when the storage is opened, existing files are kept
//! (a short one is extended, never truncated), and all I/O is positional
//! (`pread`/`pwrite` through [`FileExt`]), so many threads can read and write different pieces
//! of the same file at once. Open file handles are kept in a small bounded cache, so a torrent
//! with a hundred thousand files does not run out of file descriptors.

use std::collections::{HashMap, HashSet};
use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use parking_lot::{Mutex, MutexGuard};

use bytes::Bytes;
use metainfo::{Info, PieceGeometry};

/// How many files a [`Storage`] keeps open at once.
pub const DEFAULT_OPEN_FILES: usize = 128;

/// An error from reading or writing torrent data. Every message is one line.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The device is full or the user's disk quota is used up (ENOSPC, EDQUOT).
    #[error("no space left for {}: {source}", path.display())]
    DiskFull { path: PathBuf, source: io::Error },
    /// The file or directory cannot be written: permission denied or read-only file system.
    #[error("cannot write {}: {source}", path.display())]
    NotWritable { path: PathBuf, source: io::Error },
    /// A file to read is missing or shorter than the torrent says.
    #[error("{} is missing or shorter than expected", path.display())]
    Missing { path: PathBuf },
    /// A path of the torrent would lead outside the download directory (e.g. through a symlink).
    #[error("refusing to use {}: it leads outside the download directory", path.display())]
    PathEscapesRoot { path: PathBuf },
    /// Another I/O error, with the file it happened on.
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
    /// A piece index past the end of the torrent.
    #[error("piece {piece} is out of range (the torrent has {count} pieces)")]
    PieceOutOfRange { piece: u32, count: u32 },
    /// A block that does not lie inside its piece.
    #[error("block at {begin}+{len} does not fit in piece {piece} of {piece_size} bytes")]
    BlockOutOfRange {
        piece: u32,
        begin: u32,
        len: u32,
        piece_size: u32,
    },
    /// `write_piece` was given data of the wrong length.
    #[error("piece {piece} has {expected} bytes, got {got}")]
    WrongPieceLength {
        piece: u32,
        expected: u32,
        got: usize,
    },
}

impl StorageError {
    /// Classifies an I/O error on `path` into the variant a user needs to act on.
    pub fn from_io(path: &Path, source: io::Error) -> Self {
        let path = path.to_path_buf();
        match source.kind() {
            io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded => {
                StorageError::DiskFull { path, source }
            }
            io::ErrorKind::PermissionDenied | io::ErrorKind::ReadOnlyFilesystem => {
                StorageError::NotWritable { path, source }
            }
            io::ErrorKind::NotFound | io::ErrorKind::UnexpectedEof => {
                StorageError::Missing { path }
            }
            _ => StorageError::Io { path, source },
        }
    }

    /// True for errors that mean the disk cannot take more data (full or quota reached).
    pub fn is_disk_full(&self) -> bool {
        matches!(self, StorageError::DiskFull { .. })
    }
}

/// Whether a [`Storage`] may create and write files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Create missing directories and sparse files; open files read + write.
    ReadWrite,
    /// Open existing files read-only and create nothing (seeding read-only data).
    ReadOnly,
}

/// One file of the torrent on disk.
#[derive(Debug)]
struct FileSlot {
    path: PathBuf,
    length: u64,
    /// The file's length before `Storage::open` created or extended it (`None`: it did not
    /// exist). Bytes past this are zeros we made, so pieces there need no hashing.
    length_at_open: Option<u64>,
    /// Written since the last `flush`.
    dirty: AtomicBool,
}

/// The files of one torrent under a root directory, addressed by piece.
///
/// `Storage` is `Send + Sync`: share it in an `Arc` and call it from blocking threads.
#[derive(Debug)]
pub struct Storage {
    root: PathBuf,
    access: Access,
    files: Vec<FileSlot>,
    geometry: PieceGeometry,
    handles: Mutex<HandleCache>,
    /// Page-cache-bypassing writes of aligned spans, when asked for.
    direct: Option<direct::DirectWrites>,
}

impl Storage {
    /// Opens the torrent's files under `root` for reading and writing, creating `root`,
    /// directories and missing files (sparse, at their full length; zero-length files too).
    /// Existing files keep their data; a short one is extended with a hole.
    pub fn open(root: &Path, info: &Info) -> Result<Storage, StorageError> {
        Self::open_with(root, info, Access::ReadWrite, DEFAULT_OPEN_FILES)
    }

    /// Opens the torrent's existing files under `root` read-only, creating nothing. Missing
    /// or short files are reported when a piece in them is read.
    pub fn open_read_only(root: &Path, info: &Info) -> Result<Storage, StorageError> {
        Self::open_with(root, info, Access::ReadOnly, DEFAULT_OPEN_FILES)
    }

    /// Opens with an explicit access mode and bound on simultaneously open files (at least 1).
    pub fn open_with(
        root: &Path,
        info: &Info,
        access: Access,
        max_open_files: usize,
    ) -> Result<Storage, StorageError> {
        if access == Access::ReadWrite {
            fs::create_dir_all(root).map_err(|e| StorageError::from_io(root, e))?;
        }
        let canonical_root = fs::canonicalize(root).map_err(|e| StorageError::from_io(root, e))?;
        let mut guard = PathGuard::new(canonical_root.clone());
        let mut handles = HandleCache::new(max_open_files.max(1));
        let mut files = Vec::with_capacity(info.files.len());
        for (index, entry) in info.files.iter().enumerate() {
            let relative = entry.relative_path();
            let path = guard.prepare(&relative, access)?;
            let (handle, length_at_open) = match access {
                Access::ReadWrite => {
                    let (file, before) = create_sparse(&path, entry.length)?;
                    (Some(file), before)
                }
                Access::ReadOnly => match File::open(&path) {
                    Ok(file) => {
                        let len = file
                            .metadata()
                            .map_err(|e| StorageError::from_io(&path, e))?
                            .len();
                        (Some(file), Some(len))
                    }
                    Err(e) if e.kind() == io::ErrorKind::NotFound => (None, None),
                    Err(e) => return Err(StorageError::from_io(&path, e)),
                },
            };
            if let Some(file) = handle {
                handles.insert_if_room(index, file);
            }
            files.push(FileSlot {
                path,
                length: entry.length,
                length_at_open,
                dirty: AtomicBool::new(false),
            });
        }
        Ok(Storage {
            root: canonical_root,
            access,
            files,
            geometry: info.geometry(),
            handles: Mutex::new(handles),
            direct: None,
        })
    }

    /// Are aligned spans written with direct I/O (see [`Storage::use_direct_writes`])? False
    /// once the file system refused it or [`Storage::stop_direct_writes`] was called.
    pub fn uses_direct_writes(&self) -> bool {
        self.direct.as_ref().is_some_and(|d| d.is_enabled())
    }

    /// Goes back to buffered writes (through the page cache) for good.
    pub fn stop_direct_writes(&self, why: &str) {
        if let Some(direct) = &self.direct {
            direct.disable(why);
        }
    }

    /// Writes aligned spans straight to disk from now on, bypassing the page cache where the
    /// file system allows (see [`direct`]). No effect on read-only storage.
    pub fn use_direct_writes(&mut self) {
        if self.access == Access::ReadWrite {
            let max_open_files = self.cache().capacity;
            self.direct = Some(direct::DirectWrites::new(max_open_files));
        }
    }

    /// The (canonical) download directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The torrent's pieces and how they map onto its files.
    pub fn geometry(&self) -> &PieceGeometry {
        &self.geometry
    }

    /// Number of pieces in the torrent.
    pub fn piece_count(&self) -> u32 {
        self.geometry.piece_count()
    }

    /// Size in bytes of piece `piece` (the last one may be short).
    pub fn piece_size(&self, piece: u32) -> Result<u32, StorageError> {
        if piece >= self.geometry.piece_count() {
            return Err(StorageError::PieceOutOfRange {
                piece,
                count: self.geometry.piece_count(),
            });
        }
        Ok(self.geometry.piece_size(piece))
    }

    /// Number of files in the torrent.
    pub fn file_count(&self) -> usize {
        self.files.len()
    }

    /// The path on disk of file `index` (as in `Info::files`).
    pub fn file_path(&self, index: usize) -> Option<&Path> {
        self.files.get(index).map(|f| f.path.as_path())
    }

    /// Writes a whole, verified piece to every file it covers (positional writes; aligned
    /// spans bypass the page cache, see [`direct`]).
    pub fn write_piece(&self, piece: u32, data: &[u8]) -> Result<(), StorageError> {
        let size = self.piece_size(piece)?;
        if data.len() != size as usize {
            return Err(StorageError::WrongPieceLength {
                piece,
                expected: size,
                got: data.len(),
            });
        }
        let mut rest = data;
        for span in self.geometry.block_spans(piece, 0, size) {
            let Ok(len) = usize::try_from(span.len) else {
                continue;
            };
            if len == 0 {
                continue;
            }
            let (chunk, tail) = rest.split_at(len.min(rest.len()));
            rest = tail;
            let slot = self.slot(span.file_index)?;
            slot.dirty.store(true, Ordering::Release);
            if let Some(direct) = &self.direct
                && direct.try_write(span.file_index, &slot.path, chunk, span.file_offset)
            {
                continue;
            }
            let file = self.handle(span.file_index)?;
            file.write_all_at(chunk, span.file_offset)
                .map_err(|e| StorageError::from_io(&slot.path, e))?;
        }
        Ok(())
    }

    /// Reads `len` bytes at `begin` within `piece` (a block to send to a peer).
    pub fn read_block(&self, piece: u32, begin: u32, len: u32) -> Result<Bytes, StorageError> {
        let piece_size = self.piece_size(piece)?;
        if u64::from(begin) + u64::from(len) > u64::from(piece_size) {
            return Err(StorageError::BlockOutOfRange {
                piece,
                begin,
                len,
                piece_size,
            });
        }
        let mut buf = vec![0u8; len as usize];
        self.read_spans(piece, begin, &mut buf)?;
        Ok(Bytes::from(buf))
    }

    /// Reads a whole piece.
    pub fn read_piece(&self, piece: u32) -> Result<Vec<u8>, StorageError> {
        let mut buf = Vec::new();
        self.read_piece_into(piece, &mut buf)?;
        Ok(buf)
    }

    /// Reads a whole piece into `buf` (resized to the piece size), reusing its allocation.
    pub fn read_piece_into(&self, piece: u32, buf: &mut Vec<u8>) -> Result<(), StorageError> {
        let size = self.piece_size(piece)?;
        buf.resize(size as usize, 0);
        self.read_spans(piece, 0, buf)
    }

    /// Makes everything written so far durable (`fdatasync` of every file written since the
    /// last flush, reopening files that were closed meanwhile).
    pub fn flush(&self) -> Result<(), StorageError> {
        for (index, slot) in self.files.iter().enumerate() {
            if slot.dirty.swap(false, Ordering::AcqRel) {
                let synced = self.handle(index).and_then(|file| {
                    file.sync_data()
                        .map_err(|e| StorageError::from_io(&slot.path, e))
                });
                if let Err(e) = synced {
                    slot.dirty.store(true, Ordering::Release);
                    return Err(e);
                }
            }
        }
        Ok(())
    }

    /// True if the bytes of `piece` were all on disk before [`Storage::open`] created or
    /// extended any file, so hashing them can find a valid piece. False means the piece is
    /// certainly not there (a missing or short file).
    pub fn piece_was_on_disk(&self, piece: u32) -> bool {
        let Ok(size) = self.piece_size(piece) else {
            return false;
        };
        self.geometry
            .block_spans(piece, 0, size)
            .iter()
            .all(|span| {
                span.len == 0
                    || self.files.get(span.file_index).is_some_and(|slot| {
                        slot.length_at_open
                            .is_some_and(|had| had >= span.file_offset + span.len)
                    })
            })
    }

    /// Current size and modification time of every file (`None` if it cannot be read), in
    /// torrent order; used by the resume record.
    pub fn file_stamps(&self) -> Vec<Option<FileStamp>> {
        self.files
            .iter()
            .map(|slot| FileStamp::of(&slot.path))
            .collect()
    }

    /// The torrent lengths of every file, in torrent order.
    pub fn file_lengths(&self) -> impl Iterator<Item = u64> + '_ {
        self.files.iter().map(|slot| slot.length)
    }

    fn read_spans(&self, piece: u32, begin: u32, buf: &mut [u8]) -> Result<(), StorageError> {
        let len = u32::try_from(buf.len()).unwrap_or(u32::MAX);
        let mut rest = buf;
        for span in self.geometry.block_spans(piece, begin, len) {
            let Ok(span_len) = usize::try_from(span.len) else {
                continue;
            };
            if span_len == 0 {
                continue;
            }
            let rest_all = std::mem::take(&mut rest);
            let (chunk, tail) = rest_all.split_at_mut(span_len.min(rest_all.len()));
            rest = tail;
            let slot = self.slot(span.file_index)?;
            let file = self.handle(span.file_index)?;
            file.read_exact_at(chunk, span.file_offset)
                .map_err(|e| StorageError::from_io(&slot.path, e))?;
        }
        Ok(())
    }

    fn slot(&self, index: usize) -> Result<&FileSlot, StorageError> {
        self.files.get(index).ok_or_else(|| StorageError::Io {
            path: self.root.clone(),
            source: io::Error::other(format!(
                "piece map names file {index}, which does not exist"
            )),
        })
    }

    /// An open handle for file `index`, from the cache or freshly opened.
    fn handle(&self, index: usize) -> Result<Arc<File>, StorageError> {
        if let Some(file) = self.cache().get(index) {
            return Ok(file);
        }
        let slot = self.slot(index)?;
        let opened = match self.access {
            Access::ReadWrite => OpenOptions::new().read(true).write(true).open(&slot.path),
            Access::ReadOnly => File::open(&slot.path),
        };
        let file = opened.map_err(|e| StorageError::from_io(&slot.path, e))?;
        Ok(self.cache().insert(index, file))
    }

    fn cache(&self) -> MutexGuard<'_, HandleCache> {
        self.handles.lock()
    }
}

/// A file's size and modification time (nanoseconds), to notice changes between runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileStamp {
    pub size: u64,
    pub mtime_ns: i128,
}

impl FileStamp {
    /// The stamp of the file at `path` now, `None` if it cannot be read.
    pub fn of(path: &Path) -> Option<FileStamp> {
        use std::os::unix::fs::MetadataExt;
        let meta = fs::metadata(path).ok()?;
        let mtime_ns = i128::from(meta.mtime()) * 1_000_000_000 + i128::from(meta.mtime_nsec());
        Some(FileStamp {
            size: meta.len(),
            mtime_ns,
        })
    }
}

/// Creates (or opens) `path` read + write and makes it at least `length` bytes long without
/// writing data. Returns the file and its length before (`None`: it did not exist).
fn create_sparse(path: &Path, length: u64) -> Result<(File, Option<u64>), StorageError> {
    let existed = match fs::symlink_metadata(path) {
        Ok(meta) if meta.is_dir() => {
            return Err(StorageError::Io {
                path: path.to_path_buf(),
                source: io::Error::other("a directory is in the way of this file"),
            });
        }
        Ok(_) => true,
        Err(e) if e.kind() == io::ErrorKind::NotFound => false,
        Err(e) => return Err(StorageError::from_io(path, e)),
    };
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(|e| StorageError::from_io(path, e))?;
    let before = file
        .metadata()
        .map_err(|e| StorageError::from_io(path, e))?
        .len();
    if before < length {
        file.set_len(length)
            .map_err(|e| StorageError::from_io(path, e))?;
    }
    Ok((file, existed.then_some(before)))
}

/// Turns a torrent-relative path into a path under the root, refusing anything that could
/// lead outside it: non-plain components, and symlinks (directories or the file itself)
/// resolving outside the root. Creates missing directories when writing.
struct PathGuard {
    root: PathBuf,
    /// Directories already known to be inside the root.
    checked_dirs: HashSet<PathBuf>,
}

impl PathGuard {
    fn new(canonical_root: PathBuf) -> Self {
        let mut checked_dirs = HashSet::new();
        checked_dirs.insert(canonical_root.clone());
        PathGuard {
            root: canonical_root,
            checked_dirs,
        }
    }

    fn prepare(&mut self, relative: &Path, access: Access) -> Result<PathBuf, StorageError> {
        let escapes = || StorageError::PathEscapesRoot {
            path: self.root.join(relative),
        };
        let components: Vec<&std::ffi::OsStr> = relative
            .components()
            .map(|c| match c {
                Component::Normal(name) => Ok(name),
                _ => Err(()),
            })
            .collect::<Result<_, _>>()
            .map_err(|()| escapes())?;
        let Some((file_name, dirs)) = components.split_last() else {
            return Err(escapes());
        };
        let mut dir = self.root.clone();
        for name in dirs {
            dir.push(name);
            if !self.checked_dirs.contains(&dir) {
                self.check_dir(&dir, access)?;
                self.checked_dirs.insert(dir.clone());
            }
        }
        let path = dir.join(file_name);
        match fs::symlink_metadata(&path) {
            Ok(meta) if meta.file_type().is_symlink() => self.check_inside(&path)?,
            _ => {}
        }
        Ok(path)
    }

    /// Makes sure `dir` (whose parent is checked) is a directory inside the root, creating it
    /// if missing and writing.
    fn check_dir(&self, dir: &Path, access: Access) -> Result<(), StorageError> {
        match fs::symlink_metadata(dir) {
            Ok(meta) if meta.file_type().is_symlink() => self.check_inside(dir),
            Ok(meta) if meta.is_dir() => Ok(()),
            Ok(_) => Err(StorageError::Io {
                path: dir.to_path_buf(),
                source: io::Error::other("a file is in the way of this directory"),
            }),
            Err(e) if e.kind() == io::ErrorKind::NotFound && access == Access::ReadWrite => {
                match fs::create_dir(dir) {
                    Ok(()) => Ok(()),
                    Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                        self.check_dir(dir, access)
                    }
                    Err(e) => Err(StorageError::from_io(dir, e)),
                }
            }
            // Reading: a missing directory just means missing files.
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(StorageError::from_io(dir, e)),
        }
    }

    /// Resolves a symlink and refuses it unless the target is inside the root.
    fn check_inside(&self, path: &Path) -> Result<(), StorageError> {
        match fs::canonicalize(path) {
            Ok(target) if target.starts_with(&self.root) => Ok(()),
            Ok(_) => Err(StorageError::PathEscapesRoot {
                path: path.to_path_buf(),
            }),
            // A dangling link could be created through; refuse it.
            Err(_) => Err(StorageError::PathEscapesRoot {
                path: path.to_path_buf(),
            }),
        }
    }
}

/// A bounded set of open files, least recently used evicted first.
#[derive(Debug)]
struct HandleCache {
    capacity: usize,
    open: HashMap<usize, CachedFile>,
    clock: u64,
}

#[derive(Debug)]
struct CachedFile {
    file: Arc<File>,
    last_used: u64,
}

impl HandleCache {
    fn new(capacity: usize) -> Self {
        HandleCache {
            capacity,
            open: HashMap::new(),
            clock: 0,
        }
    }

    fn get(&mut self, index: usize) -> Option<Arc<File>> {
        self.clock += 1;
        let clock = self.clock;
        self.open.get_mut(&index).map(|entry| {
            entry.last_used = clock;
            Arc::clone(&entry.file)
        })
    }

    /// Caches `file` (or keeps the handle another thread cached first) and returns it.
    fn insert(&mut self, index: usize, file: File) -> Arc<File> {
        if let Some(existing) = self.get(index) {
            return existing;
        }
        if self.open.len() >= self.capacity {
            self.evict_one();
        }
        let file = Arc::new(file);
        self.clock += 1;
        self.open.insert(
            index,
            CachedFile {
                file: Arc::clone(&file),
                last_used: self.clock,
            },
        );
        file
    }

    /// Caches `file` only if the cache is not full (used while opening many files).
    fn insert_if_room(&mut self, index: usize, file: File) {
        if self.open.len() < self.capacity {
            self.insert(index, file);
        }
    }

    fn evict_one(&mut self) {
        let oldest = self
            .open
            .iter()
            .min_by_key(|(_, entry)| entry.last_used)
            .map(|(&i, _)| i);
        if let Some(index) = oldest {
            // Threads still using the handle keep it alive through their Arc.
            self.open.remove(&index);
        }
    }
}

#[cfg(test)]
pub(crate) mod test_support;
#[cfg(test)]
mod tests;

mod direct;
