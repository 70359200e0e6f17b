//! HTTP announce and scrape rules, over real loopback sockets.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::{HttpConn, TestTracker, announce_path, url_bytes};
use metainfo::tracker::{AnnounceReply, ReplyError, ScrapeReply};

fn decode(body: &[u8]) -> AnnounceReply {
    AnnounceReply::decode(body).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(body)))
}

fn ports(reply: &AnnounceReply) -> Vec<u16> {
    let mut p: Vec<u16> = reply.peers.iter().map(|p| p.addr.port()).collect();
    p.sort();
    p
}

#[test]
fn reply_has_every_field_and_peers_even_when_empty() {
    let t = TestTracker::start(&["--interval", "900", "--min-interval", "30"]);
    let body = t.announce(&[1; 20], 7001, "&left=5");
    assert!(
        body.windows(8).any(|w| w == b"5:peers0"),
        "empty peers present: {body:?}"
    );
    let reply = decode(&body);
    assert_eq!(reply.interval, 900);
    assert_eq!(reply.min_interval, Some(30));
    assert_eq!((reply.complete, reply.incomplete), (Some(0), Some(1)));
    assert!(reply.peers.is_empty());
}

#[test]
fn peer_never_gets_itself_and_a_seeder_gets_leechers_first() {
    let t = TestTracker::start(&[]);
    let hash = [2; 20];
    t.announce(&hash, 7001, "&left=0&event=started");
    t.announce(&hash, 7002, "&left=0&event=started");
    t.announce(&hash, 7003, "&left=10&event=started");
    let leecher = decode(&t.announce(&hash, 7003, "&left=10"));
    assert_eq!(ports(&leecher), vec![7001, 7002]);
    assert_eq!((leecher.complete, leecher.incomplete), (Some(2), Some(1)));
    // A seeder is handed leechers first, then seeders while it has room (aria2c announces
    // left=0 while it fetches a magnet link's metadata).
    let seeder = decode(&t.announce(&hash, 7001, "&left=0"));
    assert_eq!(ports(&seeder), vec![7002, 7003]);
    for peer in &seeder.peers {
        assert_eq!(peer.addr.ip().to_string(), "127.0.0.1");
    }
    let room_for_one = decode(&t.announce(&hash, 7001, "&left=0&numwant=1"));
    assert_eq!(ports(&room_for_one), vec![7003]);
}

#[test]
fn stopped_removes_and_completed_counts_downloaded() {
    let t = TestTracker::start(&[]);
    let hash = [3; 20];
    t.announce(&hash, 7001, "&left=10&event=started");
    t.announce(&hash, 7002, "&left=10&event=started");
    let done = decode(&t.announce(&hash, 7001, "&left=0&event=completed"));
    assert_eq!((done.complete, done.incomplete), (Some(1), Some(1)));
    let gone = decode(&t.announce(&hash, 7001, "&left=0&event=stopped"));
    assert_eq!((gone.complete, gone.incomplete), (Some(0), Some(1)));
    assert!(gone.peers.is_empty());
    let other = decode(&t.announce(&hash, 7002, "&left=10"));
    assert!(other.peers.is_empty(), "stopped peer still listed");
    let scrape = ScrapeReply::decode(
        &t.get(&format!("/scrape?info_hash={}", url_bytes(&hash)))
            .body,
    )
    .unwrap();
    let stats = scrape.get(&hash).expect("torrent in scrape");
    assert_eq!(
        (stats.complete, stats.incomplete, stats.downloaded),
        (0, 1, 1)
    );
}

#[test]
fn numwant_default_and_cap() {
    let t = TestTracker::start(&["--default-numwant", "3", "--max-numwant", "5"]);
    let hash = [4; 20];
    for port in 7001..7011 {
        t.announce(&hash, port, "&left=1");
    }
    assert_eq!(decode(&t.announce(&hash, 7100, "&left=1")).peers.len(), 3);
    assert_eq!(
        decode(&t.announce(&hash, 7100, "&left=1&numwant=100"))
            .peers
            .len(),
        5
    );
    assert_eq!(
        decode(&t.announce(&hash, 7100, "&left=1&numwant=2"))
            .peers
            .len(),
        2
    );
    assert_eq!(
        decode(&t.announce(&hash, 7100, "&left=1&numwant=0"))
            .peers
            .len(),
        0
    );
}

#[test]
fn compact_zero_gives_a_dictionary_list() {
    let t = TestTracker::start(&[]);
    let hash = [5; 20];
    t.announce(&hash, 7001, "&left=1");
    let body = t.announce(&hash, 7002, "&left=1&compact=0");
    assert!(
        body.windows(8).any(|w| w == b"5:peersl"),
        "{}",
        String::from_utf8_lossy(&body)
    );
    let reply = decode(&body);
    assert_eq!(
        reply.peers[0].addr,
        "127.0.0.1:7001".parse::<SocketAddr>().unwrap()
    );
}

#[test]
fn ipv6_peers_go_in_peers6() {
    let t = TestTracker::start_exact(&["tracker", "--listen", "[::1]:0", "--udp", "off"]);
    let hash = [6; 20];
    let mut a = HttpConn::open(t.http);
    a.get(&announce_path(&hash, 7001, "&left=1"), &[]);
    let body = HttpConn::open(t.http)
        .get(&announce_path(&hash, 7002, "&left=1"), &[])
        .body;
    assert!(
        body.windows(10).any(|w| w == b"6:peers618"),
        "{}",
        String::from_utf8_lossy(&body)
    );
    let reply = decode(&body);
    assert_eq!(reply.peers.len(), 1);
    assert_eq!(
        reply.peers[0].addr,
        "[::1]:7001".parse::<SocketAddr>().unwrap()
    );
}

#[test]
fn ip_param_ignored_unless_trusted() {
    let hash = [7; 20];
    let t = TestTracker::start(&[]);
    t.announce(&hash, 7001, "&left=1&ip=10.9.8.7");
    let reply = decode(&t.announce(&hash, 7002, "&left=1"));
    assert_eq!(reply.peers[0].addr.ip().to_string(), "127.0.0.1");

    let trusted = TestTracker::start(&["--trust-ip-param"]);
    trusted.announce(&hash, 7001, "&left=1&ip=10.9.8.7");
    let reply = decode(&trusted.announce(&hash, 7002, "&left=1"));
    assert_eq!(
        reply.peers[0].addr,
        "10.9.8.7:7001".parse::<SocketAddr>().unwrap()
    );
}

#[test]
fn forwarded_for_only_behind_proxy() {
    let hash = [8; 20];
    let header = ["X-Forwarded-For: 192.0.2.1, 10.1.1.1"];
    let t = TestTracker::start(&[]);
    HttpConn::open(t.http).get(&announce_path(&hash, 7001, "&left=1"), &header);
    let reply = decode(&t.announce(&hash, 7002, "&left=1"));
    assert_eq!(reply.peers[0].addr.ip().to_string(), "127.0.0.1");

    let proxied = TestTracker::start(&["--behind-proxy"]);
    HttpConn::open(proxied.http).get(&announce_path(&hash, 7001, "&left=1"), &header);
    let body = HttpConn::open(proxied.http)
        .get(
            &announce_path(&hash, 7002, "&left=1"),
            &["X-Forwarded-For: 10.2.2.2"],
        )
        .body;
    assert_eq!(
        decode(&body).peers[0].addr,
        "10.1.1.1:7001".parse::<SocketAddr>().unwrap()
    );
    let missing = proxied.announce(&hash, 7003, "&left=1");
    assert!(matches!(
        AnnounceReply::decode(&missing),
        Err(ReplyError::Failure(_))
    ));
}

#[test]
fn allowlist_refuses_other_torrents_and_reloads() {
    let dir = tempfile::tempdir().unwrap();
    let list = dir.path().join("allow.txt");
    std::fs::write(&list, format!("{}\n", "11".repeat(20))).unwrap();
    let t = TestTracker::start(&["--allowlist", list.to_str().unwrap()]);
    assert!(
        decode(&t.announce(&[0x11; 20], 7001, "&left=1"))
            .peers
            .is_empty()
    );
    match AnnounceReply::decode(&t.announce(&[0x22; 20], 7001, "&left=1")) {
        Err(ReplyError::Failure(reason)) => assert!(reason.contains("unknown torrent"), "{reason}"),
        other => panic!("expected a failure, got {other:?}"),
    }
    std::fs::write(&list, format!("{}\n", "22".repeat(20))).unwrap();
    t.state.allowlist.reload().unwrap();
    assert!(AnnounceReply::decode(&t.announce(&[0x22; 20], 7001, "&left=1")).is_ok());
}

#[test]
fn scrape_fifty_hashes_and_no_full_scrape_by_default() {
    let t = TestTracker::start(&[]);
    t.announce(&[9; 20], 7001, "&left=0");
    let query: Vec<String> = (0..50u8)
        .map(|i| {
            format!(
                "info_hash={}",
                url_bytes(&[if i == 0 { 9 } else { 100 + i }; 20])
            )
        })
        .collect();
    let response = t.get(&format!("/scrape?{}", query.join("&")));
    assert_eq!(response.status, 200);
    let scrape = ScrapeReply::decode(&response.body).unwrap();
    assert_eq!(scrape.files.len(), 50);
    assert_eq!(scrape.get(&[9; 20]).unwrap().complete, 1);
    let full = t.get("/scrape");
    assert!(matches!(
        ScrapeReply::decode(&full.body),
        Err(ReplyError::Failure(_))
    ));

    let open = TestTracker::start(&["--full-scrape"]);
    open.announce(&[9; 20], 7001, "&left=0");
    let all = ScrapeReply::decode(&open.get("/scrape").body).unwrap();
    assert_eq!(all.files.len(), 1);
}

#[test]
fn keep_alive_serves_many_requests_and_connection_close_is_honoured() {
    let t = TestTracker::start(&[]);
    let hash = [10; 20];
    let mut conn = HttpConn::open(t.http);
    for port in 7001..7011 {
        let response = conn.get(&announce_path(&hash, port, "&left=1"), &[]);
        assert_eq!(response.status, 200);
        assert_eq!(response.header("content-type"), Some("text/plain"));
    }
    let last = conn.get(
        &announce_path(&hash, 7011, "&left=1"),
        &["Connection: close"],
    );
    assert_eq!(decode(&last.body).peers.len(), 10);
    // The server closes, and nothing follows the bencoded body.
    assert_eq!(conn.bytes_until_close(Duration::from_secs(5)), Some(0));
}

#[test]
fn health() {
    let t = TestTracker::start(&[]);
    let response = t.get("/health");
    assert_eq!(
        (response.status, response.body.as_slice()),
        (200, &b"ok\n"[..])
    );
}

#[test]
fn announce_is_get_only_and_head_gets_no_body() {
    let t = TestTracker::start(&[]);
    let path = announce_path(&[11; 20], 7001, "&left=1");
    let mut conn = HttpConn::open(t.http);
    conn.send(format!("POST {path} HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n").as_bytes());
    assert_eq!(conn.read_response().expect("a response").status, 405);
    // HEAD: the headers of the GET reply, no body (the next reply follows at once).
    let mut conn = HttpConn::open(t.http);
    conn.send(format!("HEAD {path} HTTP/1.1\r\nHost: t\r\n\r\n").as_bytes());
    let mut head = String::new();
    loop {
        let mut line = String::new();
        std::io::BufRead::read_line(&mut conn.reader, &mut line).unwrap();
        if line == "\r\n" {
            break;
        }
        head.push_str(&line);
    }
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let next = conn.get("/health", &[]);
    assert_eq!((next.status, next.body.as_slice()), (200, &b"ok\n"[..]));
}
