//! Parsing: the info-hash covers the info dictionary's raw bytes, optional fields in their
//! accepted shapes, writing back, trackers and magnet links.

use metainfo::{InfoHash, Metainfo, MetainfoError};
use sha1::{Digest, Sha1};

/// 20 bytes of `b`.
fn hash_bytes(b: u8) -> String {
    String::from_utf8(vec![b; 20]).unwrap()
}

/// A metainfo written by hand: its info dictionary has keys we do not model (`zz-unknown`,
/// `md5sum`, a nested `x-extra`) and keys out of canonical order (`pieces` before `name`,
/// `name` before `length`).
fn foreign_bytes() -> Vec<u8> {
    let info = format!(
        "d6:pieces20:{}4:name5:hello10:zz-unknowni7e6:lengthi5e12:piece lengthi16384e\
         6:md5sum32:0123456789abcdef0123456789abcdef7:x-extrad1:bl1:ci-3eee7:privatei1ee",
        hash_bytes(b'a')
    );
    format!("d4:infod{}8:announce9:http://t/7:comment2:hie", &info[1..]).into_bytes()
}

#[test]
fn info_hash_is_sha1_of_the_raw_info_bytes() {
    let bytes = foreign_bytes();
    let meta = Metainfo::from_bytes(&bytes).unwrap();
    let start = bytes.windows(5).position(|w| w == b"4:inf").unwrap() + 6;
    let end = bytes.windows(10).position(|w| w == b"8:announce").unwrap();
    let raw_info = &bytes[start..end];
    assert!(raw_info.starts_with(b"d6:pieces") && raw_info.ends_with(b"ee"));
    let expected = InfoHash(Sha1::digest(raw_info).into());
    assert_eq!(meta.info_hash, expected);
    assert_eq!(meta.info_bytes(), raw_info);
    // A re-serialization of what we model would hash differently.
    let canonical = Metainfo::new(meta.info.clone());
    assert_ne!(canonical.info_hash, meta.info_hash);

    assert_eq!(meta.info.name, "hello");
    assert_eq!(meta.info.total_length(), 5);
    assert!(meta.info.private);
    assert!(meta.info.single_file);
    assert_eq!(meta.info.pieces, vec![[b'a'; 20]]);
    assert_eq!(meta.comment.as_deref(), Some("hi"));
}

#[test]
fn writing_keeps_the_info_bytes_verbatim() {
    let meta = Metainfo::from_bytes(&foreign_bytes()).unwrap();
    let mut changed = meta.clone();
    changed.comment = Some("another".into());
    changed.announce_list = vec![
        vec!["http://a/".into(), "http://b/".into()],
        vec!["udp://c:1".into()],
    ];
    let written = changed.to_bytes();
    let reparsed = Metainfo::from_bytes(&written).unwrap();
    assert_eq!(reparsed.info_hash, meta.info_hash);
    assert_eq!(reparsed.info_bytes(), meta.info_bytes());
    assert_eq!(reparsed, changed);
    // Top-level keys are sorted: announce, announce-list, comment, info.
    let text = String::from_utf8_lossy(&written);
    let order: Vec<usize> = ["8:announce9", "13:announce-list", "7:comment", "4:infod"]
        .iter()
        .map(|key| text.find(key).unwrap())
        .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{text}");
}

/// A minimal valid single-file metainfo with extra top-level entries spliced in.
fn with_top_level(extra: &str) -> Vec<u8> {
    format!(
        "d{extra}4:infod6:lengthi3e4:name1:x12:piece lengthi4e6:pieces20:{}ee",
        hash_bytes(b'z')
    )
    .into_bytes()
}

#[test]
fn url_list_as_string_or_list() {
    let one = Metainfo::from_bytes(&with_top_level("")).unwrap();
    assert!(one.url_list.is_empty());
    let mut bytes = with_top_level("");
    bytes.pop();
    bytes.extend_from_slice(b"8:url-list16:http://seed/filee");
    let meta = Metainfo::from_bytes(&bytes).unwrap();
    assert_eq!(meta.url_list, vec!["http://seed/file"]);
    let mut bytes = with_top_level("");
    bytes.pop();
    bytes.extend_from_slice(b"8:url-listl9:http://a/9:http://b/0:ee");
    let meta = Metainfo::from_bytes(&bytes).unwrap();
    assert_eq!(meta.url_list, vec!["http://a/", "http://b/"]);
    // Written back: one as a string, several as a list.
    assert!(
        meta.to_bytes()
            .ends_with(b"8:url-listl9:http://a/9:http://b/ee")
    );
    let mut single = meta.clone();
    single.url_list.truncate(1);
    assert!(single.to_bytes().ends_with(b"8:url-list9:http://a/e"));
}

#[test]
fn trackers_prefer_the_announce_list() {
    let meta = Metainfo::from_bytes(&with_top_level(
        "8:announce8:http://a13:announce-listll8:http://bel8:http://c8:http://dee",
    ))
    .unwrap();
    assert_eq!(meta.announce.as_deref(), Some("http://a"));
    assert_eq!(
        meta.trackers(),
        vec![
            vec!["http://b".to_string()],
            vec!["http://c".into(), "http://d".into()]
        ]
    );
    let only_announce = Metainfo::from_bytes(&with_top_level("8:announce8:http://a")).unwrap();
    assert_eq!(only_announce.trackers(), vec![vec!["http://a".to_string()]]);
    let none = Metainfo::from_bytes(&with_top_level("")).unwrap();
    assert!(none.trackers().is_empty());
}

#[test]
fn informational_fields_of_the_wrong_type_are_ignored() {
    let meta = Metainfo::from_bytes(&with_top_level(
        "8:announcei1e13:announce-list3:bad7:commentle10:created byi5e13:creation date3:now",
    ))
    .unwrap();
    assert_eq!(meta.announce, None);
    assert!(meta.announce_list.is_empty());
    assert_eq!(meta.comment, None);
    assert_eq!(meta.created_by, None);
    assert_eq!(meta.creation_date, None);
}

#[test]
fn non_utf8_text_is_replaced_not_rejected() {
    let mut bytes = b"d7:comment2:\xff\xfe".to_vec();
    bytes.extend_from_slice(&with_top_level("")[1..]);
    let meta = Metainfo::from_bytes(&bytes).unwrap();
    assert_eq!(meta.comment.as_deref(), Some("\u{fffd}\u{fffd}"));
}

#[test]
fn utf8_name_and_path_variants_are_preferred() {
    let info = format!(
        "d5:filesld6:lengthi3e4:pathl3:old4:filee10:path.utf-8l3:new4:fileeee\
         4:name3:old10:name.utf-83:new12:piece lengthi4e6:pieces20:{}e",
        hash_bytes(b'q')
    );
    let meta = Metainfo::from_bytes(format!("d4:info{info}e").as_bytes()).unwrap();
    assert_eq!(meta.info.name, "new");
    assert_eq!(meta.info.files[0].path, vec!["new", "new", "file"]);
}

#[test]
fn multi_file_offsets_and_zero_length_files() {
    let info = format!(
        "d5:filesld6:lengthi0e4:pathl1:aeed6:lengthi5e4:pathl1:b1:ceed6:lengthi0e4:pathl1:deed6:lengthi4e4:pathl1:eeee\
         4:name4:root12:piece lengthi3e6:pieces60:{}{}{}e",
        hash_bytes(b'1'),
        hash_bytes(b'2'),
        hash_bytes(b'3')
    );
    let meta = Metainfo::from_bytes(format!("d4:info{info}e").as_bytes()).unwrap();
    let files: Vec<(String, u64, u64)> = meta
        .info
        .files
        .iter()
        .map(|f| (f.display_path(), f.offset, f.length))
        .collect();
    assert_eq!(
        files,
        [
            ("root/a".to_string(), 0, 0),
            ("root/b/c".into(), 0, 5),
            ("root/d".into(), 5, 0),
            ("root/e".into(), 5, 4)
        ]
    );
    assert_eq!(meta.info.geometry().piece_size(2), 3);
    assert!(!meta.info.single_file);
    assert_eq!(
        meta.info.files[1].relative_path(),
        std::path::PathBuf::from("root/b/c")
    );
}

#[test]
fn odd_piece_lengths_still_parse() {
    for (piece_length, count) in [(3072u64, 1usize), (1000, 1), (1, 3)] {
        let info = format!(
            "d6:lengthi3e4:name1:x12:piece lengthi{piece_length}e6:pieces{}:{}e",
            count * 20,
            hash_bytes(b'p').repeat(count)
        );
        let meta = Metainfo::from_bytes(format!("d4:info{info}e").as_bytes()).unwrap();
        assert_eq!(meta.info.piece_length, piece_length);
    }
}

#[test]
fn private_flag_zero_is_public() {
    let info = format!(
        "d6:lengthi3e4:name1:x12:piece lengthi4e6:pieces20:{}7:privatei0ee",
        hash_bytes(b'p')
    );
    let meta = Metainfo::from_bytes(format!("d4:info{info}e").as_bytes()).unwrap();
    assert!(!meta.info.private);
}

#[test]
fn magnet_link() {
    let meta = Metainfo::from_bytes(&with_top_level(
        "13:announce-listll16:http://t/a?x=1&yel16:http://t/a?x=1&y10:udp://u:80ee",
    ))
    .unwrap();
    let mut bytes = with_top_level("");
    bytes.truncate(bytes.len() - 2);
    let _ = bytes;
    assert_eq!(
        meta.magnet(),
        format!(
            "magnet:?xt=urn:btih:{}&dn=x&tr=http%3A%2F%2Ft%2Fa%3Fx%3D1%26y&tr=udp%3A%2F%2Fu%3A80",
            meta.info_hash
        )
    );
}

#[test]
fn magnet_name_is_percent_encoded() {
    let info = format!(
        "d6:lengthi3e4:name9:a b&c=d\u{e9}12:piece lengthi4e6:pieces20:{}e",
        hash_bytes(b'p')
    );
    let meta = Metainfo::from_bytes(format!("d4:info{info}e").as_bytes()).unwrap();
    assert!(
        meta.magnet().ends_with("&dn=a%20b%26c%3Dd%C3%A9"),
        "{}",
        meta.magnet()
    );
}

#[test]
fn duplicate_info_key_is_rejected() {
    let mut bytes = with_top_level("");
    bytes.pop();
    bytes.extend_from_slice(b"4:infodee");
    assert!(matches!(
        Metainfo::from_bytes(&bytes),
        Err(MetainfoError::WrongType(_))
    ));
}

#[test]
fn pieces_must_be_a_byte_string() {
    let ints = "i1e".repeat(20);
    let info = format!("d6:lengthi3e4:name1:x12:piece lengthi4e6:piecesl{ints}ee");
    assert!(matches!(
        Metainfo::from_bytes(format!("d4:info{info}e").as_bytes()),
        Err(MetainfoError::WrongType(_))
    ));
}

#[test]
fn repeated_padding_files_are_accepted() {
    // BEP 47: tools repeat `.pad/<size>` padding files; only real files must be unique.
    let pad = "d4:attr1:p6:lengthi1e4:pathl4:.pad1:1ee";
    let info = format!(
        "d5:filesld6:lengthi1e4:pathl1:aee{pad}d6:lengthi1e4:pathl1:bee{pad}d6:lengthi1e4:pathl1:cee\
         e4:name1:n12:piece lengthi2e6:pieces60:{}e",
        hash_bytes(b'p').repeat(3)
    );
    let meta = Metainfo::from_bytes(format!("d4:info{info}e").as_bytes()).unwrap();
    assert_eq!(meta.info.files.len(), 5);
    // Without the padding attribute the same list is a duplicate.
    let plain = info.replace("4:attr1:p", "");
    assert!(matches!(
        Metainfo::from_bytes(format!("d4:info{plain}e").as_bytes()),
        Err(MetainfoError::DuplicatePath(_))
    ));
}
