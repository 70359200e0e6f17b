//! Real BitTorrent clients meet at our tracker: aria2c and libtorrent announce to it, are
//! handed each other and complete a transfer. No peer address is given to any client — the
//! tracker is the only way they find each other. The metainfo is made by mktorrent. Every
//! client has DHT, LPD, UPnP, NAT-PMP and PEX off and runs on 127.0.0.1; all are killed by PID.
//!
//! aria2 is tested over HTTP only: its UDP tracker client rides on its DHT socket, and DHT
//! stays off here. The UDP tracker is exercised by libtorrent on both ends.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;
use swarm_tests::aria2::{aria2_leech, aria2_seed};
use swarm_tests::libtorrent::{lt_leech, lt_seed};
use swarm_tests::ours::Tracker;
use swarm_tests::output::Proc;
use swarm_tests::{
    bin, free_port, require_libtorrent, require_tool, same_contents, wait_for_port,
    write_random_file,
};

const MIB: u64 = 1024 * 1024;
const LIMIT: Duration = Duration::from_secs(150);

/// Our tracker with HTTP and UDP on one free port, a 2 s interval so late joiners are found
/// quickly.
fn start_tracker() -> Tracker {
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let data = swarm_tests::ours::data_dir();
    let mut cmd = Command::new(bin("tracker"));
    cmd.args(["--listen", &addr, "--udp", &addr])
        .args(["--interval", "2", "--min-interval", "1"])
        .arg("--data-dir")
        .arg(data.path());
    let proc = Proc::spawn("tracker", &mut cmd, port);
    wait_for_port(port, Duration::from_secs(30));
    Tracker { proc, data }
}

/// A payload in `root/seed/NAME` and its metainfo made by mktorrent, announcing `announce`.
struct Torrent {
    meta: PathBuf,
    payload: PathBuf,
    name: String,
    info_hash: [u8; 20],
}

fn make_torrent(root: &Path, name: &str, len: u64, seed: u64, announce: &str) -> Torrent {
    let payload = root.join("seed").join(name);
    write_random_file(&payload, len, seed);
    let meta = root.join(format!("{name}.torrent"));
    let status = Command::new("mktorrent")
        .args(["-l", "18", "-a", announce, "-o"])
        .arg(&meta)
        .arg(&payload)
        .stdout(std::process::Stdio::null())
        .status()
        .expect("run mktorrent");
    assert!(status.success(), "mktorrent failed");
    let bytes = std::fs::read(&meta).expect("read the metainfo");
    let info_hash = metainfo::Metainfo::from_bytes(&bytes)
        .expect("mktorrent's metainfo parses")
        .info_hash
        .0;
    Torrent {
        meta,
        payload,
        name: name.to_string(),
        info_hash,
    }
}

fn http_announce(tracker: &Tracker) -> String {
    format!("http://127.0.0.1:{}/announce", tracker.proc.port)
}

fn wait_for_seeder(tracker: &Tracker, t: &Torrent, who: &str) {
    assert!(
        tracker.wait_seeders(&t.info_hash, 1, Duration::from_secs(60)),
        "{who} never announced itself as a seeder to our tracker"
    );
}

#[test]
fn libtorrent_leecher_finds_aria2_seeder_through_http_tracker() {
    if !require_tool("aria2c") || !require_tool("mktorrent") || !require_libtorrent() {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let tracker = start_tracker();
    let t = make_torrent(
        dir.path(),
        "from-aria2.bin",
        3 * MIB + 4321,
        31,
        &http_announce(&tracker),
    );
    let _aria = aria2_seed(&t.meta, &dir.path().join("seed"));
    wait_for_seeder(&tracker, &t, "aria2c");
    let out = dir.path().join("lt");
    let mut lt = lt_leech(&t.meta, &out, &[], LIMIT);
    lt.wait_success(LIMIT);
    assert!(
        same_contents(&t.payload, &out.join(&t.name)),
        "libtorrent's copy differs"
    );
}

#[test]
fn aria2_leecher_finds_libtorrent_seeder_through_http_tracker() {
    if !require_tool("aria2c") || !require_tool("mktorrent") || !require_libtorrent() {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let tracker = start_tracker();
    let t = make_torrent(
        dir.path(),
        "from-lt.bin",
        3 * MIB + 77,
        32,
        &http_announce(&tracker),
    );
    let _lt = lt_seed(&t.meta, &dir.path().join("seed"), &[]);
    wait_for_seeder(&tracker, &t, "libtorrent");
    let out = dir.path().join("aria");
    let mut aria = aria2_leech(&t.meta, &out);
    aria.wait_success(LIMIT);
    assert!(
        same_contents(&t.payload, &out.join(&t.name)),
        "aria2's copy differs"
    );
}

#[test]
fn libtorrent_peers_meet_through_udp_tracker() {
    if !require_tool("mktorrent") || !require_libtorrent() {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let tracker = start_tracker();
    let announce = format!("udp://127.0.0.1:{}/announce", tracker.proc.port);
    let t = make_torrent(dir.path(), "over-udp.bin", 3 * MIB + 999, 33, &announce);
    let _seeder = lt_seed(&t.meta, &dir.path().join("seed"), &[]);
    // The seeder announced over UDP; the HTTP scrape on the same port shows the same swarm.
    wait_for_seeder(&tracker, &t, "libtorrent (UDP)");
    let out = dir.path().join("lt");
    let mut leecher = lt_leech(&t.meta, &out, &[], LIMIT);
    leecher.wait_success(LIMIT);
    assert!(
        same_contents(&t.payload, &out.join(&t.name)),
        "the UDP-found copy differs"
    );
}
