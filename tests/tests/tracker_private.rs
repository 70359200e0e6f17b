//! Private mode with real clients: aria2c and libtorrent announce to `/announce/<passkey>`,
//! find each other and complete a transfer; a wrong key gets a failure reason; the key never
//! appears in the tracker's log (which logs every announce here, at debug). All on
//! 127.0.0.1 with DHT, LSD, UPnP, NAT-PMP and PEX off.

use std::process::Command;
use std::time::Duration;

use swarm_tests::aria2::aria2_seed;
use swarm_tests::libtorrent::lt_leech;
use swarm_tests::ours::{Tracker, data_dir};
use swarm_tests::output::Proc;
use swarm_tests::{
    bin, free_port, require_libtorrent, require_tool, same_contents, wait_for_port,
    write_random_file,
};

const KEY: &str = "Pk-7f3a9c21e4b8d605";
const LIMIT: Duration = Duration::from_secs(150);

#[test]
fn aria2_and_libtorrent_announce_with_a_passkey_and_find_each_other() {
    if !require_tool("aria2c") || !require_tool("mktorrent") || !require_libtorrent() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("passkeys");
    std::fs::write(&keys, format!("{KEY}\n")).unwrap();
    let port = free_port();
    let data = data_dir();
    let mut cmd = Command::new(bin("tracker"));
    cmd.args(["--listen", &format!("127.0.0.1:{port}"), "--udp", "off"])
        .args(["--interval", "2", "--min-interval", "1"])
        .arg("--passkeys")
        .arg(&keys)
        .arg("--data-dir")
        .arg(data.path())
        .env("RUST_LOG", "debug");
    let proc = Proc::spawn("tracker", &mut cmd, port);
    wait_for_port(port, Duration::from_secs(30));
    let tracker = Tracker { proc, data };

    let payload = dir.path().join("seed").join("private.bin");
    write_random_file(&payload, 2 * 1024 * 1024 + 333, 41);
    let meta = dir.path().join("private.torrent");
    let announce = format!("http://127.0.0.1:{port}/announce/{KEY}");
    let status = Command::new("mktorrent")
        .args(["-l", "18", "-p", "-a", &announce, "-o"])
        .arg(&meta)
        .arg(&payload)
        .stdout(std::process::Stdio::null())
        .status()
        .expect("mktorrent");
    assert!(status.success());
    let hash = metainfo::Metainfo::from_bytes(&std::fs::read(&meta).unwrap())
        .unwrap()
        .info_hash;

    let _aria = aria2_seed(&meta, &dir.path().join("seed"));
    // The scrape needs the passkey too.
    let seeded = swarm_tests::wait_until(Duration::from_secs(60), || {
        get(
            port,
            &format!("/scrape/{KEY}?info_hash={}", hash.url_encoded()),
        )
        .contains("8:completei1e")
    });
    assert!(seeded, "aria2c announced as a seeder with its passkey");
    let out = dir.path().join("lt");
    let mut lt = lt_leech(&meta, &out, &[], LIMIT);
    lt.wait_success(LIMIT);
    assert!(
        same_contents(&payload, &out.join("private.bin")),
        "libtorrent's copy differs"
    );

    let wrong = get(
        port,
        &format!(
            "/announce/not-the-key-0000?info_hash={}&peer_id=-TT0001-000000000001&port=7000&left=1",
            hash.url_encoded()
        ),
    );
    assert!(
        wrong.contains("failure reason") && wrong.contains("unknown passkey"),
        "{wrong}"
    );
    let without = get(
        port,
        &format!(
            "/announce?info_hash={}&peer_id=-TT0001-000000000001&port=7000",
            hash.url_encoded()
        ),
    );
    assert!(without.contains("unknown passkey"));

    let log = tracker.proc.out.snapshot().join("\n");
    assert!(
        log.contains("/announce/<passkey>"),
        "announces are logged, redacted"
    );
    assert!(!log.contains(KEY), "the passkey is in the tracker's log");
}

fn get(port: u16, path: &str) -> String {
    String::from_utf8_lossy(&swarm_tests::http::get(port, path).1).into_owned()
}
