//! Opening a torrent before it joins the swarm (blocking; run off the async runtime): its
//! record in the state directory (locked), its files, and the pieces already verified —
//! from the resume record when it can be trusted, else by rechecking the data.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use metainfo::verify::{PieceCheck, PieceReader, verify_pieces};
use metainfo::{Info, Metainfo};

use crate::disk::DiskIo;
use crate::events::{IncompleteFile, TorrentError};
use crate::state::{StateDir, TorrentRecord};
use crate::storage::{Storage, StorageError};
use crate::wire::Bitfield;

/// A torrent ready to join the swarm.
pub struct Opened {
    pub storage: Arc<Storage>,
    pub have: Bitfield,
    pub record: TorrentRecord,
}

/// Opens `meta`'s data under `data_dir`. `seed_only`: read-only, nothing created. `verified`:
/// pieces known good already (skips the recheck). `progress(checked, total)` reports a
/// recheck, from worker threads.
pub fn open(
    meta: &Metainfo,
    data_dir: &Path,
    state: &StateDir,
    seed_only: bool,
    disk_io: DiskIo,
    verified: Option<Bitfield>,
    progress: &(dyn Fn(u32, u32) + Sync),
) -> Result<Opened, TorrentError> {
    let info = &meta.info;
    u32::try_from(info.piece_length).map_err(|_| TorrentError::PieceTooLarge(info.piece_length))?;
    let record = state.open_record(&meta.info_hash, data_dir)?;
    // The metainfo copy says "downloaded here": a library folder is what `swarm get` filled
    // (see `StateDir::torrents_in`). Seeding keeps none, so a metainfo file removed from a
    // library stops being seeded there.
    if !seed_only {
        record.save_meta(&meta.to_bytes())?;
    }
    let storage = if seed_only {
        Storage::open_read_only(data_dir, info)?
    } else {
        let mut storage = Storage::open(data_dir, info)?;
        if disk_io != DiskIo::Buffered {
            storage.use_direct_writes();
        }
        storage
    };
    let have = match verified.or_else(|| record.load_resume(&meta.info_hash, info)) {
        Some(have) if have.piece_count() == info.piece_count() => have,
        _ => recheck(&storage, info, progress)?,
    };
    Ok(Opened {
        storage: Arc::new(storage),
        have,
        record,
    })
}

/// Re-hashes every piece whose bytes were on disk when `storage` was opened (the one verify
/// routine, `metainfo::verify`: in parallel, pieces side by side, buffers reused). Pieces in
/// missing or short files count as missing without being read; other read errors fail.
pub fn recheck(
    storage: &Storage,
    info: &Info,
    progress: &(dyn Fn(u32, u32) + Sync),
) -> Result<Bitfield, StorageError> {
    let total = info.piece_count();
    let on_disk: Vec<u32> = (0..total)
        .filter(|p| storage.piece_was_on_disk(*p))
        .collect();
    let skipped = total - on_disk.len() as u32;
    let checked = AtomicU32::new(skipped);
    let results = verify_pieces(&StorageReader(storage), &info.pieces, &on_disk, |_, _| {
        progress(checked.fetch_add(1, Ordering::Relaxed) + 1, total);
    });
    if on_disk.is_empty() {
        progress(total, total);
    }
    let mut have = Bitfield::new(total);
    for (piece, result) in on_disk.iter().zip(results) {
        match result {
            PieceCheck::Good => {
                let _ = have.set(*piece);
            }
            PieceCheck::Bad | PieceCheck::Unreadable(StorageError::Missing { .. }) => {}
            PieceCheck::Unreadable(e) => return Err(e),
        }
    }
    Ok(have)
}

/// The files of `info` under `data_dir` that `have` does not cover whole, with how much of
/// each lies in verified pieces: what a torrent that only seeds cannot serve. Zero-length
/// files are never incomplete. Costs one pass over the pieces; reads nothing from disk.
pub fn incomplete_files(info: &Info, have: &Bitfield, data_dir: &Path) -> Vec<IncompleteFile> {
    if have.is_complete() {
        return Vec::new();
    }
    let geometry = info.geometry();
    let mut incomplete = Vec::new();
    for (index, file) in info.files.iter().enumerate() {
        let Some(bytes) = geometry.file_bytes(index) else {
            continue;
        };
        let pieces = geometry.pieces_of_file(index);
        if pieces.clone().all(|p| have.get(p)) {
            continue;
        }
        let verified_bytes = pieces
            .filter(|p| have.get(*p))
            .filter_map(|p| geometry.piece_bytes(p))
            .map(|piece| {
                piece
                    .end
                    .min(bytes.end)
                    .saturating_sub(piece.start.max(bytes.start))
            })
            .sum();
        incomplete.push(IncompleteFile {
            path: data_dir.join(file.relative_path()),
            length: file.length,
            verified_bytes,
        });
    }
    incomplete
}

/// Reads pieces for the recheck from a torrent's storage.
struct StorageReader<'a>(&'a Storage);

impl PieceReader for StorageReader<'_> {
    type Error = StorageError;

    fn read_piece(&self, index: u32, buf: &mut Vec<u8>) -> Result<(), StorageError> {
        self.0.read_piece_into(index, buf)
    }
}

#[cfg(test)]
mod tests {
    use std::fs;

    use parking_lot::Mutex;

    use super::*;
    use crate::storage::test_support::*;

    #[test]
    fn recheck_finds_good_bad_and_missing_pieces_across_files() {
        let dir = tempfile::tempdir().unwrap();
        let (info, data) = awkward_torrent();
        // Pieces (64 bytes): 0 = a + b[0..59]; 1 = b[59..100] + c + d[0..20]; 2.. in d; last short.
        write_files(dir.path(), &info, &data);
        // Corrupt one byte of c (piece 1); make d short so the last piece is missing.
        let c = dir.path().join("t/sub/deeper/c");
        fs::write(&c, [data[105] ^ 1, data[106], data[107]]).unwrap();
        fs::write(dir.path().join("t/d"), &data[108..108 + 900]).unwrap();
        // Zero-length files gone entirely must not matter to any piece.
        fs::remove_file(dir.path().join("t/empty0")).unwrap();
        fs::remove_file(dir.path().join("t/z-empty2")).unwrap();

        let storage = Storage::open(dir.path(), &info).unwrap();
        let seen = Mutex::new(Vec::new());
        let verified = recheck(&storage, &info, &|checked, _| seen.lock().push(checked)).unwrap();
        let verified: Vec<bool> = (0..info.piece_count()).map(|p| verified.get(p)).collect();

        let count = info.piece_count() as usize;
        let d_end_before_open = 108 + 900;
        let expected: Vec<bool> = (0..count)
            .map(|p| p != 1 && (p + 1) * 64 <= d_end_before_open)
            .collect();
        assert_eq!(verified, expected);
        assert!(verified[0] && !verified[1] && verified[2] && !verified[count - 1]);
        let seen = seen.into_inner();
        assert_eq!(
            seen.iter().max(),
            Some(&(count as u32)),
            "progress reaches the total"
        );
    }

    #[test]
    fn incomplete_files_names_each_file_a_missing_piece_touches_and_what_of_it_is_good() {
        let (info, _) = awkward_torrent();
        let count = info.piece_count();
        let mut have = Bitfield::full(count);
        // Piece 1 spans b, c and d (see above); the last piece is in d only.
        have.clear(1).unwrap();
        let found = incomplete_files(&info, &have, Path::new("/data"));
        let names: Vec<String> = found
            .iter()
            .map(|f| {
                f.path
                    .strip_prefix("/data/t")
                    .unwrap()
                    .display()
                    .to_string()
            })
            .collect();
        assert_eq!(names, ["sub/b", "sub/deeper/c", "d"]);
        assert_eq!(found[2].verified_bytes, 980, "d but its first 20 bytes");
        let b = &found[0];
        assert_eq!(b.length, 100);
        assert_eq!(b.verified_bytes, 59, "b's bytes in piece 0 are good");
        assert_eq!(found[1].verified_bytes, 0, "c lies in piece 1 only");
        assert!(incomplete_files(&info, &Bitfield::full(count), Path::new("/x")).is_empty());
    }

    #[test]
    fn recheck_of_a_fresh_download_reads_nothing_and_finds_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let (info, _) = awkward_torrent();
        let storage = Storage::open(dir.path(), &info).unwrap();
        let verified = recheck(&storage, &info, &|_, _| {}).unwrap();
        assert!(verified.is_empty());
    }

    #[test]
    fn recheck_of_complete_data_read_only() {
        let dir = tempfile::tempdir().unwrap();
        let data = payload(100_000, 5);
        let info = single_file_info("one", 16384, &data);
        write_files(dir.path(), &info, &data);
        let storage = Storage::open_read_only(dir.path(), &info).unwrap();
        assert!(recheck(&storage, &info, &|_, _| {}).unwrap().is_complete());
    }
}
