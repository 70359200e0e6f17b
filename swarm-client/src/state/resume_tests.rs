use std::fs;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use super::*;
use crate::storage::test_support::*;

fn hash() -> InfoHash {
    InfoHash([0xab; 20])
}

fn some_bits(count: u32) -> Vec<bool> {
    (0..count).map(|i| i % 3 != 1).collect()
}

/// Sets a file's mtime to a fixed time in the past so a later write surely changes it.
fn backdate(path: &Path) {
    let file = fs::File::options().write(true).open(path).unwrap();
    file.set_modified(SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000))
        .unwrap();
}

#[test]
fn bits_pack_and_unpack() {
    for count in [0u32, 1, 7, 8, 9, 17] {
        let bits = some_bits(count);
        let packed = pack_bits(&bits);
        assert_eq!(packed.len(), count.div_ceil(8) as usize);
        assert_eq!(unpack_bits(&packed, count), Some(bits));
    }
    assert_eq!(
        pack_bits(&[true, false, false, false, false, false, false, false, true]),
        [0x80, 0x80]
    );
    assert_eq!(unpack_bits(&[0x80, 0x40], 9), None, "spare bit set");
    assert_eq!(unpack_bits(&[0x80], 9), None, "too short");
}

#[test]
fn encode_decode_round_trip_and_corruption_is_rejected() {
    let record = ResumeRecord {
        info_hash: hash(),
        verified: some_bits(13),
        files: vec![
            Some(FileStamp {
                size: 5,
                mtime_ns: -3,
            }),
            None,
        ],
        durable: false,
        boot_id: [7; 16],
    };
    let bytes = record.encode();
    assert_eq!(bytes.len(), encoded_len(13, 2));
    assert_eq!(ResumeRecord::decode(&bytes), Some(record));
    for cut in 0..bytes.len() {
        assert_eq!(
            ResumeRecord::decode(&bytes[..cut]),
            None,
            "truncated to {cut}"
        );
    }
    for i in 0..bytes.len() {
        let mut flipped = bytes.clone();
        flipped[i] ^= 0x10;
        assert_eq!(ResumeRecord::decode(&flipped), None, "byte {i} flipped");
    }
    assert_eq!(ResumeRecord::decode(&[]), None);
}

#[test]
fn save_load_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let (info, data) = awkward_torrent();
    let storage = Storage::open(dir.path(), &info).unwrap();
    for piece in [0u32, 2] {
        let start = piece as usize * 64;
        storage
            .write_piece(piece, &data[start..start + 64])
            .unwrap();
    }
    let verified: Vec<bool> = (0..info.piece_count()).map(|p| p == 0 || p == 2).collect();
    storage.flush().unwrap();
    ResumeRecord::save_for(dir.path(), &hash(), &info, &verified).unwrap();
    assert!(ResumeRecord::path(dir.path(), &hash()).starts_with(dir.path().join(".swarm")));
    assert_eq!(
        ResumeRecord::load_for(dir.path(), &hash(), &info),
        Some(verified.clone())
    );
    // Saving again replaces it atomically and leaves no temporary file behind.
    ResumeRecord::save_for(dir.path(), &hash(), &info, &vec![true; verified.len()]).unwrap();
    assert_eq!(
        ResumeRecord::load_for(dir.path(), &hash(), &info),
        Some(vec![true; verified.len()])
    );
    let names: Vec<_> = fs::read_dir(dir.path().join(".swarm"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 1, "{names:?}");
    // Another torrent's hash finds nothing; removing makes it go away.
    assert_eq!(
        ResumeRecord::load_for(dir.path(), &InfoHash([1; 20]), &info),
        None
    );
    ResumeRecord::remove(dir.path(), &hash()).unwrap();
    ResumeRecord::remove(dir.path(), &hash()).unwrap();
    assert_eq!(ResumeRecord::load_for(dir.path(), &hash(), &info), None);
}

#[test]
fn stale_mtime_or_size_means_no_record() {
    let dir = tempfile::tempdir().unwrap();
    let (info, data) = awkward_torrent();
    write_files(dir.path(), &info, &data);
    let d = dir.path().join("t/d");
    backdate(&d);
    let verified = vec![true; info.piece_count() as usize];
    ResumeRecord::save_for(dir.path(), &hash(), &info, &verified).unwrap();
    assert!(ResumeRecord::load_for(dir.path(), &hash(), &info).is_some());

    // Same size, new content written after the save: mtime changed.
    fs::write(&d, payload(1000, 9)).unwrap();
    assert_eq!(ResumeRecord::load_for(dir.path(), &hash(), &info), None);

    // Size changed (mtime restored to the saved one does not help).
    backdate(&d);
    ResumeRecord::save_for(dir.path(), &hash(), &info, &verified).unwrap();
    fs::File::options()
        .write(true)
        .open(&d)
        .unwrap()
        .set_len(999)
        .unwrap();
    backdate(&d);
    assert_eq!(ResumeRecord::load_for(dir.path(), &hash(), &info), None);

    // A file gone.
    fs::File::options()
        .write(true)
        .open(&d)
        .unwrap()
        .set_len(1000)
        .unwrap();
    ResumeRecord::save_for(dir.path(), &hash(), &info, &verified).unwrap();
    fs::remove_file(dir.path().join("t/sub/empty1")).unwrap();
    assert_eq!(ResumeRecord::load_for(dir.path(), &hash(), &info), None);
}

#[test]
fn truncated_or_corrupt_record_on_disk_means_no_record() {
    let dir = tempfile::tempdir().unwrap();
    let (info, data) = awkward_torrent();
    write_files(dir.path(), &info, &data);
    let verified = vec![true; info.piece_count() as usize];
    ResumeRecord::save_for(dir.path(), &hash(), &info, &verified).unwrap();
    let path = ResumeRecord::path(dir.path(), &hash());
    let good = fs::read(&path).unwrap();

    fs::write(&path, &good[..good.len() - 1]).unwrap();
    assert_eq!(ResumeRecord::load_for(dir.path(), &hash(), &info), None);
    let mut corrupt = good.clone();
    corrupt[50] ^= 0xff;
    fs::write(&path, &corrupt).unwrap();
    assert_eq!(ResumeRecord::load_for(dir.path(), &hash(), &info), None);
    fs::write(&path, b"").unwrap();
    assert_eq!(ResumeRecord::load_for(dir.path(), &hash(), &info), None);
    // A record made for a torrent with another piece count does not apply.
    fs::write(&path, &good).unwrap();
    let mut other = info.clone();
    other.pieces.pop();
    assert_eq!(ResumeRecord::load_for(dir.path(), &hash(), &other), None);
    assert!(ResumeRecord::load_for(dir.path(), &hash(), &info).is_some());
}

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
    let verified = recheck(&storage, &info, |piece| seen.lock().unwrap().push(piece)).unwrap();

    let count = info.piece_count() as usize;
    let d_end_before_open = 108 + 900;
    let expected: Vec<bool> = (0..count)
        .map(|p| p != 1 && (p + 1) * 64 <= d_end_before_open)
        .collect();
    assert_eq!(verified, expected);
    assert!(verified[0] && !verified[1] && verified[2] && !verified[count - 1]);
    let mut seen = seen.into_inner().unwrap();
    seen.sort_unstable();
    assert_eq!(seen, (0..count as u32).collect::<Vec<_>>());
}

#[test]
fn recheck_of_a_fresh_download_reads_nothing_and_finds_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (info, _) = awkward_torrent();
    let storage = Storage::open(dir.path(), &info).unwrap();
    let verified = recheck(&storage, &info, |_| {}).unwrap();
    assert!(verified.iter().all(|v| !v));
}

#[test]
fn recheck_of_complete_data_read_only() {
    let dir = tempfile::tempdir().unwrap();
    let data = payload(100_000, 5);
    let info = single_file_info("one", 16384, &data);
    write_files(dir.path(), &info, &data);
    let storage = Storage::open_read_only(dir.path(), &info).unwrap();
    assert!(recheck(&storage, &info, |_| {}).unwrap().iter().all(|v| *v));
}

#[test]
fn concurrent_saves_never_corrupt_the_record() {
    let dir = tempfile::tempdir().unwrap();
    let (info, data) = awkward_torrent();
    write_files(dir.path(), &info, &data);
    let count = info.piece_count() as usize;
    std::thread::scope(|scope| {
        for t in 0..4 {
            let info = &info;
            let root = dir.path();
            scope.spawn(move || {
                for i in 0..20 {
                    let verified: Vec<bool> = (0..count).map(|p| (p + i + t) % 2 == 0).collect();
                    ResumeRecord::save_for(root, &hash(), info, &verified).unwrap();
                }
            });
        }
    });
    assert!(ResumeRecord::load_for(dir.path(), &hash(), &info).is_some());
    let names: Vec<_> = fs::read_dir(dir.path().join(".swarm"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 1, "temporary files left: {names:?}");
}

mod properties {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn decode_never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let _ = ResumeRecord::decode(&bytes);
        }

        #[test]
        fn round_trip_and_any_single_change_is_caught(
            bits in proptest::collection::vec(any::<bool>(), 0..70),
            sizes in proptest::collection::vec(any::<u64>(), 0..5),
            index in any::<prop::sample::Index>(),
            flip in 1u8..=255,
        ) {
            let record = ResumeRecord {
                info_hash: hash(),
                verified: bits,
                files: sizes.iter().map(|&size| Some(FileStamp { size: size >> 1, mtime_ns: i128::from(size) * 3 })).collect(),
                durable: flip % 2 == 0,
                boot_id: [flip; 16],
            };
            let bytes = record.encode();
            prop_assert_eq!(ResumeRecord::decode(&bytes), Some(record));
            let mut changed = bytes.clone();
            changed[index.index(bytes.len())] ^= flip;
            prop_assert_eq!(ResumeRecord::decode(&changed), None);
        }
    }
}

#[test]
fn an_older_smaller_snapshot_never_replaces_a_valid_record() {
    let dir = tempfile::tempdir().unwrap();
    let (info, data) = awkward_torrent();
    write_files(dir.path(), &info, &data);
    let count = info.piece_count() as usize;
    let all = vec![true; count];
    let some: Vec<bool> = (0..count).map(|p| p < 3).collect();
    ResumeRecord::save_for(dir.path(), &hash(), &info, &all).unwrap();
    // A background save of an earlier state finishing late.
    ResumeRecord::save_for(dir.path(), &hash(), &info, &some).unwrap();
    assert_eq!(
        ResumeRecord::load_for(dir.path(), &hash(), &info),
        Some(all.clone())
    );
    // Once the data changes the old record is void, and the smaller one is saved.
    let d = dir.path().join("t/d");
    backdate(&d);
    ResumeRecord::save_for(dir.path(), &hash(), &info, &some).unwrap();
    assert_eq!(
        ResumeRecord::load_for(dir.path(), &hash(), &info),
        Some(some.clone())
    );
    // More pieces always replace fewer.
    ResumeRecord::save_for(dir.path(), &hash(), &info, &all).unwrap();
    assert_eq!(
        ResumeRecord::load_for(dir.path(), &hash(), &info),
        Some(all)
    );
}

/// Rewrites the record under `root` as if saved during another boot.
fn pretend_saved_in_another_boot(root: &Path) {
    let path = ResumeRecord::path(root, &hash());
    let mut record = ResumeRecord::decode(&fs::read(&path).unwrap()).unwrap();
    record.boot_id = [0xee; 16];
    fs::write(&path, record.encode()).unwrap();
}

#[test]
fn unflushed_record_is_trusted_until_the_next_boot_only() {
    if current_boot_id().is_none() {
        return; // Not Linux: every record must be durable to be trusted.
    }
    let dir = tempfile::tempdir().unwrap();
    let (info, data) = awkward_torrent();
    let storage = Storage::open(dir.path(), &info).unwrap();
    storage.write_piece(0, &data[..64]).unwrap();
    let verified: Vec<bool> = (0..info.piece_count()).map(|p| p == 0).collect();

    ResumeRecord::save_with(dir.path(), &hash(), &info, &verified, false).unwrap();
    assert_eq!(
        ResumeRecord::load_for(dir.path(), &hash(), &info),
        Some(verified.clone()),
        "same boot: the page cache still holds the data"
    );
    pretend_saved_in_another_boot(dir.path());
    assert_eq!(ResumeRecord::load_for(dir.path(), &hash(), &info), None);

    // A durable record (saved after a flush) survives reboots.
    storage.flush().unwrap();
    ResumeRecord::save_for(dir.path(), &hash(), &info, &verified).unwrap();
    pretend_saved_in_another_boot(dir.path());
    assert_eq!(
        ResumeRecord::load_for(dir.path(), &hash(), &info),
        Some(verified.clone())
    );
    // An unflushed save with no new pieces does not replace a durable record; one that adds
    // pieces does.
    ResumeRecord::save_with(dir.path(), &hash(), &info, &verified, false).unwrap();
    let path = ResumeRecord::path(dir.path(), &hash());
    assert!(
        ResumeRecord::decode(&fs::read(&path).unwrap())
            .unwrap()
            .durable
    );
    let more: Vec<bool> = (0..info.piece_count()).map(|p| p <= 1).collect();
    ResumeRecord::save_with(dir.path(), &hash(), &info, &more, false).unwrap();
    assert!(
        !ResumeRecord::decode(&fs::read(&path).unwrap())
            .unwrap()
            .durable
    );
}
