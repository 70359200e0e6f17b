//! Hostile and malformed HTTP requests: each gets HTTP 200 with a bencoded failure reason
//! (or, beyond the header limits, a refusal) and the tracker keeps serving.

mod common;

use std::time::Duration;

use common::{HttpConn, TestTracker, announce_path, url_bytes};
use metainfo::tracker::{AnnounceReply, ReplyError};

const PEER: &str = "peer_id=-TT0001-abcdefghijkl";

fn failure_of(t: &TestTracker, path: &str) -> String {
    let response = t.get(path);
    assert_eq!(response.status, 200, "{path}");
    match AnnounceReply::decode(&response.body) {
        Err(ReplyError::Failure(reason)) => reason,
        other => panic!("{path}: expected a failure reason, got {other:?}"),
    }
}

#[test]
fn malformed_announces_get_a_reason() {
    let t = TestTracker::start(&[]);
    let hash = url_bytes(&[1; 20]);
    let cases = [
        (format!("/announce?{PEER}&port=1"), "info_hash"),
        (format!("/announce?info_hash=abc&{PEER}&port=1"), "20 bytes"),
        (format!("/announce?info_hash={hash}&port=1"), "peer_id"),
        (format!("/announce?info_hash={hash}&{PEER}"), "port"),
        (format!("/announce?info_hash={hash}&{PEER}&port=0"), "port"),
        (
            format!("/announce?info_hash={hash}&{PEER}&port=99999"),
            "port",
        ),
        (
            format!("/announce?info_hash={hash}&{PEER}&port=abc"),
            "port",
        ),
        (
            format!("/announce?info_hash={hash}&{PEER}&port=1&left=x"),
            "left",
        ),
        (
            format!("/announce?info_hash={hash}&{PEER}&port=1&uploaded=-1"),
            "uploaded",
        ),
        (
            format!("/announce?info_hash={hash}&{PEER}&port=1&numwant=lots"),
            "numwant",
        ),
        (
            format!("/announce?info_hash={hash}&{PEER}&port=1&event=party"),
            "event",
        ),
        (
            format!("/announce?info_hash=%G1{}&{PEER}&port=1", &hash[3..]),
            "percent",
        ),
        ("/announce".to_string(), "info_hash"),
        (format!("/announce?{}", "x=1&".repeat(3000)), "longer than"),
    ];
    for (path, expected) in cases {
        let reason = failure_of(&t, &path);
        assert!(
            reason.contains(expected),
            "{path}: reason {reason:?} lacks {expected:?}"
        );
    }
    // Still serving.
    assert!(AnnounceReply::decode(&t.announce(&[1; 20], 7001, "&left=1")).is_ok());
}

#[test]
fn oversized_heads_and_garbage_are_refused_without_harm() {
    let t = TestTracker::start(&[]);
    // A request line far over the head limit: refused (4xx) or the connection closed.
    let mut conn = HttpConn::open(t.http);
    let huge = format!(
        "GET /announce?{} HTTP/1.1\r\nHost: x\r\n\r\n",
        "a".repeat(100_000)
    );
    let _ = std::io::Write::write_all(conn.reader.get_mut(), huge.as_bytes());
    if let Some(r) = conn.read_response() {
        assert!((400..500).contains(&r.status), "status {}", r.status);
    }
    // Too many headers.
    let mut conn = HttpConn::open(t.http);
    let headers: Vec<String> = (0..200).map(|i| format!("X-H{i}: v")).collect();
    let refs: Vec<&str> = headers.iter().map(String::as_str).collect();
    conn.send(format!("GET /health HTTP/1.1\r\n{}\r\n\r\n", refs.join("\r\n")).as_bytes());
    if let Some(r) = conn.read_response() {
        assert!((400..500).contains(&r.status), "status {}", r.status);
    }
    // Not HTTP at all.
    let mut conn = HttpConn::open(t.http);
    conn.send(b"\x16\x03\x01\x00\xff garbage\r\n\r\n");
    if let Some(r) = conn.read_response() {
        assert!((400..500).contains(&r.status), "status {}", r.status);
    }
    assert_eq!(t.get("/health").status, 200);
}

#[test]
fn slow_and_idle_connections_time_out() {
    let t = TestTracker::start(&["--request-timeout", "1"]);
    // Idle: never sends anything.
    let mut idle = HttpConn::open(t.http);
    // Slow: sends half a request line and stops.
    let mut slow = HttpConn::open(t.http);
    slow.send(b"GET /announce?info_hash=");
    // Idle after a keep-alive request.
    let mut kept = HttpConn::open(t.http);
    assert_eq!(kept.get("/health", &[]).status, 200);
    for conn in [&mut idle, &mut slow, &mut kept] {
        assert!(
            conn.bytes_until_close(Duration::from_secs(8)).is_some(),
            "connection was not closed by the tracker"
        );
    }
    assert_eq!(t.get("/health").status, 200);
}

#[test]
fn valid_announce_answered_while_many_connections_idle() {
    raise_fd_limit(6000);
    let t = TestTracker::start(&[]);
    let mut idle = Vec::new();
    for _ in 0..2000 {
        idle.push(HttpConn::open(t.http));
    }
    let body = HttpConn::open(t.http)
        .get(&announce_path(&[3; 20], 7001, "&left=1"), &[])
        .body;
    assert!(AnnounceReply::decode(&body).is_ok());
    // The idle connections are still open (within the request timeout), and served.
    let last = idle.last_mut().unwrap();
    assert_eq!(last.get("/health", &[]).status, 200);
}

/// Let this test process hold `want` descriptors (2,000 client + 2,000 server sockets).
fn raise_fd_limit(want: u64) {
    let (soft, hard) = rlimit::getrlimit(rlimit::Resource::NOFILE).expect("getrlimit");
    if soft < want {
        let _ = rlimit::setrlimit(rlimit::Resource::NOFILE, want.min(hard), hard);
    }
    let (soft, hard) = rlimit::getrlimit(rlimit::Resource::NOFILE).expect("getrlimit");
    assert!(
        soft >= want,
        "open-file limit {soft} (hard {hard}) below {want}: raise it with `ulimit -n {want}`"
    );
}
