//! `--peer-ids`: `compact=0` replies carry each peer's 20-byte `peer id`, exactly the bytes
//! it announced, over real loopback sockets; `no_peer_id` and the default leave them out;
//! stopped and expired peers take their ids with them.

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use common::{TestTracker, url_bytes};
use metainfo::tracker::AnnounceReply;

const HASH: [u8; 20] = [0x5a; 20];

/// A binary peer id per port: every byte value shows up across ports, including `%`, `&`,
/// `=`, `+`, NUL and 0xFF.
fn binary_id(port: u16) -> [u8; 20] {
    let [hi, lo] = port.to_be_bytes();
    let mut id = [0u8; 20];
    for (i, byte) in id.iter_mut().enumerate() {
        *byte = lo
            .wrapping_mul(37)
            .wrapping_add(hi)
            .wrapping_add((i as u8).wrapping_mul(51));
    }
    id[0] = b'%';
    id[1] = b'&';
    id[2] = b'+';
    id[3] = 0;
    id[19] = 0xff;
    id
}

/// Announce `port` with its binary id (every byte percent-encoded) plus `extra`.
fn announce(t: &TestTracker, port: u16, id: &[u8; 20], extra: &str) -> Vec<u8> {
    let path = format!(
        "/announce?info_hash={}&peer_id={}&port={port}&left=1{extra}",
        url_bytes(&HASH),
        url_bytes(id)
    );
    let response = t.get(&path);
    assert_eq!(response.status, 200);
    response.body
}

/// The peers of a `compact=0` reply: port → peer id (None when the entry has none).
fn peers(body: &[u8]) -> BTreeMap<u16, Option<[u8; 20]>> {
    let reply = AnnounceReply::decode(body)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(body)));
    reply
        .peers
        .iter()
        .map(|p| (p.addr.port(), p.peer_id))
        .collect()
}

fn expected(ports: &[u16]) -> BTreeMap<u16, Option<[u8; 20]>> {
    ports.iter().map(|&p| (p, Some(binary_id(p)))).collect()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn dictionary_replies_carry_the_announced_binary_ids() {
    let t = TestTracker::start(&["--peer-ids"]);
    for port in [7001, 7002, 7003] {
        announce(&t, port, &binary_id(port), "");
    }
    let body = announce(&t, 7004, &binary_id(7004), "&compact=0");
    assert_eq!(peers(&body), expected(&[7001, 7002, 7003]));
    // On the wire: `7:peer id20:` followed by the raw bytes.
    let mut raw = b"7:peer id20:".to_vec();
    raw.extend_from_slice(&binary_id(7002));
    assert!(contains(&body, &raw), "{}", String::from_utf8_lossy(&body));

    // A re-announce with another id replaces the old one.
    let mut new_id = binary_id(7002);
    new_id[10] ^= 0x55;
    announce(&t, 7002, &new_id, "");
    let listed = peers(&announce(&t, 7004, &binary_id(7004), "&compact=0"));
    assert_eq!(listed[&7002], Some(new_id));

    // no_peer_id=1: the same peers, without ids; compact replies are unchanged.
    let body = announce(&t, 7004, &binary_id(7004), "&compact=0&no_peer_id=1");
    assert!(!contains(&body, b"peer id"));
    assert_eq!(peers(&body).len(), 3);
    let compact = announce(&t, 7004, &binary_id(7004), "");
    assert!(contains(&compact, b"5:peers18:"));
}

#[test]
fn without_the_flag_dictionary_replies_have_no_ids() {
    let t = TestTracker::start(&[]);
    announce(&t, 7001, &binary_id(7001), "");
    let body = announce(&t, 7002, &binary_id(7002), "&compact=0");
    assert!(!contains(&body, b"peer id"));
    assert_eq!(peers(&body), BTreeMap::from([(7001, None)]));
}

#[test]
fn stopped_peers_take_their_ids_with_them() {
    let t = TestTracker::start(&["--peer-ids"]);
    for port in [7001, 7002, 7003] {
        announce(&t, port, &binary_id(port), "");
    }
    announce(&t, 7002, &binary_id(7002), "&event=stopped");
    // A newcomer sorting between the others: ids stay with their own peers.
    announce(&t, 7000, &binary_id(7000), "");
    let body = announce(&t, 7009, &binary_id(7009), "&compact=0");
    assert_eq!(peers(&body), expected(&[7000, 7001, 7003]));
}

#[test]
fn expired_peers_take_their_ids_with_them() {
    // Peers live 2 s; the sweeper runs every second.
    let t = TestTracker::start(&["--peer-ids", "--interval", "1", "--expiry-factor", "2"]);
    announce(&t, 7001, &binary_id(7001), "");
    announce(&t, 7003, &binary_id(7003), "");
    // 7003 keeps announcing; 7001 stays silent until the sweeper has removed it (the
    // counts drop to 1 only then; the sample skips stale peers even before).
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let body = announce(&t, 7003, &binary_id(7003), "&compact=0");
        let listed = peers(&body);
        assert!(
            listed.is_empty() || listed == expected(&[7001]),
            "{listed:?}"
        );
        if AnnounceReply::decode(&body).unwrap().incomplete == Some(1) {
            break;
        }
        assert!(Instant::now() < deadline, "peer 7001 never expired");
        std::thread::sleep(Duration::from_millis(300));
    }
    announce(&t, 7002, &binary_id(7002), "");
    let body = announce(&t, 7003, &binary_id(7003), "&compact=0");
    assert_eq!(peers(&body), expected(&[7002]));
    let body = announce(&t, 7002, &binary_id(7002), "&compact=0");
    assert_eq!(peers(&body), expected(&[7003]));
}
