//! Interrupted downloads resume without fetching verified pieces again: after `kill -9` at
//! about half, and after Ctrl-C (which also saves the resume record and exits 130).

use std::path::Path;
use std::time::Duration;

use swarm_tests::fake_peer::{FakePeer, Mode};
use swarm_tests::metafile::{TestTorrent, write_meta};
use swarm_tests::ours::{done_event, json_events, swarm_get, swarm_get_seed};
use swarm_tests::output::Proc;
use swarm_tests::{same_contents, wait_until, write_random_file};

const LONG: Duration = Duration::from_secs(180);
const SIZE: u64 = 4 * 1024 * 1024;

fn torrent(tmp: &Path, seed: u64) -> TestTorrent {
    let payload = tmp.join("seed").join("payload.bin");
    write_random_file(&payload, SIZE, seed);
    write_meta(&payload, &tmp.join("t.meta"), 64 * 1024, None)
}

/// Latest `verified_bytes` from the JSON progress lines.
fn verified(proc: &Proc) -> u64 {
    json_events(proc)
        .iter()
        .filter(|e| e["event"] == "progress")
        .filter_map(|e| e["verified_bytes"].as_u64())
        .max()
        .unwrap_or(0)
}

/// The state directory the tests' `swarm get`s share (resume records live there).
fn state_dir(tmp: &Path) -> String {
    tmp.join("state").display().to_string()
}

/// Starts a download from a slow honest peer and waits until 30–70 % is verified.
fn start_slow_download(t: &TestTorrent, tmp: &Path, out: &Path) -> (FakePeer, Proc) {
    let slow = FakePeer::start_throttled(t, Mode::Honest, Duration::from_millis(25));
    let get = swarm_get(
        &t.meta,
        out,
        &[slow.addr()],
        &["--state-dir", &state_dir(tmp)],
    );
    let reached = wait_until(LONG, || verified(&get) >= t.total_length * 3 / 10);
    assert!(reached, "download progressed: {}", get.out.tail(10));
    assert!(
        verified(&get) < t.total_length * 9 / 10,
        "still incomplete when interrupted (the slow peer is too fast?)"
    );
    (slow, get)
}

/// Finishes the download from a fast seeder and returns the bytes it fetched.
fn finish_download(t: &TestTorrent, tmp: &Path, out: &Path) -> u64 {
    let seed = swarm_get_seed(&t.meta, &tmp.join("seed"), &[]);
    let mut get = swarm_get(
        &t.meta,
        out,
        &[seed.addr()],
        &["--state-dir", &state_dir(tmp)],
    );
    get.wait_success(LONG);
    assert!(same_contents(&t.payload, &out.join("payload.bin")));
    let done = done_event(&get).expect("done event");
    assert_eq!(done["complete"], true);
    done["downloaded_bytes"].as_u64().expect("downloaded_bytes")
}

#[test]
fn kill_9_at_half_then_restart_fetches_only_the_rest() {
    let tmp = tempfile::tempdir().unwrap();
    let t = torrent(tmp.path(), 31);
    let out = tmp.path().join("out");
    let (_slow, mut get) = start_slow_download(&t, tmp.path(), &out);
    get.guard.kill9();
    // The partial file is never taken for the complete one.
    assert!(!same_contents(&t.payload, &out.join("payload.bin")));

    let fetched = finish_download(&t, tmp.path(), &out);
    assert!(
        fetched < t.total_length * 8 / 10,
        "second run fetched {fetched} of {} bytes",
        t.total_length
    );
}

#[test]
fn ctrl_c_saves_resume_and_exits_130() {
    let tmp = tempfile::tempdir().unwrap();
    let t = torrent(tmp.path(), 32);
    let out = tmp.path().join("out");
    let (_slow, mut get) = start_slow_download(&t, tmp.path(), &out);
    get.guard.signal("INT");
    let status = get
        .wait_exit(Duration::from_secs(30))
        .expect("exits after Ctrl-C");
    assert_eq!(status.code(), Some(130), "{}", get.out.tail(10));
    // The record lives in the state directory, under the info-hash (and a folder key).
    let records: Vec<_> = std::fs::read_dir(tmp.path().join("state/torrents"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(records.len(), 1, "{records:?}");
    let name = records[0]
        .file_name()
        .unwrap()
        .to_string_lossy()
        .to_string();
    assert!(name.starts_with(&t.info_hash_hex()), "{name}");
    assert!(records[0].join("resume").is_file(), "resume record saved");
    assert!(records[0].join("meta").is_file(), "metainfo copy saved");
    assert!(
        !out.join(".swarm").exists(),
        "nothing of swarm's in the download folder"
    );
    let done = done_event(&get).expect("summary printed on Ctrl-C");
    assert_eq!(done["complete"], false);

    let fetched = finish_download(&t, tmp.path(), &out);
    assert!(
        fetched < t.total_length * 8 / 10,
        "second run fetched {fetched} of {} bytes",
        t.total_length
    );
}
