//! `swarm get` against a download directory that cannot take the data: not writable (a
//! read-only mount, or a path through a regular file) gives one clear line and exit status 4;
//! a full disk (a small tmpfs) stops with exit status 5 and a hint to resume, keeps what is
//! verified, and a second run on a roomy disk completes without fetching everything again.
//!
//! The read-only and full file systems are tmpfs mounts in a private mount namespace (made
//! with `unshare -m`, entered with `nsenter`), so nothing on the host is mounted. Where the
//! test may not mount (no CAP_SYS_ADMIN), those tests print SKIP and pass.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use swarm_tests::fake_peer::{FakePeer, Mode};
use swarm_tests::metafile::{TestTorrent, write_meta};
use swarm_tests::ours::{done_event, swarm_get};
use swarm_tests::output::Proc;
use swarm_tests::{
    ChildGuard, bin, free_port, same_contents, wait_until, which, write_random_file,
};

const KIB: u64 = 1024;
const MIB: u64 = 1024 * KIB;
const LIMIT: Duration = Duration::from_secs(120);
/// Exit statuses documented in `swarm`'s main.rs.
const EXIT_DIR_UNUSABLE: i32 = 4;
const EXIT_DISK_FULL: i32 = 5;

fn torrent(root: &Path, len: u64, piece: u64) -> TestTorrent {
    let data = root.join("seed").join("payload.bin");
    write_random_file(&data, len, 11);
    write_meta(&data, &root.join("t.meta"), piece, None)
}

/// A tmpfs mounted in a private mount namespace held open by a `sleep` process (killed by
/// PID on drop, which takes the mount with it). Commands run inside it through `nsenter`,
/// which execs them, so their PID is the process's own.
struct PrivateTmpfs {
    holder: ChildGuard,
}

impl PrivateTmpfs {
    /// Mounts a tmpfs with `options` (e.g. `ro,size=1m`) on `mount_point` in a new mount
    /// namespace; `None` (after printing SKIP) where that is not allowed.
    fn mount(mount_point: &Path, options: &str) -> Option<PrivateTmpfs> {
        std::fs::create_dir_all(mount_point).expect("mount point");
        let tools = which("unshare").is_some() && which("nsenter").is_some();
        let mounted = tools.then(|| {
            let mut cmd = Command::new("unshare");
            cmd.args(["-m", "--propagation", "private", "sleep", "600"])
                .stdout(Stdio::null())
                .stderr(Stdio::null());
            let holder = ChildGuard::spawn("mount namespace holder", &mut cmd);
            let pid = holder.pid();
            let own = std::fs::read_link("/proc/self/ns/mnt").ok();
            let entered = wait_until(Duration::from_secs(10), || {
                let theirs = std::fs::read_link(format!("/proc/{pid}/ns/mnt")).ok();
                theirs.is_some() && theirs != own
            });
            let tmpfs = PrivateTmpfs { holder };
            let ok = entered
                && tmpfs
                    .command("mount")
                    .args(["-t", "tmpfs", "-o", options, "tmpfs"])
                    .arg(mount_point)
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status()
                    .is_ok_and(|s| s.success());
            ok.then_some(tmpfs)
        });
        let tmpfs = mounted.flatten();
        if tmpfs.is_none() {
            eprintln!(
                "SKIP: cannot mount a tmpfs in a private mount namespace (needs unshare, nsenter \
                 and CAP_SYS_ADMIN)"
            );
        }
        tmpfs
    }

    /// `program` to run inside the namespace.
    fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut cmd = Command::new("nsenter");
        cmd.args(["-t", &self.holder.pid().to_string(), "-m", "--"])
            .arg(program);
        cmd
    }

    /// `swarm get META -o OUT --port P --bind 127.0.0.1 --json --peer ...` inside the namespace.
    fn swarm_get(&self, meta: &Path, out: &Path, peers: &[String]) -> Proc {
        let port = free_port();
        let mut cmd = self.command(bin("swarm"));
        cmd.arg("get").arg(meta).arg("-o").arg(out).args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--json",
        ]);
        for peer in peers {
            cmd.arg("--peer").arg(peer);
        }
        Proc::spawn("swarm get (tmpfs)", &mut cmd, port)
    }

    /// Copies everything under `dir` (inside the namespace) to `to` (visible outside).
    fn copy_out(&self, dir: &Path, to: &Path) {
        std::fs::create_dir_all(to).expect("copy target");
        let status = self
            .command("cp")
            .arg("-a")
            .arg(dir.join("."))
            .arg(to)
            .status()
            .expect("run cp");
        assert!(
            status.success(),
            "copying {} out of the namespace failed",
            dir.display()
        );
    }
}

/// The lines swarm wrote to stderr (collected with a `stderr: ` prefix), minus `tracing` log
/// lines (which start with a timestamp, possibly after colour codes).
fn error_lines(proc: &Proc) -> Vec<String> {
    proc.out
        .snapshot()
        .iter()
        .filter_map(|l| l.strip_prefix("stderr:"))
        .map(strip_ansi)
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty() && !l.starts_with(|c: char| c.is_ascii_digit()))
        .collect()
}

/// `text` without ANSI colour sequences (`ESC [ ... m`).
fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn assert_one_line_error(proc: &Proc, expect_status: i32, mentions: &[&str]) {
    let lines = error_lines(proc);
    assert_eq!(
        lines.len(),
        1,
        "expected exactly one error line, got:\n{}",
        proc.out.tail(40)
    );
    let line = &lines[0];
    eprintln!("error line (status {expect_status}): {line}");
    assert!(
        mentions
            .iter()
            .any(|m| line.to_lowercase().contains(&m.to_lowercase())),
        "error line {line:?} should mention one of {mentions:?} (status {expect_status})"
    );
}

#[test]
fn output_path_through_a_regular_file_is_one_line_error_with_status_4() {
    let root = tempfile::tempdir().unwrap();
    let t = torrent(root.path(), 256 * KIB, 64 * KIB);
    let blocker = root.path().join("not-a-dir");
    std::fs::write(&blocker, b"x").unwrap();
    let honest = FakePeer::start(&t, Mode::Honest);
    let port = free_port();
    let mut cmd = Command::new(bin("swarm"));
    cmd.arg("get")
        .arg(&t.meta)
        .arg("-o")
        .arg(blocker.join("out"))
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--json"])
        .args(["--peer", &honest.addr()]);
    let mut get = Proc::spawn("swarm get", &mut cmd, port);
    let status = get
        .wait_exit(LIMIT)
        .expect("swarm get should give up at once");
    assert_eq!(
        status.code(),
        Some(EXIT_DIR_UNUSABLE),
        "output:\n{}",
        get.out.tail(40)
    );
    assert_one_line_error(&get, EXIT_DIR_UNUSABLE, &["not-a-dir"]);
}

#[test]
fn read_only_download_dir_is_one_line_error_with_status_4() {
    let root = tempfile::tempdir().unwrap();
    let mount = root.path().join("ro");
    let Some(tmpfs) = PrivateTmpfs::mount(&mount, "ro,size=1m") else {
        return;
    };
    let t = torrent(root.path(), 256 * KIB, 64 * KIB);
    let honest = FakePeer::start(&t, Mode::Honest);
    for out in [mount.clone(), mount.join("sub")] {
        let mut get = tmpfs.swarm_get(&t.meta, &out, &[honest.addr()]);
        let status = get
            .wait_exit(LIMIT)
            .expect("swarm get should give up at once");
        assert_eq!(
            status.code(),
            Some(EXIT_DIR_UNUSABLE),
            "output:\n{}",
            get.out.tail(40)
        );
        assert_one_line_error(
            &get,
            EXIT_DIR_UNUSABLE,
            &["read-only", "not writable", "cannot write"],
        );
    }
    assert_eq!(
        honest.blocks_sent(),
        0,
        "nothing should be downloaded into a read-only dir"
    );
}

#[test]
fn disk_full_stops_with_status_5_and_a_second_run_resumes() {
    let root = tempfile::tempdir().unwrap();
    let mount = root.path().join("small");
    // 6 MiB of data into a 2 MiB file system: it fills up about a third of the way.
    let Some(tmpfs) = PrivateTmpfs::mount(&mount, "size=2m") else {
        return;
    };
    let t = torrent(root.path(), 6 * MIB, 256 * KIB);
    let honest = FakePeer::start(&t, Mode::Honest);
    let mut get = tmpfs.swarm_get(&t.meta, &mount, &[honest.addr()]);
    let status = get
        .wait_exit(LIMIT)
        .expect("swarm get should stop when the disk is full");
    let kept = root.path().join("kept");
    tmpfs.copy_out(&mount, &kept);
    assert_eq!(
        status.code(),
        Some(EXIT_DISK_FULL),
        "output:\n{}",
        get.out.tail(40)
    );
    assert_one_line_error(&get, EXIT_DISK_FULL, &["space", "disk full"]);
    let line = error_lines(&get).remove(0);
    assert!(
        line.to_lowercase().contains("resume") || line.contains("again"),
        "no resume hint: {line}"
    );

    // What it verified is still there: a second run on a roomy disk completes and fetches less
    // than the whole payload.
    let kept_file = kept.join(&t.name);
    assert!(
        kept_file.exists(),
        "the partial download was not kept:\n{}",
        get.out.tail(40)
    );
    let mut again = swarm_get(&t.meta, &kept, &[honest.addr()], &[]);
    again.wait_success(LIMIT);
    assert!(
        same_contents(&kept_file, &t.payload),
        "resumed download differs from the payload"
    );
    let done = done_event(&again).expect("a done event");
    let fetched = done["downloaded_bytes"].as_u64().expect("downloaded_bytes");
    assert!(
        fetched < t.total_length,
        "the second run fetched {fetched} of {} bytes: nothing was kept from the first",
        t.total_length
    );
}

/// The `recheck` JSON events a run printed (a run that trusted its resume record has none
/// that read anything: its recheck, if any, is skipped entirely).
fn rechecked(proc: &Proc) -> bool {
    swarm_tests::ours::json_events(proc)
        .iter()
        .any(|e| e["event"] == "recheck")
}

fn downloaded(proc: &Proc) -> u64 {
    let done = done_event(proc).expect("a done event");
    done["downloaded_bytes"].as_u64().expect("downloaded_bytes")
}

#[test]
fn data_changed_on_disk_is_rechecked_and_repaired_and_unchanged_data_is_trusted() {
    let root = tempfile::tempdir().unwrap();
    let t = torrent(root.path(), 2 * MIB, 64 * KIB);
    let honest = FakePeer::start(&t, Mode::Honest);
    let out = root.path().join("out");
    let file = out.join(&t.name);
    let run = || {
        let mut get = swarm_get(&t.meta, &out, &[honest.addr()], &[]);
        get.wait_success(LIMIT);
        assert!(
            same_contents(&file, &t.payload),
            "data differs after a run:\n{}",
            get.out.tail(20)
        );
        get
    };
    let first = run();
    assert_eq!(downloaded(&first), t.total_length);

    // Untouched data: the resume record is trusted, nothing is read or fetched.
    let again = run();
    assert_eq!(downloaded(&again), 0, "output:\n{}", again.out.tail(20));
    assert!(
        !rechecked(&again),
        "a valid resume record should make a recheck unnecessary"
    );

    // One byte changed in piece 5: the record is stale, the recheck finds that piece bad and
    // only it is fetched again.
    let mut bytes = std::fs::read(&file).unwrap();
    bytes[5 * 64 * 1024 + 100] ^= 0x55;
    std::fs::write(&file, &bytes).unwrap();
    let repaired = run();
    assert!(rechecked(&repaired), "changed data must be rechecked");
    assert_eq!(
        downloaded(&repaired),
        64 * KIB,
        "only the changed piece should be fetched"
    );

    // Truncated to 1.5 MiB: the missing quarter is fetched again, the rest kept.
    let f = std::fs::File::options().write(true).open(&file).unwrap();
    f.set_len(3 * MIB / 2).unwrap();
    drop(f);
    let extended = run();
    assert_eq!(
        downloaded(&extended),
        MIB / 2,
        "only the cut-off part should be fetched"
    );
}
