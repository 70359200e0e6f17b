//! `swarm get` from other `swarm` processes given with `--peer` (no tracker): one seeder (also
//! with `--disk-io direct` and `buffered`), three seeders at once, a multi-file torrent with zero-length files and
//! a short last piece, a download re-seeded with `swarm seed DIR`, and `swarm seed` on partial
//! data (read, never written or completed).

use std::path::Path;
use std::time::Duration;

use swarm_tests::metafile::write_meta;
use swarm_tests::ours::{done_event, json_events, swarm_get, swarm_get_seed, swarm_seed};
use swarm_tests::{same_contents, write_random_file};

const LONG: Duration = Duration::from_secs(180);

/// A seeder (`swarm get --seed` on a directory already holding the payload) for `meta`.
fn seeder(meta: &Path, data_dir: &Path) -> swarm_tests::output::Proc {
    swarm_get_seed(meta, data_dir, &[])
}

/// Downloads a `len`-byte payload from one seeder with `swarm get EXTRA...`, checks the data
/// and the done event, and returns the download directory's temporary parent.
fn download_from_one_seeder(len: u64, extra: &[&str]) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    let seed_dir = tmp.path().join("seed");
    let payload = seed_dir.join("payload.bin");
    write_random_file(&payload, len, 1);
    let t = write_meta(&payload, &tmp.path().join("t.meta"), 64 * 1024, None);

    let seed = seeder(&t.meta, &seed_dir);
    let out = tmp.path().join("out");
    let mut get = swarm_get(&t.meta, &out, &[seed.addr()], extra);
    get.wait_success(LONG);

    assert!(same_contents(&payload, &out.join("payload.bin")));
    let done = done_event(&get).expect("done event");
    assert_eq!(done["complete"], true);
    assert_eq!(done["total_bytes"], t.total_length);
    tmp
}

#[test]
fn one_seeder_to_one_leecher() {
    let tmp = download_from_one_seeder(3 * 1024 * 1024 + 12345, &[]);
    // The download folder holds the torrent's file and nothing else (swarm's own records
    // live in the state directory).
    let names: Vec<_> = std::fs::read_dir(tmp.path().join("out"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["payload.bin"]);
}

#[test]
fn direct_io_download_is_correct() {
    // Aligned pieces go through O_DIRECT; the short last piece through the page cache.
    download_from_one_seeder(3 * 1024 * 1024 + 777, &["--disk-io", "direct"]);
}

#[test]
fn buffered_download_is_correct() {
    // Every piece through the page cache (the default, auto, starts with direct writes).
    download_from_one_seeder(3 * 1024 * 1024 + 777, &["--disk-io", "buffered"]);
}

#[test]
fn three_seeders_at_once() {
    let tmp = tempfile::tempdir().unwrap();
    let first = tmp.path().join("seed0");
    let payload = first.join("payload.bin");
    write_random_file(&payload, 6 * 1024 * 1024, 2);
    let t = write_meta(&payload, &tmp.path().join("t.meta"), 128 * 1024, None);
    let mut seeds = Vec::new();
    for i in 0..3 {
        let dir = tmp.path().join(format!("seed{i}"));
        if i > 0 {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::copy(&payload, dir.join("payload.bin")).unwrap();
        }
        seeds.push(seeder(&t.meta, &dir));
    }
    let peers: Vec<String> = seeds.iter().map(|s| s.addr()).collect();
    let out = tmp.path().join("out");
    let mut get = swarm_get(&t.meta, &out, &peers, &[]);
    get.wait_success(LONG);
    assert!(same_contents(&payload, &out.join("payload.bin")));
    let done = done_event(&get).expect("done event");
    assert!(
        done["peers_used"].as_u64().unwrap_or(0) >= 2,
        "several seeders used: {done}"
    );
}

#[test]
fn downloaded_data_is_reseeded_with_swarm_seed() {
    let tmp = tempfile::tempdir().unwrap();
    let seed_dir = tmp.path().join("seed");
    let payload = seed_dir.join("payload.bin");
    write_random_file(&payload, 2 * 1024 * 1024, 3);
    let t = write_meta(&payload, &tmp.path().join("t.meta"), 32 * 1024, None);

    let mid = tmp.path().join("mid");
    {
        let seed = seeder(&t.meta, &seed_dir);
        let mut get = swarm_get(&t.meta, &mid, &[seed.addr()], &[]);
        get.wait_success(LONG);
    }
    // The original seeder is gone; `swarm seed DIR` serves what was downloaded.
    let reseed = swarm_seed(&mid);
    let out = tmp.path().join("out");
    let mut get = swarm_get(&t.meta, &out, &[reseed.addr()], &[]);
    get.wait_success(LONG);
    assert!(same_contents(&payload, &out.join("payload.bin")));
}

#[test]
fn swarm_seed_only_reads_and_downloads_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let full_dir = tmp.path().join("full");
    let payload = full_dir.join("payload.bin");
    write_random_file(&payload, 2 * 1024 * 1024, 4);
    let t = write_meta(&payload, &tmp.path().join("t.meta"), 32 * 1024, None);
    // A directory holding only the first half of the file, and the metainfo.
    let half_dir = tmp.path().join("half");
    std::fs::create_dir_all(&half_dir).unwrap();
    let half = std::fs::read(&payload).unwrap()[..1024 * 1024].to_vec();
    std::fs::write(half_dir.join("payload.bin"), &half).unwrap();
    std::fs::copy(&t.meta, half_dir.join("payload.bin.meta")).unwrap();

    let partial = swarm_seed(&half_dir);
    // A complete peer dials the partial seeder: it has everything the seeder lacks.
    let _full = swarm_get_seed(&t.meta, &full_dir, &[partial.addr()]);
    let connected = partial.out.wait_for(LONG, |l| {
        serde_json::from_str::<serde_json::Value>(l)
            .is_ok_and(|v| v["event"] == "progress" && v["peers_connected"].as_u64() >= Some(1))
    });
    assert!(connected, "{}", partial.out.tail(20));
    // Two more progress ticks: still nothing requested, nothing written.
    std::thread::sleep(Duration::from_secs(2));
    for event in json_events(&partial) {
        if event["event"] == "progress" {
            assert_eq!(event["downloaded_bytes"], 0, "{event}");
        }
    }
    assert_eq!(std::fs::read(half_dir.join("payload.bin")).unwrap(), half);
}
