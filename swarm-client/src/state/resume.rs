//! Resuming a download: a small record of verified pieces kept in the download directory,
//! and a parallel recheck of the data when the record is missing or stale.
//!
//! The record lives at `DIR/.swarm/<info-hash-hex>.resume` and stores the info-hash, the
//! verified-piece bitmap and every file's size and modification time at save time. It is
//! trusted only if all of these still match; otherwise the caller rechecks. It is written
//! atomically (temporary file, fsync, rename), so a crash at any point leaves either the old
//! record, the new one, or none.
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
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

use metainfo::{Info, InfoHash, Metainfo};
use rayon::prelude::*;

use crate::storage::{FileStamp, Storage, StorageError};
use crate::verify;

/// The directory inside DIR holding swarm's own files.
pub const STATE_DIR: &str = ".swarm";

const MAGIC: &[u8; 8] = b"SWARMRES";
const VERSION: u32 = 2;
const HEADER_LEN: usize = 8 + 4 + 20 + 4 + 8 + 1 + 16;
const STAMP_LEN: usize = 8 + 16;
const CHECKSUM_LEN: usize = 20;

/// A resume record: which pieces were verified, and the state of the files at that time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResumeRecord {
    pub info_hash: InfoHash,
    pub verified: Vec<bool>,
    /// Size and mtime of each file, in torrent order (`None`: could not be read when saved).
    pub files: Vec<Option<FileStamp>>,
    /// Saved after the data was flushed: trusted across reboots.
    pub durable: bool,
    /// The kernel's boot id when saved (zeros if unknown); a record that is not durable is
    /// trusted only while it is still the same.
    pub boot_id: [u8; 16],
}

impl ResumeRecord {
    /// Where the record of torrent `info_hash` lives under `root`.
    pub fn path(root: &Path, info_hash: &InfoHash) -> PathBuf {
        root.join(STATE_DIR).join(format!("{info_hash}.resume"))
    }

    /// The verified pieces recorded for this torrent under `root`, or `None` if there is no
    /// record or it cannot be trusted (unreadable, corrupt, another torrent, or any file's size
    /// or mtime changed since it was saved): then the caller must [`recheck`].
    pub fn load(root: &Path, meta: &Metainfo) -> Option<Vec<bool>> {
        Self::load_for(root, &meta.info_hash, &meta.info)
    }

    /// [`ResumeRecord::load`] given the info-hash and info rather than the whole metainfo.
    pub fn load_for(root: &Path, info_hash: &InfoHash, info: &Info) -> Option<Vec<bool>> {
        Self::load_matching(root, info_hash, info, &current_stamps(root, info))
    }

    /// The recorded verified pieces if the record is intact and was saved when the files had
    /// exactly `stamps`.
    fn load_matching(
        root: &Path,
        info_hash: &InfoHash,
        info: &Info,
        stamps: &[Option<FileStamp>],
    ) -> Option<Vec<bool>> {
        Self::load_trusted(root, info_hash, info, stamps).map(|record| record.verified)
    }

    /// The record, if intact, saved when the files had exactly `stamps`, and either durable or
    /// saved during this boot.
    fn load_trusted(
        root: &Path,
        info_hash: &InfoHash,
        info: &Info,
        stamps: &[Option<FileStamp>],
    ) -> Option<ResumeRecord> {
        let path = Self::path(root, info_hash);
        let expected_len = encoded_len(info.piece_count(), info.files.len());
        // Refuse anything not exactly the expected size before reading it.
        if fs::metadata(&path).ok()?.len() != expected_len as u64 {
            return None;
        }
        let record = Self::decode(&fs::read(&path).ok()?)?;
        if record.info_hash != *info_hash
            || record.verified.len() != info.piece_count() as usize
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

    /// Saves `verified` as a durable record for this torrent under `root`, atomically.
    ///
    /// The data must already be durable: call [`Storage::flush`] first (or use
    /// [`ResumeRecord::save_flushed`]), so the record never claims pieces a crash could lose.
    pub fn save(root: &Path, meta: &Metainfo, verified: &[bool]) -> Result<(), StorageError> {
        Self::save_for(root, &meta.info_hash, &meta.info, verified)
    }

    /// [`ResumeRecord::save`] given the info-hash and info rather than the whole metainfo.
    ///
    /// Saves may overlap (a periodic background save finishing after the final one): they run
    /// one at a time, and a record that is still valid (files unchanged) and already claims
    /// every piece in `verified` is kept rather than replaced by an older, smaller snapshot.
    pub fn save_for(
        root: &Path,
        info_hash: &InfoHash,
        info: &Info,
        verified: &[bool],
    ) -> Result<(), StorageError> {
        Self::save_with(root, info_hash, info, verified, true)
    }

    /// Saves `verified` without flushing the data first: the record is trusted until the next
    /// boot only (see the module doc). Fast: no waiting for the disk.
    pub fn save_unflushed(
        storage: &Storage,
        meta: &Metainfo,
        verified: &[bool],
    ) -> Result<(), StorageError> {
        Self::save_with(storage.root(), &meta.info_hash, &meta.info, verified, false)
    }

    fn save_with(
        root: &Path,
        info_hash: &InfoHash,
        info: &Info,
        verified: &[bool],
        durable: bool,
    ) -> Result<(), StorageError> {
        static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());
        let _saving = ONE_AT_A_TIME.lock().unwrap_or_else(PoisonError::into_inner);
        let stamps = current_stamps(root, info);
        if let Some(existing) = Self::load_trusted(root, info_hash, info, &stamps) {
            let covers = existing.verified.len() == verified.len()
                && (existing.durable || !durable)
                && existing
                    .verified
                    .iter()
                    .zip(verified)
                    .all(|(&had, &new)| had || !new);
            if covers {
                return Ok(());
            }
        }
        let record = ResumeRecord {
            info_hash: *info_hash,
            verified: verified.to_vec(),
            files: stamps,
            durable,
            boot_id: current_boot_id().unwrap_or_default(),
        };
        write_atomically(&Self::path(root, info_hash), &record.encode())
    }

    /// Flushes `storage`, then saves `verified` as the record in the storage's root.
    pub fn save_flushed(
        storage: &Storage,
        meta: &Metainfo,
        verified: &[bool],
    ) -> Result<(), StorageError> {
        storage.flush()?;
        Self::save(storage.root(), meta, verified)
    }

    /// Deletes the record (e.g. when the data is known to be gone). Missing is fine.
    pub fn remove(root: &Path, info_hash: &InfoHash) -> Result<(), StorageError> {
        let path = Self::path(root, info_hash);
        match fs::remove_file(&path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(StorageError::from_io(&path, e)),
            _ => Ok(()),
        }
    }

    /// The record in its on-disk format.
    pub fn encode(&self) -> Vec<u8> {
        let piece_count = u32::try_from(self.verified.len()).unwrap_or(u32::MAX);
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
        out.extend_from_slice(&pack_bits(&self.verified));
        let checksum = verify::sha1(&out);
        out.extend_from_slice(&checksum);
        out
    }

    /// Parses a record, `None` if it is malformed in any way (bad magic, version, length,
    /// checksum, or spare bits set).
    pub fn decode(bytes: &[u8]) -> Option<ResumeRecord> {
        let (body, checksum) = bytes.split_at_checked(bytes.len().checked_sub(CHECKSUM_LEN)?)?;
        if verify::sha1(body) != checksum {
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
        let verified = unpack_bits(reader.take(bitmap_len(piece_count))?, piece_count)?;
        reader.0.is_empty().then_some(ResumeRecord {
            info_hash,
            verified,
            files,
            durable,
            boot_id,
        })
    }
}

/// Re-hashes every piece whose bytes were on disk when `storage` was opened, in parallel on
/// the rayon pool, [`verify::HASH_LANES`] pieces side by side per worker (one buffer per lane,
/// reused). Pieces in missing or short files are `false` without being read. `progress` is
/// called once per piece checked, with its index, from the worker threads. Read errors other
/// than missing data are returned.
pub fn recheck(
    storage: &Storage,
    info: &Info,
    progress: impl Fn(u32) + Sync,
) -> Result<Vec<bool>, StorageError> {
    let pieces: Vec<u32> = (0..info.piece_count()).collect();
    let checked = pieces
        .par_chunks(verify::HASH_LANES)
        .map_init(Vec::new, |buffers, chunk| {
            let good = check_pieces(storage, info, chunk, buffers)?;
            chunk.iter().for_each(|piece| progress(*piece));
            Ok(good)
        })
        .collect::<Result<Vec<Vec<bool>>, StorageError>>()?;
    Ok(checked.concat())
}

/// Whether each of `pieces` is on disk and hashes right, hashing them side by side.
fn check_pieces(
    storage: &Storage,
    info: &Info,
    pieces: &[u32],
    buffers: &mut Vec<Vec<u8>>,
) -> Result<Vec<bool>, StorageError> {
    buffers.resize_with(pieces.len().max(buffers.len()), Vec::new);
    let mut read = Vec::with_capacity(pieces.len());
    for (&piece, buffer) in pieces.iter().zip(buffers.iter_mut()) {
        let on_disk = info.piece_hash(piece).is_some() && storage.piece_was_on_disk(piece);
        let readable = on_disk
            && match storage.read_piece_into(piece, buffer) {
                Ok(()) => true,
                Err(StorageError::Missing { .. }) => false,
                Err(e) => return Err(e),
            };
        read.push(readable);
    }
    let messages: Vec<&[u8]> = buffers
        .iter()
        .zip(&read)
        .filter(|(_, readable)| **readable)
        .map(|(buffer, _)| buffer.as_slice())
        .collect();
    let mut digests = verify::sha1_many(&messages).into_iter();
    Ok(pieces
        .iter()
        .zip(read)
        .map(|(piece, readable)| readable && digests.next().as_ref() == info.piece_hash(*piece))
        .collect())
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

/// Writes `contents` to `path` so that a crash leaves either the old file or the new one:
/// a temporary file in the same directory, fsync, rename, fsync of the directory.
fn write_atomically(path: &Path, contents: &[u8]) -> Result<(), StorageError> {
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
        file.sync_all()
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
    if let Ok(dir) = File::open(dir) {
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

/// Packs booleans into bytes, high bit first (the BitTorrent bitfield order).
pub fn pack_bits(bits: &[bool]) -> Vec<u8> {
    let mut out = vec![0u8; bits.len().div_ceil(8)];
    for (i, _) in bits.iter().enumerate().filter(|(_, b)| **b) {
        out[i / 8] |= 0x80 >> (i % 8);
    }
    out
}

/// Unpacks `count` booleans packed by [`pack_bits`]; `None` if the length is wrong or a spare
/// bit is set.
pub fn unpack_bits(bytes: &[u8], count: u32) -> Option<Vec<bool>> {
    let count = count as usize;
    if bytes.len() != count.div_ceil(8) {
        return None;
    }
    let bit = |i: usize| bytes[i / 8] & (0x80 >> (i % 8)) != 0;
    if (count..bytes.len() * 8).any(bit) {
        return None;
    }
    Some((0..count).map(bit).collect())
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
mod tests;
