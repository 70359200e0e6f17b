//! Two `tracker` instances sharing one `redis-server` (`--store redis://…`) serve one swarm:
//! a peer announced at one instance is handed out by the other (over HTTP and UDP), scrape
//! counts agree, `stopped` and `completed` are seen everywhere, and peers that stop
//! announcing expire at both. Every process runs on 127.0.0.1 and is killed by PID.

use metainfo::tracker::{AnnounceReply, ReplyError, ScrapeReply, ScrapeStats};
use std::io::Read;
use std::net::{SocketAddr, UdpSocket};
use std::process::{Command, Stdio};
use std::time::Duration;
use swarm_tests::http::{request, try_request};
use swarm_tests::{ChildGuard, bin, free_port, require_tool, wait_for_port, wait_until};

/// A redis-server on a free loopback port, nothing persisted.
struct Redis {
    guard: ChildGuard,
    port: u16,
}

impl Redis {
    fn start() -> Redis {
        Redis::start_on(free_port())
    }

    fn start_on(port: u16) -> Redis {
        let mut cmd = Command::new("redis-server");
        cmd.args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null());
        let guard = ChildGuard::spawn("redis-server", &mut cmd);
        wait_for_port(port, Duration::from_secs(30));
        Redis { guard, port }
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }
}

/// One tracker instance (HTTP and UDP on the same port) on the shared Redis. Interval 1 s and
/// expiry factor 2: a peer that does not re-announce is gone after 2 s.
struct Tracker {
    _guard: ChildGuard,
    port: u16,
}

impl Tracker {
    fn start(store: &str) -> Tracker {
        Tracker::start_with(store, &[])
    }

    fn start_with(store: &str, extra: &[&str]) -> Tracker {
        let port = free_port();
        let addr = format!("127.0.0.1:{port}");
        let mut cmd = Command::new(bin("tracker"));
        cmd.args(["--listen", &addr, "--udp", &addr, "--store", store])
            .args([
                "--interval",
                "1",
                "--min-interval",
                "1",
                "--expiry-factor",
                "2",
            ])
            .args(extra)
            .stdout(Stdio::null());
        let guard = ChildGuard::spawn("tracker", &mut cmd);
        wait_for_port(port, Duration::from_secs(30));
        Tracker {
            _guard: guard,
            port,
        }
    }

    fn announce(&self, hash: &[u8; 20], port: u16, left: u64, event: &str) -> AnnounceReply {
        let body = self
            .try_announce(hash, port, left, event)
            .unwrap_or_else(|e| panic!("announce to tracker :{}: {e}", self.port));
        AnnounceReply::decode(&body).expect("a valid announce reply")
    }

    /// The raw reply body of an HTTP announce from 127.0.0.1, peer port `port`.
    fn try_announce(
        &self,
        hash: &[u8; 20],
        port: u16,
        left: u64,
        event: &str,
    ) -> std::io::Result<Vec<u8>> {
        let path = format!(
            "/announce?info_hash={}&peer_id={}&port={port}&uploaded=0&downloaded=0&left={left}\
             &event={event}&compact=1&numwant=50",
            escape(hash),
            escape(&peer_id(port))
        );
        http_get(self.port, &path)
    }

    fn scrape(&self, hash: &[u8; 20]) -> ScrapeStats {
        let body = http_get(self.port, &format!("/scrape?info_hash={}", escape(hash)))
            .expect("scrape request");
        ScrapeReply::decode(&body)
            .expect("a valid scrape reply")
            .get(hash)
            .unwrap_or_default()
    }
}

fn escape(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("%{b:02X}")).collect()
}

fn peer_id(port: u16) -> [u8; 20] {
    let mut id = *b"-RT0001-000000000000";
    id[14..16].copy_from_slice(&port.to_be_bytes());
    id
}

/// GET `path` from 127.0.0.1:`port`; the body of a 200 reply.
fn http_get(port: u16, path: &str) -> std::io::Result<Vec<u8>> {
    match try_request(port, "GET", path, &[], b"")? {
        (200, body) => Ok(body),
        (status, _) => Err(std::io::Error::other(format!("reply status {status}"))),
    }
}

fn hash(n: u8) -> [u8; 20] {
    let mut h = [0xA5; 20];
    h[0] = n;
    h
}

fn addr(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

fn peer_addrs(reply: &AnnounceReply) -> Vec<SocketAddr> {
    let mut v: Vec<SocketAddr> = reply.peers.iter().map(|p| p.addr).collect();
    v.sort();
    v
}

/// A BEP 15 announce from a fresh UDP socket: (leechers, seeders, peers).
fn udp_announce(
    tracker: u16,
    hash: &[u8; 20],
    port: u16,
    left: u64,
) -> (u32, u32, Vec<SocketAddr>) {
    let sock = UdpSocket::bind("127.0.0.1:0").expect("bind udp");
    sock.connect(("127.0.0.1", tracker)).expect("connect udp");
    sock.set_read_timeout(Some(Duration::from_secs(2)))
        .expect("timeout");
    let exchange = |request: &[u8]| -> Vec<u8> {
        let mut buf = [0u8; 2048];
        for _ in 0..5 {
            sock.send(request).expect("send");
            if let Ok(n) = sock.recv(&mut buf) {
                return buf[..n].to_vec();
            }
        }
        panic!("no UDP reply from the tracker");
    };
    let mut connect = 0x0417_2710_1980u64.to_be_bytes().to_vec();
    connect.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 7]);
    let reply = exchange(&connect);
    assert_eq!(&reply[..8], &[0, 0, 0, 0, 0, 0, 0, 7], "connect reply");
    let connection_id = &reply[8..16];
    let mut announce = connection_id.to_vec();
    announce.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 9]); // action announce, transaction 9
    announce.extend_from_slice(hash);
    announce.extend_from_slice(&peer_id(port));
    announce.extend_from_slice(&0u64.to_be_bytes()); // downloaded
    announce.extend_from_slice(&left.to_be_bytes());
    announce.extend_from_slice(&0u64.to_be_bytes()); // uploaded
    announce.extend_from_slice(&0u32.to_be_bytes()); // event none
    announce.extend_from_slice(&0u32.to_be_bytes()); // ip: the source
    announce.extend_from_slice(&1u32.to_be_bytes()); // key
    announce.extend_from_slice(&50i32.to_be_bytes()); // numwant
    announce.extend_from_slice(&port.to_be_bytes());
    let reply = exchange(&announce);
    assert!(reply.len() >= 20, "short UDP announce reply: {reply:?}");
    assert_eq!(
        &reply[..8],
        &[0, 0, 0, 1, 0, 0, 0, 9],
        "announce reply header"
    );
    let be = |at: usize| u32::from_be_bytes(reply[at..at + 4].try_into().expect("4 bytes"));
    let peers = reply[20..]
        .chunks_exact(6)
        .map(|c| SocketAddr::from(([c[0], c[1], c[2], c[3]], u16::from_be_bytes([c[4], c[5]]))))
        .collect();
    (be(12), be(16), peers)
}

#[test]
fn two_instances_on_one_redis_serve_one_swarm() {
    if !require_tool("redis-server") {
        return;
    }
    let redis = Redis::start();
    let one = Tracker::start(&redis.url());
    let two = Tracker::start(&redis.url());
    let h = hash(1);

    // A seeder announces at instance one; a leecher at instance two is handed it.
    let seeder = one.announce(&h, 7001, 0, "started");
    assert_eq!((seeder.complete, seeder.incomplete), (Some(1), Some(0)));
    assert!(seeder.peers.is_empty(), "a lone seeder gets no peers");
    let leecher = two.announce(&h, 7002, 1000, "started");
    assert_eq!(peer_addrs(&leecher), vec![addr(7001)]);
    assert_eq!((leecher.complete, leecher.incomplete), (Some(1), Some(1)));

    // And the other way round: the seeder, re-announcing at two, gets the leecher only.
    let again = two.announce(&h, 7001, 0, "");
    assert_eq!(peer_addrs(&again), vec![addr(7002)]);

    // Over UDP too (same swarm, same store): a new leecher at one sees both.
    let (leechers, seeders, peers) = udp_announce(one.port, &h, 7003, 500);
    assert_eq!((leechers, seeders), (2, 1));
    let mut peers = peers;
    peers.sort();
    assert_eq!(peers, vec![addr(7001), addr(7002)]);

    // Scrapes agree, and count a completion made at either instance.
    one.announce(&h, 7002, 0, "completed");
    let expected = ScrapeStats {
        complete: 2,
        incomplete: 1,
        downloaded: 1,
    };
    assert_eq!(one.scrape(&h), expected);
    assert_eq!(two.scrape(&h), expected);

    // `stopped` at one removes the peer for both.
    two.announce(&h, 7003, 500, "stopped");
    let after = ScrapeStats {
        incomplete: 0,
        ..expected
    };
    assert_eq!(one.scrape(&h), after);
    assert_eq!(two.scrape(&h), after);

    // Another torrent is its own swarm.
    assert_eq!(one.scrape(&hash(2)), ScrapeStats::default());
    assert!(two.announce(&hash(2), 7009, 1, "started").peers.is_empty());
}

#[test]
fn peer_ids_are_shared_through_redis() {
    if !require_tool("redis-server") {
        return;
    }
    let redis = Redis::start();
    let one = Tracker::start_with(&redis.url(), &["--peer-ids"]);
    let two = Tracker::start_with(&redis.url(), &["--peer-ids"]);
    let h = hash(3);
    one.announce(&h, 7001, 1, "started");
    udp_announce(one.port, &h, 7002, 1);
    // A dictionary reply at the other instance names both peers with their own ids.
    let path = format!(
        "/announce?info_hash={}&peer_id={}&port=7003&left=1&compact=0",
        escape(&h),
        escape(&peer_id(7003))
    );
    let body = http_get(two.port, &path).expect("announce");
    let reply = AnnounceReply::decode(&body).expect("a valid announce reply");
    let mut peers: Vec<(SocketAddr, Option<[u8; 20]>)> =
        reply.peers.iter().map(|p| (p.addr, p.peer_id)).collect();
    peers.sort();
    assert_eq!(
        peers,
        vec![
            (addr(7001), Some(peer_id(7001))),
            (addr(7002), Some(peer_id(7002)))
        ]
    );
    // `no_peer_id=1` leaves them out.
    let body = http_get(two.port, &format!("{path}&no_peer_id=1")).expect("announce");
    assert!(!body.windows(7).any(|w| w == b"peer id"));
}

#[test]
fn peers_expire_at_every_instance() {
    if !require_tool("redis-server") {
        return;
    }
    let redis = Redis::start();
    let one = Tracker::start(&redis.url());
    let two = Tracker::start(&redis.url());
    let h = hash(3);

    one.announce(&h, 8001, 0, "started");
    one.announce(&h, 8002, 10, "started");
    assert_eq!(two.scrape(&h).complete + two.scrape(&h).incomplete, 2);

    // Peer 8002 keeps announcing (at the other instance); 8001 goes silent. Peer lifetime is
    // interval 1 s × factor 2.
    let expired = wait_until(Duration::from_secs(20), || {
        two.announce(&h, 8002, 10, "");
        let (s1, s2) = (one.scrape(&h), two.scrape(&h));
        s1 == s2 && s1.complete == 0 && s1.incomplete == 1
    });
    assert!(
        expired,
        "the silent seeder never expired: {:?}",
        one.scrape(&h)
    );
    let fresh = one.announce(&h, 8003, 10, "");
    assert_eq!(peer_addrs(&fresh), vec![addr(8002)]);

    // Once everyone is silent, the swarm empties everywhere.
    let empty = wait_until(Duration::from_secs(20), || {
        one.scrape(&h) == ScrapeStats::default() && two.scrape(&h) == ScrapeStats::default()
    });
    assert!(empty, "peers did not expire: {:?}", two.scrape(&h));
}

#[test]
fn redis_outage_gives_failure_replies_then_recovers() {
    if !require_tool("redis-server") {
        return;
    }
    let mut redis = Redis::start();
    let redis_port = redis.port;
    let tracker = Tracker::start(&redis.url());
    let h = hash(4);
    tracker.announce(&h, 9001, 0, "started");

    // Redis goes away: announces get a bencoded failure reason (HTTP 200), never a hang.
    redis.guard.kill9();
    let body = tracker
        .try_announce(&h, 9002, 10, "started")
        .expect("an HTTP 200 reply while Redis is down");
    match AnnounceReply::decode(&body) {
        Err(ReplyError::Failure(reason)) => assert!(!reason.is_empty()),
        other => panic!("expected a failure reason, got {other:?}"),
    }

    // Redis is back (empty: nothing persisted): the tracker reconnects by itself.
    let _redis = Redis::start_on(redis_port);
    let recovered = wait_until(Duration::from_secs(60), || {
        tracker
            .try_announce(&h, 9003, 0, "started")
            .ok()
            .and_then(|body| AnnounceReply::decode(&body).ok())
            .is_some()
    });
    assert!(recovered, "the tracker did not reconnect to Redis");
    let reply = tracker.announce(&h, 9004, 10, "started");
    assert_eq!(peer_addrs(&reply), vec![addr(9003)]);
}

#[test]
fn unreachable_redis_at_start_is_one_clear_error() {
    if !require_tool("redis-server") {
        return;
    }
    let nobody = free_port();
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let mut cmd = Command::new(bin("tracker"));
    cmd.args(["--listen", &addr, "--udp", "off"])
        .args(["--store", &format!("redis://127.0.0.1:{nobody}/")])
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut tracker = ChildGuard::spawn("tracker", &mut cmd);
    let status = tracker.wait_timeout(Duration::from_secs(60));
    assert!(
        !status.success(),
        "the tracker must not run without its store"
    );
    let mut stderr = String::new();
    if let Some(mut pipe) = tracker.child().stderr.take() {
        let _ = pipe.read_to_string(&mut stderr);
    }
    assert!(
        stderr.to_lowercase().contains("redis"),
        "the error should name Redis: {stderr}"
    );
}

#[test]
fn two_instances_on_one_redis_serve_one_catalog() {
    if !require_tool("redis-server") {
        return;
    }
    let redis = Redis::start();
    let dir = tempfile::tempdir().unwrap();
    let tokens = dir.path().join("tokens");
    std::fs::write(&tokens, "shared-token\n").unwrap();
    let token_args = ["--publish-token-file", tokens.to_str().unwrap()];
    let one = Tracker::start_with(&redis.url(), &token_args);
    let two = Tracker::start_with(&redis.url(), &token_args);
    let meta = b"d4:infod6:lengthi5e4:name10:shared.iso12:piece lengthi16384e6:pieces20:ABCDEFGHIJKLMNOPQRSTee";
    let (status, body) = request(
        one.port,
        "POST",
        "/torrents",
        &[
            "Authorization: Bearer shared-token",
            "Content-Type: application/x-bittorrent",
        ],
        meta,
    );
    assert_eq!(status, 201, "{}", String::from_utf8_lossy(&body));
    let reply: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let hex = reply["info_hash"].as_str().unwrap().to_string();
    // The other instance lists it and serves the same bytes.
    let (status, list) = request(two.port, "GET", "/torrents?format=json", &[], b"");
    assert_eq!(status, 200);
    let list: serde_json::Value = serde_json::from_slice(&list).unwrap();
    assert_eq!(list[0]["name"], "shared.iso");
    let (status, bytes) = request(two.port, "GET", &format!("/torrents/{hex}.meta"), &[], b"");
    assert_eq!((status, bytes.as_slice()), (200, &meta[..]));
    // Deleted at two: gone at one.
    let auth = ["Authorization: Bearer shared-token"];
    assert_eq!(
        request(two.port, "DELETE", &format!("/torrents/{hex}"), &auth, b"").0,
        204
    );
    let (_, list) = request(one.port, "GET", "/torrents?format=json", &[], b"");
    assert_eq!(list, b"[]");
}
