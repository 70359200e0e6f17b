//! `swarm seed` as a user meets it (issue 10): the README's flow, library folders with broken
//! parts, `--watch`, sharing one's own folder (the metainfo it writes, where, and when it
//! refuses), the folder it serves left untouched, `--seed-ratio` / `--seed-time`, the plain
//! status lines without a terminal, and the tracker's scrape counting a completed `swarm get`.
//! Every process has its own state directory; leechers are `swarm get` dialing the seeder.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use swarm_tests::metafile::{TestTorrent, write_meta, write_multi_meta, write_tree};
use swarm_tests::ours::{Swarm, Tracker, json_events, meta_files, written_meta};
use swarm_tests::output::Proc;
use swarm_tests::{bin, same_contents, tree_snapshot, write_random_file};

const KIB: u64 = 1024;
const MIB: u64 = 1024 * KIB;
const PIECE: u64 = 32 * KIB;
const LIMIT: Duration = Duration::from_secs(180);

/// A file `dir/<name>` of `len` bytes and its metainfo `dir/<stem>.meta` (no tracker).
fn torrent_in(dir: &Path, name: &str, len: u64, seed: u64) -> TestTorrent {
    let data = dir.join(name);
    write_random_file(&data, len, seed);
    let stem = Path::new(name).file_stem().unwrap().to_str().unwrap();
    write_meta(&data, &dir.join(format!("{stem}.meta")), PIECE, None)
}

/// `swarm get META -o OUT --peer SEEDER --no-tracker --json`, with its own state directory.
fn get_from(meta: &Path, out: &Path, seeder: &Proc, extra: &[&str]) -> Proc {
    let state = out.with_extension("state");
    Swarm::get(&[meta], out)
        .peers(&[seeder.addr()])
        .args(["--no-tracker", "--json"])
        .args(extra)
        .state_dir(&state)
        .spawn()
}

/// `swarm get` downloads `t` from `seeder` into `out`, and the data is right.
fn downloads(t: &TestTorrent, out: &Path, seeder: &Proc) {
    let mut get = get_from(&t.meta, out, seeder, &[]);
    if get.wait_exit(LIMIT).is_none_or(|s| !s.success()) {
        panic!(
            "swarm get {} from swarm seed failed; get:\n{}\nseed:\n{}",
            t.name,
            get.out.tail(20),
            seeder.out.tail(30)
        );
    }
    assert!(
        same_contents(&t.payload, &out.join(&t.name)),
        "{} differs",
        t.name
    );
}

/// What the process said, for messages and searches: stdout and stderr (`stderr: `
/// prefixed) without the JSON `progress` lines (twice a second per torrent).
fn all_output(proc: &Proc) -> String {
    let lines: Vec<String> = proc
        .out
        .snapshot()
        .into_iter()
        .filter(|l| !l.contains(r#""event":"progress""#))
        .collect();
    lines.join("\n")
}

/// The first line `swarm` printed on stdout and on stderr (either may carry the decision).
fn first_lines(proc: &Proc) -> Vec<String> {
    let lines = proc.out.snapshot();
    let out = lines.iter().find(|l| !l.starts_with("stderr: "));
    let err = lines.iter().find(|l| l.starts_with("stderr: "));
    out.into_iter()
        .chain(err)
        .map(|l| l.trim_start_matches("stderr: ").to_lowercase())
        .collect()
}

/// Does a line tell the user how to share a folder?
fn says_how_to_share(line: &str) -> bool {
    [
        "mkmeta", "--share", "--watch", ".meta", ".torrent", "metainfo",
    ]
    .iter()
    .any(|hint| line.contains(hint))
}

#[test]
fn readme_flow_get_then_seed_dot_in_the_same_folder_serves_the_data() {
    let tmp = tempfile::tempdir().unwrap();
    let origin = tmp.path().join("origin");
    let t = torrent_in(&origin, "file.bin", 2 * MIB + 17, 1);
    let source = Swarm::seed(&[&t.meta])
        .args(["--no-tracker", "--json"])
        .state_dir(&tmp.path().join("state-origin"))
        .start();

    // The user's folder holds file.meta; `swarm get file.meta` downloads beside it.
    let work = tmp.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    std::fs::copy(&t.meta, work.join("file.meta")).unwrap();
    let state = tmp.path().join("state-user");
    let mut get = Swarm::get(&[Path::new("file.meta")], Path::new("."))
        .peers(&[source.addr()])
        .arg("--no-tracker")
        .state_dir(&state)
        .cwd(&work)
        .spawn();
    get.wait_success(LIMIT);
    assert!(same_contents(&t.payload, &work.join("file.bin")));
    drop(source);

    // README's next step, in the same folder.
    let seed = Swarm::seed(&[Path::new(".")])
        .args(["--no-tracker", "--json"])
        .state_dir(&state)
        .cwd(&work)
        .start();
    let again = TestTorrent {
        meta: work.join("file.meta"),
        ..t.clone()
    };
    downloads(&again, &tmp.path().join("again"), &seed);
    assert!(
        !all_output(&seed).contains("several"),
        "{}",
        all_output(&seed)
    );
}

#[test]
fn library_seeds_the_good_torrent_whole_the_partial_one_in_part_and_skips_garbage() {
    let tmp = tempfile::tempdir().unwrap();
    let lib = tmp.path().join("lib");
    let good = torrent_in(&lib, "good.bin", 2 * MIB + 5, 2);
    // one.bin is a whole number of pieces, so it is complete on its own; two.bin goes
    // missing and three.bin is damaged after the metainfo is made.
    let part_dir = write_tree(
        &lib.join("part"),
        &[
            ("one.bin", MIB),
            ("two.bin", 300 * KIB + 1),
            ("three.bin", 600 * KIB + 7),
        ],
        3,
    );
    let part = write_multi_meta(&part_dir, &lib.join("part.meta"), PIECE, None);
    std::fs::remove_file(part_dir.join("two.bin")).unwrap();
    let mut three = std::fs::read(part_dir.join("three.bin")).unwrap();
    for b in &mut three[100_000..140_000] {
        *b ^= 0x5a;
    }
    std::fs::write(part_dir.join("three.bin"), three).unwrap();
    std::fs::write(
        lib.join("garbage.meta"),
        b"d8:announce3:url4:infoi42e garbage",
    )
    .unwrap();

    let seeder = Swarm::seed(&[&lib])
        .args(["--no-tracker", "--json"])
        .state_dir(&tmp.path().join("state"))
        .start();

    // The good one, whole.
    downloads(&good, &tmp.path().join("out-good"), &seeder);

    // The partial one: the pieces that verify, and a message naming what is incomplete and
    // where it looked.
    let mut get_part = get_from(
        &part.meta,
        &tmp.path().join("out-part"),
        &seeder,
        &["--timeout", "15"],
    );
    let status = get_part
        .wait_exit(LIMIT)
        .expect("a partial download gives up");
    assert!(!status.success(), "the partial torrent cannot complete");
    assert!(
        same_contents(
            &part_dir.join("one.bin"),
            &tmp.path().join("out-part/part/one.bin")
        ),
        "the complete file of the partial torrent was not served; seed:\n{}",
        seeder.out.tail(30)
    );
    let lines = seeder.out.snapshot();
    let lib_text = lib.to_str().unwrap();
    for missing in ["two.bin", "three.bin"] {
        assert!(
            lines.iter().any(|l| l.contains(missing)),
            "no message names the incomplete file {missing}:\n{}",
            all_output(&seeder)
        );
    }
    assert!(
        lines.iter().any(|l| l.contains(lib_text)
            && ["two.bin", "three.bin", "part"]
                .iter()
                .any(|f| l.contains(f))),
        "the message about the partial torrent does not say where it looked ({lib_text}):\n{}",
        all_output(&seeder)
    );
    let part_progress = json_events(&seeder)
        .into_iter()
        .rfind(|e| e["event"] == "progress" && e["name"] == "part")
        .expect("progress of the partial torrent");
    let verified = part_progress["verified_bytes"].as_u64().unwrap_or(0);
    assert!(
        verified >= MIB && verified < part.total_length,
        "the partial torrent seeds the pieces that verify: {part_progress}"
    );

    // The garbage one: skipped, with a reason, on one line.
    let about_garbage: Vec<&String> = lines
        .iter()
        .filter(|l| l.contains("garbage.meta"))
        .collect();
    assert!(
        !about_garbage.is_empty(),
        "garbage.meta skipped without a word:\n{}",
        all_output(&seeder)
    );
    let mut seeder = seeder;
    assert!(
        seeder.wait_exit(Duration::ZERO).is_none(),
        "a broken metainfo must not stop the others"
    );
}

#[test]
fn watch_seeds_a_metainfo_dropped_into_an_empty_folder_and_stops_when_it_is_removed() {
    let tmp = tempfile::tempdir().unwrap();
    let lib = tmp.path().join("lib");
    std::fs::create_dir_all(&lib).unwrap();
    let mut seeder = Swarm::seed(&[&lib])
        .args(["--watch", "--no-tracker", "--json"])
        .state_dir(&tmp.path().join("state"))
        .start();
    seeder.expect_line(
        Duration::from_secs(30),
        "a message on how to share the empty folder",
        says_how_to_share,
    );

    // Data first, then the metainfo, renamed in whole.
    let outside = tmp.path().join("outside");
    let t = torrent_in(&outside, "new.bin", MIB + 3, 4);
    std::fs::copy(&t.payload, lib.join("new.bin")).unwrap();
    std::fs::copy(&t.meta, tmp.path().join("new.meta.tmp")).unwrap();
    std::fs::rename(tmp.path().join("new.meta.tmp"), lib.join("new.meta")).unwrap();
    let added = swarm_tests::wait_until(Duration::from_secs(60), || {
        json_events(&seeder)
            .iter()
            .any(|e| e["event"] == "added" && e["name"] == "new.bin")
    });
    assert!(
        added,
        "new.meta was not picked up:\n{}",
        all_output(&seeder)
    );
    let in_lib = TestTorrent {
        meta: lib.join("new.meta"),
        ..t.clone()
    };
    downloads(&in_lib, &tmp.path().join("out-1"), &seeder);

    std::fs::remove_file(lib.join("new.meta")).unwrap();
    let stopped = swarm_tests::wait_until(Duration::from_secs(60), || {
        json_events(&seeder)
            .iter()
            .any(|e| e["event"] == "done" && e["name"] == "new.bin")
    });
    assert!(
        stopped,
        "removing new.meta did not stop it:\n{}",
        all_output(&seeder)
    );
    let mut late = get_from(
        &t.meta,
        &tmp.path().join("out-2"),
        &seeder,
        &["--timeout", "8"],
    );
    let status = late.wait_exit(LIMIT).expect("swarm get gives up");
    assert!(
        !status.success(),
        "a removed metainfo is still served:\n{}",
        late.out.tail(10)
    );
    assert!(
        seeder.wait_exit(Duration::ZERO).is_none(),
        "--watch keeps running"
    );
}

#[test]
fn seeding_an_empty_folder_says_how_to_share_it() {
    let tmp = tempfile::tempdir().unwrap();
    let empty = tmp.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let mut seed = Swarm::seed(&[&empty])
        .arg("--no-tracker")
        .state_dir(&tmp.path().join("state"))
        .spawn();
    let status = seed
        .wait_exit(Duration::from_secs(60))
        .expect("nothing to seed: swarm seed exits");
    assert!(!status.success());
    let lines = seed.out.snapshot();
    assert!(
        lines
            .iter()
            .any(|l| l.contains(empty.to_str().unwrap()) && says_how_to_share(l)),
        "the message neither names the folder nor says how to share it:\n{}",
        lines.join("\n")
    );
}

#[test]
fn seed_of_a_missing_path_exits_4_naming_it() {
    let tmp = tempfile::tempdir().unwrap();
    for missing in ["nope", "nope.meta"] {
        let path = tmp.path().join(missing);
        let mut seed = Swarm::seed(&[&path])
            .arg("--no-tracker")
            .state_dir(&tmp.path().join("state"))
            .spawn();
        let status = seed.wait_exit(Duration::from_secs(60)).expect("exits");
        assert_eq!(status.code(), Some(4), "{}", all_output(&seed));
        let err: Vec<String> = seed
            .out
            .snapshot()
            .into_iter()
            .filter(|l| l.starts_with("stderr: "))
            .collect();
        assert!(
            err.iter().any(|l| l.contains(path.to_str().unwrap())),
            "the error does not name {}: {err:?}",
            path.display()
        );
    }
}

#[test]
fn seed_writes_nothing_into_the_folders_it_serves() {
    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path().join("state");
    // (a) a metainfo file with --data; (b) a library folder; (c) a folder shared from inside.
    let data = tmp.path().join("data");
    let a = torrent_in(&data, "a.bin", MIB + 1, 5);
    let a_meta = tmp.path().join("a.meta");
    std::fs::rename(&a.meta, &a_meta).unwrap();
    let a = TestTorrent { meta: a_meta, ..a };
    let lib = tmp.path().join("lib");
    let b = torrent_in(&lib, "b.bin", MIB + 2, 6);
    let share = write_tree(
        &tmp.path().join("share"),
        &[("x.bin", 700 * KIB), ("y/z.bin", 300 * KIB + 9)],
        7,
    );
    let before: Vec<_> = [&data, &lib, &share]
        .iter()
        .map(|d| tree_snapshot(d))
        .collect();

    let seed_a = Swarm::seed(&[&a.meta])
        .arg("--data")
        .arg(&data)
        .args(["--no-tracker", "--json"])
        .state_dir(&state.join("a"))
        .start();
    let seed_b = Swarm::seed(&[&lib])
        .args(["--no-tracker", "--json"])
        .state_dir(&state.join("b"))
        .start();
    let state_c = state.join("c");
    let mut seed_c = Swarm::seed(&[Path::new(".")])
        .args(["--no-tracker", "--json", "--piece-length", "32K"])
        .state_dir(&state_c)
        .cwd(&share)
        .spawn();
    seed_c.expect_line(LIMIT, "a magnet link", |l| {
        l.contains("magnet:?xt=urn:btih:")
    });
    swarm_tests::ours::wait_listening(&mut seed_c, LIMIT);
    // The current directory is inside what is shared: the metainfo goes to the state dir.
    let c_meta = find_meta_named(&state_c, "share").unwrap_or_else(|| {
        panic!(
            "no share.meta under the state directory {}:\n{}",
            state_c.display(),
            all_output(&seed_c)
        )
    });
    let c = TestTorrent {
        meta: c_meta,
        payload: share.clone(),
        name: "share".into(),
        ..a.clone()
    };

    downloads(&a, &tmp.path().join("out-a"), &seed_a);
    downloads(&b, &tmp.path().join("out-b"), &seed_b);
    downloads(&c, &tmp.path().join("out-c"), &seed_c);
    for mut seeder in [seed_a, seed_b, seed_c] {
        seeder.guard.signal("TERM");
        seeder.wait_exit(Duration::from_secs(30));
    }
    let after: Vec<_> = [&data, &lib, &share]
        .iter()
        .map(|d| tree_snapshot(d))
        .collect();
    for (i, (b, a)) in before.iter().zip(&after).enumerate() {
        assert_eq!(
            b,
            a,
            "swarm seed changed the folder it served (case {})",
            ["a", "b", "c"][i]
        );
    }
}

/// A metainfo file anywhere under `dir` whose torrent is named `name`.
fn find_meta_named(dir: &Path, name: &str) -> Option<PathBuf> {
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).ok()?.flatten() {
            let p = entry.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "meta" || x == "torrent")
                && std::fs::read(&p)
                    .ok()
                    .and_then(|b| metainfo::Metainfo::from_bytes(&b).ok())
                    .is_some_and(|m| m.info.name == name)
            {
                return Some(p);
            }
        }
    }
    None
}

/// `mkmeta PATH -t URL --piece-length 32K -o OUT`; the info-hash of what it wrote.
fn mkmeta_info_hash(path: &Path, url: &str, out: &Path) -> String {
    let status = std::process::Command::new(bin("mkmeta"))
        .arg(path)
        .args(["-t", url, "--piece-length", "32K", "-f", "-o"])
        .arg(out)
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    metainfo::Metainfo::from_bytes(&std::fs::read(out).unwrap())
        .unwrap()
        .info_hash
        .to_hex()
}

/// `swarm seed PATH -t URL --piece-length 32K --no-tracker` in `cwd`.
fn share(path: &Path, cwd: &Path, state: &Path, extra: &[&str]) -> Proc {
    Swarm::seed(&[path])
        .args(["-t", URL, "--piece-length", "32K", "--no-tracker"])
        .args(extra)
        .state_dir(state)
        .cwd(cwd)
        .spawn()
}

const URL: &str = "http://127.0.0.1:9/announce";

#[test]
fn sharing_a_folder_writes_the_metainfo_mkmeta_would_and_prints_its_hash_and_magnet() {
    let tmp = tempfile::tempdir().unwrap();
    let album = write_tree(
        &tmp.path().join("album"),
        &[("a.bin", 500 * KIB + 1), ("b/c.bin", 200 * KIB)],
        8,
    );
    let cwd = tmp.path().join("cwd");
    std::fs::create_dir_all(&cwd).unwrap();
    let state = tmp.path().join("state");
    let expected = mkmeta_info_hash(&album, URL, &tmp.path().join("mk.meta"));

    let mut seed = share(&album, &cwd, &state, &[]);
    let (path, meta) = written_meta(&mut seed, &cwd, LIMIT);
    assert_eq!(
        path,
        cwd.join("album.meta"),
        "<name>.meta in the current directory"
    );
    assert_eq!(
        meta.info_hash.to_hex(),
        expected,
        "same metainfo as `mkmeta PATH`"
    );
    let out = all_output(&seed);
    assert!(
        out.contains(&expected),
        "the info-hash is not printed:\n{out}"
    );
    assert!(
        out.contains("album.meta"),
        "the path is not printed:\n{out}"
    );
    assert!(
        first_lines(&seed).iter().any(|l| l.contains("shar")),
        "the first line does not say the folder is shared: {:?}",
        first_lines(&seed)
    );
    swarm_tests::ours::wait_listening(&mut seed, LIMIT);
    drop(seed);

    // Again: the file with the same info-hash is reused as it is.
    let written = std::fs::read(&path).unwrap();
    let mut seed = share(&album, &cwd, &state, &[]);
    seed.expect_line(LIMIT, "a magnet link", |l| l.contains(&expected));
    swarm_tests::ours::wait_listening(&mut seed, LIMIT);
    assert_eq!(
        std::fs::read(&path).unwrap(),
        written,
        "reused, not rewritten"
    );
    drop(seed);

    // A different album.meta is not overwritten without --force.
    mkmeta_info_hash(&album.join("b"), URL, &path);
    let other = std::fs::read(&path).unwrap();
    let mut seed = share(&album, &cwd, &state, &[]);
    let status = seed.wait_exit(LIMIT).expect("refuses and exits");
    assert!(!status.success());
    let out = all_output(&seed);
    assert!(
        out.contains("album.meta") && out.contains("--force"),
        "the refusal names neither the file nor --force:\n{out}"
    );
    assert_eq!(
        std::fs::read(&path).unwrap(),
        other,
        "overwritten without --force"
    );
    let mut seed = share(&album, &cwd, &state, &["--force"]);
    swarm_tests::ours::wait_listening(&mut seed, LIMIT);
    let again = metainfo::Metainfo::from_bytes(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(again.info_hash.to_hex(), expected, "--force overwrites");
}

#[test]
fn sharing_with_meta_out_writes_the_metainfo_there_only() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("data/movie.bin");
    write_random_file(&file, 400 * KIB + 3, 9);
    let cwd = tmp.path().join("cwd");
    std::fs::create_dir_all(&cwd).unwrap();
    let out = tmp.path().join("metas/m.meta");
    std::fs::create_dir_all(out.parent().unwrap()).unwrap();
    let mut seed = share(
        &file,
        &cwd,
        &tmp.path().join("state"),
        &["--meta-out", out.to_str().unwrap()],
    );
    let (path, meta) = written_meta(&mut seed, out.parent().unwrap(), LIMIT);
    assert_eq!(path, out);
    assert_eq!(meta.info.name, "movie.bin");
    assert!(
        meta_files(&cwd).is_empty(),
        "--meta-out writes nothing else"
    );
    assert_eq!(
        tree_snapshot(&tmp.path().join("data")).len(),
        1,
        "nothing beside the shared file"
    );
}

#[test]
fn first_line_says_whether_a_path_was_read_as_metainfo_library_or_share() {
    let tmp = tempfile::tempdir().unwrap();
    let lib = tmp.path().join("lib");
    let t = torrent_in(&lib, "one.bin", 100 * KIB, 10);
    let plain = write_tree(&tmp.path().join("plain"), &[("p.bin", 100 * KIB)], 11);
    let cwd = tmp.path().join("cwd");
    std::fs::create_dir_all(&cwd).unwrap();
    let cases: [(&str, &Path, &[&str], &[&str]); 4] = [
        ("metainfo file", &t.meta, &[], &["metainfo", ".meta"]),
        ("library folder", &lib, &[], &["librar"]),
        (
            "plain folder",
            &plain,
            &["--piece-length", "32K"],
            &["shar"],
        ),
        ("library folder with --share", &lib, &["--share"], &["shar"]),
    ];
    for (i, (what, path, extra, words)) in cases.into_iter().enumerate() {
        let mut seed = Swarm::seed(&[path])
            .args(["--no-tracker"])
            .args(extra)
            .state_dir(&tmp.path().join(format!("state-{i}")))
            .cwd(&cwd)
            .spawn();
        seed.expect_line(Duration::from_secs(60), "a first line", |_| true);
        std::thread::sleep(Duration::from_millis(500));
        let first = first_lines(&seed);
        assert!(
            first.iter().any(|l| words.iter().any(|w| l.contains(w))),
            "{what}: the first line does not say so ({words:?}): {first:?}"
        );
    }
}

#[test]
fn tracker_scrape_counts_each_completed_swarm_get_in_downloaded() {
    let tmp = tempfile::tempdir().unwrap();
    let tracker = Tracker::start();
    let data = tmp.path().join("data");
    let payload = data.join("s.bin");
    write_random_file(&payload, MIB + 11, 12);
    let t = write_meta(
        &payload,
        &data.join("s.meta"),
        PIECE,
        Some(&tracker.announce_url()),
    );
    let _seed = Swarm::seed(&[&t.meta])
        .arg("--json")
        .state_dir(&tmp.path().join("state-seed"))
        .start();
    assert!(tracker.wait_seeders(&t.info_hash, 1, Duration::from_secs(60)));
    let mut gets: Vec<Proc> = (0..2)
        .map(|i| {
            let out = tmp.path().join(format!("out-{i}"));
            Swarm::get(&[&t.meta], &out)
                .arg("--json")
                .state_dir(&tmp.path().join(format!("state-{i}")))
                .spawn()
        })
        .collect();
    for get in &mut gets {
        get.wait_success(LIMIT);
    }
    // `completed` is sent (and its reply awaited) before `swarm get` exits.
    let counted = swarm_tests::wait_until(Duration::from_secs(3), || {
        tracker.scrape_downloaded(&t.info_hash) == Some(2)
    });
    assert!(
        counted,
        "scrape downloaded = {:?} after two complete downloads",
        tracker.scrape_downloaded(&t.info_hash)
    );
}

#[test]
fn seed_ratio_ends_the_seeder_once_it_uploaded_that_much() {
    let tmp = tempfile::tempdir().unwrap();
    let t = torrent_in(&tmp.path().join("data"), "r.bin", MIB + 99, 13);
    let mut seed = Swarm::seed(&[&t.meta])
        .args(["--seed-ratio", "1", "--no-tracker", "--json"])
        .state_dir(&tmp.path().join("state"))
        .start();
    std::thread::sleep(Duration::from_secs(2));
    assert!(
        seed.wait_exit(Duration::ZERO).is_none(),
        "exited before any upload"
    );
    downloads(&t, &tmp.path().join("out"), &seed);
    let status = seed.wait_exit(Duration::from_secs(60));
    assert!(
        status.is_some_and(|s| s.success()),
        "swarm seed --seed-ratio 1 still running (or failed) after uploading the torrent once:\n{}",
        seed.out.tail(20)
    );
}

#[test]
fn seed_time_ends_the_seeder_after_that_long() {
    let tmp = tempfile::tempdir().unwrap();
    let t = torrent_in(&tmp.path().join("data"), "t.bin", 300 * KIB, 14);
    let started = Instant::now();
    let mut seed = Swarm::seed(&[&t.meta])
        .args(["--seed-time", "3s", "--no-tracker", "--json"])
        .state_dir(&tmp.path().join("state"))
        .spawn();
    let status = seed.wait_exit(Duration::from_secs(60));
    assert!(
        status.is_some_and(|s| s.success()),
        "swarm seed --seed-time 3s did not end by itself:\n{}",
        seed.out.tail(20)
    );
    assert!(
        started.elapsed() >= Duration::from_millis(2500),
        "ended before its seed time"
    );
}

#[test]
fn get_seed_with_seed_time_downloads_then_ends_by_itself() {
    let tmp = tempfile::tempdir().unwrap();
    let t = torrent_in(&tmp.path().join("data"), "g.bin", MIB + 1, 15);
    let source = Swarm::seed(&[&t.meta])
        .args(["--no-tracker", "--json"])
        .state_dir(&tmp.path().join("state-src"))
        .start();
    let out = tmp.path().join("out");
    let mut get = get_from(&t.meta, &out, &source, &["--seed", "--seed-time", "2s"]);
    get.wait_success(LIMIT);
    assert!(same_contents(&t.payload, &out.join(&t.name)));
}

#[test]
fn without_a_terminal_seed_prints_plain_status_lines_and_waiting_for_peers() {
    let tmp = tempfile::tempdir().unwrap();
    let t = torrent_in(&tmp.path().join("data"), "plain.bin", 200 * KIB, 16);
    let seed = Swarm::seed(&[&t.meta])
        .args(["--status-interval", "1", "--no-tracker"])
        .state_dir(&tmp.path().join("state"))
        .start();
    let status_lines = || {
        seed.out
            .snapshot()
            .into_iter()
            .filter(|l| l.contains("plain.bin") && l.contains("seed"))
            .count()
    };
    let ok = swarm_tests::wait_until(Duration::from_secs(30), || status_lines() >= 3);
    assert!(
        ok,
        "fewer than 3 status lines in 30 s with --status-interval 1:\n{}",
        all_output(&seed)
    );
    let out = all_output(&seed);
    assert!(out.contains("waiting for peers"), "{out}");
    assert!(
        !out.contains('\u{1b}'),
        "colour or cursor codes without a terminal:\n{out}"
    );
}
