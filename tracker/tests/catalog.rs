//! The catalog and the web side: publish → list (JSON, HTML) → fetch byte-identical →
//! delete; tokens; every bad upload; a flood of publishes; persistence across a restart; --catalog-only; private
//! mode; rate limits; /stats and /metrics.

mod common;

use std::time::Duration;

use common::{HttpConn, HttpResponse, TestTracker, announce_path};
use metainfo::tracker::AnnounceReply;

/// A valid single-file metainfo of `len` bytes named `name`.
fn meta(name: &str, len: u64) -> Vec<u8> {
    let pieces = len.div_ceil(16384).max(1) as usize;
    let mut out = format!(
        "d8:announce27:http://127.0.0.1:1/announce4:infod6:lengthi{len}e4:name{}:{name}12:piece lengthi16384e6:pieces{}:",
        name.len(),
        pieces * 20
    )
    .into_bytes();
    for i in 0..pieces * 20 {
        out.push((i as u8).wrapping_mul(31) ^ name.len() as u8);
    }
    out.extend_from_slice(b"ee");
    out
}

fn info_hash_hex(bytes: &[u8]) -> String {
    metainfo::Metainfo::from_bytes(bytes)
        .unwrap()
        .info_hash
        .to_hex()
}

fn request(
    t: &TestTracker,
    method: &str,
    path: &str,
    headers: &[&str],
    body: &[u8],
) -> HttpResponse {
    let mut conn = HttpConn::open(t.http);
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: tracker.test\r\nContent-Length: {}\r\n",
        body.len()
    );
    for h in headers {
        head.push_str(h);
        head.push_str("\r\n");
    }
    head.push_str("\r\n");
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(body);
    conn.send(&bytes);
    conn.read_response().expect("a response")
}

const TOKEN: &str = "Authorization: Bearer t0ken-for-tests";
const TORRENT: &str = "Content-Type: application/x-bittorrent";

fn publish(t: &TestTracker, bytes: &[u8]) -> HttpResponse {
    request(t, "POST", "/torrents", &[TOKEN, TORRENT], bytes)
}

/// A tracker with a token file (and `args`), its data in a temporary directory.
fn with_tokens(dir: &std::path::Path, args: &[&str]) -> TestTracker {
    let tokens = dir.join("tokens");
    std::fs::write(&tokens, "# tokens\nt0ken-for-tests\n").unwrap();
    let data = dir.join("data");
    let mut all = vec![
        "--publish-token-file",
        tokens.to_str().unwrap(),
        "--data-dir",
        data.to_str().unwrap(),
    ];
    all.extend_from_slice(args);
    TestTracker::start(&all)
}

fn json(r: &HttpResponse) -> serde_json::Value {
    serde_json::from_slice(&r.body)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&r.body)))
}

#[test]
fn publish_list_fetch_delete_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let t = with_tokens(dir.path(), &[]);
    let bytes = meta("ubuntu-mini.iso", 100_000);
    let hex = info_hash_hex(&bytes);
    let created = publish(&t, &bytes);
    assert_eq!(
        created.status,
        201,
        "{}",
        String::from_utf8_lossy(&created.body)
    );
    assert_eq!(
        created.header("location"),
        Some(format!("/torrents/{hex}").as_str())
    );
    let body = json(&created);
    assert_eq!(body["info_hash"], hex);
    assert_eq!(body["url"], format!("http://tracker.test/torrents/{hex}"));
    // The same again: 200 with the existing entry.
    assert_eq!(publish(&t, &bytes).status, 200);

    let list = t.get("/torrents?format=json");
    assert_eq!(list.header("content-type"), Some("application/json"));
    let rows = json(&list);
    assert_eq!(rows.as_array().unwrap().len(), 1);
    let row = &rows[0];
    assert_eq!(
        (row["name"].as_str(), row["size"].as_u64()),
        (Some("ubuntu-mini.iso"), Some(100_000))
    );
    assert_eq!(
        (row["files"].as_u64(), row["pieces"].as_u64()),
        (Some(1), Some(7))
    );
    assert!(row["added"].as_str().unwrap().ends_with('Z'));
    let accept = HttpConn::open(t.http).get("/torrents", &["Accept: application/json"]);
    assert_eq!(json(&accept), rows);

    let page = t.get("/torrents");
    assert!(
        page.header("content-type")
            .unwrap()
            .starts_with("text/html")
    );
    assert!(String::from_utf8_lossy(&page.body).contains("ubuntu-mini.iso"));
    let details = t.get(&format!("/torrents/{hex}?format=json"));
    assert!(
        json(&details)["magnet"]
            .as_str()
            .unwrap()
            .starts_with("magnet:?xt=urn:btih:")
    );

    let file = t.get(&format!("/torrents/{hex}.meta"));
    assert_eq!(file.status, 200);
    assert_eq!(
        file.header("content-type"),
        Some("application/x-bittorrent")
    );
    assert_eq!(file.body, bytes, "the .meta is byte-identical");

    assert_eq!(
        request(&t, "DELETE", &format!("/torrents/{hex}"), &[], b"").status,
        401
    );
    assert_eq!(
        request(&t, "DELETE", &format!("/torrents/{hex}"), &[TOKEN], b"").status,
        204
    );
    assert_eq!(t.get(&format!("/torrents/{hex}.meta")).status, 404);
    assert_eq!(json(&t.get("/torrents?format=json")), serde_json::json!([]));
}

#[test]
fn publishing_needs_a_valid_token() {
    let dir = tempfile::tempdir().unwrap();
    let t = with_tokens(dir.path(), &[]);
    let bytes = meta("a.bin", 10);
    assert_eq!(
        request(&t, "POST", "/torrents", &[TORRENT], &bytes).status,
        401
    );
    let wrong = ["Authorization: Bearer nope", TORRENT];
    assert_eq!(request(&t, "POST", "/torrents", &wrong, &bytes).status, 403);
    let data = dir.path().join("off");
    let off = TestTracker::start(&["--data-dir", data.to_str().unwrap()]);
    let refused = request(&off, "POST", "/torrents", &[TOKEN, TORRENT], &bytes);
    assert_eq!(refused.status, 403);
    assert!(String::from_utf8_lossy(&refused.body).contains("publishing is off"));
    assert_eq!(json(&t.get("/torrents?format=json")), serde_json::json!([]));
}

#[test]
fn bad_uploads_are_refused_and_nothing_is_stored() {
    let dir = tempfile::tempdir().unwrap();
    let t = with_tokens(dir.path(), &["--max-upload", "4096"]);
    let post = |headers: &[&str], body: &[u8]| request(&t, "POST", "/torrents", headers, body);
    assert_eq!(post(&[TOKEN, TORRENT], b"not bencode at all").status, 400);
    assert_eq!(
        post(&[TOKEN, TORRENT], &meta("big.bin", 4_000_000)).status,
        413
    );
    let traversal = b"d4:infod5:filesld6:lengthi1e4:pathl2:..4:evileee4:name3:dir12:piece lengthi16384e6:pieces20:aaaaaaaaaaaaaaaaaaaaee";
    let r = post(&[TOKEN, TORRENT], traversal);
    assert_eq!(r.status, 400, "{}", String::from_utf8_lossy(&r.body));
    let bad_info = b"d4:infod4:name1:x12:piece lengthi0e6:pieces0:ee";
    assert_eq!(post(&[TOKEN, TORRENT], bad_info).status, 400);
    let text = ["Content-Type: text/plain", TOKEN];
    assert_eq!(post(&text, &meta("ok.bin", 10)).status, 415);
    assert_eq!(json(&t.get("/torrents?format=json")), serde_json::json!([]));
}

#[test]
fn search_is_escaped_and_paging_is_checked() {
    let dir = tempfile::tempdir().unwrap();
    let t = with_tokens(dir.path(), &[]);
    for name in ["alpha.iso", "beta.iso", "gamma.tar"] {
        assert_eq!(publish(&t, &meta(name, 5000)).status, 201);
    }
    let rows = json(&t.get("/torrents?format=json&q=ISO&sort=name"));
    let names: Vec<&str> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["alpha.iso", "beta.iso"]);
    let page2 = json(&t.get("/torrents?format=json&sort=name&per_page=2&page=2"));
    assert_eq!(page2[0]["name"], "gamma.tar");
    let html = t.get("/torrents?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E");
    let text = String::from_utf8_lossy(&html.body);
    assert!(!text.contains("<script>alert(1)"), "search text is escaped");
    // Escaped (askama writes `<` as `&#60;`), and still shown.
    assert!(text.contains("&#60;script&#62;alert(1)") || text.contains("&lt;script&gt;alert(1)"));
    for bad in [
        "page=0",
        "page=-3",
        "per_page=0",
        "per_page=99999",
        "sort=evil",
    ] {
        assert_eq!(t.get(&format!("/torrents?{bad}")).status, 400, "{bad}");
    }
}

#[test]
fn the_catalog_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = meta("kept.bin", 70_000);
    let hex = info_hash_hex(&bytes);
    {
        let t = with_tokens(dir.path(), &[]);
        assert_eq!(publish(&t, &bytes).status, 201);
    }
    let t = with_tokens(dir.path(), &[]);
    assert_eq!(t.get(&format!("/torrents/{hex}.meta")).body, bytes);
}

#[test]
fn catalog_only_serves_published_torrents() {
    let dir = tempfile::tempdir().unwrap();
    let t = with_tokens(dir.path(), &["--catalog-only"]);
    let bytes = meta("listed.bin", 20_000);
    let hash = metainfo::Metainfo::from_bytes(&bytes).unwrap().info_hash.0;
    let refused = t.announce(&hash, 6881, "&left=0");
    assert!(String::from_utf8_lossy(&refused).contains("failure reason"));
    assert_eq!(publish(&t, &bytes).status, 201);
    let ok = t.announce(&hash, 6881, "&left=0");
    assert!(
        AnnounceReply::decode(&ok).is_ok(),
        "{}",
        String::from_utf8_lossy(&ok)
    );
}

#[test]
fn an_announce_with_two_info_hashes_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let t = with_tokens(dir.path(), &[]);
    let path = announce_path(
        &[1; 20],
        6881,
        &format!("&info_hash={}", common::url_bytes(&[2; 20])),
    );
    let body = t.get(&path).body;
    assert!(String::from_utf8_lossy(&body).contains("two different `info_hash`"));
    let same = announce_path(
        &[1; 20],
        6881,
        &format!("&info_hash={}", common::url_bytes(&[1; 20])),
    );
    assert!(AnnounceReply::decode(&t.get(&same).body).is_ok());
}

#[test]
fn private_mode_needs_a_known_passkey_over_http_and_udp() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("passkeys");
    std::fs::write(&keys, "filekey-0001\n").unwrap();
    let t = with_tokens(dir.path(), &["--passkeys", keys.to_str().unwrap()]);
    let hash = [7u8; 20];
    let open = t.announce(&hash, 6881, "&left=0");
    assert!(String::from_utf8_lossy(&open).contains("unknown passkey"));
    let path =
        announce_path(&hash, 6881, "&left=0").replacen("/announce", "/announce/filekey-0001", 1);
    assert!(AnnounceReply::decode(&t.get(&path).body).is_ok());
    let wrong = path.replacen("filekey-0001", "wrongkey-0001", 1);
    assert!(String::from_utf8_lossy(&t.get(&wrong).body).contains("unknown passkey"));
    // A key made through the API works at once, and goes again.
    let made = request(&t, "POST", "/passkeys", &[TOKEN], b"");
    assert_eq!(made.status, 201);
    let key = json(&made)["passkey"].as_str().unwrap().to_string();
    let api_path = path.replacen("filekey-0001", &key, 1);
    assert!(AnnounceReply::decode(&t.get(&api_path).body).is_ok());
    assert_eq!(
        request(&t, "DELETE", &format!("/passkeys/{key}"), &[TOKEN], b"").status,
        204
    );
    assert!(String::from_utf8_lossy(&t.get(&api_path).body).contains("unknown passkey"));
    // UDP: the passkey comes as BEP 41 URL data.
    let socket = common::udp_client(t.udp.unwrap());
    let id = common::udp_connection_id(&socket);
    let mut packet = common::udp_announce_packet(id, 5, &hash, 0, 2, -1, 7000);
    let bare = common::udp_exchange(&socket, &packet).unwrap();
    assert_eq!(common::be32(&bare, 0), 3, "an error without a passkey");
    let data = b"/announce/filekey-0001";
    packet.extend_from_slice(&[2, data.len() as u8]);
    packet.extend_from_slice(data);
    packet.push(0);
    let ok = common::udp_exchange(&socket, &packet).unwrap();
    assert_eq!(common::be32(&ok, 0), 1, "{}", String::from_utf8_lossy(&ok));
    // The passkey appears nowhere public.
    for page in ["/", "/stats", "/metrics", "/torrents"] {
        let body = String::from_utf8_lossy(&t.get(page).body).to_string();
        assert!(!body.contains("filekey-0001"), "{page}");
    }
}

#[test]
fn rate_limit_triggers_and_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let t = with_tokens(dir.path(), &["--rate-announce", "120", "--rate-web", "3"]);
    let mut conn = HttpConn::open(t.http);
    let path = announce_path(&[9; 20], 6881, "&left=5");
    for _ in 0..120 {
        assert!(AnnounceReply::decode(&conn.get(&path, &[]).body).is_ok());
    }
    let limited = String::from_utf8_lossy(&conn.get(&path, &[]).body).to_string();
    assert!(limited.contains("rate limit"), "{limited}");
    // Two tokens a second come back.
    std::thread::sleep(Duration::from_millis(1200));
    assert!(AnnounceReply::decode(&conn.get(&path, &[]).body).is_ok());
    for _ in 0..3 {
        assert_eq!(conn.get("/stats", &[]).status, 200);
    }
    let web = conn.get("/stats", &[]);
    assert_eq!(web.status, 429);
    let retry: u64 = web.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=20).contains(&retry));
    let metrics = conn.get("/metrics", &[]);
    assert_eq!(metrics.status, 429, "every web request counts");
}

#[test]
fn a_flood_of_publishes_is_refused_and_nothing_more_is_stored() {
    let dir = tempfile::tempdir().unwrap();
    let t = with_tokens(dir.path(), &["--rate-publish", "2"]);
    for name in ["one.bin", "two.bin"] {
        assert_eq!(publish(&t, &meta(name, 1000)).status, 201);
    }
    let flood = meta("three.bin", 1000);
    for _ in 0..5 {
        let refused = publish(&t, &flood);
        assert_eq!(refused.status, 429);
        assert!(refused.header("retry-after").is_some());
        let reason = json(&refused)["error"].as_str().unwrap().to_string();
        assert!(reason.contains("rate limit"), "{reason}");
    }
    let names: Vec<String> = json(&t.get("/torrents?format=json&sort=name"))
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        names,
        ["one.bin", "two.bin"],
        "nothing of the flood is stored"
    );
    let metrics = String::from_utf8(t.get("/metrics").body).unwrap();
    assert!(
        metrics.contains("tracker_rate_limited_total{kind=\"publish\"} 5"),
        "counted in the metrics"
    );
}

#[test]
fn metrics_parse_and_move_with_announces() {
    let dir = tempfile::tempdir().unwrap();
    let t = with_tokens(dir.path(), &[]);
    let count = |t: &TestTracker| -> f64 {
        let text = String::from_utf8(t.get("/metrics").body).unwrap();
        let lines = text.lines().map(|l| Ok(l.to_string()));
        let scrape = prometheus_parse::Scrape::parse(lines).expect("Prometheus text format");
        for s in &scrape.samples {
            assert!(s.metric.starts_with("tracker_"), "{}", s.metric);
        }
        scrape
            .samples
            .iter()
            .filter(|s| {
                s.metric == "tracker_announces_total"
                    && s.labels.get("protocol") == Some("http")
                    && s.labels.get("outcome") == Some("ok")
            })
            .map(|s| match s.value {
                prometheus_parse::Value::Counter(v)
                | prometheus_parse::Value::Untyped(v)
                | prometheus_parse::Value::Gauge(v) => v,
                _ => 0.0,
            })
            .sum()
    };
    let before = count(&t);
    for port in 1..=5 {
        t.announce(&[4; 20], port, "&left=1");
    }
    assert_eq!(count(&t) - before, 5.0);
    // The swarm totals are taken at most every 5 s.
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    let mut stats = json(&t.get("/stats"));
    while stats["leechers"] != 5 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(500));
        stats = json(&t.get("/stats"));
    }
    assert_eq!(stats["leechers"], 5);
    assert_eq!(stats["torrents"], 1);
    assert!(stats["version"].is_string() && stats["uptime_s"].is_u64());
    let status = String::from_utf8(t.get("/").body).unwrap();
    assert!(status.contains("Tracker status") && status.contains("Busiest swarms"));
}
