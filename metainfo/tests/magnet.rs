//! Magnet links against real metainfo files: the link `mkmeta` (and `Metainfo::magnet`)
//! writes parses back to the same info-hash, name and trackers, and the info dictionary
//! fetched for it becomes a metainfo with the same info-hash and content, even for files
//! whose info dictionary carries keys we don't model (libtorrent's hybrid v1/v2 files).

use std::path::PathBuf;

use metainfo::{InfoHash, Magnet, Metainfo, MetainfoError};

const FIXTURES: &[&str] = &[
    "mktorrent-single",
    "mktorrent-tree",
    "transmission-single",
    "transmission-tree",
    "libtorrent-single",
    "libtorrent-tree",
    "libtorrent-hybrid-tree",
];

fn parse(name: &str) -> Metainfo {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("../fixtures/{name}.meta"));
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    Metainfo::from_bytes(&bytes).unwrap_or_else(|e| panic!("{name}: rejected: {e}"))
}

#[test]
fn written_links_parse_back() {
    for name in FIXTURES {
        let meta = parse(name);
        let magnet = Magnet::parse(&meta.magnet()).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(magnet.info_hash, meta.info_hash, "{name}");
        assert_eq!(
            magnet.name.as_deref(),
            Some(meta.info.name.as_str()),
            "{name}"
        );
        let trackers: Vec<String> = meta.trackers().into_iter().flatten().collect();
        assert_eq!(magnet.trackers, trackers, "{name}");
        assert_eq!(magnet.to_string(), meta.magnet(), "{name}");
    }
}

#[test]
fn fetched_info_becomes_the_same_torrent() {
    for name in FIXTURES {
        let meta = parse(name);
        let mut magnet = Magnet::parse(&meta.magnet()).unwrap();
        magnet.trackers = vec![
            "http://127.0.0.1:1/announce".into(),
            "udp://127.0.0.1:2".into(),
        ];
        let fetched = Metainfo::from_magnet(&magnet, meta.info_bytes())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(fetched.info_hash, meta.info_hash, "{name}");
        assert_eq!(fetched.info, meta.info, "{name}");
        assert_eq!(fetched.info_bytes(), meta.info_bytes(), "{name}");
        assert_eq!(
            fetched.announce.as_deref(),
            Some("http://127.0.0.1:1/announce")
        );
        assert_eq!(
            fetched.announce_list,
            vec![
                vec!["http://127.0.0.1:1/announce".to_owned()],
                vec!["udp://127.0.0.1:2".to_owned()]
            ]
        );
        // It writes out as a metainfo file with the same info-hash.
        let written = Metainfo::from_bytes(&fetched.to_bytes()).unwrap();
        assert_eq!(written.info_hash, meta.info_hash, "{name}");
    }
}

#[test]
fn one_tracker_is_announce_only() {
    let meta = parse("mktorrent-single");
    let mut magnet = Magnet::new(meta.info_hash);
    magnet.trackers = vec!["http://127.0.0.1:1/announce".into()];
    let fetched = Metainfo::from_magnet(&magnet, meta.info_bytes()).unwrap();
    assert_eq!(
        fetched.trackers(),
        vec![vec!["http://127.0.0.1:1/announce".to_owned()]]
    );
    assert!(fetched.announce_list.is_empty());
    let bare = Metainfo::from_magnet(&Magnet::new(meta.info_hash), meta.info_bytes()).unwrap();
    assert!(bare.trackers().is_empty());
}

#[test]
fn info_of_another_torrent_is_refused() {
    let meta = parse("mktorrent-single");
    let other = parse("mktorrent-tree");
    let magnet = Magnet::new(meta.info_hash);
    assert_eq!(
        Metainfo::from_magnet(&magnet, other.info_bytes()),
        Err(MetainfoError::InfoHashMismatch {
            expected: meta.info_hash,
            actual: other.info_hash
        })
    );
}

#[test]
fn info_that_hashes_right_but_is_invalid_is_refused() {
    for (bytes, expected) in [
        (&b"de"[..], MetainfoError::MissingName),
        (b"li1ee", MetainfoError::InfoNotADictionary),
        (
            b"d4:name2:..12:piece lengthi16384e6:pieces0:6:lengthi0ee",
            MetainfoError::InvalidName {
                name: "..".into(),
                problem: metainfo::PathProblem::ParentDir,
            },
        ),
    ] {
        let magnet = Magnet::new(InfoHash::of_info_bytes(bytes));
        assert_eq!(Metainfo::from_magnet(&magnet, bytes), Err(expected));
    }
    let garbage = b"d4:name";
    let magnet = Magnet::new(InfoHash::of_info_bytes(garbage));
    assert!(matches!(
        Metainfo::from_magnet(&magnet, garbage),
        Err(MetainfoError::Bencode(_))
    ));
}
