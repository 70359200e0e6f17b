//! Magnet links, both ways, with real clients on loopback (DHT, LSD, UPnP, NAT-PMP off):
//! `swarm get 'magnet:…'` fetches the metadata (BEP 9) and then the data from a libtorrent,
//! an aria2c and a Transmission seeder; libtorrent and aria2c given only a magnet link get
//! both from `swarm seed`. Also `swarm get URL` of a metainfo file on a local HTTP server.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::time::Duration;

use swarm_tests::aria2::{aria2_leech_magnet, aria2_seed};
use swarm_tests::libtorrent::{lt_leech_magnet, lt_seed_with};
use swarm_tests::metafile::{TestTorrent, write_meta};
use swarm_tests::ours::{Tracker, swarm_get, swarm_seed_all};
use swarm_tests::output::Proc;
use swarm_tests::transmission::{transmission, wait_transmission_seeding};
use swarm_tests::{require_libtorrent, require_tool, same_contents, write_random_file};

const KIB: u64 = 1024;
const MIB: u64 = 1024 * KIB;
const LIMIT: Duration = Duration::from_secs(180);

/// A payload in `root/seed/payload.bin` with its metainfo beside it (`root/seed/t.meta`), so
/// `swarm seed root/seed/t.meta` finds the data.
fn payload(root: &Path, len: u64, seed: u64, announce: Option<&str>) -> TestTorrent {
    let data = root.join("seed").join("payload.bin");
    write_random_file(&data, len, seed);
    write_meta(&data, &root.join("seed").join("t.meta"), 32 * KIB, announce)
}

/// `magnet:?xt=urn:btih:…&dn=…` with the given trackers (`tr=`) and peers (`x.pe=`).
fn magnet(t: &TestTorrent, trackers: &[String], peers: &[String]) -> String {
    let mut link = format!("magnet:?xt=urn:btih:{}&dn={}", t.info_hash_hex(), t.name);
    for tracker in trackers {
        link.push_str("&tr=");
        link.push_str(&tracker.replace(':', "%3A").replace('/', "%2F"));
    }
    for peer in peers {
        link.push_str("&x.pe=");
        link.push_str(peer);
    }
    link
}

/// Runs `swarm get LINK` to the end and checks the data; the download folder must hold only
/// the torrent's file (the metainfo goes to the state directory).
fn swarm_gets(t: &TestTorrent, link: &str, out: &Path, extra: &[&str]) -> Proc {
    let mut get = swarm_get(Path::new(link), out, &[], extra);
    get.wait_success(LIMIT);
    assert!(
        same_contents(&t.payload, &out.join(&t.name)),
        "downloaded data differs; swarm output:\n{}",
        get.out.tail(30)
    );
    let listed: Vec<_> = std::fs::read_dir(out)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        listed,
        vec![std::ffi::OsString::from(&t.name)],
        "{listed:?}"
    );
    get
}

#[test]
fn swarm_gets_a_magnet_link_from_a_libtorrent_seeder() {
    if !require_libtorrent() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let t = payload(dir.path(), 3 * MIB + 17, 21, None);
    let lt = lt_seed_with(
        &t.meta,
        &dir.path().join("seed"),
        &[],
        &["--plugin", "ut_metadata"],
    );
    let link = magnet(&t, &[], &[lt.addr()]);
    let saved = dir.path().join("saved.meta");
    let saved_arg = saved.to_str().unwrap();
    swarm_gets(
        &t,
        &link,
        &dir.path().join("out"),
        &["--no-tracker", "--save-meta", saved_arg],
    );
    let info_hash = metainfo::Metainfo::from_bytes(&std::fs::read(&saved).unwrap())
        .expect("--save-meta wrote a metainfo")
        .info_hash;
    assert_eq!(info_hash.as_bytes(), &t.info_hash);
}

#[test]
fn swarm_gets_a_magnet_link_from_an_aria2_seeder_through_the_tracker() {
    if !require_tool("aria2c") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let tracker = Tracker::start();
    let t = payload(dir.path(), 2 * MIB + 5, 22, Some(&tracker.announce_url()));
    let _aria = aria2_seed(&t.meta, &dir.path().join("seed"));
    assert!(tracker.wait_seeders(&t.info_hash, 1, Duration::from_secs(60)));
    let link = magnet(&t, &[tracker.announce_url()], &[]);
    swarm_gets(&t, &link, &dir.path().join("out"), &[]);
}

#[test]
fn swarm_gets_a_magnet_link_from_a_transmission_seeder() {
    if !require_tool("transmission-cli") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let t = payload(dir.path(), 2 * MIB + 9, 23, None);
    let mut tr = transmission(
        &t.meta,
        &dir.path().join("seed"),
        &dir.path().join("transmission"),
    );
    wait_transmission_seeding(&mut tr, LIMIT);
    let link = magnet(&t, &[], &[tr.addr()]);
    swarm_gets(&t, &link, &dir.path().join("out"), &["--no-tracker"]);
}

/// `swarm seed` of `t`, registered at `tracker`.
fn swarm_seeder(t: &TestTorrent, tracker: &Tracker) -> Proc {
    let seed = swarm_seed_all(&[&t.meta]);
    assert!(
        tracker.wait_seeders(&t.info_hash, 1, Duration::from_secs(60)),
        "swarm seed never announced; output:\n{}",
        seed.out.tail(20)
    );
    seed
}

#[test]
fn libtorrent_given_only_a_magnet_link_gets_metadata_and_data_from_swarm_seed() {
    if !require_libtorrent() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let tracker = Tracker::start();
    let t = payload(dir.path(), 3 * MIB + 3, 24, Some(&tracker.announce_url()));
    let _seed = swarm_seeder(&t, &tracker);
    let out = dir.path().join("lt");
    let mut lt = lt_leech_magnet(&magnet(&t, &[tracker.announce_url()], &[]), &out, LIMIT);
    lt.wait_success(LIMIT);
    assert!(same_contents(&t.payload, &out.join(&t.name)));
}

#[test]
fn aria2_given_only_a_magnet_link_gets_metadata_and_data_from_swarm_seed() {
    if !require_tool("aria2c") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let tracker = Tracker::start();
    let t = payload(dir.path(), 2 * MIB + 1, 25, Some(&tracker.announce_url()));
    let _seed = swarm_seeder(&t, &tracker);
    let out = dir.path().join("aria2");
    let mut aria = aria2_leech_magnet(&magnet(&t, &[tracker.announce_url()], &[]), &out);
    aria.wait_success(LIMIT);
    assert!(same_contents(&t.payload, &out.join(&t.name)));
}

#[test]
fn a_magnet_link_with_nowhere_to_ask_is_a_usage_error_naming_the_link() {
    let dir = tempfile::tempdir().unwrap();
    let link = format!("magnet:?xt=urn:btih:{}&dn=lonely", "ab".repeat(20));
    let mut get = swarm_get(Path::new(&link), &dir.path().join("out"), &[], &[]);
    let status = get.wait_exit(LIMIT).expect("swarm exits");
    assert_eq!(status.code(), Some(2), "{}", get.out.tail(10));
    assert!(get.out.contains("lonely"), "{}", get.out.tail(10));
}

#[test]
fn a_bad_magnet_link_is_refused_with_exit_status_3() {
    let dir = tempfile::tempdir().unwrap();
    for link in [
        "magnet:?dn=no-hash",
        "magnet:?xt=urn:btih:1234",
        "magnet:?xt=urn:btih:0000000000000000000000000000000000000000&xt=urn:btih:1111111111111111111111111111111111111111",
    ] {
        let mut get = swarm_get(Path::new(link), &dir.path().join("out"), &[], &[]);
        let status = get.wait_exit(LIMIT).expect("swarm exits");
        assert_eq!(status.code(), Some(3), "{link}: {}", get.out.tail(10));
        assert!(get.out.contains("bad magnet link"), "{}", get.out.tail(10));
    }
}

/// Serves `body` with `content_type` to every request on a loopback port, on a thread, for
/// as long as the test runs (at most 20 requests).
fn http_server(body: Vec<u8>, content_type: &'static str) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(20) {
            let Ok(mut stream) = stream else { continue };
            let mut request = [0u8; 4096];
            let _ = stream.read(&mut request);
            let head = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(&body);
        }
    });
    port
}

#[test]
fn swarm_get_url_downloads_the_metainfo_then_the_data() {
    if !require_libtorrent() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let t = payload(dir.path(), MIB + 7, 26, None);
    let lt = lt_seed_with(&t.meta, &dir.path().join("seed"), &[], &[]);
    let port = http_server(std::fs::read(&t.meta).unwrap(), "application/x-bittorrent");
    let url = format!("http://127.0.0.1:{port}/torrents/t.meta");
    let out = dir.path().join("out");
    let mut get = swarm_get(Path::new(&url), &out, &[lt.addr()], &["--no-tracker"]);
    get.wait_success(LIMIT);
    assert!(same_contents(&t.payload, &out.join(&t.name)));
}

#[test]
fn swarm_get_url_of_a_web_page_says_it_is_not_a_metainfo_file() {
    let dir = tempfile::tempdir().unwrap();
    let port = http_server(b"<html><body>login</body></html>".to_vec(), "text/html");
    let url = format!("http://127.0.0.1:{port}/x.meta?passkey=secret");
    let mut get = swarm_get(Path::new(&url), &dir.path().join("out"), &[], &[]);
    let status = get.wait_exit(LIMIT).expect("swarm exits");
    assert_eq!(status.code(), Some(3), "{}", get.out.tail(10));
    assert!(
        get.out.contains("not a metainfo file"),
        "{}",
        get.out.tail(10)
    );
    assert!(
        !get.out.contains("secret"),
        "the passkey is not shown: {}",
        get.out.tail(10)
    );
}
