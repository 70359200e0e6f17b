//! Helpers shared by the end-to-end tests: locating our binaries, spawning processes that
//! are killed by PID when a test ends, picking free loopback ports, waiting with generous
//! timeouts, and requiring external tools (a missing tool fails the test when `CI` is set).

use std::net::{TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Path of a binary built from this workspace (`mkmeta`, `tracker`, `swarm`).
///
/// Test executables live in `target/<profile>/deps/`; the workspace binaries one level up.
/// Run `cargo build --workspace --bins` before the tests (the test script does).
pub fn bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("test executable lives in target/<profile>/deps");
    let path = profile_dir.join(name);
    assert!(
        path.exists(),
        "{} not built: run `cargo build --workspace --bins` first",
        path.display()
    );
    path
}

/// A spawned process that is killed (by its PID) and reaped when dropped.
pub struct ChildGuard {
    child: Option<Child>,
    name: String,
}

impl ChildGuard {
    /// Spawn `cmd`, naming it `name` in messages.
    pub fn spawn(name: &str, cmd: &mut Command) -> ChildGuard {
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        ChildGuard {
            child: Some(child),
            name: name.to_string(),
        }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(Child::id).unwrap_or(0)
    }

    /// Mutable access to the child (for its pipes).
    pub fn child(&mut self) -> &mut Child {
        self.child.as_mut().expect("child present until drop")
    }

    /// Wait for the process to exit by itself, at most `timeout`; panics on timeout.
    pub fn wait_timeout(&mut self, timeout: Duration) -> std::process::ExitStatus {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child().try_wait().expect("try_wait") {
                return status;
            }
            if Instant::now() > deadline {
                panic!("{} did not exit within {timeout:?}", self.name);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Has the process exited?
    pub fn has_exited(&mut self) -> bool {
        matches!(self.child().try_wait(), Ok(Some(_)))
    }

    /// Send SIGKILL now (like `kill -9`) and reap.
    pub fn kill9(&mut self) {
        if let Some(child) = self.child.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Send a signal (e.g. "TERM", "INT", "HUP") by PID.
    pub fn signal(&self, sig: &str) {
        let _ = Command::new("kill")
            .arg(format!("-{sig}"))
            .arg(self.pid().to_string())
            .status();
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A loopback port that is free for both TCP and UDP right now.
pub fn free_port() -> u16 {
    for _ in 0..100 {
        let tcp = TcpListener::bind("127.0.0.1:0").expect("bind tcp");
        let port = tcp.local_addr().expect("addr").port();
        if UdpSocket::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free port found")
}

/// Poll `cond` every 50 ms until it returns true or `timeout` passes; returns whether it did.
pub fn wait_until(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    cond()
}

/// Wait until something listens on 127.0.0.1:`port` (TCP); panics after `timeout`.
pub fn wait_for_port(port: u16, timeout: Duration) {
    let ok = wait_until(timeout, || {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    assert!(
        ok,
        "nothing listening on 127.0.0.1:{port} after {timeout:?}"
    );
}

/// Is an external tool available? When it is not: with `CI` set the test fails;
/// otherwise it prints why and returns false so the caller can return early.
pub fn require_tool(tool: &str) -> bool {
    let found = which(tool).is_some();
    if !found {
        if std::env::var_os("CI").is_some() {
            panic!("required tool `{tool}` is not installed (the test script installs it)");
        }
        eprintln!("SKIP: `{tool}` is not installed");
    }
    found
}

/// Full path of `tool` on PATH (or as given, if it is a path).
pub fn which(tool: &str) -> Option<PathBuf> {
    if tool.contains('/') {
        let p = PathBuf::from(tool);
        return p.exists().then_some(p);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(tool))
        .find(|p| p.is_file())
}

/// Debian's Python, which sees python3-libtorrent (a pyenv `python3` may not).
pub const SYSTEM_PYTHON: &str = "/usr/bin/python3.11";

/// Is python3-libtorrent importable by [`SYSTEM_PYTHON`]? Same CI rule as [`require_tool`].
pub fn require_libtorrent() -> bool {
    let ok = Command::new(SYSTEM_PYTHON)
        .args(["-c", "import libtorrent"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !ok {
        if std::env::var_os("CI").is_some() {
            panic!("python3-libtorrent is not installed (the test script installs it)");
        }
        eprintln!("SKIP: python3-libtorrent is not installed");
    }
    ok
}

/// Write `len` deterministic pseudo-random bytes (from `seed`) to `path`, creating parents.
pub fn write_random_file(path: &Path, len: u64, seed: u64) {
    use std::io::Write;
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("create parent dirs");
    }
    let mut file = std::io::BufWriter::new(std::fs::File::create(path).expect("create file"));
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut remaining = len;
    let mut buf = [0u8; 8192];
    while remaining > 0 {
        for chunk in buf.chunks_mut(8) {
            // xorshift64*: fast, deterministic, good enough for test payloads.
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            let v = state.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
        let n = remaining.min(buf.len() as u64) as usize;
        file.write_all(&buf[..n]).expect("write payload");
        remaining -= n as u64;
    }
    file.flush().expect("flush payload");
}

/// Do two files (or two directory trees) hold the same bytes?
pub fn same_contents(a: &Path, b: &Path) -> bool {
    if a.is_dir() && b.is_dir() {
        let list = |p: &Path| -> Vec<PathBuf> {
            let mut v: Vec<PathBuf> = walk(p)
                .into_iter()
                .map(|f| f.strip_prefix(p).expect("prefix").to_path_buf())
                .collect();
            v.sort();
            v
        };
        let (la, lb) = (list(a), list(b));
        return la == lb
            && la
                .iter()
                .all(|rel| same_contents(&a.join(rel), &b.join(rel)));
    }
    match (std::fs::read(a), std::fs::read(b)) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    }
}

/// Every entry under `dir` (folders too) with its size and modification time, sorted: two
/// snapshots differ when anything was created, removed, extended or written there.
pub fn tree_snapshot(dir: &Path) -> Vec<(PathBuf, u64, Option<std::time::SystemTime>)> {
    fn visit(
        root: &Path,
        dir: &Path,
        out: &mut Vec<(PathBuf, u64, Option<std::time::SystemTime>)>,
    ) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let meta = std::fs::symlink_metadata(&path).ok();
            let rel = path.strip_prefix(root).expect("under root").to_path_buf();
            let is_dir = meta.as_ref().is_some_and(std::fs::Metadata::is_dir);
            out.push((
                rel,
                if is_dir {
                    0
                } else {
                    meta.as_ref().map_or(0, std::fs::Metadata::len)
                },
                meta.and_then(|m| m.modified().ok()),
            ));
            if is_dir {
                visit(root, &path, out);
            }
        }
    }
    let mut out = Vec::new();
    visit(dir, dir, &mut out);
    out.sort();
    out
}

/// Peak resident memory of process `pid` so far, in KiB (`VmHWM` in `/proc/PID/status`).
pub fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

// Interop helpers (interop engineer): real peers (aria2, libtorrent, Transmission), a scripted
// misbehaving peer, a hand-bencoded metainfo writer, and our own binaries as processes.
pub mod aria2;
pub mod fake_peer;
pub mod http;
pub mod libtorrent;
pub mod metafile;
pub mod ours;
pub mod output;
pub mod transmission;
