//! Checks of the interop test tooling itself, independent of our client: the scripted fake
//! peer speaks BitTorrent well enough for libtorrent to download from it, and the libtorrent
//! and Transmission helpers start peers that serve correct data on loopback.

use std::time::Duration;
use swarm_tests::fake_peer::{FakePeer, Mode};
use swarm_tests::libtorrent::lt_leech;
use swarm_tests::metafile::write_meta;
use swarm_tests::transmission::{transmission, wait_transmission_seeding};
use swarm_tests::{require_libtorrent, require_tool, same_contents, write_random_file};

const MIB: u64 = 1024 * 1024;

#[test]
fn libtorrent_downloads_from_honest_fake_peer() {
    if !require_libtorrent() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let payload = dir.path().join("seed/payload.bin");
    write_random_file(&payload, 3 * MIB + 12_345, 41);
    let t = write_meta(&payload, &dir.path().join("t.meta"), 64 * 1024, None);
    let fake = FakePeer::start(&t, Mode::Honest);

    let out = dir.path().join("lt");
    let mut lt = lt_leech(&t.meta, &out, &[fake.addr()], Duration::from_secs(90));
    lt.wait_success(Duration::from_secs(120));
    assert!(
        same_contents(&payload, &out.join("payload.bin")),
        "{}",
        fake.summary()
    );
    assert!(fake.blocks_sent() >= 3 * 16, "{}", fake.summary());
}

#[test]
fn libtorrent_downloads_from_transmission_seeder() {
    if !require_libtorrent() || !require_tool("transmission-cli") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let payload = dir.path().join("seed/payload.bin");
    write_random_file(&payload, 2 * MIB + 777, 42);
    let t = write_meta(&payload, &dir.path().join("t.meta"), 32 * 1024, None);
    let mut tr = transmission(
        &t.meta,
        &dir.path().join("seed"),
        &dir.path().join("tr-config"),
    );
    wait_transmission_seeding(&mut tr, Duration::from_secs(60));

    let out = dir.path().join("lt");
    let mut lt = lt_leech(&t.meta, &out, &[tr.addr()], Duration::from_secs(120));
    lt.wait_success(Duration::from_secs(150));
    assert!(same_contents(&payload, &out.join("payload.bin")));
}
