//! Fuzzes `Metainfo::from_bytes`: it must never panic, and whatever it accepts must survive a
//! write/parse round trip with the same info-hash, and its piece geometry must stay in bounds.
#![no_main]

use libfuzzer_sys::fuzz_target;
use metainfo::Metainfo;

fuzz_target!(|data: &[u8]| {
    let Ok(meta) = Metainfo::from_bytes(data) else {
        return;
    };
    let written = meta.to_bytes();
    let again = Metainfo::from_bytes(&written).expect("written metainfo parses");
    assert_eq!(again.info_hash, meta.info_hash);
    assert_eq!(again.info, meta.info);
    let _ = meta.magnet();
    let map = meta.info.geometry();
    let count = meta.info.piece_count();
    assert_eq!(map.piece_count(), count);
    for piece in [0, count / 2, count.saturating_sub(1), count] {
        let covered: u64 = map.piece_spans(piece).iter().map(|s| s.len).sum();
        assert_eq!(covered, u64::from(map.piece_size(piece)));
    }
    for (index, file) in meta.info.files.iter().enumerate().take(64) {
        let path = file.relative_path();
        assert!(path.is_relative());
        assert!(path.components().all(|c| matches!(c, std::path::Component::Normal(_))));
        let _ = map.pieces_of_file(index);
    }
});
