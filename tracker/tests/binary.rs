//! The `tracker` binary: flags and environment variables, signals (graceful SIGTERM/SIGINT,
//! SIGHUP allowlist reload), peer expiry by the sweeper, and one-line startup errors.

mod common;

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{HttpConn, announce_path};
use metainfo::tracker::{AnnounceReply, ReplyError};

/// The spawned binary, killed (by PID) and reaped on drop; then its catalog directory is
/// removed.
struct Proc {
    child: Child,
    _data: tempfile::TempDir,
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Proc {
    fn signal(&self, sig: &str) {
        let status = Command::new("kill")
            .arg(format!("-{sig}"))
            .arg(self.child.id().to_string())
            .status();
        assert!(status.is_ok_and(|s| s.success()));
    }

    fn wait_exit(&mut self, timeout: Duration) -> std::process::ExitStatus {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "tracker did not exit within {timeout:?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

fn free_addr() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

/// The binary with its catalog in `data` (two trackers cannot share a catalog file).
fn tracker(data: &tempfile::TempDir) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tracker"));
    cmd.env("TRACKER_DATA_DIR", data.path())
        .env_remove("RUST_LOG")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    cmd
}

/// Start the binary; `data` (its catalog directory) goes when the process does. Before,
/// every run of these tests left its catalog directories in /tmp.
fn spawn(cmd: &mut Command, data: tempfile::TempDir) -> Proc {
    Proc {
        child: cmd.spawn().expect("start tracker"),
        _data: data,
    }
}

fn wait_listening(addr: SocketAddr) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(addr).is_err() {
        assert!(Instant::now() < deadline, "tracker not listening on {addr}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn start(args: &[&str]) -> (Proc, SocketAddr) {
    let addr = free_addr();
    let data = tempfile::tempdir().expect("temp dir");
    let proc = spawn(
        tracker(&data)
            .arg("--listen")
            .arg(addr.to_string())
            .arg("--udp")
            .arg("off")
            .args(args),
        data,
    );
    wait_listening(addr);
    (proc, addr)
}

fn announce(
    addr: SocketAddr,
    hash: &[u8; 20],
    port: u16,
    extra: &str,
) -> Result<AnnounceReply, ReplyError> {
    AnnounceReply::decode(
        &HttpConn::open(addr)
            .get(&announce_path(hash, port, extra), &[])
            .body,
    )
}

#[test]
fn help_documents_every_flag_and_variable() {
    let out = Command::new(env!("CARGO_BIN_EXE_tracker"))
        .arg("--help")
        .output()
        .unwrap();
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for word in [
        "--listen",
        "TRACKER_LISTEN",
        "--udp",
        "TRACKER_UDP",
        "--interval",
        "TRACKER_INTERVAL",
        "--min-interval",
        "--expiry-factor",
        "--default-numwant",
        "--max-numwant",
        "--store",
        "TRACKER_STORE",
        "--allowlist",
        "--trust-ip-param",
        "--behind-proxy",
        "--full-scrape",
        "--max-scrape",
        "--request-timeout",
        "--max-connection-age",
        "--max-connections",
        "--udp-secret",
        "--threads",
        "--peer-ids",
        "TRACKER_PEER_IDS",
        "[default: 0.0.0.0:6969]",
        "[default: 1800]",
        "[default: 60]",
    ] {
        assert!(help.contains(word), "--help lacks {word}:\n{help}");
    }
}

#[test]
fn environment_variables_configure_it() {
    let addr = free_addr();
    let data = tempfile::tempdir().expect("temp dir");
    let _proc = spawn(
        tracker(&data)
            .env("TRACKER_LISTEN", addr.to_string())
            .env("TRACKER_UDP", "off")
            .env("TRACKER_INTERVAL", "77")
            .env("TRACKER_MIN_INTERVAL", "7"),
        data,
    );
    wait_listening(addr);
    let reply = announce(addr, &[1; 20], 7001, "&left=1").unwrap();
    assert_eq!((reply.interval, reply.min_interval), (77, Some(7)));
}

#[test]
fn sigterm_and_sigint_shut_down_gracefully() {
    for sig in ["TERM", "INT"] {
        let (mut proc, addr) = start(&[]);
        // An idle keep-alive connection must not hold the shutdown up for long.
        let mut idle = HttpConn::open(addr);
        assert_eq!(idle.get("/health", &[]).status, 200);
        proc.signal(sig);
        let status = proc.wait_exit(Duration::from_secs(15));
        assert!(status.success(), "SIG{sig}: {status}");
    }
}

#[test]
fn sighup_reloads_the_allowlist() {
    let dir = tempfile::tempdir().unwrap();
    let list = dir.path().join("allow");
    std::fs::write(&list, "aa".repeat(20)).unwrap();
    let (proc, addr) = start(&["--allowlist", list.to_str().unwrap()]);
    assert!(matches!(
        announce(addr, &[0xbb; 20], 7001, "&left=1"),
        Err(ReplyError::Failure(_))
    ));
    std::fs::write(&list, format!("{}\n{}\n", "aa".repeat(20), "bb".repeat(20))).unwrap();
    proc.signal("HUP");
    let deadline = Instant::now() + Duration::from_secs(10);
    while announce(addr, &[0xbb; 20], 7001, "&left=1").is_err() {
        assert!(
            Instant::now() < deadline,
            "allowlist not reloaded on SIGHUP"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn silent_peers_expire() {
    let (_proc, addr) = start(&["--interval", "1", "--expiry-factor", "2"]);
    let hash = [5; 20];
    announce(addr, &hash, 7001, "&left=1").unwrap();
    assert_eq!(
        announce(addr, &hash, 7002, "&left=1").unwrap().peers.len(),
        1
    );
    // 7002 keeps announcing; 7001 stays silent and must disappear (ttl 2 s, sweep every 1 s).
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let reply = announce(addr, &hash, 7002, "&left=1").unwrap();
        if reply.peers.is_empty() && reply.incomplete == Some(1) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "peer 7001 never expired: {reply:?}"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
}

#[test]
fn startup_errors_are_one_line() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    for args in [
        vec!["--listen", addr.as_str(), "--udp", "off"],
        vec![
            "--store",
            "nonsense",
            "--udp",
            "off",
            "--listen",
            "127.0.0.1:0",
        ],
        vec![
            "--allowlist",
            "/nonexistent/allow",
            "--udp",
            "off",
            "--listen",
            "127.0.0.1:0",
        ],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_tracker"))
            .args(&args)
            .env_remove("RUST_BACKTRACE")
            .output()
            .unwrap();
        assert!(!out.status.success(), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        let lines: Vec<&str> = stderr
            .lines()
            .filter(|l| l.starts_with("tracker:"))
            .collect();
        assert_eq!(lines.len(), 1, "{args:?}: {stderr}");
    }
}
