//! One `swarm` process, many torrents: `swarm get a.meta b.meta` downloads torrents seeded
//! by different real clients over one port, one `swarm seed` serves two torrents on one port
//! to aria2c, and a download folder holds the torrents' files and nothing of swarm's.

use std::path::{Path, PathBuf};
use std::time::Duration;

use swarm_tests::aria2::{aria2_leech, aria2_seed};
use swarm_tests::libtorrent::lt_seed;
use swarm_tests::metafile::{TestTorrent, write_meta};
use swarm_tests::ours::{
    Tracker, done_event, json_events, swarm_get, swarm_get_all, swarm_seed, swarm_seed_all,
};
use swarm_tests::{require_libtorrent, require_tool, same_contents, write_random_file};

const KIB: u64 = 1024;
const MIB: u64 = 1024 * KIB;
const LIMIT: Duration = Duration::from_secs(180);

/// A payload `name` of `len` bytes in `dir` and its metainfo `dir/<name>.meta`.
fn torrent(dir: &Path, name: &str, len: u64, seed: u64, announce: &str) -> TestTorrent {
    let data = dir.join(name);
    write_random_file(&data, len, seed);
    write_meta(
        &data,
        &dir.join(format!("{name}.meta")),
        32 * KIB,
        Some(announce),
    )
}

/// Every entry under `dir`, as paths relative to it, sorted.
fn tree(dir: &Path) -> Vec<PathBuf> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            out.push(path.strip_prefix(root).unwrap().to_path_buf());
            if path.is_dir() {
                walk(root, &path, out);
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

#[test]
fn one_get_downloads_two_torrents_seeded_by_aria2_and_libtorrent() {
    if !require_tool("aria2c") || !require_libtorrent() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let tracker = Tracker::start();
    let url = tracker.announce_url();
    let (a_dir, b_dir) = (tmp.path().join("a"), tmp.path().join("b"));
    let a = torrent(&a_dir, "from-aria2.bin", 3 * MIB + 7, 41, &url);
    let b = torrent(&b_dir, "from-libtorrent.bin", 2 * MIB + 9, 42, &url);
    let _aria = aria2_seed(&a.meta, &a_dir);
    let _lt = lt_seed(&b.meta, &b_dir, &[]);
    tracker.wait_seeders(&a.info_hash, 1, Duration::from_secs(30));
    tracker.wait_seeders(&b.info_hash, 1, Duration::from_secs(30));

    let out = tmp.path().join("out");
    let mut get = swarm_get_all(&[&a.meta, &b.meta], &out, &[], &[]);
    get.wait_success(LIMIT);
    assert!(
        same_contents(&a.payload, &out.join(&a.name)),
        "{}",
        get.out.tail(30)
    );
    assert!(
        same_contents(&b.payload, &out.join(&b.name)),
        "{}",
        get.out.tail(30)
    );
    let events = json_events(&get);
    let listening = events.iter().filter(|e| e["event"] == "listening").count();
    assert_eq!(listening, 1, "one port for both torrents");
    let done: Vec<_> = events.iter().filter(|e| e["event"] == "done").collect();
    assert_eq!(done.len(), 2, "a summary per torrent");
    assert!(done.iter().all(|d| d["complete"] == true), "{done:?}");
}

#[test]
fn one_seed_process_serves_two_torrents_on_one_port_to_aria2() {
    if !require_tool("aria2c") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let tracker = Tracker::start();
    let url = tracker.announce_url();
    let data = tmp.path().join("data");
    let a = torrent(&data, "first.bin", 2 * MIB + 3, 43, &url);
    let b = torrent(&data, "second.bin", MIB + 5, 44, &url);
    let seeder = swarm_seed_all(&[&a.meta, &b.meta]);
    assert!(tracker.wait_seeders(&a.info_hash, 1, Duration::from_secs(30)));
    assert!(tracker.wait_seeders(&b.info_hash, 1, Duration::from_secs(30)));

    let (out_a, out_b) = (tmp.path().join("aria-a"), tmp.path().join("aria-b"));
    let mut aria_a = aria2_leech(&a.meta, &out_a);
    let mut aria_b = aria2_leech(&b.meta, &out_b);
    aria_a.wait_success(LIMIT);
    aria_b.wait_success(LIMIT);
    assert!(
        same_contents(&a.payload, &out_a.join(&a.name)),
        "{}",
        seeder.out.tail(30)
    );
    assert!(
        same_contents(&b.payload, &out_b.join(&b.name)),
        "{}",
        seeder.out.tail(30)
    );
}

#[test]
fn the_download_folder_holds_only_the_torrents_files_after_get_and_seed() {
    let tmp = tempfile::tempdir().unwrap();
    let seed_dir = tmp.path().join("seed");
    let payload = seed_dir.join("payload.bin");
    write_random_file(&payload, 2 * MIB + 11, 45);
    let t = write_meta(&payload, &tmp.path().join("t.meta"), 32 * KIB, None);
    let seeder = swarm_seed_with_data(&t.meta, &seed_dir);

    let out = tmp.path().join("out");
    let mut get = swarm_get(&t.meta, &out, &[seeder.addr()], &["--no-tracker"]);
    get.wait_success(LIMIT);
    assert!(done_event(&get).is_some());
    assert_eq!(
        tree(&out),
        vec![PathBuf::from("payload.bin")],
        "after swarm get"
    );

    let reseed = swarm_seed(&out);
    let again = tmp.path().join("again");
    let mut get = swarm_get(&t.meta, &again, &[reseed.addr()], &["--no-tracker"]);
    get.wait_success(LIMIT);
    assert!(same_contents(&payload, &again.join("payload.bin")));
    drop(reseed);
    assert_eq!(
        tree(&out),
        vec![PathBuf::from("payload.bin")],
        "after swarm seed"
    );
    assert_eq!(
        tree(&seed_dir),
        vec![PathBuf::from("payload.bin")],
        "the seeder's folder"
    );
}

/// `swarm seed META --data DIR` on a free port.
fn swarm_seed_with_data(meta: &Path, data: &Path) -> swarm_tests::output::Proc {
    let port = swarm_tests::free_port();
    let mut cmd = std::process::Command::new(swarm_tests::bin("swarm"));
    cmd.arg("seed").arg(meta).arg("--data").arg(data).args([
        "--port",
        &port.to_string(),
        "--bind",
        "127.0.0.1",
        "--json",
        "--no-tracker",
    ]);
    let proc = swarm_tests::output::Proc::spawn("swarm seed", &mut cmd, port);
    swarm_tests::wait_for_port(port, Duration::from_secs(60));
    proc
}
