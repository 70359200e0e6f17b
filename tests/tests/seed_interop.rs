//! aria2c, libtorrent and Transmission each download correct data from `swarm seed` in the
//! three ways a user names what to seed (issue 10):
//! (a) one metainfo file — its data beside it, or under `--data DIR`;
//! (b) a library folder holding two torrents (one process, one port);
//! (c) a plain file or folder of one's own, shared without any metainfo beforehand — the
//!     leecher gets the `.meta` that `swarm seed` wrote.
//! Every mode serves a single-file and a multi-file torrent (nested folders, files crossing
//! piece boundaries). Transmission ignores 127.x peers a tracker hands it, so it only gets
//! data when the seeder dials it: `swarm seed` must connect out to the leechers its tracker
//! lists. Small payloads; both leechers of a test run at once.

use std::path::{Path, PathBuf};
use std::time::Duration;

use swarm_tests::aria2::aria2_leech;
use swarm_tests::libtorrent::lt_leech;
use swarm_tests::metafile::{write_meta, write_multi_meta, write_tree};
use swarm_tests::ours::{Swarm, Tracker, json_events, wait_listening, written_meta};
use swarm_tests::output::Proc;
use swarm_tests::transmission::transmission;
use swarm_tests::{require_libtorrent, require_tool, same_contents, write_random_file};

const KIB: u64 = 1024;
const MIB: u64 = 1024 * KIB;
const PIECE: u64 = 32 * KIB;
const LIMIT: Duration = Duration::from_secs(180);

/// The real client that downloads.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Client {
    Aria2,
    Libtorrent,
    Transmission,
}

/// How `swarm seed` is told what to seed.
#[derive(Clone, Copy, Debug)]
enum Mode {
    MetainfoFile,
    LibraryFolder,
    PlainFolder,
}

/// What a leecher downloads and what it must end up with.
struct Want {
    meta: PathBuf,
    /// The original data (file or folder).
    expected: PathBuf,
    /// The torrent's name: the leecher's copy is `OUT/<name>`.
    name: String,
    info_hash: [u8; 20],
}

/// A single file and a folder of files (no zero-length file: Transmission never creates
/// those) under `root`; returns their paths.
fn make_data(root: &Path, seed: u64) -> (PathBuf, PathBuf) {
    let single = root.join("single.bin");
    write_random_file(&single, 3 * MIB + 1234, seed);
    let album = write_tree(
        &root.join("album"),
        &[
            ("a.bin", MIB + 77),
            ("sub/b.bin", 700 * KIB + 3),
            ("sub/deeper/c.txt", 40 * KIB + 5),
            ("d.bin", MIB + 300 * KIB),
        ],
        seed + 1,
    );
    (single, album)
}

/// Start the seeder(s) for `mode` under `tmp`, announcing to `tracker`; returns them and the
/// two torrents they serve (single-file first).
fn start_seeding(mode: Mode, tmp: &Path, tracker: &Tracker, seed: u64) -> (Vec<Proc>, Vec<Want>) {
    let url = tracker.announce_url();
    let state = |n: &str| tmp.join(format!("state-{n}"));
    match mode {
        Mode::MetainfoFile => {
            // single.meta beside its data; album.meta elsewhere, its data named by --data.
            let data = tmp.join("data");
            let (single, album) = make_data(&data, seed);
            let s = write_meta(&single, &data.join("single.meta"), PIECE, Some(&url));
            let a = write_multi_meta(&album, &tmp.join("metas/album.meta"), PIECE, Some(&url));
            let s_seed = Swarm::seed(&[&s.meta])
                .state_dir(&state("single"))
                .arg("--json")
                .start();
            let a_seed = Swarm::seed(&[&a.meta])
                .arg("--data")
                .arg(&data)
                .arg("--json")
                .state_dir(&state("album"))
                .start();
            let wants = [s, a]
                .into_iter()
                .map(|t| Want {
                    meta: t.meta,
                    expected: t.payload,
                    name: t.name,
                    info_hash: t.info_hash,
                })
                .collect();
            (vec![s_seed, a_seed], wants)
        }
        Mode::LibraryFolder => {
            let lib = tmp.join("lib");
            let (single, album) = make_data(&lib, seed);
            let s = write_meta(&single, &lib.join("single.meta"), PIECE, Some(&url));
            let a = write_multi_meta(&album, &lib.join("album.meta"), PIECE, Some(&url));
            let seeder = Swarm::seed(&[&lib])
                .state_dir(&state("lib"))
                .arg("--json")
                .start();
            let wants = [s, a]
                .into_iter()
                .map(|t| Want {
                    meta: t.meta,
                    expected: t.payload,
                    name: t.name,
                    info_hash: t.info_hash,
                })
                .collect();
            (vec![seeder], wants)
        }
        Mode::PlainFolder => {
            let share = tmp.join("share");
            let (single, album) = make_data(&share, seed);
            let mut seeders = Vec::new();
            let mut wants = Vec::new();
            for (what, path) in [("single", single), ("album", album)] {
                // Each in its own working directory, where it writes `<name>.meta`.
                let cwd = tmp.join(format!("cwd-{what}"));
                std::fs::create_dir_all(&cwd).unwrap();
                let mut seeder = Swarm::seed(&[&path])
                    .args(["-t", url.as_str(), "--piece-length", "32K", "--json"])
                    .state_dir(&state(what))
                    .cwd(&cwd)
                    .spawn();
                let (meta_path, meta) = written_meta(&mut seeder, &cwd, LIMIT);
                wait_listening(&mut seeder, LIMIT);
                let name = path.file_name().unwrap().to_str().unwrap().to_string();
                assert_eq!(
                    meta.info.name, name,
                    "the torrent is named after what is shared"
                );
                wants.push(Want {
                    meta: meta_path,
                    expected: path,
                    name,
                    info_hash: meta.info_hash.0,
                });
                seeders.push(seeder);
            }
            (seeders, wants)
        }
    }
}

/// A download in progress by a real client.
struct Leech {
    client: Client,
    proc: Proc,
    out: PathBuf,
}

fn start_leech(client: Client, want: &Want, out: &Path, seeder: &Proc, config: &Path) -> Leech {
    let proc = match client {
        Client::Aria2 => aria2_leech(&want.meta, out),
        // From the tracker, and by dialing the seeder.
        Client::Libtorrent => lt_leech(&want.meta, out, &[seeder.addr()], Duration::from_secs(170)),
        // Only when the seeder dials it (it learns of it from the tracker).
        Client::Transmission => transmission(&want.meta, out, config),
    };
    Leech {
        client,
        proc,
        out: out.to_path_buf(),
    }
}

fn finish_leech(mut leech: Leech, want: &Want, seeders: &[Proc]) {
    let got = leech.out.join(&want.name);
    let seeder_tail = || {
        seeders
            .iter()
            .map(|s| s.out.tail(15))
            .collect::<Vec<_>>()
            .join("\n--\n")
    };
    match leech.client {
        Client::Transmission => {
            // It keeps running once complete, and names incomplete files `*.part`.
            let ok = swarm_tests::wait_until(LIMIT, || same_contents(&want.expected, &got));
            assert!(
                ok,
                "Transmission did not download {} from swarm seed (the seeder must dial the leechers its tracker lists); Transmission:\n{}\nseeder:\n{}",
                want.name,
                leech.proc.out.tail(10),
                seeder_tail()
            );
        }
        Client::Aria2 | Client::Libtorrent => {
            if leech.proc.wait_exit(LIMIT).is_none_or(|s| !s.success()) {
                panic!(
                    "{:?} did not download {}; its output:\n{}\nseeder:\n{}",
                    leech.client,
                    want.name,
                    leech.proc.out.tail(20),
                    seeder_tail()
                );
            }
            assert!(
                same_contents(&want.expected, &got),
                "{:?} downloaded {} but the data differs",
                leech.client,
                want.name
            );
        }
    }
}

/// `client` downloads both torrents of `mode` from `swarm seed`, at once.
fn client_downloads_from_swarm_seed(client: Client, mode: Mode, seed: u64) {
    let tool_ok = match client {
        Client::Aria2 => require_tool("aria2c"),
        Client::Libtorrent => require_libtorrent(),
        Client::Transmission => require_tool("transmission-cli"),
    };
    if !tool_ok {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let tracker = Tracker::start();
    let (seeders, wants) = start_seeding(mode, tmp.path(), &tracker, seed);
    for want in &wants {
        // Not asserted here: a leecher that comes first still finds the seeder later.
        tracker.wait_seeders(&want.info_hash, 1, Duration::from_secs(30));
    }
    let leeches: Vec<Leech> = wants
        .iter()
        .enumerate()
        .map(|(i, want)| {
            // Mode (a) and (c) have a seeder per torrent; mode (b) one for both.
            let seeder = &seeders[i.min(seeders.len() - 1)];
            let out = tmp.path().join(format!("out-{i}"));
            let config = tmp.path().join(format!("tr-config-{i}"));
            start_leech(client, want, &out, seeder, &config)
        })
        .collect();
    for (leech, want) in leeches.into_iter().zip(&wants) {
        finish_leech(leech, want, &seeders);
    }
    if let Mode::LibraryFolder = mode {
        let listening = json_events(&seeders[0])
            .iter()
            .filter(|e| e["event"] == "listening")
            .count();
        assert_eq!(listening, 1, "one port serves both torrents of the library");
    }
}

#[test]
fn aria2_downloads_from_swarm_seed_of_a_metainfo_file() {
    client_downloads_from_swarm_seed(Client::Aria2, Mode::MetainfoFile, 100);
}

#[test]
fn aria2_downloads_both_torrents_of_a_library_folder_from_one_swarm_seed() {
    client_downloads_from_swarm_seed(Client::Aria2, Mode::LibraryFolder, 110);
}

#[test]
fn aria2_downloads_a_plain_folder_shared_by_swarm_seed_with_the_meta_it_wrote() {
    client_downloads_from_swarm_seed(Client::Aria2, Mode::PlainFolder, 120);
}

#[test]
fn libtorrent_downloads_from_swarm_seed_of_a_metainfo_file() {
    client_downloads_from_swarm_seed(Client::Libtorrent, Mode::MetainfoFile, 130);
}

#[test]
fn libtorrent_downloads_both_torrents_of_a_library_folder_from_one_swarm_seed() {
    client_downloads_from_swarm_seed(Client::Libtorrent, Mode::LibraryFolder, 140);
}

#[test]
fn libtorrent_downloads_a_plain_folder_shared_by_swarm_seed_with_the_meta_it_wrote() {
    client_downloads_from_swarm_seed(Client::Libtorrent, Mode::PlainFolder, 150);
}

#[test]
fn transmission_downloads_from_swarm_seed_of_a_metainfo_file_when_the_seeder_dials_it() {
    client_downloads_from_swarm_seed(Client::Transmission, Mode::MetainfoFile, 160);
}

#[test]
fn transmission_downloads_both_torrents_of_a_library_folder_when_the_seeder_dials_it() {
    client_downloads_from_swarm_seed(Client::Transmission, Mode::LibraryFolder, 170);
}

#[test]
fn transmission_downloads_a_plain_folder_shared_by_swarm_seed_when_the_seeder_dials_it() {
    client_downloads_from_swarm_seed(Client::Transmission, Mode::PlainFolder, 180);
}
