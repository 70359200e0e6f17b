use std::fs;
use std::sync::Arc;

use super::test_support::*;
use super::*;

fn write_all_pieces(storage: &Storage, info: &Info, data: &[u8]) {
    for (piece, chunk) in data.chunks(info.piece_length as usize).enumerate() {
        storage.write_piece(piece as u32, chunk).unwrap();
    }
}

#[test]
fn storage_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Storage>();
}

#[test]
fn open_creates_directories_and_sparse_files_including_empty_ones() {
    let dir = tempfile::tempdir().unwrap();
    let (info, _) = awkward_torrent();
    let storage = Storage::open(&dir.path().join("new/out"), &info).unwrap();
    for entry in &info.files {
        let path = dir.path().join("new/out").join(entry.relative_path());
        let meta = fs::metadata(&path).unwrap();
        assert!(meta.is_file(), "{}", path.display());
        assert_eq!(meta.len(), entry.length, "{}", path.display());
    }
    // Sparse: the 1000-byte file has no data blocks yet (a hole reads as zeros).
    assert_eq!(storage.read_block(2, 0, 64).unwrap().as_ref(), &[0u8; 64]);
    for piece in 0..storage.piece_count() {
        assert!(!storage.piece_was_on_disk(piece));
    }
}

#[test]
fn write_then_read_round_trips_across_file_boundaries() {
    let dir = tempfile::tempdir().unwrap();
    let (info, data) = awkward_torrent();
    let storage = Storage::open(dir.path(), &info).unwrap();
    write_all_pieces(&storage, &info, &data);
    storage.flush().unwrap();
    for entry in &info.files {
        let on_disk = fs::read(dir.path().join(entry.relative_path())).unwrap();
        let start = entry.offset as usize;
        assert_eq!(on_disk, &data[start..start + entry.length as usize]);
    }
    let piece_length = info.piece_length as usize;
    for piece in 0..info.piece_count() {
        let start = piece as usize * piece_length;
        let end = (start + piece_length).min(data.len());
        assert_eq!(storage.read_piece(piece).unwrap(), &data[start..end]);
    }
    // A block straddling a.5 | sub/b | ... and one inside the short last piece.
    assert_eq!(storage.read_block(0, 3, 10).unwrap().as_ref(), &data[3..13]);
    let last = info.piece_count() - 1;
    let last_start = last as usize * piece_length;
    let last_size = storage.piece_size(last).unwrap();
    assert!(last_size < info.piece_length as u32);
    assert_eq!(
        storage.read_block(last, 1, last_size - 1).unwrap().as_ref(),
        &data[last_start + 1..]
    );
}

#[test]
fn single_file_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let data = payload(10_000, 7);
    let info = single_file_info("file.bin", 4096, &data);
    let storage = Storage::open(dir.path(), &info).unwrap();
    write_all_pieces(&storage, &info, &data);
    storage.flush().unwrap();
    assert_eq!(fs::read(dir.path().join("file.bin")).unwrap(), data);
}

#[test]
fn bad_ranges_are_errors_not_panics() {
    let dir = tempfile::tempdir().unwrap();
    let (info, _) = awkward_torrent();
    let storage = Storage::open(dir.path(), &info).unwrap();
    let count = storage.piece_count();
    assert!(matches!(
        storage.read_block(count, 0, 1),
        Err(StorageError::PieceOutOfRange { .. })
    ));
    assert!(matches!(
        storage.read_piece(u32::MAX),
        Err(StorageError::PieceOutOfRange { .. })
    ));
    assert!(matches!(
        storage.read_block(0, 60, 5),
        Err(StorageError::BlockOutOfRange { .. })
    ));
    assert!(matches!(
        storage.read_block(0, u32::MAX, u32::MAX),
        Err(StorageError::BlockOutOfRange { .. })
    ));
    assert!(matches!(
        storage.write_piece(0, &[0; 3]),
        Err(StorageError::WrongPieceLength { .. })
    ));
    assert!(matches!(
        storage.write_piece(count, &[]),
        Err(StorageError::PieceOutOfRange { .. })
    ));
    assert_eq!(storage.read_block(0, 64, 0).unwrap().len(), 0);
}

#[test]
fn existing_files_are_kept_and_short_ones_extended() {
    let dir = tempfile::tempdir().unwrap();
    let (info, data) = awkward_torrent();
    write_files(dir.path(), &info, &data);
    // sub/b short by 40 bytes, d missing.
    let b = dir.path().join("t/sub/b");
    fs::write(&b, &data[5..65]).unwrap();
    fs::remove_file(dir.path().join("t/d")).unwrap();

    let storage = Storage::open(dir.path(), &info).unwrap();
    assert_eq!(fs::metadata(&b).unwrap().len(), 100);
    assert_eq!(&fs::read(&b).unwrap()[..60], &data[5..65]);
    assert_eq!(fs::read(dir.path().join("t/a")).unwrap(), &data[..5]);
    // Piece 0 = a[0..5] + b[0..59]: all there before open. Piece 1 reaches into b's hole.
    assert!(storage.piece_was_on_disk(0));
    assert!(!storage.piece_was_on_disk(1));
    assert!(!storage.piece_was_on_disk(storage.piece_count() - 1));
}

#[test]
fn read_only_storage_reports_missing_and_short_files_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let (info, data) = awkward_torrent();
    write_files(dir.path(), &info, &data);
    fs::remove_file(dir.path().join("t/a")).unwrap();
    let d = dir.path().join("t/d");
    fs::write(&d, &data[108..500]).unwrap();

    let storage = Storage::open_read_only(dir.path(), &info).unwrap();
    assert!(
        !dir.path().join("t/a").exists(),
        "read-only storage must create nothing"
    );
    let err = storage.read_block(0, 0, 10).unwrap_err();
    assert!(matches!(err, StorageError::Missing { .. }), "{err:?}");
    assert!(err.to_string().contains("t/a"), "{err}");
    let last = storage.piece_count() - 1;
    assert!(matches!(
        storage.read_piece(last),
        Err(StorageError::Missing { .. })
    ));
    assert!(!storage.piece_was_on_disk(0));
    assert!(!storage.piece_was_on_disk(last));
    // Piece 2 (bytes 128..192) lies in d's first 392 bytes: readable and correct.
    assert!(storage.piece_was_on_disk(2));
    assert_eq!(storage.read_piece(2).unwrap(), &data[128..192]);
}

#[test]
fn missing_file_after_open_is_a_clean_error() {
    let dir = tempfile::tempdir().unwrap();
    let (info, _) = awkward_torrent();
    let storage = Storage::open_with(dir.path(), &info, Access::ReadWrite, 1).unwrap();
    fs::remove_file(dir.path().join("t/a")).unwrap();
    // With one handle cached (not a), reading a must reopen it and fail.
    let _ = storage.read_block(3, 0, 1);
    let err = storage.read_block(0, 0, 5).unwrap_err();
    assert!(matches!(err, StorageError::Missing { .. }), "{err:?}");
}

#[test]
fn handle_cache_stays_bounded_and_io_still_works() {
    let dir = tempfile::tempdir().unwrap();
    let files: Vec<(String, u64)> = (0..50).map(|i| (format!("f{i:02}"), 7 + i % 3)).collect();
    let file_refs: Vec<(&str, u64)> = files.iter().map(|(p, l)| (p.as_str(), *l)).collect();
    let total: u64 = file_refs.iter().map(|f| f.1).sum();
    let data = payload(total as usize, 3);
    let info = multi_file_info("many", 16, &file_refs, &data);
    let storage = Arc::new(Storage::open_with(dir.path(), &info, Access::ReadWrite, 4).unwrap());
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let storage = Arc::clone(&storage);
            let info = info.clone();
            let data = data.clone();
            std::thread::spawn(move || {
                for (piece, chunk) in data.chunks(16).enumerate().filter(|(p, _)| p % 4 == t) {
                    storage.write_piece(piece as u32, chunk).unwrap();
                    assert_eq!(storage.read_piece(piece as u32).unwrap(), chunk);
                }
                drop(info);
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    assert!(storage.cache().open.len() <= 4);
    // The process really holds at most 4 descriptors for this torrent's files.
    let open_here = fs::read_dir("/proc/self/fd")
        .unwrap()
        .filter_map(|entry| fs::read_link(entry.ok()?.path()).ok())
        .filter(|target| target.starts_with(dir.path()))
        .count();
    assert!(open_here <= 4, "{open_here} files open");
    storage.flush().unwrap();
    for entry in &info.files {
        let start = entry.offset as usize;
        assert_eq!(
            fs::read(dir.path().join(entry.relative_path())).unwrap(),
            &data[start..start + entry.length as usize]
        );
    }
}

#[test]
fn symlinked_directory_leading_outside_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    let (info, _) = awkward_torrent();
    fs::create_dir_all(dir.path().join("t")).unwrap();
    std::os::unix::fs::symlink(outside.path(), dir.path().join("t/sub")).unwrap();
    let err = Storage::open(dir.path(), &info).unwrap_err();
    assert!(
        matches!(err, StorageError::PathEscapesRoot { .. }),
        "{err:?}"
    );
    assert!(
        fs::read_dir(outside.path()).unwrap().next().is_none(),
        "nothing created outside"
    );
}

#[test]
fn symlinked_file_leading_outside_is_refused_but_inside_is_fine() {
    let dir = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    let (info, _) = awkward_torrent();
    fs::create_dir_all(dir.path().join("t")).unwrap();
    fs::write(outside.path().join("victim"), b"keep").unwrap();
    std::os::unix::fs::symlink(outside.path().join("victim"), dir.path().join("t/a")).unwrap();
    let err = Storage::open(dir.path(), &info).unwrap_err();
    assert!(
        matches!(err, StorageError::PathEscapesRoot { .. }),
        "{err:?}"
    );
    assert_eq!(fs::read(outside.path().join("victim")).unwrap(), b"keep");

    fs::remove_file(dir.path().join("t/a")).unwrap();
    fs::create_dir_all(dir.path().join("real")).unwrap();
    std::os::unix::fs::symlink(dir.path().join("real"), dir.path().join("t/sub")).unwrap();
    Storage::open(dir.path(), &info).unwrap();
    assert_eq!(fs::metadata(dir.path().join("real/b")).unwrap().len(), 100);
}

#[test]
fn path_with_parent_components_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let data = payload(10, 1);
    let mut info = single_file_info("x", 16, &data);
    info.files[0].path = vec!["..".into(), "escape".into()];
    let err = Storage::open(&dir.path().join("root"), &info).unwrap_err();
    assert!(
        matches!(err, StorageError::PathEscapesRoot { .. }),
        "{err:?}"
    );
    assert!(!dir.path().join("escape").exists());
}

#[test]
fn a_directory_in_the_way_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let data = payload(10, 1);
    let info = single_file_info("x", 16, &data);
    fs::create_dir_all(dir.path().join("x")).unwrap();
    let err = Storage::open(dir.path(), &info).unwrap_err();
    assert!(matches!(err, StorageError::Io { .. }), "{err:?}");
}

#[test]
fn io_errors_are_classified_and_one_line() {
    let path = Path::new("/data/file");
    let cases = [
        (28, "DiskFull"),    // ENOSPC
        (122, "DiskFull"),   // EDQUOT
        (13, "NotWritable"), // EACCES
        (1, "NotWritable"),  // EPERM
        (30, "NotWritable"), // EROFS
        (2, "Missing"),      // ENOENT
        (5, "Io"),           // EIO
    ];
    for (errno, variant) in cases {
        let err = StorageError::from_io(path, io::Error::from_raw_os_error(errno));
        assert!(
            format!("{err:?}").starts_with(variant),
            "errno {errno}: {err:?}"
        );
        let text = err.to_string();
        assert!(
            !text.contains('\n') && text.contains("/data/file"),
            "{text}"
        );
    }
    assert!(StorageError::from_io(path, io::Error::from_raw_os_error(28)).is_disk_full());
}

mod properties {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        /// Any layout (zero-length files anywhere, pieces spanning many files, short last
        /// piece): writing every piece puts exactly the data in the files, and any block reads
        /// back the right bytes.
        #[test]
        fn any_layout_round_trips(
            lengths in proptest::collection::vec(0u64..40, 1..10),
            piece_length in 1u64..50,
            blocks in proptest::collection::vec((any::<prop::sample::Index>(), 0u32..50, 0u32..50), 1..8),
        ) {
            let total: u64 = lengths.iter().sum();
            prop_assume!(total > 0);
            let names: Vec<String> = (0..lengths.len()).map(|i| format!("d{}/f{i}", i % 3)).collect();
            let files: Vec<(&str, u64)> = names.iter().map(String::as_str).zip(lengths.iter().copied()).collect();
            let data = payload(total as usize, total);
            let info = multi_file_info("p", piece_length, &files, &data);
            let dir = tempfile::tempdir().unwrap();
            let storage = Storage::open_with(dir.path(), &info, Access::ReadWrite, 2).unwrap();
            write_all_pieces(&storage, &info, &data);
            for entry in &info.files {
                let start = entry.offset as usize;
                let on_disk = fs::read(dir.path().join(entry.relative_path())).unwrap();
                prop_assert_eq!(on_disk.as_slice(), &data[start..start + entry.length as usize]);
            }
            for (piece, begin, len) in blocks {
                let piece = piece.index(info.piece_count() as usize) as u32;
                let size = storage.piece_size(piece).unwrap();
                let start = piece as usize * piece_length as usize;
                match storage.read_block(piece, begin, len) {
                    Ok(block) => prop_assert_eq!(
                        block.as_ref(),
                        &data[start + begin as usize..start + (begin + len) as usize]
                    ),
                    Err(StorageError::BlockOutOfRange { .. }) => prop_assert!(begin + len > size),
                    Err(e) => prop_assert!(false, "unexpected error {e}"),
                }
            }
            let verified = crate::torrent::open::recheck(&storage, &info, &|_, _| {}).unwrap();
            // Written after open, so the recheck trusts nothing it would have to read.
            prop_assert!(verified.is_empty());
            let reopened = Storage::open_read_only(dir.path(), &info).unwrap();
            let verified = crate::torrent::open::recheck(&reopened, &info, &|_, _| {}).unwrap();
            prop_assert!(verified.is_complete());
        }
    }
}
