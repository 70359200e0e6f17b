//! The `mkmeta` command line, end to end: output naming, overwrite rules, tracker default,
//! options, `--show`/`--json`, `--verify` on good and damaged data, symlinks, bad input.

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

use metainfo::Metainfo;
use serde_json::Value;
use swarm_tests::{bin, write_random_file};
use tempfile::TempDir;

const DEFAULT_TRACKER: &str = "http://127.0.0.1:6969/announce";

/// Run mkmeta in `cwd` with `args`, without any SWARM_TRACKER from the environment.
fn mkmeta(cwd: &Path, args: &[&str]) -> Output {
    mkmeta_with(cwd, args, |_| {})
}

fn mkmeta_with(cwd: &Path, args: &[&str], adjust: impl FnOnce(&mut Command)) -> Output {
    let mut cmd = Command::new(bin("mkmeta"));
    cmd.current_dir(cwd).args(args).env_remove("SWARM_TRACKER");
    adjust(&mut cmd);
    cmd.output().expect("run mkmeta")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn assert_ok(out: &Output) {
    assert!(
        out.status.success(),
        "mkmeta failed: {:?}\nstdout: {}\nstderr: {}",
        out.status,
        stdout(out),
        stderr(out)
    );
}

fn load(path: &Path) -> Metainfo {
    Metainfo::from_bytes(&fs::read(path).expect("read metainfo")).expect("valid metainfo")
}

/// A directory with nested subdirectories, a zero-length file and files that straddle
/// piece boundaries (about 600 KiB).
fn make_tree(root: &Path) {
    write_random_file(&root.join("a.bin"), 300_000, 1);
    write_random_file(&root.join("sub/b.bin"), 200_000, 2);
    write_random_file(&root.join("sub/deeper/c.bin"), 100_001, 3);
    write_random_file(&root.join("empty.dat"), 0, 4);
}

#[test]
fn help_explains_every_flag() {
    let tmp = TempDir::new().expect("tempdir");
    let out = mkmeta(tmp.path(), &["--help"]);
    assert_ok(&out);
    let help = stdout(&out);
    for flag in [
        "--output",
        "--tracker",
        "--piece-length",
        "--private",
        "--comment",
        "--web-seed",
        "--name",
        "--force",
        "--follow-symlinks",
        "--show",
        "--json",
        "--verify",
        "SWARM_TRACKER",
        "256K",
    ] {
        assert!(
            help.contains(flag),
            "--help does not mention {flag}:\n{help}"
        );
    }
}

#[test]
fn default_output_is_stem_dot_meta_in_the_current_directory() {
    let tmp = TempDir::new().expect("tempdir");
    let data = tmp.path().join("data");
    let cwd = tmp.path().join("cwd");
    fs::create_dir_all(&cwd).expect("mkdir");
    write_random_file(&data.join("file.iso"), 100_000, 7);
    make_tree(&data.join("dir"));

    let out = mkmeta(&cwd, &[data.join("file.iso").to_str().expect("utf8")]);
    assert_ok(&out);
    let meta = load(&cwd.join("file.meta"));
    assert_eq!(meta.info.name, "file.iso");
    assert!(meta.info.single_file);
    let text = stdout(&out);
    assert!(text.contains("file.meta"), "names the output: {text}");
    assert!(
        text.contains(&meta.info_hash.to_string()),
        "prints the info-hash: {text}"
    );
    assert!(text.contains(&meta.magnet()), "prints the magnet: {text}");

    // `./dir` → `dir.meta`
    let out = mkmeta(&data, &["./dir", "-o", "../cwd/dir.meta"]);
    assert_ok(&out);
    let out = mkmeta(&data, &["./dir"]);
    assert_ok(&out);
    let meta = load(&data.join("dir.meta"));
    assert_eq!(meta.info.name, "dir");
    assert!(!meta.info.single_file);
    assert_eq!(meta.info.files.len(), 4);
    assert_eq!(meta.info.total_length(), 600_001);
}

#[test]
fn refuses_to_overwrite_without_force() {
    let tmp = TempDir::new().expect("tempdir");
    write_random_file(&tmp.path().join("file.iso"), 50_000, 1);
    fs::write(tmp.path().join("file.meta"), b"precious").expect("write");

    let out = mkmeta(tmp.path(), &["file.iso"]);
    assert_eq!(out.status.code(), Some(1), "stderr: {}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("file.meta") && err.contains("--force"),
        "{err}"
    );
    assert_eq!(
        fs::read(tmp.path().join("file.meta")).expect("read"),
        b"precious"
    );

    let out = mkmeta(tmp.path(), &["file.iso", "--force"]);
    assert_ok(&out);
    assert_eq!(load(&tmp.path().join("file.meta")).info.name, "file.iso");
}

#[test]
fn tracker_defaults_to_swarm_tracker_then_localhost_and_says_so() {
    let tmp = TempDir::new().expect("tempdir");
    write_random_file(&tmp.path().join("f.bin"), 10_000, 1);

    let out = mkmeta(tmp.path(), &["f.bin"]);
    assert_ok(&out);
    assert!(
        stderr(&out).contains(DEFAULT_TRACKER),
        "says so: {}",
        stderr(&out)
    );
    assert_eq!(
        load(&tmp.path().join("f.meta")).trackers(),
        vec![vec![DEFAULT_TRACKER.to_string()]]
    );

    let env_url = "http://127.0.0.1:7070/announce";
    let out = mkmeta_with(tmp.path(), &["f.bin", "--force"], |c| {
        c.env("SWARM_TRACKER", env_url);
    });
    assert_ok(&out);
    let err = stderr(&out);
    assert!(
        err.contains(env_url) && err.contains("SWARM_TRACKER"),
        "says so: {err}"
    );
    assert_eq!(
        load(&tmp.path().join("f.meta")).trackers(),
        vec![vec![env_url.to_string()]]
    );

    // An explicit -t wins over the environment, and prints no notice.
    let out = mkmeta_with(
        tmp.path(),
        &[
            "f.bin",
            "--force",
            "-t",
            "http://a.example/announce",
            "-t",
            "udp://b.example:80",
        ],
        |c| {
            c.env("SWARM_TRACKER", env_url);
        },
    );
    assert_ok(&out);
    assert!(!stderr(&out).contains(env_url), "{}", stderr(&out));
    let meta = load(&tmp.path().join("f.meta"));
    assert_eq!(meta.announce.as_deref(), Some("http://a.example/announce"));
    assert_eq!(
        meta.trackers().concat(),
        vec![
            "http://a.example/announce".to_string(),
            "udp://b.example:80".to_string()
        ]
    );
}

#[test]
fn options_end_up_in_the_metainfo() {
    let tmp = TempDir::new().expect("tempdir");
    write_random_file(&tmp.path().join("f.bin"), 1_000_000, 1);
    let out = mkmeta(
        tmp.path(),
        &[
            "f.bin",
            "-o",
            "custom.meta",
            "--piece-length",
            "256K",
            "--private",
            "--comment",
            "hello there",
            "--web-seed",
            "http://127.0.0.1:8000/f.bin",
            "--name",
            "renamed.bin",
        ],
    );
    assert_ok(&out);
    let meta = load(&tmp.path().join("custom.meta"));
    assert_eq!(meta.info.piece_length, 256 * 1024);
    assert_eq!(meta.info.piece_count(), 4);
    assert!(meta.info.private);
    assert_eq!(meta.comment.as_deref(), Some("hello there"));
    assert_eq!(
        meta.url_list,
        vec!["http://127.0.0.1:8000/f.bin".to_string()]
    );
    assert_eq!(meta.info.name, "renamed.bin");
}

#[test]
fn piece_length_accepts_plain_bytes_and_mib() {
    let tmp = TempDir::new().expect("tempdir");
    write_random_file(&tmp.path().join("f.bin"), 5 << 20, 1);
    let out = mkmeta(tmp.path(), &["f.bin", "--piece-length", "4MiB"]);
    assert_ok(&out);
    assert_eq!(load(&tmp.path().join("f.meta")).info.piece_length, 4 << 20);
    let out = mkmeta(tmp.path(), &["f.bin", "--force", "--piece-length", "65536"]);
    assert_ok(&out);
    assert_eq!(load(&tmp.path().join("f.meta")).info.piece_length, 65_536);
}

#[test]
fn bad_sizes_are_usage_errors_with_one_line() {
    let tmp = TempDir::new().expect("tempdir");
    write_random_file(&tmp.path().join("f.bin"), 1_000, 1);
    for bad in ["0", "abc", "1.5M", "12Q", "-3"] {
        let out = mkmeta(tmp.path(), &["f.bin", &format!("--piece-length={bad}")]);
        assert_eq!(out.status.code(), Some(2), "{bad}: {}", stderr(&out));
        let err = stderr(&out);
        let first = err.lines().next().unwrap_or_default();
        assert!(
            first.starts_with("error:") && first.contains(bad),
            "{bad}: {err}"
        );
    }
    assert!(!tmp.path().join("f.meta").exists());
}

#[test]
fn failures_are_one_line_with_exit_status_1() {
    let tmp = TempDir::new().expect("tempdir");
    let out = mkmeta(tmp.path(), &["no-such-file"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("no-such-file"), "{err}");

    fs::write(tmp.path().join("junk.meta"), b"d4:infoi3ee").expect("write");
    let out = mkmeta(tmp.path(), &["--show", "junk.meta"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("junk.meta"), "{err}");
}

#[test]
fn show_and_json_describe_the_metainfo() {
    let tmp = TempDir::new().expect("tempdir");
    make_tree(&tmp.path().join("tree"));
    assert_ok(&mkmeta(
        tmp.path(),
        &[
            "tree",
            "--piece-length",
            "64K",
            "-t",
            "http://127.0.0.1:1/announce",
        ],
    ));
    let meta = load(&tmp.path().join("tree.meta"));

    let out = mkmeta(tmp.path(), &["--show", "tree.meta"]);
    assert_ok(&out);
    let text = stdout(&out);
    for needle in [
        "tree",
        "600001",
        "65536",
        &meta.info.piece_count().to_string(),
        "sub/deeper/c.bin",
        "empty.dat",
        "http://127.0.0.1:1/announce",
        "private:",
        &meta.info_hash.to_string(),
        "magnet:?xt=urn:btih:",
    ] {
        assert!(text.contains(needle), "--show lacks {needle}:\n{text}");
    }

    let out = mkmeta(tmp.path(), &["--show", "tree.meta", "--json"]);
    assert_ok(&out);
    let json: Value = serde_json::from_slice(&out.stdout).expect("--json prints JSON");
    assert_eq!(json["name"], "tree");
    assert_eq!(json["info_hash"], meta.info_hash.to_string());
    assert_eq!(json["total_length"], 600_001);
    assert_eq!(json["piece_length"], 65_536);
    assert_eq!(json["piece_count"], meta.info.piece_count());
    assert_eq!(json["private"], false);
    assert_eq!(json["trackers"][0][0], "http://127.0.0.1:1/announce");
    assert_eq!(json["magnet"], meta.magnet());
    let files = json["files"].as_array().expect("files");
    assert_eq!(files.len(), 4);
    let paths: Vec<&str> = files.iter().filter_map(|f| f["path"].as_str()).collect();
    assert!(paths.contains(&"tree/sub/deeper/c.bin"), "{paths:?}");
}

#[test]
fn verify_accepts_good_data() {
    let tmp = TempDir::new().expect("tempdir");
    make_tree(&tmp.path().join("tree"));
    write_random_file(&tmp.path().join("one.bin"), 123_457, 9);
    assert_ok(&mkmeta(tmp.path(), &["tree", "--piece-length", "32K"]));
    assert_ok(&mkmeta(tmp.path(), &["one.bin", "--piece-length", "16K"]));

    let out = mkmeta(tmp.path(), &["--verify", "tree.meta", "tree"]);
    assert_ok(&out);
    assert!(stdout(&out).contains("OK"), "{}", stdout(&out));
    let out = mkmeta(tmp.path(), &["--verify", "one.meta", "one.bin"]);
    assert_ok(&out);
}

#[test]
fn verify_names_the_bad_piece_and_file() {
    let tmp = TempDir::new().expect("tempdir");
    let tree = tmp.path().join("tree");
    make_tree(&tree);
    assert_ok(&mkmeta(tmp.path(), &["tree", "--piece-length", "32K"]));
    let meta = load(&tmp.path().join("tree.meta"));

    // Flip one byte in sub/b.bin, 100,000 bytes in: piece 12, which holds only b.bin.
    let victim = tree.join("sub/b.bin");
    let mut bytes = fs::read(&victim).expect("read");
    bytes[100_000] ^= 0xff;
    fs::write(&victim, &bytes).expect("write");
    let entry = meta
        .info
        .files
        .iter()
        .find(|f| f.path.ends_with(&["sub".to_string(), "b.bin".to_string()]))
        .expect("b.bin in metainfo");
    let bad_piece = (entry.offset + 100_000) / meta.info.piece_length;

    let out = mkmeta(tmp.path(), &["--verify", "tree.meta", "tree"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let text = stdout(&out);
    assert!(
        text.contains(&format!("bad pieces (1 of {})", meta.info.piece_count())),
        "{text}"
    );
    assert!(
        text.contains(&format!(": {bad_piece}\n")),
        "names piece {bad_piece}: {text}"
    );
    assert!(text.contains("sub/b.bin"), "names the file: {text}");
    assert!(!text.contains("a.bin"), "a.bin is fine: {text}");

    // A missing file is named as missing.
    fs::remove_file(tree.join("sub/deeper/c.bin")).expect("rm");
    let out = mkmeta(tmp.path(), &["--verify", "tree.meta", "tree"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains("missing file: tree/sub/deeper/c.bin"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn symlinks_are_skipped_unless_followed() {
    let tmp = TempDir::new().expect("tempdir");
    let tree = tmp.path().join("tree");
    write_random_file(&tree.join("real.bin"), 20_000, 1);
    write_random_file(&tmp.path().join("outside.bin"), 30_000, 2);
    std::os::unix::fs::symlink(tmp.path().join("outside.bin"), tree.join("link.bin"))
        .expect("symlink");

    let out = mkmeta(tmp.path(), &["tree"]);
    assert_ok(&out);
    assert!(
        stderr(&out).contains("symlink"),
        "says it skipped: {}",
        stderr(&out)
    );
    let meta = load(&tmp.path().join("tree.meta"));
    assert_eq!(meta.info.total_length(), 20_000);
    assert_eq!(meta.info.files.len(), 1);

    let out = mkmeta(tmp.path(), &["tree", "--force", "--follow-symlinks"]);
    assert_ok(&out);
    let meta = load(&tmp.path().join("tree.meta"));
    assert_eq!(meta.info.total_length(), 50_000);
    assert_eq!(meta.info.files.len(), 2);
}

#[test]
fn show_and_verify_reject_create_options() {
    let tmp = TempDir::new().expect("tempdir");
    let out = mkmeta(tmp.path(), &["--show", "x.meta", "--private"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let out = mkmeta(tmp.path(), &["--json"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}

#[test]
fn bad_urls_are_usage_errors() {
    let tmp = TempDir::new().expect("tempdir");
    write_random_file(&tmp.path().join("f.bin"), 1_000, 1);
    for args in [
        ["-t", ""],
        ["-t", "tracker.example"],
        ["--web-seed", "not a url"],
    ] {
        let out = mkmeta(tmp.path(), &["f.bin", args[0], args[1]]);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains("not a URL"), "{}", stderr(&out));
    }
    assert!(!tmp.path().join("f.meta").exists());
}

#[test]
fn same_input_gives_the_same_info_hash() {
    let tmp = TempDir::new().expect("tempdir");
    make_tree(&tmp.path().join("tree"));
    assert_ok(&mkmeta(tmp.path(), &["tree", "-o", "one.meta"]));
    assert_ok(&mkmeta(tmp.path(), &["tree", "-o", "two.meta"]));
    let (one, two) = (
        load(&tmp.path().join("one.meta")),
        load(&tmp.path().join("two.meta")),
    );
    assert_eq!(one.info_hash, two.info_hash);
    assert_eq!(one.info, two.info);
}

#[test]
fn a_bad_swarm_tracker_is_a_usage_error_not_written_into_the_metainfo() {
    let tmp = TempDir::new().expect("tempdir");
    write_random_file(&tmp.path().join("f.bin"), 10_000, 1);
    for bad in ["tracker.example:6969", "not a url", "http://"] {
        let out = mkmeta_with(tmp.path(), &["f.bin"], |c| {
            c.env("SWARM_TRACKER", bad);
        });
        assert_eq!(out.status.code(), Some(2), "{bad}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(
            err.contains("SWARM_TRACKER") && err.contains(bad) && err.contains("not a URL"),
            "names the variable and the value: {err}"
        );
        assert!(
            !tmp.path().join("f.meta").exists(),
            "{bad}: nothing written"
        );
    }
    // -t wins: the environment is not even looked at.
    let out = mkmeta_with(tmp.path(), &["f.bin", "-t", "http://a/announce"], |c| {
        c.env("SWARM_TRACKER", "not a url");
    });
    assert_ok(&out);
}

#[test]
fn a_piece_length_other_clients_reject_is_refused_unless_forced() {
    let tmp = TempDir::new().expect("tempdir");
    write_random_file(&tmp.path().join("f.bin"), 300_000, 1);
    for odd in ["100000", "48K", "8K", "1"] {
        let out = mkmeta(tmp.path(), &["f.bin", "--piece-length", odd]);
        assert_eq!(out.status.code(), Some(2), "{odd}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(
            err.contains("power of two") && err.contains("libtorrent") && err.contains("--force"),
            "says why and how to override: {err}"
        );
        assert!(
            !tmp.path().join("f.meta").exists(),
            "{odd}: nothing written"
        );
    }
    let out = mkmeta(
        tmp.path(),
        &["f.bin", "--piece-length", "100000", "--force"],
    );
    assert_ok(&out);
    assert_eq!(load(&tmp.path().join("f.meta")).info.piece_length, 100_000);
}

#[test]
fn output_dash_writes_the_metainfo_alone_to_stdout() {
    let tmp = TempDir::new().expect("tempdir");
    make_tree(&tmp.path().join("tree"));
    let out = mkmeta(tmp.path(), &["tree", "-o", "-"]);
    assert_ok(&out);
    let meta = Metainfo::from_bytes(&out.stdout).expect("stdout is exactly the metainfo");
    assert_eq!(meta.info.name, "tree");
    assert_eq!(meta.to_bytes(), out.stdout, "nothing else on stdout");
    let err = stderr(&out);
    assert!(
        err.contains(&meta.info_hash.to_string()),
        "the summary goes to stderr: {err}"
    );
    let written: Vec<_> = fs::read_dir(tmp.path())
        .expect("list")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(written, ["tree"], "no file named `-` or tree.meta");
}

#[test]
fn json_without_show_is_a_usage_error_not_a_new_metainfo() {
    let tmp = TempDir::new().expect("tempdir");
    write_random_file(&tmp.path().join("f.bin"), 1_000, 1);
    for args in [
        vec!["--json", "f.bin"],
        vec!["f.bin", "--json", "-o", "out.meta"],
        vec!["--json", "--verify", "x.meta", "f.bin"],
    ] {
        let out = mkmeta(tmp.path(), &args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains("--show"), "{}", stderr(&out));
    }
    assert!(!tmp.path().join("f.meta").exists());
    assert!(!tmp.path().join("out.meta").exists());
}

#[test]
fn show_prints_the_creation_date_as_a_utc_date() {
    let tmp = TempDir::new().expect("tempdir");
    write_random_file(&tmp.path().join("f.bin"), 1_000, 1);
    let options = metainfo::create::CreateOptions {
        creation_date: Some(1_700_000_000),
        ..Default::default()
    };
    let mut meta =
        metainfo::create::create(&tmp.path().join("f.bin"), &options, |_| {}).expect("create");
    fs::write(tmp.path().join("dated.meta"), meta.to_bytes()).expect("write");
    let out = mkmeta(tmp.path(), &["--show", "dated.meta"]);
    assert_ok(&out);
    assert!(
        stdout(&out).contains("created on:   2023-11-14T22:13:20Z (Unix time 1700000000)"),
        "{}",
        stdout(&out)
    );

    // A date no calendar formatter takes is shown as its number, without a crash.
    meta.creation_date = Some(i64::MAX);
    fs::write(tmp.path().join("odd.meta"), meta.to_bytes()).expect("write");
    let out = mkmeta(tmp.path(), &["--show", "odd.meta"]);
    assert_ok(&out);
    assert!(
        stdout(&out).contains(&i64::MAX.to_string()),
        "{}",
        stdout(&out)
    );
}
