//! Fuzzes magnet links: `Magnet::parse` must never panic, and what it accepts must survive
//! a write/parse round trip. The bytes after the first NUL are tried as a fetched info
//! dictionary for the link (`Metainfo::from_magnet`): whatever it accepts must write out as
//! a metainfo file with the same info-hash.
#![no_main]

use libfuzzer_sys::fuzz_target;
use metainfo::magnet::MAX_MAGNET_LEN;
use metainfo::{InfoHash, Magnet, Metainfo};

fuzz_target!(|data: &[u8]| {
    let (link, info) = match data.iter().position(|b| *b == 0) {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (data, &[][..]),
    };
    let Ok(link) = std::str::from_utf8(link) else {
        return;
    };
    if let Ok(magnet) = Magnet::parse(link) {
        let written = magnet.to_string();
        if written.len() <= MAX_MAGNET_LEN {
            assert_eq!(Magnet::parse(&written), Ok(magnet));
        }
    }
    let mut magnet = Magnet::new(InfoHash::of_info_bytes(info));
    magnet.trackers = vec!["http://127.0.0.1:1/announce".into()];
    if let Ok(meta) = Metainfo::from_magnet(&magnet, info) {
        assert_eq!(meta.info_hash, magnet.info_hash);
        let again = Metainfo::from_bytes(&meta.to_bytes()).expect("written metainfo parses");
        assert_eq!(again.info_hash, magnet.info_hash);
        assert_eq!(again.announce, meta.announce);
    }
});
