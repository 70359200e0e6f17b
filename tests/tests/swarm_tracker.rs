//! `swarm` peers that find each other only through our `tracker`, and a multi-file torrent
//! (zero-length files, a short last piece) made by the `metainfo` crate.

use std::path::Path;
use std::time::Duration;

use metainfo::create::{CreateOptions, create};
use swarm_tests::metafile::write_meta;
use swarm_tests::ours::{Tracker, done_event, json_events, swarm_get, swarm_get_seed};
use swarm_tests::{same_contents, write_random_file};

const LONG: Duration = Duration::from_secs(180);

#[test]
fn swarm_to_swarm_through_our_tracker() {
    let tmp = tempfile::tempdir().unwrap();
    let tracker = Tracker::start();
    let seed_dir = tmp.path().join("seed");
    let payload = seed_dir.join("payload.bin");
    write_random_file(&payload, 4 * 1024 * 1024 + 777, 11);
    let t = write_meta(
        &payload,
        &tmp.path().join("t.meta"),
        64 * 1024,
        Some(&tracker.announce_url()),
    );
    // No --peer anywhere: the leecher learns the seeder from the tracker.
    let _seed = swarm_get_seed(&t.meta, &seed_dir, &[]);
    assert!(
        tracker.wait_seeders(&t.info_hash, 1, Duration::from_secs(60)),
        "seeder announced"
    );
    let out = tmp.path().join("out");
    let mut get = swarm_get(&t.meta, &out, &[], &[]);
    get.wait_success(LONG);
    assert!(same_contents(&payload, &out.join("payload.bin")));
    let events = json_events(&get);
    assert!(
        events.iter().any(|e| e["event"] == "tracker_announced"),
        "announced to the tracker"
    );
    assert_eq!(done_event(&get).expect("done")["complete"], true);
    // The leecher announced `completed`: the tracker now counts two seeders (until the
    // leecher's `stopped`, which may already have arrived — so only check it answered).
    assert!(tracker.scrape_complete(&t.info_hash).is_some());
}

/// A directory torrent: nested files, two empty files, a last piece shorter than the rest.
fn make_tree(root: &Path) {
    write_random_file(&root.join("a.bin"), 1024 * 1024 + 5, 21);
    write_random_file(&root.join("sub/b.bin"), 700 * 1024 + 3, 22);
    write_random_file(&root.join("sub/deeper/c.bin"), 33, 23);
    std::fs::write(root.join("empty.txt"), b"").unwrap();
    std::fs::create_dir_all(root.join("sub/void")).unwrap();
    std::fs::write(root.join("sub/void/zero.dat"), b"").unwrap();
}

#[test]
fn multi_file_with_empty_files_and_short_last_piece() {
    let tmp = tempfile::tempdir().unwrap();
    let seed_root = tmp.path().join("seed");
    let tree = seed_root.join("tree");
    make_tree(&tree);
    let options = CreateOptions {
        piece_length: Some(64 * 1024),
        ..CreateOptions::default()
    };
    let meta = create(&tree, &options, |_| {}).expect("create metainfo");
    assert_ne!(
        meta.info.total_length() % (64 * 1024),
        0,
        "short last piece"
    );
    let meta_path = tmp.path().join("tree.meta");
    std::fs::write(&meta_path, meta.to_bytes()).unwrap();

    let seed = swarm_get_seed(&meta_path, &seed_root, &[]);
    let out = tmp.path().join("out");
    let mut get = swarm_get(&meta_path, &out, &[seed.addr()], &[]);
    get.wait_success(LONG);
    assert!(
        same_contents(&tree, &out.join("tree")),
        "downloaded tree matches, empty files included"
    );
    assert!(out.join("tree/empty.txt").is_file());
    assert!(out.join("tree/sub/void/zero.dat").is_file());
}
