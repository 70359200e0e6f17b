//! Peer exchange (BEP 11) with libtorrent on loopback (DHT, LSD off; ut_pex on only here):
//! `swarm get` is given one peer, a libtorrent seeder A, and learns a second, a partial
//! libtorrent peer B that A dialled, only through A's `ut_pex` messages; it connects to B and
//! downloads from both (B uploads to nobody else: A is a seed).

use std::path::Path;
use std::time::Duration;

use swarm_tests::libtorrent::{lt_leech_with, lt_seed_with};
use swarm_tests::metafile::write_meta;
use swarm_tests::ours::{json_events, swarm_get};
use swarm_tests::{require_libtorrent, same_contents, write_random_file};

const KIB: u64 = 1024;
const LIMIT: Duration = Duration::from_secs(240);

/// Copies the first half of `payload` into `dir` (the rest zeroed), so a peer started there
/// holds half the pieces.
fn half_copy(payload: &Path, dir: &Path) {
    let mut data = std::fs::read(payload).unwrap();
    let half = data.len() / 2;
    data[half..].fill(0);
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join(payload.file_name().unwrap()), data).unwrap();
}

#[test]
fn swarm_learns_a_second_peer_through_pex_and_downloads_from_it() {
    if !require_libtorrent() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("seed").join("payload.bin");
    write_random_file(&data, 4096 * KIB, 41);
    let t = write_meta(&data, &dir.path().join("t.meta"), 32 * KIB, None);
    let partial = dir.path().join("b");
    half_copy(&t.payload, &partial);
    let pex = ["--plugin", "ut_pex", "--plugin", "ut_metadata"];
    // B has no ut_pex of its own: it cannot learn of swarm and dial it first, so the
    // connection to B is swarm's, made from what A's PEX said.
    let b = lt_leech_with(&t.meta, &partial, &[], LIMIT, &["--keep-seeding"]);
    // A seeds slowly, so B stays partial for a while and swarm needs B's half.
    let mut a_args = pex.to_vec();
    a_args.extend(["--upload-rate", "131072"]);
    let a = lt_seed_with(&t.meta, &dir.path().join("seed"), &[b.addr()], &a_args);
    // A's first PEX message lists the peers it has then; the next comes a minute later.
    assert!(
        b.out.wait_for(Duration::from_secs(60), |l| {
            l.starts_with("progress ") && l.split_whitespace().nth(3).is_some_and(|n| n != "0")
        }),
        "A never connected to B:\n{}",
        b.out.tail(10)
    );

    let out = dir.path().join("out");
    let mut get = swarm_get(&t.meta, &out, &[a.addr()], &["--no-tracker"]);
    get.wait_success(LIMIT);
    assert!(same_contents(&t.payload, &out.join(&t.name)));
    let connected: Vec<String> = json_events(&get)
        .iter()
        .filter(|e| e["event"] == "peer_connected")
        .filter_map(|e| e["peer"].as_str().map(str::to_string))
        .collect();
    assert!(
        connected.contains(&b.addr()),
        "B ({}) was learned through PEX and connected: {connected:?}\n{}",
        b.addr(),
        get.out.tail(30)
    );
    let uploaded_by_b = b
        .out
        .snapshot()
        .iter()
        .filter_map(|l| {
            let words: Vec<&str> = l.split_whitespace().collect();
            match words.as_slice() {
                ["progress", _, _, _, up] | ["uploaded", up] => up.parse::<u64>().ok(),
                _ => None,
            }
        })
        .max()
        .unwrap_or(0);
    assert!(
        uploaded_by_b > 0,
        "B uploaded to swarm; B:\n{}",
        b.out.tail(10)
    );
}
