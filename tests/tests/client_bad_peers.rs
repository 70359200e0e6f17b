//! `swarm get` among misbehaving peers (the scripted fake peer of `swarm_tests::fake_peer`):
//! a peer that sends corrupt data is banned and the download still completes with correct
//! data from honest peers; a peer that unchokes and then never answers does not stop the
//! download either.

use std::path::Path;
use std::time::{Duration, Instant};
use swarm_tests::fake_peer::{FakePeer, Mode};
use swarm_tests::libtorrent::lt_seed;
use swarm_tests::metafile::{TestTorrent, write_meta};
use swarm_tests::ours::{banned_peers, swarm_get};
use swarm_tests::output::Proc;
use swarm_tests::{require_libtorrent, same_contents, write_random_file};

const KIB: u64 = 1024;
const MIB: u64 = 1024 * KIB;
const LIMIT: Duration = Duration::from_secs(180);

fn payload(root: &Path, len: u64, seed: u64, piece: u64) -> TestTorrent {
    let data = root.join("seed").join("payload.bin");
    write_random_file(&data, len, seed);
    write_meta(&data, &root.join("t.meta"), piece, None)
}

/// Wait for `get` to exit 0 while watching for the ban of `corrupt`; returns how many
/// connections the corrupt peer had received when the ban was reported (None if never).
fn wait_watching_ban(get: &mut Proc, corrupt: &FakePeer) -> Option<u64> {
    let deadline = Instant::now() + LIMIT;
    let mut at_ban = None;
    loop {
        if at_ban.is_none() && banned_peers(get).contains(&corrupt.addr()) {
            at_ban = Some(corrupt.connections());
        }
        if let Some(status) = get.wait_exit(Duration::from_millis(100)) {
            assert!(
                status.success(),
                "swarm get failed ({status}); {}; output:\n{}",
                corrupt.summary(),
                get.out.tail(40)
            );
            if at_ban.is_none() && banned_peers(get).contains(&corrupt.addr()) {
                at_ban = Some(corrupt.connections());
            }
            return at_ban;
        }
        assert!(
            Instant::now() < deadline,
            "swarm get did not finish within {LIMIT:?}; {}; output:\n{}",
            corrupt.summary(),
            get.out.tail(40)
        );
    }
}

fn assert_banned(get: &Proc, corrupt: &FakePeer, at_ban: Option<u64>, honest: &[String]) {
    let banned = banned_peers(get);
    assert!(
        at_ban.is_some(),
        "the corrupt peer {} was never reported banned (peer_banned events: {banned:?}); {}",
        corrupt.addr(),
        corrupt.summary()
    );
    for h in honest {
        assert!(
            !banned.contains(h),
            "honest peer {h} was banned: {banned:?}"
        );
    }
    assert_eq!(
        at_ban,
        Some(corrupt.connections()),
        "swarm reconnected to the corrupt peer after banning it; {}",
        corrupt.summary()
    );
    assert!(corrupt.blocks_sent() > 0, "{}", corrupt.summary());
}

#[test]
fn corrupt_peer_is_banned_and_download_completes_from_honest_fake_peers() {
    let dir = tempfile::tempdir().unwrap();
    // Big enough that the corrupt peer gets whole pieces to send even when it is the last
    // to connect: the first requests to one peer cover 2 MiB, so with 4 MiB the two honest
    // peers could be asked for everything before it, and with one endgame duplicate per
    // block it could be left a single block to spoil (CI saw this once: never banned).
    let t = payload(dir.path(), 16 * MIB + 1000, 21, 32 * KIB);
    // Honest peers a little slow, the corrupt one fast: without a ban it would keep
    // receiving most requests.
    let honest: Vec<FakePeer> = (0..2)
        .map(|_| FakePeer::start_throttled(&t, Mode::Honest, Duration::from_millis(3)))
        .collect();
    let corrupt = FakePeer::start(&t, Mode::Corrupt);
    let mut peers: Vec<String> = honest.iter().map(FakePeer::addr).collect();
    peers.push(corrupt.addr());

    let out = dir.path().join("out");
    let mut get = swarm_get(&t.meta, &out, &peers, &["--no-tracker"]);
    let at_ban = wait_watching_ban(&mut get, &corrupt);
    assert!(
        same_contents(&t.payload, &out.join(&t.name)),
        "wrong data; {}",
        corrupt.summary()
    );
    let honest_addrs: Vec<String> = honest.iter().map(FakePeer::addr).collect();
    assert_banned(&get, &corrupt, at_ban, &honest_addrs);
}

#[test]
fn corrupt_peer_among_libtorrent_and_honest_fake_seeders() {
    if !require_libtorrent() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let t = payload(dir.path(), 4 * MIB + 17, 22, 64 * KIB);
    let lt = lt_seed(&t.meta, &dir.path().join("seed"), &[]);
    let honest = FakePeer::start(&t, Mode::Honest);
    let corrupt = FakePeer::start(&t, Mode::Corrupt);
    let peers = vec![corrupt.addr(), lt.addr(), honest.addr()];

    let out = dir.path().join("out");
    let mut get = swarm_get(&t.meta, &out, &peers, &["--no-tracker"]);
    let at_ban = wait_watching_ban(&mut get, &corrupt);
    assert!(same_contents(&t.payload, &out.join(&t.name)));
    // The corrupt peer may not have been asked for enough pieces to be banned before the
    // fast honest seeders finished everything; if it served blocks, it must be banned.
    if corrupt.blocks_sent() >= 2 * 4 * (64 / 16) {
        assert_banned(&get, &corrupt, at_ban, &[lt.addr(), honest.addr()]);
    } else {
        eprintln!("corrupt peer got few requests: {}", corrupt.summary());
    }
}

#[test]
fn stalling_peer_does_not_stop_the_download() {
    let dir = tempfile::tempdir().unwrap();
    let t = payload(dir.path(), 3 * MIB + 4321, 23, 32 * KIB);
    let stall = FakePeer::start(&t, Mode::Stall);
    let honest: Vec<FakePeer> = (0..2).map(|_| FakePeer::start(&t, Mode::Honest)).collect();
    // The staller first, so it is likely connected (and asked) first.
    let mut peers = vec![stall.addr()];
    peers.extend(honest.iter().map(FakePeer::addr));

    let out = dir.path().join("out");
    let mut get = swarm_get(&t.meta, &out, &peers, &["--no-tracker"]);
    get.wait_success(LIMIT);
    assert!(
        same_contents(&t.payload, &out.join(&t.name)),
        "wrong data; {}",
        stall.summary()
    );
    assert!(stall.connections() >= 1, "never connected to the staller");
    eprintln!("{}", stall.summary());
}

#[test]
fn stalling_peer_alone_with_one_slow_honest_peer() {
    // Most requests go to the staller first; the client must time them out and re-request
    // them from the honest peer (and the endgame must not wait on the staller).
    let dir = tempfile::tempdir().unwrap();
    let t = payload(dir.path(), 2 * MIB, 24, 16 * KIB);
    let stall = FakePeer::start(&t, Mode::Stall);
    let honest = FakePeer::start_throttled(&t, Mode::Honest, Duration::from_millis(1));
    let peers = vec![stall.addr(), honest.addr()];

    let out = dir.path().join("out");
    let mut get = swarm_get(&t.meta, &out, &peers, &["--no-tracker"]);
    get.wait_success(LIMIT);
    assert!(same_contents(&t.payload, &out.join(&t.name)));
    eprintln!("{}", stall.summary());
}
