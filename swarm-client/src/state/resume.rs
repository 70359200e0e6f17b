//! The resume record: which pieces were verified, so a download continues without
//! rechecking its data. One record per torrent and download folder, in the state directory
//! (see [`super`]).
//!
//! The record stores the info-hash, the verified-piece bitmap and every file's size and
//! modification time at save time. It is trusted only if all of these still match; otherwise
//! the caller rechecks. It is written atomically (temporary file, fsync, rename), so a crash at
//! any point leaves either the old record, the new one, or none.
//!
//! Durability without waiting for the disk: a record saved after the data was flushed is
//! *durable* and trusted from then on. A record saved without flushing (the periodic saves,
//! and the one written when `swarm get` ends — flushing a whole download would add seconds to
//! it) carries the kernel's boot id and is trusted only until the next boot: written data
//! sits in the page cache, which survives the process being killed (even `kill -9`) and is
//! lost only when the kernel goes down, and a reboot changes the boot id. So a record never
//! claims a piece that a crash could have lost; after a reboot such a record is rechecked.
//!
//! Format (all integers little-endian):
//! `"SWARMRES"`, version `u32`, info-hash `[u8; 20]`, piece count `u32`, file count `u64`,
//! durable `u8` (0 or 1), boot id `[u8; 16]` (zeros if unknown), per file size `u64` + mtime
//! in ns `i128`, bitmap (`ceil(pieces / 8)` bytes, high bit = lowest piece, as on the wire),
//! then the SHA-1 of everything before it.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use metainfo::{Info, InfoHash};
use parking_lot::Mutex;
use sha1::{Digest, Sha1};

use crate::storage::{FileStamp, StorageError};
use crate::wire::Bitfield;

const MAGIC: &[u8; 8] = b"SWARMRES";
const VERSION: u32 = 2;
const HEADER_LEN: usize = 8 + 4 + 20 + 4 + 8 + 1 + 16;
const STAMP_LEN: usize = 8 + 16;
const CHECKSUM_LEN: usize = 20;

/// A resume record: which pieces were verified, and the state of the files at that time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResumeRecord {
    pub info_hash: InfoHash,
    pub verified: Bitfield,
    /// Size and mtime of each file, in torrent order (`None`: could not be read when saved).
    pub files: Vec<Option<FileStamp>>,
    /// Saved after the data was flushed: trusted across reboots.
    pub durable: bool,
    /// The kernel's boot id when saved (zeros if unknown); a record that is not durable is
    /// trusted only while it is still the same.
    pub boot_id: [u8; 16],
}

impl ResumeRecord {
    /// The verified pieces recorded at `path` for the torrent whose files are under
    /// `data_root`, or `None` if there is no record or it cannot be trusted (unreadable,
    /// corrupt, another torrent, any file's size or mtime changed since it was saved, or not
    /// durable and saved before the last boot): then the caller must recheck.
    pub fn load(
        path: &Path,
        data_root: &Path,
        info_hash: &InfoHash,
        info: &Info,
    ) -> Option<Bitfield> {
        let stamps = current_stamps(data_root, info);
        Self::load_trusted(path, info_hash, info, &stamps).map(|record| record.verified)
    }

    /// The record, if intact, saved when the files had exactly `stamps`, and either durable or
    /// saved during this boot.
    fn load_trusted(
        path: &Path,
        info_hash: &InfoHash,
        info: &Info,
        stamps: &[Option<FileStamp>],
    ) -> Option<ResumeRecord> {
        let expected_len = encoded_len(info.piece_count(), info.files.len());
        // Refuse anything not exactly the expected size before reading it.
        if fs::metadata(path).ok()?.len() != expected_len as u64 {
            return None;
        }
        let record = Self::decode(&fs::read(path).ok()?)?;
        if record.info_hash != *info_hash
            || record.verified.piece_count() != info.piece_count()
            || stamps.iter().any(Option::is_none)
            || record.files != stamps
            || !(record.durable || record.saved_this_boot())
        {
            return None;
        }
        Some(record)
    }

    fn saved_this_boot(&self) -> bool {
        self.boot_id != [0; 16] && current_boot_id() == Some(self.boot_id)
    }

    /// Saves `verified` at `path`, atomically, for the torrent whose files are under
    /// `data_root`. A `durable` record claims the data is on stable storage: flush it first.
    ///
    /// Saves may overlap (a periodic background save finishing after the final one): they run
    /// one at a time, and a record that is still valid (files unchanged) and already claims
    /// every piece in `verified` is kept rather than replaced by an older, smaller snapshot.
    pub fn save(
        path: &Path,
        data_root: &Path,
        info_hash: &InfoHash,
        info: &Info,
        verified: &Bitfield,
        durable: bool,
    ) -> Result<(), StorageError> {
        static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());
        let _saving = ONE_AT_A_TIME.lock();
        let stamps = current_stamps(data_root, info);
        if let Some(existing) = Self::load_trusted(path, info_hash, info, &stamps) {
            let covers = existing.verified.piece_count() == verified.piece_count()
                && (existing.durable || !durable)
                && verified.iter_ones().all(|i| existing.verified.get(i));
            if covers {
                return Ok(());
            }
        }
        let record = ResumeRecord {
            info_hash: *info_hash,
            verified: verified.clone(),
            files: stamps,
            durable,
            boot_id: current_boot_id().unwrap_or_default(),
        };
        // An unflushed record is trusted only until the next boot, and only a crash of the
        // kernel can undo a write that skipped fsync, so syncing it would buy nothing. And it
        // is not free: on ext4 an fsync commits the journal, which waits for every direct
        // write's extent conversion (0.1 s after a 64 MiB download, seconds on a busy disk).
        let persistence = if durable {
            Persistence::Durable
        } else {
            Persistence::UntilReboot
        };
        write_replacing(path, &record.encode(), persistence)
    }

    /// The record in its on-disk format.
    pub fn encode(&self) -> Vec<u8> {
        let piece_count = self.verified.piece_count();
        let mut out = Vec::with_capacity(encoded_len(piece_count, self.files.len()));
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&VERSION.to_le_bytes());
        out.extend_from_slice(self.info_hash.as_bytes());
        out.extend_from_slice(&piece_count.to_le_bytes());
        out.extend_from_slice(&(self.files.len() as u64).to_le_bytes());
        out.push(u8::from(self.durable));
        out.extend_from_slice(&self.boot_id);
        for stamp in &self.files {
            // An unreadable file gets a stamp no real file has, so it never matches.
            let stamp = stamp.unwrap_or(FileStamp {
                size: u64::MAX,
                mtime_ns: i128::MIN,
            });
            out.extend_from_slice(&stamp.size.to_le_bytes());
            out.extend_from_slice(&stamp.mtime_ns.to_le_bytes());
        }
        out.extend_from_slice(self.verified.as_bytes());
        let checksum: [u8; 20] = Sha1::digest(&out).into();
        out.extend_from_slice(&checksum);
        out
    }

    /// Parses a record, `None` if it is malformed in any way (bad magic, version, length,
    /// checksum, or spare bits set).
    pub fn decode(bytes: &[u8]) -> Option<ResumeRecord> {
        let (body, checksum) = bytes.split_at_checked(bytes.len().checked_sub(CHECKSUM_LEN)?)?;
        if Sha1::digest(body).as_slice() != checksum {
            return None;
        }
        let mut reader = Reader(body);
        if reader.take(8)? != MAGIC || u32::from_le_bytes(reader.array()?) != VERSION {
            return None;
        }
        let info_hash = InfoHash(reader.array()?);
        let piece_count = u32::from_le_bytes(reader.array()?);
        let file_count = usize::try_from(u64::from_le_bytes(reader.array()?)).ok()?;
        if body.len() + CHECKSUM_LEN != encoded_len_checked(piece_count, file_count)? {
            return None;
        }
        let durable = match reader.array::<1>()? {
            [0] => false,
            [1] => true,
            _ => return None,
        };
        let boot_id = reader.array()?;
        let mut files = Vec::with_capacity(file_count);
        for _ in 0..file_count {
            let size = u64::from_le_bytes(reader.array()?);
            let mtime_ns = i128::from_le_bytes(reader.array()?);
            let unreadable = size == u64::MAX && mtime_ns == i128::MIN;
            files.push((!unreadable).then_some(FileStamp { size, mtime_ns }));
        }
        let verified =
            Bitfield::from_wire(reader.take(bitmap_len(piece_count))?, piece_count).ok()?;
        reader.0.is_empty().then_some(ResumeRecord {
            info_hash,
            verified,
            files,
            durable,
            boot_id,
        })
    }
}

/// The running kernel's boot id (Linux: `/proc/sys/kernel/random/boot_id`, a UUID), which
/// changes at every boot; `None` elsewhere.
fn current_boot_id() -> Option<[u8; 16]> {
    let text = fs::read_to_string("/proc/sys/kernel/random/boot_id").ok()?;
    let hex: String = text.trim().chars().filter(|c| *c != '-').collect();
    let mut id = [0u8; 16];
    hex::decode_to_slice(hex, &mut id).ok()?;
    Some(id)
}

/// Size and mtime of each of the torrent's files under `root`, now.
fn current_stamps(root: &Path, info: &Info) -> Vec<Option<FileStamp>> {
    info.files
        .iter()
        .map(|entry| FileStamp::of(&root.join(entry.relative_path())))
        .collect()
}

/// How far a replaced file must survive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Persistence {
    /// Across a crash of the machine: fsync before and after the rename.
    Durable,
    /// Only while the kernel runs (readers never see a half-written file; a crash may leave
    /// the old one, the new one or none).
    UntilReboot,
}

/// Writes `contents` to `path` so that a crash leaves either the old file or the new one:
/// a temporary file in the same directory, fsync, rename, fsync of the directory.
pub(crate) fn write_atomically(path: &Path, contents: &[u8]) -> Result<(), StorageError> {
    write_replacing(path, contents, Persistence::Durable)
}

/// Writes `contents` to a temporary file beside `path` and renames it over `path`, with the
/// fsyncs `persistence` asks for.
pub(crate) fn write_replacing(
    path: &Path,
    contents: &[u8],
    persistence: Persistence,
) -> Result<(), StorageError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir).map_err(|e| StorageError::from_io(dir, e))?;
    // Unique per process and call, so concurrent saves never share a temporary file.
    static SAVES: AtomicU64 = AtomicU64::new(0);
    let mut tmp_name = path.file_name().unwrap_or_default().to_os_string();
    let call = SAVES.fetch_add(1, Ordering::Relaxed);
    tmp_name.push(format!(".tmp{}-{call}", std::process::id()));
    let tmp = dir.join(tmp_name);
    let written = (|| {
        let mut file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&tmp)?;
        file.write_all(contents)?;
        match persistence {
            Persistence::Durable => file.sync_all(),
            Persistence::UntilReboot => Ok(()),
        }
    })();
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(StorageError::from_io(&tmp, e));
    }
    fs::rename(&tmp, path).map_err(|e| {
        let _ = fs::remove_file(&tmp);
        StorageError::from_io(path, e)
    })?;
    // Make the rename itself durable; failure here is not worth failing the save for.
    if persistence == Persistence::Durable
        && let Ok(dir) = File::open(dir)
    {
        let _ = dir.sync_all();
    }
    Ok(())
}

fn bitmap_len(piece_count: u32) -> usize {
    (piece_count as usize).div_ceil(8)
}

fn encoded_len(piece_count: u32, file_count: usize) -> usize {
    encoded_len_checked(piece_count, file_count).unwrap_or(usize::MAX)
}

fn encoded_len_checked(piece_count: u32, file_count: usize) -> Option<usize> {
    file_count
        .checked_mul(STAMP_LEN)?
        .checked_add(HEADER_LEN + CHECKSUM_LEN)?
        .checked_add(bitmap_len(piece_count))
}

/// A cursor over a byte slice that fails instead of panicking at the end.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (head, tail) = self.0.split_at_checked(n)?;
        self.0 = tail;
        Some(head)
    }

    fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.take(N)?.try_into().ok()
    }
}

#[cfg(test)]
#[path = "resume_tests.rs"]
mod tests;
