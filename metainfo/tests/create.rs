//! Metainfo creation: walk order and rules, piece hashes against a reference computed on the
//! concatenated payload, progress, options, and round trips through the parser.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use metainfo::create::{
    CreateError, CreateOptions, TrackerSource, create, create_with_report, input_length, make, plan,
};
use metainfo::verify::{PieceReader, verify_all};
use metainfo::{Metainfo, MetainfoError};
use sha1::{Digest, Sha1};

/// Deterministic pseudo-random bytes.
fn data(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..len)
        .map(|_| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 33) as u8
        })
        .collect()
}

fn reference_pieces(payload: &[u8], piece_length: usize) -> Vec<[u8; 20]> {
    payload
        .chunks(piece_length)
        .map(|chunk| Sha1::digest(chunk).into())
        .collect()
}

fn fixed(piece_length: u64) -> CreateOptions {
    CreateOptions {
        piece_length: Some(piece_length),
        creation_date: Some(1_700_000_000),
        ..CreateOptions::default()
    }
}

fn write(root: &Path, relative: &str, bytes: &[u8]) {
    let path = root.join(relative);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, bytes).unwrap();
}

#[test]
fn single_file_with_odd_piece_length() {
    let dir = tempfile::tempdir().unwrap();
    let payload = data(100_000, 1);
    write(dir.path(), "file.bin", &payload);
    let meta = create(&dir.path().join("file.bin"), &fixed(3 << 10), |_| {}).unwrap();
    assert!(meta.info.single_file);
    assert_eq!(meta.info.name, "file.bin");
    assert_eq!(meta.info.piece_length, 3072);
    assert_eq!(meta.info.total_length(), 100_000);
    assert_eq!(meta.info.files.len(), 1);
    assert_eq!(meta.info.files[0].path, vec!["file.bin"]);
    assert_eq!(meta.info.pieces, reference_pieces(&payload, 3072));
}

#[test]
fn large_file_spanning_many_tasks() {
    // 20 MiB + a bit at an odd piece length: several parallel tasks and a short last piece.
    let dir = tempfile::tempdir().unwrap();
    let payload = data((20 << 20) + 12_345, 2);
    write(dir.path(), "big", &payload);
    for piece_length in [16_385u64, 1 << 20, 5 << 20] {
        let meta = create(&dir.path().join("big"), &fixed(piece_length), |_| {}).unwrap();
        assert_eq!(
            meta.info.pieces,
            reference_pieces(&payload, piece_length as usize)
        );
    }
}

#[test]
fn directory_walk_is_sorted_and_pieces_span_files() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("tree");
    // Written out of order; the walk sorts by byte order of each component.
    let files: &[(&str, usize)] = &[
        ("b/z.txt", 5_000),
        ("B.txt", 1),
        ("a.txt", 10_000),
        (".hidden", 300),
        ("b/a/deep.bin", 70_000),
        ("empty.txt", 0),
        ("b/a/Z", 17),
    ];
    for (i, (path, len)) in files.iter().enumerate() {
        write(&root, path, &data(*len, i as u64 + 10));
    }
    fs::create_dir_all(root.join("empty/dir")).unwrap();
    let meta = create(&root, &fixed(16 << 10), |_| {}).unwrap();
    let order: Vec<String> = meta.info.files.iter().map(|f| f.display_path()).collect();
    assert_eq!(
        order,
        [
            "tree/.hidden",
            "tree/B.txt",
            "tree/a.txt",
            "tree/b/a/Z",
            "tree/b/a/deep.bin",
            "tree/b/z.txt",
            "tree/empty.txt",
        ]
    );
    assert!(!meta.info.single_file);
    let mut payload = Vec::new();
    for file in &meta.info.files {
        payload.extend(fs::read(root.join(file.path[1..].join("/"))).unwrap());
    }
    assert_eq!(meta.info.pieces, reference_pieces(&payload, 16 << 10));
    let mut offset = 0;
    for file in &meta.info.files {
        assert_eq!(file.offset, offset);
        offset += file.length;
    }
    assert_eq!(
        input_length(&root, &fixed(1)).unwrap(),
        payload.len() as u64
    );
}

#[test]
fn progress_adds_up_to_the_total() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "t/one", &data(3 << 20, 3));
    write(dir.path(), "t/two", &data(12_345, 4));
    let hashed = AtomicU64::new(0);
    let meta = create(&dir.path().join("t"), &fixed(32 << 10), |n| {
        hashed.fetch_add(n, Ordering::Relaxed);
    })
    .unwrap();
    assert_eq!(hashed.load(Ordering::Relaxed), meta.info.total_length());
}

#[test]
fn options_fill_the_optional_fields_and_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "d/x", &data(50_000, 5));
    let options = CreateOptions {
        trackers: vec![
            "http://127.0.0.1:6969/announce".into(),
            "udp://127.0.0.1:6969".into(),
        ],
        private: true,
        comment: Some("a comment".into()),
        name: Some("renamed".into()),
        web_seeds: vec!["http://127.0.0.1:8000/".into()],
        created_by: Some("tester".into()),
        ..fixed(16 << 10)
    };
    let meta = create(&dir.path().join("d"), &options, |_| {}).unwrap();
    assert_eq!(meta.info.name, "renamed");
    assert_eq!(meta.info.files[0].path, vec!["renamed", "x"]);
    assert!(meta.info.private);
    assert_eq!(
        meta.announce.as_deref(),
        Some("http://127.0.0.1:6969/announce")
    );
    assert_eq!(
        meta.announce_list,
        vec![
            vec!["http://127.0.0.1:6969/announce".to_string()],
            vec!["udp://127.0.0.1:6969".into()]
        ]
    );
    assert_eq!(meta.creation_date, Some(1_700_000_000));
    let bytes = meta.to_bytes();
    let parsed = Metainfo::from_bytes(&bytes).unwrap();
    assert_eq!(parsed, meta);
    assert_eq!(parsed.to_bytes(), bytes);
}

#[test]
fn defaults_created_by_date_and_auto_piece_length() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "f", &data(40_000, 6));
    let meta = create(&dir.path().join("f"), &CreateOptions::default(), |_| {}).unwrap();
    assert_eq!(meta.info.piece_length, metainfo::auto_piece_length(40_000));
    assert!(meta.created_by.unwrap().starts_with("swarm/"));
    assert!(meta.creation_date.unwrap() > 1_700_000_000);
    assert_eq!(meta.announce, None);
    assert!(meta.announce_list.is_empty());
    // A single tracker is just `announce`.
    let one = CreateOptions {
        trackers: vec!["http://t/a".into()],
        ..CreateOptions::default()
    };
    let meta = create(&dir.path().join("f"), &one, |_| {}).unwrap();
    assert_eq!(meta.trackers(), vec![vec!["http://t/a".to_string()]]);
    assert!(meta.announce_list.is_empty());
}

#[cfg(unix)]
#[test]
fn symlinks_are_skipped_unless_followed() {
    use std::os::unix::fs::symlink;
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("t");
    write(&root, "real", &data(1000, 7));
    write(dir.path(), "outside/o", &data(2000, 8));
    symlink(root.join("real"), root.join("link-to-file")).unwrap();
    symlink(dir.path().join("outside"), root.join("link-to-dir")).unwrap();

    let created = create_with_report(&root, &fixed(1 << 14), |_| {}).unwrap();
    let paths: Vec<_> = created
        .metainfo
        .info
        .files
        .iter()
        .map(|f| f.display_path())
        .collect();
    assert_eq!(paths, ["t/real"]);
    assert_eq!(
        created.skipped_symlinks,
        vec![root.join("link-to-dir"), root.join("link-to-file")]
    );

    let follow = CreateOptions {
        follow_symlinks: true,
        ..fixed(1 << 14)
    };
    let created = create_with_report(&root, &follow, |_| {}).unwrap();
    let paths: Vec<_> = created
        .metainfo
        .info
        .files
        .iter()
        .map(|f| f.display_path())
        .collect();
    assert_eq!(paths, ["t/link-to-dir/o", "t/link-to-file", "t/real"]);
    assert!(created.skipped_symlinks.is_empty());

    // The path given is followed even when it is a symlink itself.
    symlink(root.join("real"), dir.path().join("top-link")).unwrap();
    let meta = create(&dir.path().join("top-link"), &fixed(1 << 14), |_| {}).unwrap();
    assert_eq!(meta.info.name, "top-link");
    assert_eq!(meta.info.total_length(), 1000);

    // A followed link back to an ancestor is a loop, not an endless walk.
    symlink(&root, root.join("loop")).unwrap();
    assert!(matches!(
        create(&root, &follow, |_| {}),
        Err(CreateError::SymlinkLoop(_))
    ));
}

#[test]
fn empty_inputs_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir_all(dir.path().join("e/sub")).unwrap();
    assert!(matches!(
        create(&dir.path().join("e"), &fixed(1 << 14), |_| {}),
        Err(CreateError::NoFiles(_))
    ));
    write(dir.path(), "z/zero", b"");
    assert!(matches!(
        create(&dir.path().join("z"), &fixed(1 << 14), |_| {}),
        Err(CreateError::NoData(_))
    ));
    assert!(matches!(
        create(&dir.path().join("missing"), &fixed(1 << 14), |_| {}),
        Err(CreateError::Io { .. })
    ));
}

#[test]
fn bad_options_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "f", b"x");
    let f = dir.path().join("f");
    assert!(matches!(
        create(&f, &fixed(0), |_| {}),
        Err(CreateError::InvalidPieceLength(0))
    ));
    assert!(matches!(
        create(&f, &fixed(1 << 40), |_| {}),
        Err(CreateError::InvalidPieceLength(_))
    ));
    let bad_name = CreateOptions {
        name: Some("../x".into()),
        ..fixed(1 << 14)
    };
    assert!(matches!(
        create(&f, &bad_name, |_| {}),
        Err(CreateError::Invalid(MetainfoError::InvalidName { .. }))
    ));
}

#[cfg(unix)]
#[test]
fn unusable_file_names_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "t/back\\slash", b"x");
    assert!(matches!(
        create(&dir.path().join("t"), &fixed(1 << 14), |_| {}),
        Err(CreateError::InvalidName { .. })
    ));
}

#[test]
fn current_directory_gets_its_real_name() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "named/f", b"hello");
    let meta = create(&dir.path().join("named/."), &fixed(1 << 14), |_| {}).unwrap();
    assert_eq!(meta.info.name, "named");
}

/// Reads pieces from the files of a torrent saved under a directory: what a seeder does.
struct Saved {
    dir: PathBuf,
    info: metainfo::Info,
    geometry: metainfo::PieceGeometry,
}

impl PieceReader for Saved {
    type Error = std::io::Error;

    fn read_piece(&self, index: u32, buf: &mut Vec<u8>) -> std::io::Result<()> {
        buf.clear();
        for span in self.geometry.piece_spans(index) {
            let path = self
                .dir
                .join(self.info.files[span.file_index].relative_path());
            let bytes = fs::read(path)?;
            let start = span.file_offset as usize;
            buf.extend_from_slice(&bytes[start..start + span.len as usize]);
        }
        Ok(())
    }
}

#[test]
fn made_metainfo_can_be_seeded_from_where_it_was_read_without_hashing_again() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("album");
    write(&root, "b/two", &data(70_000, 21));
    write(&root, "a", &data(30_000, 22));
    write(&root, "empty", b"");
    let options = CreateOptions {
        trackers: vec!["http://t:1/announce".into()],
        piece_length: Some(16 << 10),
        ..CreateOptions::default()
    };
    let created = make(&root, &options, |_| {}).unwrap();
    assert_eq!(created.trackers_from, TrackerSource::Given);
    assert_eq!(
        created.sources,
        [root.join("a"), root.join("b/two"), root.join("empty")]
    );
    let data_dir = created.data_dir.clone().expect("named after the input");
    let info = created.metainfo.info.clone();
    for (file, source) in info.files.iter().zip(&created.sources) {
        assert_eq!(&data_dir.join(file.relative_path()), source);
    }
    let saved = Saved {
        dir: data_dir,
        geometry: info.geometry(),
        info,
    };
    let checks = verify_all(&saved, &saved.info.pieces, |_, _| {});
    assert!(checks.iter().all(|check| check.is_good()));

    // A single file: its directory; another name: no directory holds it under that name.
    let single = make(&root.join("a"), &options, |_| {}).unwrap();
    assert_eq!(single.data_dir, Some(root.clone()));
    let renamed = CreateOptions {
        name: Some("other".into()),
        ..options.clone()
    };
    assert_eq!(make(&root, &renamed, |_| {}).unwrap().data_dir, None);
    // `.` is named after the directory it stands for.
    let dot = make(&root.join("."), &options, |_| {}).unwrap();
    assert_eq!(dot.data_dir, Some(dir.path().to_path_buf()));
}

#[test]
fn a_plan_tells_the_total_before_hashing_and_hashing_matches_create() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "t/x", &data(50_000, 23));
    write(dir.path(), "t/y", &data(20_000, 24));
    let options = CreateOptions {
        trackers: vec!["udp://t:2".into()],
        piece_length: Some(32 << 10),
        creation_date: Some(1_700_000_000),
        ..CreateOptions::default()
    };
    let plan = plan(&dir.path().join("t"), &options).unwrap();
    assert_eq!(plan.name(), "t");
    assert_eq!(plan.total_length(), 70_000);
    assert_eq!(plan.file_count(), 2);
    assert_eq!(plan.geometry().piece_count(), 3);
    assert_eq!(plan.trackers(), ["udp://t:2"]);
    let reported = AtomicU64::new(0);
    let created = plan
        .hash(|bytes| {
            reported.fetch_add(bytes, Ordering::Relaxed);
        })
        .unwrap();
    assert_eq!(reported.into_inner(), 70_000);
    let literal = create(&dir.path().join("t"), &options, |_| {}).unwrap();
    assert_eq!(created.metainfo, literal);
}

#[test]
fn make_holds_options_to_mkmeta_rules_and_create_does_not() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "f", &data(100_000, 25));
    let f = dir.path().join("f");
    let odd = CreateOptions {
        trackers: vec!["http://t/announce".into()],
        piece_length: Some(3 << 10),
        ..CreateOptions::default()
    };
    assert!(matches!(
        make(&f, &odd, |_| {}),
        Err(CreateError::NonStandardPieceLength(3072))
    ));
    let message = make(&f, &odd, |_| {}).unwrap_err().to_string();
    assert!(
        message.contains("power of two") && message.contains("libtorrent"),
        "{message}"
    );
    let forced = CreateOptions {
        any_piece_length: true,
        ..odd.clone()
    };
    assert_eq!(
        make(&f, &forced, |_| {})
            .unwrap()
            .metainfo
            .info
            .piece_length,
        3072
    );
    assert_eq!(create(&f, &odd, |_| {}).unwrap().info.piece_length, 3072);

    let bad_tracker = CreateOptions {
        trackers: vec!["tracker.example:6969".into()],
        ..CreateOptions::default()
    };
    assert!(matches!(
        make(&f, &bad_tracker, |_| {}),
        Err(CreateError::BadUrl(_))
    ));
}
