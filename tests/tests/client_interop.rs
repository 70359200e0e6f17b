//! `swarm` against real BitTorrent clients on loopback: our client downloads correct data
//! from aria2c, libtorrent and Transmission seeders (through our tracker or by dialing them
//! with `--peer`), and aria2c and libtorrent download from our client seeding.
//! Small payloads (a few MiB, small pieces so there are many), generous timeouts.

use std::path::{Path, PathBuf};
use std::time::Duration;
use swarm_tests::aria2::{aria2_leech, aria2_seed};
use swarm_tests::libtorrent::{lt_leech, lt_seed};
use swarm_tests::metafile::{TestTorrent, write_meta};
use swarm_tests::ours::{Tracker, done_event, swarm_get, swarm_get_seed, swarm_seed};
use swarm_tests::output::Proc;
use swarm_tests::transmission::{transmission, wait_transmission_seeding};
use swarm_tests::{require_libtorrent, require_tool, same_contents, write_random_file};

const KIB: u64 = 1024;
const MIB: u64 = 1024 * KIB;
const LIMIT: Duration = Duration::from_secs(180);

/// A payload of `len` bytes in `root/seed/payload.bin` and its metainfo (`root/t.meta`).
fn payload(root: &Path, len: u64, seed: u64, piece: u64, announce: Option<&str>) -> TestTorrent {
    let data = root.join("seed").join("payload.bin");
    write_random_file(&data, len, seed);
    write_meta(&data, &root.join("t.meta"), piece, announce)
}

/// Run `swarm get` to completion and check the downloaded file.
fn swarm_downloads(t: &TestTorrent, out: &Path, peers: &[String], extra: &[&str]) -> Proc {
    let mut get = swarm_get(&t.meta, out, peers, extra);
    get.wait_success(LIMIT);
    let got: PathBuf = out.join(&t.name);
    assert!(
        same_contents(&t.payload, &got),
        "downloaded data differs from the payload; swarm output:\n{}",
        get.out.tail(30)
    );
    if let Some(done) = done_event(&get) {
        assert_eq!(done["complete"], true, "{done}");
    }
    get
}

#[test]
fn swarm_downloads_from_aria2_seeder_via_tracker() {
    if !require_tool("aria2c") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let tracker = Tracker::start();
    let t = payload(
        dir.path(),
        4 * MIB + 1234,
        11,
        64 * KIB,
        Some(&tracker.announce_url()),
    );
    let _aria = aria2_seed(&t.meta, &dir.path().join("seed"));
    tracker.wait_seeders(&t.info_hash, 1, Duration::from_secs(30));
    swarm_downloads(&t, &dir.path().join("out"), &[], &[]);
}

#[test]
fn swarm_downloads_from_libtorrent_seeder_via_peer() {
    if !require_libtorrent() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let t = payload(dir.path(), 4 * MIB + 99, 12, 32 * KIB, None);
    let lt = lt_seed(&t.meta, &dir.path().join("seed"), &[]);
    swarm_downloads(&t, &dir.path().join("out"), &[lt.addr()], &["--no-tracker"]);
}

#[test]
fn swarm_downloads_from_transmission_seeder_via_peer() {
    // Transmission ignores 127.x peers from a tracker, so our client dials it.
    if !require_tool("transmission-cli") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let t = payload(dir.path(), 3 * MIB + 5, 13, 32 * KIB, None);
    let mut tr = transmission(
        &t.meta,
        &dir.path().join("seed"),
        &dir.path().join("tr-config"),
    );
    wait_transmission_seeding(&mut tr, Duration::from_secs(60));
    swarm_downloads(&t, &dir.path().join("out"), &[tr.addr()], &["--no-tracker"]);
}

#[test]
fn swarm_downloads_from_aria2_libtorrent_and_transmission_at_once() {
    if !require_tool("aria2c") || !require_libtorrent() || !require_tool("transmission-cli") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let tracker = Tracker::start();
    let t = payload(
        dir.path(),
        6 * MIB + 4321,
        14,
        64 * KIB,
        Some(&tracker.announce_url()),
    );
    let seed_dir = dir.path().join("seed");
    let _aria = aria2_seed(&t.meta, &seed_dir);
    let lt = lt_seed(&t.meta, &seed_dir, &[]);
    let mut tr = transmission(&t.meta, &seed_dir, &dir.path().join("tr-config"));
    wait_transmission_seeding(&mut tr, Duration::from_secs(60));
    tracker.wait_seeders(&t.info_hash, 2, Duration::from_secs(30));
    // aria2c comes from the tracker; libtorrent from the tracker and --peer; Transmission
    // only by dialing it.
    let get = swarm_downloads(&t, &dir.path().join("out"), &[lt.addr(), tr.addr()], &[]);
    if let Some(done) = done_event(&get) {
        eprintln!("swarm summary: {done}");
    }
}

#[test]
fn aria2_downloads_from_swarm_get_seed_via_tracker() {
    if !require_tool("aria2c") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let tracker = Tracker::start();
    let t = payload(
        dir.path(),
        4 * MIB + 777,
        15,
        64 * KIB,
        Some(&tracker.announce_url()),
    );
    // `swarm get --seed` on a directory that already holds the data: it finds every piece
    // present and seeds.
    let _seeder = swarm_get_seed(&t.meta, &dir.path().join("seed"), &[]);
    assert!(
        tracker.wait_seeders(&t.info_hash, 1, Duration::from_secs(60)),
        "swarm seeder never announced itself as complete"
    );
    let out = dir.path().join("aria");
    let mut aria = aria2_leech(&t.meta, &out);
    aria.wait_success(LIMIT);
    assert!(same_contents(&t.payload, &out.join(&t.name)));
}

#[test]
fn libtorrent_downloads_from_swarm_seed_via_peer() {
    if !require_libtorrent() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let t = payload(dir.path(), 4 * MIB + 31, 16, 32 * KIB, None);
    let seed_dir = dir.path().join("seed");
    // `swarm seed DIR` finds the .meta in DIR (as `swarm get` leaves it).
    std::fs::copy(&t.meta, seed_dir.join("t.meta")).unwrap();
    let seeder = swarm_seed(&seed_dir);
    let out = dir.path().join("lt");
    let mut lt = lt_leech(&t.meta, &out, &[seeder.addr()], Duration::from_secs(150));
    lt.wait_success(LIMIT);
    assert!(same_contents(&t.payload, &out.join(&t.name)));
}

#[test]
fn libtorrent_downloads_from_swarm_while_it_downloads() {
    // A chain: libtorrent seeder → swarm get --seed → libtorrent leecher that only knows swarm.
    if !require_libtorrent() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let t = payload(dir.path(), 4 * MIB + 3, 17, 32 * KIB, None);
    let lt_seeder = lt_seed(&t.meta, &dir.path().join("seed"), &[]);
    let mid = dir.path().join("mid");
    let mut swarm = swarm_get(
        &t.meta,
        &mid,
        &[lt_seeder.addr()],
        &["--no-tracker", "--seed"],
    );
    swarm_tests::wait_for_port(swarm.port, Duration::from_secs(60));
    let out = dir.path().join("lt");
    let mut leech = lt_leech(&t.meta, &out, &[swarm.addr()], Duration::from_secs(150));
    leech.wait_success(LIMIT);
    assert!(same_contents(&t.payload, &out.join(&t.name)));
    assert!(
        same_contents(&t.payload, &mid.join(&t.name)),
        "swarm's own copy is wrong; output:\n{}",
        swarm.out.tail(20)
    );
    assert!(
        swarm.wait_exit(Duration::ZERO).is_none(),
        "--seed must keep running"
    );
}

/// Copy a directory tree (test fixtures are copied so no tool ever writes into them).
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures")
}

#[test]
fn swarm_downloads_multi_file_mktorrent_fixture_from_libtorrent() {
    // Nested directories, a zero-length file, file boundaries inside pieces, short last piece.
    if !require_libtorrent() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let seed = dir.path().join("seed");
    copy_tree(&fixtures().join("payload"), &seed);
    let meta = fixtures().join("mktorrent-tree.meta");
    let lt = lt_seed(&meta, &seed, &[]);
    let out = dir.path().join("out");
    let mut get = swarm_get(&meta, &out, &[lt.addr()], &["--no-tracker"]);
    get.wait_success(LIMIT);
    assert!(
        same_contents(&seed.join("tree"), &out.join("tree")),
        "multi-file download differs (zero-length file missing?); output:\n{}",
        get.out.tail(20)
    );
}

#[test]
fn swarm_downloads_libtorrent_hybrid_fixture_with_pad_files() {
    // libtorrent's default torrents are v1+v2 hybrids with BEP 47 pad files; a v1 peer
    // downloads them by the v1 info-hash. Only the real files are compared: pad files need
    // not exist on disk.
    if !require_libtorrent() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let seed = dir.path().join("seed");
    copy_tree(&fixtures().join("payload"), &seed);
    let meta = fixtures().join("libtorrent-hybrid-tree.meta");
    let lt = lt_seed(&meta, &seed, &[]);
    let out = dir.path().join("out");
    let mut get = swarm_get(&meta, &out, &[lt.addr()], &["--no-tracker"]);
    get.wait_success(LIMIT);
    let _ = std::fs::remove_dir_all(out.join("tree").join(".pad"));
    assert!(
        same_contents(&seed.join("tree"), &out.join("tree")),
        "hybrid multi-file download differs; output:\n{}",
        get.out.tail(20)
    );
}
