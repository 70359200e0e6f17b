//! BEP 15 over real UDP sockets: connect, announce (IPv4/IPv6), scrape, errors, and no
//! reply larger than the request for clients without a connection id.

mod common;

use common::{
    TestTracker, be32, udp_announce_packet, udp_client, udp_connect_packet, udp_connection_id,
    udp_exchange,
};

#[test]
fn announce_over_ipv4_returns_six_byte_peers() {
    let t = TestTracker::start(&["--interval", "123"]);
    let udp = t.udp.expect("udp enabled");
    let hash = [1; 20];
    let a = udp_client(udp);
    let id_a = udp_connection_id(&a);
    let reply = udp_exchange(&a, &udp_announce_packet(id_a, 5, &hash, 100, 2, -1, 7001)).unwrap();
    assert_eq!(reply.len(), 20);
    assert_eq!(
        (be32(&reply, 0), be32(&reply, 4), be32(&reply, 8)),
        (1, 5, 123)
    );
    assert_eq!(
        (be32(&reply, 12), be32(&reply, 16)),
        (1, 0),
        "leechers, seeders"
    );

    let b = udp_client(udp);
    let id_b = udp_connection_id(&b);
    let reply = udp_exchange(&b, &udp_announce_packet(id_b, 6, &hash, 0, 2, 50, 7002)).unwrap();
    assert_eq!(reply.len(), 26);
    assert_eq!((be32(&reply, 12), be32(&reply, 16)), (1, 1));
    assert_eq!(&reply[20..], &[127, 0, 0, 1, 0x1b, 0x59]);
    // The same peer over HTTP sees the UDP peers too (one swarm).
    let body = t.announce(&hash, 7003, "&left=5");
    let http = metainfo::tracker::AnnounceReply::decode(&body).unwrap();
    assert_eq!(http.peers.len(), 2);
}

#[test]
fn announce_over_ipv6_returns_eighteen_byte_peers() {
    let t = TestTracker::start_exact(&["tracker", "--listen", "127.0.0.1:0", "--udp", "[::1]:0"]);
    let udp = t.udp.unwrap();
    let hash = [2; 20];
    let a = udp_client(udp);
    let id = udp_connection_id(&a);
    udp_exchange(&a, &udp_announce_packet(id, 1, &hash, 1, 2, -1, 7001)).unwrap();
    let b = udp_client(udp);
    let id = udp_connection_id(&b);
    let reply = udp_exchange(&b, &udp_announce_packet(id, 2, &hash, 1, 2, -1, 7002)).unwrap();
    assert_eq!(reply.len(), 20 + 18);
    let mut expected = std::net::Ipv6Addr::LOCALHOST.octets().to_vec();
    expected.extend_from_slice(&7001u16.to_be_bytes());
    assert_eq!(&reply[20..], expected.as_slice());
}

#[test]
fn scrape_and_stopped() {
    let t = TestTracker::start(&[]);
    let udp = t.udp.unwrap();
    let hash = [3; 20];
    let s = udp_client(udp);
    let id = udp_connection_id(&s);
    udp_exchange(&s, &udp_announce_packet(id, 1, &hash, 0, 1, -1, 7001)).unwrap();
    let mut scrape = id.to_be_bytes().to_vec();
    scrape.extend_from_slice(&2u32.to_be_bytes());
    scrape.extend_from_slice(&9u32.to_be_bytes());
    scrape.extend_from_slice(&hash);
    scrape.extend_from_slice(&[4; 20]);
    let reply = udp_exchange(&s, &scrape).unwrap();
    assert_eq!(reply.len(), 8 + 24);
    assert_eq!((be32(&reply, 0), be32(&reply, 4)), (2, 9));
    assert_eq!(
        (be32(&reply, 8), be32(&reply, 12), be32(&reply, 16)),
        (1, 1, 0)
    );
    assert_eq!(&reply[20..32], &[0; 12]);
    let reply = udp_exchange(&s, &udp_announce_packet(id, 3, &hash, 0, 3, -1, 7001)).unwrap();
    assert_eq!((be32(&reply, 12), be32(&reply, 16)), (0, 0));
}

#[test]
fn bad_connection_ids_and_malformed_datagrams() {
    let t = TestTracker::start(&[]);
    let udp = t.udp.unwrap();
    let c = udp_client(udp);
    // Forged connection id: a short error, smaller than the request.
    let request = udp_announce_packet(0xdead_beef, 4, &[1; 20], 1, 0, -1, 7001);
    let reply = udp_exchange(&c, &request).unwrap();
    assert_eq!((be32(&reply, 0), be32(&reply, 4)), (3, 4));
    assert!(reply.len() < request.len());
    // Too short to carry a transaction id: dropped silently.
    assert_eq!(udp_exchange(&c, &[1, 2, 3]), None);
    // Unknown action, wrong protocol id, truncated announce: an error no larger than ~2x.
    let mut unknown = udp_connect_packet(8);
    unknown[11] = 9;
    let mut wrong_magic = udp_connect_packet(8);
    wrong_magic[0] = 1;
    let id = udp_connection_id(&c);
    let truncated = udp_announce_packet(id, 8, &[1; 20], 1, 0, -1, 7001)[..60].to_vec();
    for packet in [unknown, wrong_magic, truncated] {
        let reply = udp_exchange(&c, &packet).unwrap();
        assert_eq!((be32(&reply, 0), be32(&reply, 4)), (3, 8));
        assert!(reply.len() <= 2 * packet.len());
    }
    // Port 0 refused; a connect reply is exactly the request's size.
    let reply = udp_exchange(&c, &udp_announce_packet(id, 10, &[1; 20], 1, 0, -1, 0)).unwrap();
    assert_eq!(be32(&reply, 0), 3);
    assert_eq!(udp_exchange(&c, &udp_connect_packet(11)).unwrap().len(), 16);
}

#[test]
fn allowlist_applies_to_udp() {
    let dir = tempfile::tempdir().unwrap();
    let list = dir.path().join("allow");
    std::fs::write(&list, "11".repeat(20)).unwrap();
    let t = TestTracker::start(&["--allowlist", list.to_str().unwrap()]);
    let c = udp_client(t.udp.unwrap());
    let id = udp_connection_id(&c);
    let reply = udp_exchange(&c, &udp_announce_packet(id, 1, &[0x22; 20], 1, 0, -1, 7001)).unwrap();
    assert_eq!(be32(&reply, 0), 3);
    assert_eq!(&reply[8..], b"unknown torrent");
    let reply = udp_exchange(&c, &udp_announce_packet(id, 1, &[0x11; 20], 1, 0, -1, 7001)).unwrap();
    assert_eq!(be32(&reply, 0), 1);
}
