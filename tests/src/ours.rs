//! Starting our own binaries for the interop tests: the `tracker` (HTTP, loopback) and the
//! `swarm` client as a leecher (`swarm get`) or seeder (`swarm get --seed`, `swarm seed DIR`),
//! and [`Swarm`] for any other `swarm` command line (its own state directory and working
//! directory, waiting or not for its port).

use crate::output::Proc;
use crate::{bin, free_port};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// Our HTTP tracker on a free loopback port, with a short announce interval so peers that
/// start later are found quickly.
pub struct Tracker {
    /// The running tracker process.
    pub proc: Proc,
    /// Its catalog directory (`--data-dir`), removed when the tracker is dropped.
    pub data: tempfile::TempDir,
}

/// A fresh `--data-dir` for one tracker process (two trackers cannot share a catalog file).
pub fn data_dir() -> tempfile::TempDir {
    tempfile::tempdir().expect("tracker data dir")
}

impl Tracker {
    /// Start `tracker` and wait until it accepts connections.
    pub fn start() -> Tracker {
        let port = free_port();
        let data = data_dir();
        let mut cmd = Command::new(bin("tracker"));
        cmd.arg("--data-dir").arg(data.path());
        cmd.arg("--listen").arg(format!("127.0.0.1:{port}")).args([
            "--udp",
            "off",
            "--interval",
            "2",
        ]);
        let proc = Proc::spawn("tracker", &mut cmd, port);
        crate::wait_for_port(port, Duration::from_secs(30));
        Tracker { proc, data }
    }

    /// The announce URL to put in a metainfo file.
    pub fn announce_url(&self) -> String {
        format!("http://127.0.0.1:{}/announce", self.proc.port)
    }
}

/// `swarm get META -o OUT --port PORT --bind 127.0.0.1 [--peer P]... --json [extra]` with a
/// free port.
/// Wait for it with [`Proc::wait_success`]; its JSON events are in `proc.out`.
pub fn swarm_get(meta: &Path, out_dir: &Path, peers: &[String], extra: &[&str]) -> Proc {
    swarm_get_all(&[meta], out_dir, peers, extra)
}

/// `swarm get META... -o OUT ...`: several torrents in one process (see [`swarm_get`]).
pub fn swarm_get_all(metas: &[&Path], out_dir: &Path, peers: &[String], extra: &[&str]) -> Proc {
    let port = free_port();
    std::fs::create_dir_all(out_dir).expect("create swarm output dir");
    let mut cmd = Command::new(bin("swarm"));
    cmd.arg("get")
        .args(metas)
        .arg("-o")
        .arg(out_dir)
        .arg("--port")
        .arg(port.to_string())
        .args(["--bind", "127.0.0.1", "--json"]);
    for p in peers {
        cmd.arg("--peer").arg(p);
    }
    cmd.args(extra);
    Proc::spawn("swarm get", &mut cmd, port)
}

/// `swarm get --seed` on a directory that already holds the complete data: it verifies what
/// is there and keeps seeding. Returns once it listens.
pub fn swarm_get_seed(meta: &Path, data_dir: &Path, peers: &[String]) -> Proc {
    let proc = swarm_get(meta, data_dir, peers, &["--seed"]);
    crate::wait_for_port(proc.port, Duration::from_secs(60));
    proc
}

/// `swarm seed DIR --port PORT --bind 127.0.0.1 --json` (DIR was downloaded into by
/// `swarm get`, or holds metainfo files with their data beside them).
pub fn swarm_seed(dir: &Path) -> Proc {
    swarm_seed_all(&[dir])
}

/// `swarm seed PATH... --port PORT --bind 127.0.0.1 --json`: metainfo files and folders,
/// all seeded by one process on one port. Returns once it listens.
pub fn swarm_seed_all(paths: &[&Path]) -> Proc {
    let port = free_port();
    let mut cmd = Command::new(bin("swarm"));
    cmd.arg("seed")
        .args(paths)
        .arg("--port")
        .arg(port.to_string())
        .args(["--bind", "127.0.0.1", "--json"]);
    let proc = Proc::spawn("swarm seed", &mut cmd, port);
    crate::wait_for_port(port, Duration::from_secs(60));
    proc
}

/// The JSON event lines (`{"event":...}`) a `swarm --json` process printed so far.
pub fn json_events(proc: &Proc) -> Vec<serde_json::Value> {
    proc.out
        .snapshot()
        .iter()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v.get("event").is_some())
        .collect()
}

/// The `peer_banned` events' peer addresses.
pub fn banned_peers(proc: &Proc) -> Vec<String> {
    json_events(proc)
        .iter()
        .filter(|e| e["event"] == "peer_banned")
        .filter_map(|e| e["peer"].as_str().map(str::to_string))
        .collect()
}

/// The final `done` event, if printed.
pub fn done_event(proc: &Proc) -> Option<serde_json::Value> {
    json_events(proc).into_iter().find(|e| e["event"] == "done")
}

impl Tracker {
    /// Wait until the tracker's scrape reply counts at least `seeders` complete peers for
    /// `info_hash` (so a leecher started now is handed them). Returns false on timeout or if
    /// the tracker does not answer scrapes.
    pub fn wait_seeders(&self, info_hash: &[u8; 20], seeders: u64, timeout: Duration) -> bool {
        crate::wait_until(timeout, || {
            self.scrape_complete(info_hash)
                .is_some_and(|complete| complete >= seeders)
        })
    }

    /// `complete` from a scrape of `info_hash` (peers with the whole torrent), if the
    /// tracker answered one.
    pub fn scrape_complete(&self, info_hash: &[u8; 20]) -> Option<u64> {
        self.scrape_field(info_hash, "complete")
    }

    /// `downloaded` from a scrape of `info_hash` (completed downloads announced so far).
    pub fn scrape_downloaded(&self, info_hash: &[u8; 20]) -> Option<u64> {
        self.scrape_field(info_hash, "downloaded")
    }

    /// The integer `field` of `info_hash`'s entry in a scrape reply, if the tracker answered.
    pub fn scrape_field(&self, info_hash: &[u8; 20], field: &str) -> Option<u64> {
        use std::io::{Read, Write};
        let escaped: String = info_hash.iter().map(|b| format!("%{b:02X}")).collect();
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", self.proc.port)).ok()?;
        stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
        let request = format!(
            "GET /scrape?info_hash={escaped} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
        );
        stream.write_all(request.as_bytes()).ok()?;
        let mut reply = Vec::new();
        let _ = stream.read_to_end(&mut reply);
        let key = format!("{}:{field}i", field.len());
        let key = key.as_bytes();
        let at = reply.windows(key.len()).position(|w| w == key)? + key.len();
        let digits: String = reply[at..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .map(|&b| char::from(b))
            .collect();
        digits.parse().ok()
    }
}

/// Any `swarm` command line, on a free loopback port (`--port P --bind 127.0.0.1` are added),
/// with its own state directory (`SWARM_STATE_DIR`) when given one, run in a chosen working
/// directory. Build it, then [`Swarm::spawn`] (returns at once) or [`Swarm::start`] (returns
/// once it listens).
pub struct Swarm {
    cmd: Command,
    port: u16,
    name: String,
}

impl Swarm {
    /// `swarm seed PATH...`.
    pub fn seed(paths: &[&Path]) -> Swarm {
        let mut s = Swarm::new("swarm seed", "seed");
        s.cmd.args(paths);
        s
    }

    /// `swarm get META... -o OUT`.
    pub fn get(metas: &[&Path], out: &Path) -> Swarm {
        let mut s = Swarm::new("swarm get", "get");
        s.cmd.args(metas).arg("-o").arg(out);
        s
    }

    fn new(name: &str, subcommand: &str) -> Swarm {
        let port = free_port();
        let mut cmd = Command::new(bin("swarm"));
        cmd.arg(subcommand)
            .arg("--port")
            .arg(port.to_string())
            .args(["--bind", "127.0.0.1"]);
        Swarm {
            cmd,
            port,
            name: name.to_string(),
        }
    }

    /// Add arguments.
    pub fn args<S: AsRef<std::ffi::OsStr>>(mut self, args: impl IntoIterator<Item = S>) -> Swarm {
        self.cmd.args(args);
        self
    }

    /// Add one argument.
    pub fn arg(mut self, arg: impl AsRef<std::ffi::OsStr>) -> Swarm {
        self.cmd.arg(arg);
        self
    }

    /// `--peer ADDR` for each address.
    pub fn peers(mut self, peers: &[String]) -> Swarm {
        for p in peers {
            self.cmd.arg("--peer").arg(p);
        }
        self
    }

    /// Keep resume records and metainfo copies in `dir` (`SWARM_STATE_DIR`).
    pub fn state_dir(mut self, dir: &Path) -> Swarm {
        self.cmd.env("SWARM_STATE_DIR", dir);
        self
    }

    /// Run in `dir`.
    pub fn cwd(mut self, dir: &Path) -> Swarm {
        self.cmd.current_dir(dir);
        self
    }

    /// Name the process in messages.
    pub fn named(mut self, name: &str) -> Swarm {
        self.name = name.to_string();
        self
    }

    /// Start it; returns at once.
    pub fn spawn(mut self) -> Proc {
        Proc::spawn(&self.name, &mut self.cmd, self.port)
    }

    /// Start it and wait until it listens; panics (with its output) if it exits first.
    pub fn start(self) -> Proc {
        let mut proc = self.spawn();
        wait_listening(&mut proc, Duration::from_secs(90));
        proc
    }
}

/// Wait until `proc` accepts connections on its port; panics with its output if it exits or
/// the time runs out.
pub fn wait_listening(proc: &mut Proc, timeout: Duration) {
    let port = proc.port;
    let deadline = std::time::Instant::now() + timeout;
    loop {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        if let Some(status) = proc.wait_exit(Duration::ZERO) {
            panic!(
                "{} exited ({status}) before listening on {port}; output:\n{}",
                proc.name,
                proc.out.tail(40)
            );
        }
        if std::time::Instant::now() > deadline {
            panic!(
                "{} not listening on {port} after {timeout:?}; output:\n{}",
                proc.name,
                proc.out.tail(40)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The metainfo file `swarm seed` wrote into `dir` when it shared a plain file or folder:
/// waits until it printed the magnet link and a `.meta` file in `dir` parses; returns its
/// path and the parsed metainfo. Panics (with the output) otherwise.
pub fn written_meta(
    proc: &mut Proc,
    dir: &Path,
    timeout: Duration,
) -> (PathBuf, metainfo::Metainfo) {
    proc.expect_line(timeout, "a magnet link", |l| {
        l.contains("magnet:?xt=urn:btih:")
    });
    let mut found = None;
    crate::wait_until(Duration::from_secs(10), || {
        found = meta_files(dir).into_iter().find_map(|path| {
            let parsed = metainfo::Metainfo::from_bytes(&std::fs::read(&path).ok()?).ok()?;
            Some((path, parsed))
        });
        found.is_some()
    });
    found.unwrap_or_else(|| {
        panic!(
            "{} printed a magnet link but wrote no metainfo into {}; output:\n{}",
            proc.name,
            dir.display(),
            proc.out.tail(40)
        )
    })
}

/// Every `*.meta` file directly in `dir`, sorted.
pub fn meta_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "meta"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}
