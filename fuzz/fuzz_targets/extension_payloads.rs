//! Fuzzes the BEP 9/10/11 payload parsers and the metadata fetch state machine.
//!
//! The first byte picks what the rest is: an extended handshake, a ut_metadata message, a
//! ut_pex message (each must never panic, and what decodes must survive an encode/decode
//! round trip), or a script of operations on a `MetadataFetch` (which must never panic,
//! never hold more than its size bound, and only ever complete with bytes of the right hash).
#![no_main]

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use metainfo::InfoHash;
use swarm_client::extension::{
    DataOutcome, ExtendedHandshake, FetchConfig, MetadataFetch, MetadataMessage, PexMessage,
};

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    match selector % 4 {
        0 => handshake(rest),
        1 => metadata(rest),
        2 => pex(rest),
        _ => fetch_script(rest),
    }
});

fn handshake(payload: &[u8]) {
    if let Ok(theirs) = ExtendedHandshake::decode(payload) {
        assert_eq!(ExtendedHandshake::decode(&theirs.encode()), Ok(theirs));
    }
}

fn metadata(payload: &[u8]) {
    if let Ok(Some(message)) = MetadataMessage::decode(&Bytes::copy_from_slice(payload)) {
        assert_eq!(
            MetadataMessage::decode(&message.encode()),
            Ok(Some(message))
        );
    }
}

fn pex(payload: &[u8]) {
    if let Ok(mut message) = PexMessage::decode(payload) {
        assert_eq!(PexMessage::decode(&message.encode()), Ok(message.clone()));
        let source = "127.0.0.1".parse().unwrap();
        let ours = ["127.0.0.1:6881".parse().unwrap()];
        message.retain_usable(source, &ours);
        assert!(
            message
                .added
                .iter()
                .all(|p| p.addr.port() != 0 && p.addr != ours[0])
        );
    }
}

/// Runs operations read 4 bytes at a time against a fetch of a small, known dictionary.
fn fetch_script(script: &[u8]) {
    const MAX: u64 = 64 * 1024;
    static INFO: OnceLock<(Vec<u8>, InfoHash)> = OnceLock::new();
    let (info, hash) = INFO.get_or_init(|| {
        let info: Vec<u8> = (0..40_000u32).map(|i| (i % 251) as u8).collect();
        let hash = InfoHash::of_info_bytes(&info);
        (info, hash)
    });
    let hash = *hash;
    let config = FetchConfig {
        max_size: MAX,
        ..FetchConfig::default()
    };
    let mut fetch = MetadataFetch::with_config(hash, config);
    let start = Instant::now();
    let mut now = start;
    for op in script.chunks_exact(4) {
        let peer = op[1] % 4;
        let arg = u16::from_be_bytes([op[2], op[3]]);
        match op[0] % 7 {
            // Mostly the true size, sometimes another one.
            0 => {
                let size = if arg % 3 == 0 {
                    u64::from(arg) * 4
                } else {
                    info.len() as u64
                };
                let _ = fetch.add_peer(peer, size);
            }
            1 => fetch.remove_peer(peer),
            2 => {
                let _ = fetch.next_request(peer, now);
            }
            // Honest data for a piece, or corrupted, or cut short.
            3 | 4 => {
                let piece = u32::from(arg % 4);
                let begin = (piece as usize * 16384).min(info.len());
                let end = (begin + 16384).min(info.len());
                let mut data = info[begin..end].to_vec();
                if op[0] % 7 == 4 && !data.is_empty() {
                    let at = usize::from(arg) % data.len();
                    if arg % 2 == 0 {
                        data[at] ^= 1;
                    } else {
                        data.truncate(at);
                    }
                }
                let total = (arg % 5 != 0).then_some(info.len() as u64);
                if let Ok(DataOutcome::Complete(bytes)) = fetch.on_data(peer, piece, total, &data) {
                    assert_eq!(InfoHash::of_info_bytes(&bytes), hash);
                    assert!(fetch.is_complete());
                }
            }
            5 => fetch.on_reject(peer, u32::from(arg % 5), now),
            _ => {
                now += Duration::from_millis(u64::from(arg) * 10);
                let _ = fetch.expire(now);
            }
        }
        let (received, count) = fetch.progress();
        assert!(received <= count);
        assert!(fetch.size().is_none_or(|size| size <= MAX));
    }
}
