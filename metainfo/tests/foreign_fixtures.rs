//! Metainfo made by other tools (mktorrent, transmission-create, libtorrent; see
//! `fixtures/regenerate.sh`) parses to exactly what those tools report about it: the same
//! info-hash, name, files, piece length and piece hashes. The expected values were recorded
//! from libtorrent's parser (`fixtures/expected/*.json`) and `transmission-show`
//! (`fixtures/expected/*.transmission-show.txt`), so this test needs no external tool.

use std::path::PathBuf;

use metainfo::Metainfo;
use serde_json::Value;

const FIXTURES: &[&str] = &[
    "mktorrent-single",
    "mktorrent-tree",
    "transmission-single",
    "transmission-tree",
    "libtorrent-single",
    "libtorrent-tree",
    "libtorrent-hybrid-tree",
];

fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures")
}

fn parse(name: &str) -> Metainfo {
    let path = fixtures_dir().join(format!("{name}.meta"));
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    Metainfo::from_bytes(&bytes).unwrap_or_else(|e| panic!("{name}: rejected: {e}"))
}

fn expected(name: &str) -> Value {
    let path = fixtures_dir().join(format!("expected/{name}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).expect("expected JSON")
}

fn string_list(value: &Value) -> Vec<String> {
    value
        .as_array()
        .expect("array")
        .iter()
        .map(|v| v.as_str().expect("string").to_string())
        .collect()
}

#[test]
fn same_info_hash_as_libtorrent() {
    for &name in FIXTURES {
        let meta = parse(name);
        let want = expected(name);
        assert_eq!(
            meta.info_hash.to_string(),
            want["info_hash"].as_str().expect("info_hash"),
            "{name}"
        );
    }
}

#[test]
fn same_info_hash_as_transmission_show() {
    for &name in FIXTURES {
        let path = fixtures_dir().join(format!("expected/{name}.transmission-show.txt"));
        let report = std::fs::read_to_string(&path).expect("transmission-show report");
        // Transmission 3.00 cannot read libtorrent's hybrid v1+v2 files; the report says so.
        let Some(hash) = report
            .lines()
            .find_map(|line| line.trim().strip_prefix("Hash: "))
        else {
            assert!(report.contains("exit status"), "{name}: no Hash line");
            continue;
        };
        assert_eq!(parse(name).info_hash.to_string(), hash, "{name}");
    }
}

#[test]
fn same_name_sizes_and_flags() {
    for &name in FIXTURES {
        let meta = parse(name);
        let want = expected(name);
        let info = &meta.info;
        assert_eq!(info.name, want["name"].as_str().expect("name"), "{name}");
        assert_eq!(
            Some(info.piece_length),
            want["piece_length"].as_u64(),
            "{name}"
        );
        assert_eq!(
            Some(u64::from(info.piece_count())),
            want["piece_count"].as_u64(),
            "{name}"
        );
        assert_eq!(
            Some(info.total_length()),
            want["total_length"].as_u64(),
            "{name}"
        );
        assert_eq!(Some(info.private), want["private"].as_bool(), "{name}");
        assert_eq!(
            Some(info.single_file),
            want["single_file"].as_bool(),
            "{name}"
        );
    }
}

#[test]
fn same_files_in_the_same_order() {
    for &name in FIXTURES {
        let meta = parse(name);
        let want = expected(name);
        let want_files = want["files"].as_array().expect("files");
        assert_eq!(
            meta.info.files.len(),
            want_files.len(),
            "{name}: file count"
        );
        let mut offset = 0;
        for (got, want) in meta.info.files.iter().zip(want_files) {
            assert_eq!(got.path, string_list(&want["path"]), "{name}");
            assert_eq!(
                Some(got.length),
                want["length"].as_u64(),
                "{name}: {:?}",
                got.path
            );
            assert_eq!(got.offset, offset, "{name}: {:?}", got.path);
            offset += got.length;
        }
    }
}

#[test]
fn same_piece_hashes() {
    for &name in FIXTURES {
        let meta = parse(name);
        let got: Vec<String> = meta.info.pieces.iter().map(hex::encode).collect();
        assert_eq!(got, string_list(&expected(name)["pieces"]), "{name}");
    }
}

#[test]
fn same_trackers() {
    for &name in FIXTURES {
        let meta = parse(name);
        let got: Vec<String> = meta.trackers().into_iter().flatten().collect();
        assert_eq!(got, string_list(&expected(name)["trackers"]), "{name}");
    }
}

#[test]
fn the_same_tools_agree_on_the_payload() {
    // mktorrent and libtorrent (v1) hash the same sorted file list at the same piece
    // length, so their pieces agree; Transmission skips the zero-length file and keeps
    // directory order, which changes the concatenation, so only its single file agrees.
    let pieces = |name: &str| parse(name).info.pieces;
    assert_eq!(pieces("mktorrent-single"), pieces("libtorrent-single"));
    assert_eq!(pieces("mktorrent-single"), pieces("transmission-single"));
    assert_eq!(pieces("mktorrent-tree"), pieces("libtorrent-tree"));
}

#[test]
fn writing_back_keeps_the_info_hash() {
    for &name in FIXTURES {
        let meta = parse(name);
        let again = Metainfo::from_bytes(&meta.to_bytes()).expect("re-parse written file");
        assert_eq!(again.info_hash, meta.info_hash, "{name}");
        assert_eq!(again.info, meta.info, "{name}");
    }
}
