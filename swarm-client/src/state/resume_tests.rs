use std::fs;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use super::*;
use crate::storage::Storage;
use crate::storage::test_support::*;

fn hash() -> InfoHash {
    InfoHash([0xab; 20])
}

fn some_bits(count: u32) -> Vec<bool> {
    (0..count).map(|i| i % 3 != 1).collect()
}

fn bits(flags: &[bool]) -> Bitfield {
    let mut field = Bitfield::new(flags.len() as u32);
    for (i, _) in flags.iter().enumerate().filter(|(_, f)| **f) {
        field.set(i as u32).unwrap();
    }
    field
}

fn flags(field: &Bitfield) -> Vec<bool> {
    (0..field.piece_count()).map(|i| field.get(i)).collect()
}

/// Where the tests keep the record of the torrent whose files are under `root`.
fn record(root: &Path) -> PathBuf {
    root.join("state").join("resume")
}

fn save_with(
    root: &Path,
    info: &Info,
    verified: &[bool],
    durable: bool,
) -> Result<(), StorageError> {
    ResumeRecord::save(&record(root), root, &hash(), info, &bits(verified), durable)
}

fn save_for(root: &Path, info: &Info, verified: &[bool]) -> Result<(), StorageError> {
    save_with(root, info, verified, true)
}

fn load_for(root: &Path, info_hash: &InfoHash, info: &Info) -> Option<Vec<bool>> {
    ResumeRecord::load(&record(root), root, info_hash, info).map(|f| flags(&f))
}

fn remove(root: &Path) -> std::io::Result<()> {
    match fs::remove_file(record(root)) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// Sets a file's mtime to a fixed time in the past so a later write surely changes it.
fn backdate(path: &Path) {
    let file = fs::File::options().write(true).open(path).unwrap();
    file.set_modified(SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000))
        .unwrap();
}

#[test]
fn encode_decode_round_trip_and_corruption_is_rejected() {
    let record = ResumeRecord {
        info_hash: hash(),
        verified: bits(&some_bits(13)),
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
    save_for(dir.path(), &info, &verified).unwrap();
    assert_eq!(load_for(dir.path(), &hash(), &info), Some(verified.clone()));
    // Saving again replaces it atomically and leaves no temporary file behind.
    save_for(dir.path(), &info, &vec![true; verified.len()]).unwrap();
    assert_eq!(
        load_for(dir.path(), &hash(), &info),
        Some(vec![true; verified.len()])
    );
    let names: Vec<_> = fs::read_dir(dir.path().join("state"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 1, "{names:?}");
    // Another torrent's hash finds nothing; removing makes it go away.
    assert_eq!(load_for(dir.path(), &InfoHash([1; 20]), &info), None);
    remove(dir.path()).unwrap();
    remove(dir.path()).unwrap();
    assert_eq!(load_for(dir.path(), &hash(), &info), None);
}

#[test]
fn stale_mtime_or_size_means_no_record() {
    let dir = tempfile::tempdir().unwrap();
    let (info, data) = awkward_torrent();
    write_files(dir.path(), &info, &data);
    let d = dir.path().join("t/d");
    backdate(&d);
    let verified = vec![true; info.piece_count() as usize];
    save_for(dir.path(), &info, &verified).unwrap();
    assert!(load_for(dir.path(), &hash(), &info).is_some());

    // Same size, new content written after the save: mtime changed.
    fs::write(&d, payload(1000, 9)).unwrap();
    assert_eq!(load_for(dir.path(), &hash(), &info), None);

    // Size changed (mtime restored to the saved one does not help).
    backdate(&d);
    save_for(dir.path(), &info, &verified).unwrap();
    fs::File::options()
        .write(true)
        .open(&d)
        .unwrap()
        .set_len(999)
        .unwrap();
    backdate(&d);
    assert_eq!(load_for(dir.path(), &hash(), &info), None);

    // A file gone.
    fs::File::options()
        .write(true)
        .open(&d)
        .unwrap()
        .set_len(1000)
        .unwrap();
    save_for(dir.path(), &info, &verified).unwrap();
    fs::remove_file(dir.path().join("t/sub/empty1")).unwrap();
    assert_eq!(load_for(dir.path(), &hash(), &info), None);
}

#[test]
fn truncated_or_corrupt_record_on_disk_means_no_record() {
    let dir = tempfile::tempdir().unwrap();
    let (info, data) = awkward_torrent();
    write_files(dir.path(), &info, &data);
    let verified = vec![true; info.piece_count() as usize];
    save_for(dir.path(), &info, &verified).unwrap();
    let path = record(dir.path());
    let good = fs::read(&path).unwrap();

    fs::write(&path, &good[..good.len() - 1]).unwrap();
    assert_eq!(load_for(dir.path(), &hash(), &info), None);
    let mut corrupt = good.clone();
    corrupt[50] ^= 0xff;
    fs::write(&path, &corrupt).unwrap();
    assert_eq!(load_for(dir.path(), &hash(), &info), None);
    fs::write(&path, b"").unwrap();
    assert_eq!(load_for(dir.path(), &hash(), &info), None);
    // A record made for a torrent with another piece count does not apply.
    fs::write(&path, &good).unwrap();
    let mut other = info.clone();
    other.pieces.pop();
    assert_eq!(load_for(dir.path(), &hash(), &other), None);
    assert!(load_for(dir.path(), &hash(), &info).is_some());
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
                    save_for(root, info, &verified).unwrap();
                }
            });
        }
    });
    assert!(load_for(dir.path(), &hash(), &info).is_some());
    let names: Vec<_> = fs::read_dir(dir.path().join("state"))
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
            flags in proptest::collection::vec(any::<bool>(), 0..70),
            sizes in proptest::collection::vec(any::<u64>(), 0..5),
            index in any::<prop::sample::Index>(),
            flip in 1u8..=255,
        ) {
            let record = ResumeRecord {
                info_hash: hash(),
                verified: bits(&flags),
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
    save_for(dir.path(), &info, &all).unwrap();
    // A background save of an earlier state finishing late.
    save_for(dir.path(), &info, &some).unwrap();
    assert_eq!(load_for(dir.path(), &hash(), &info), Some(all.clone()));
    // Once the data changes the old record is void, and the smaller one is saved.
    let d = dir.path().join("t/d");
    backdate(&d);
    save_for(dir.path(), &info, &some).unwrap();
    assert_eq!(load_for(dir.path(), &hash(), &info), Some(some.clone()));
    // More pieces always replace fewer.
    save_for(dir.path(), &info, &all).unwrap();
    assert_eq!(load_for(dir.path(), &hash(), &info), Some(all));
}

/// Rewrites the record under `root` as if saved during another boot.
fn pretend_saved_in_another_boot(root: &Path) {
    let path = record(root);
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

    save_with(dir.path(), &info, &verified, false).unwrap();
    assert_eq!(
        load_for(dir.path(), &hash(), &info),
        Some(verified.clone()),
        "same boot: the page cache still holds the data"
    );
    pretend_saved_in_another_boot(dir.path());
    assert_eq!(load_for(dir.path(), &hash(), &info), None);

    // A durable record (saved after a flush) survives reboots.
    storage.flush().unwrap();
    save_for(dir.path(), &info, &verified).unwrap();
    pretend_saved_in_another_boot(dir.path());
    assert_eq!(load_for(dir.path(), &hash(), &info), Some(verified.clone()));
    // An unflushed save with no new pieces does not replace a durable record; one that adds
    // pieces does.
    save_with(dir.path(), &info, &verified, false).unwrap();
    let path = record(dir.path());
    assert!(
        ResumeRecord::decode(&fs::read(&path).unwrap())
            .unwrap()
            .durable
    );
    let more: Vec<bool> = (0..info.piece_count()).map(|p| p <= 1).collect();
    save_with(dir.path(), &info, &more, false).unwrap();
    assert!(
        !ResumeRecord::decode(&fs::read(&path).unwrap())
            .unwrap()
            .durable
    );
}
