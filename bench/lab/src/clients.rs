//! The programs the lab runs on its hosts: how each is started ([`peer_command`] holds every
//! peer's command line, so a changed CLI is adapted in one place), and what each tells about
//! itself on stdout ([`ClientStats`]).
//!
//! Every peer runs with DHT, local peer discovery, UPnP, NAT-PMP and PEX off and talks only
//! to addresses inside the lab's namespaces.

use std::ffi::OsString;
use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Instant;

use anyhow::Context;

use crate::netns;
use crate::scenario::{Client, Role};

/// Where the programs are.
#[derive(Debug, Clone)]
pub struct Programs {
    pub swarm: PathBuf,
    pub tracker: PathBuf,
    /// Debian's Python, which sees python3-libtorrent.
    pub python: PathBuf,
    /// The lab's libtorrent peer script.
    pub lt_peer: PathBuf,
    pub aria2c: PathBuf,
    /// rqbit (`cargo install --locked rqbit`), a seeder only.
    pub rqbit: PathBuf,
}

/// Port every peer listens on (each host has its own address).
pub const PEER_PORT: u16 = 6881;
/// The tracker's HTTP port.
pub const TRACKER_PORT: u16 = 6969;

/// What a peer's command line needs to know.
#[derive(Debug, Clone)]
pub struct PeerSetup<'a> {
    pub meta: &'a Path,
    /// Holds the payload (seeders) or receives it (leechers).
    pub data_dir: &'a Path,
    pub ip: Ipv4Addr,
    /// aria2c's completion hook writes the time here.
    pub done_file: &'a Path,
    /// The lab's PID: aria2c stops by itself if it goes away.
    pub lab_pid: u32,
    /// A directory of the host's own for a client's state and cache (rqbit writes under
    /// `$HOME` and the XDG directories).
    pub state_dir: &'a Path,
}

/// The command line of a peer: program and arguments.
pub fn peer_command(
    programs: &Programs,
    client: Client,
    role: Role,
    s: &PeerSetup<'_>,
) -> (PathBuf, Vec<OsString>) {
    let port = PEER_PORT.to_string();
    let mut args: Vec<OsString> = Vec::new();
    let mut push = |a: &dyn AsRef<std::ffi::OsStr>| args.push(a.as_ref().to_os_string());
    let program = match (client, role) {
        (Client::Swarm, Role::Seed) => {
            for a in [
                "seed".as_ref(),
                s.meta.as_os_str(),
                "--data".as_ref(),
                s.data_dir.as_os_str(),
            ] {
                push(&a);
            }
            for a in ["--port", &port, "--json"] {
                push(&a);
            }
            programs.swarm.clone()
        }
        (Client::Swarm, Role::Leech) => {
            for a in [
                "get".as_ref(),
                s.meta.as_os_str(),
                "-o".as_ref(),
                s.data_dir.as_os_str(),
            ] {
                push(&a);
            }
            // --seed: a leecher that is done stays and uploads, as the bound assumes.
            for a in ["--seed", "--port", &port, "--json", "--timeout", "3600"] {
                push(&a);
            }
            programs.swarm.clone()
        }
        (Client::Libtorrent, role) => {
            push(&programs.lt_peer);
            push(&"--meta");
            push(&s.meta);
            push(&"--dir");
            push(&s.data_dir);
            push(&"--bind");
            push(&s.ip.to_string());
            push(&"--port");
            push(&port);
            if role == Role::Seed {
                push(&"--seed");
            }
            programs.python.clone()
        }
        (Client::Aria2, role) => {
            let safety = [
                "--enable-dht=false",
                "--enable-dht6=false",
                "--bt-enable-lpd=false",
                "--enable-peer-exchange=false",
                "--disable-ipv6=true",
                "--no-conf=true",
                "--summary-interval=0",
                "--console-log-level=warn",
                "--file-allocation=none",
                "--auto-file-renaming=false",
                "--allow-overwrite=true",
                "--bt-save-metadata=false",
                // Seed until stopped (ratio 0 = no ratio limit, no seed time).
                "--seed-ratio=0.0",
            ];
            for a in safety {
                push(&a);
            }
            push(&format!("--interface={}", s.ip));
            push(&format!("--listen-port={port}"));
            push(&format!("--stop-with-process={}", s.lab_pid));
            push(&format!("--dir={}", s.data_dir.display()));
            if role == Role::Seed {
                push(&"--check-integrity=true");
            } else {
                let hook = s.done_file.with_extension("sh");
                push(&format!("--on-bt-download-complete={}", hook.display()));
            }
            push(&s.meta);
            programs.aria2c.clone()
        }
        (Client::Rqbit, _) => {
            // Through env(1): rqbit keeps state under $HOME and the XDG directories, which
            // must be the host's own. env execs rqbit, so the PID the lab signals is rqbit's.
            let state = s.state_dir.display();
            for var in ["HOME", "XDG_CACHE_HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME"] {
                push(&format!("{var}={state}"));
            }
            push(&programs.rqbit);
            // rqbit has no switch for PEX; the lab's hosts reach only the lab's addresses.
            for a in [
                "--disable-dht",
                "--disable-dht-persistence",
                "--disable-lsd",
                "--disable-upnp-port-forward",
                "--ipv4-only",
            ] {
                push(&a);
            }
            for a in ["--listen-ip".to_string(), s.ip.to_string()] {
                push(&a);
            }
            for a in ["--listen-port", &port, "--announce-port", &port] {
                push(&a);
            }
            for a in ["download", "--disable-http-api", "--overwrite", "-o"] {
                push(&a);
            }
            push(&s.data_dir);
            push(&s.meta);
            PathBuf::from("/usr/bin/env")
        }
    };
    (program, args)
}

/// aria2c's completion hook for `done_file`: a script (next to it, `.sh`) that writes the
/// time. aria2c runs it when every piece is verified.
pub fn write_aria2_hook(done_file: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let hook = done_file.with_extension("sh");
    let script = format!("#!/bin/sh\ndate +%s.%N > '{}'\n", done_file.display());
    std::fs::write(&hook, script).with_context(|| format!("cannot write {}", hook.display()))?;
    std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755))?;
    Ok(())
}

/// The tracker's command line.
pub fn tracker_command(
    programs: &Programs,
    ip: Ipv4Addr,
    interval_secs: u64,
) -> (PathBuf, Vec<OsString>) {
    let interval = interval_secs.max(1);
    let args = [
        format!("--listen={ip}:{TRACKER_PORT}"),
        "--udp=off".to_string(),
        format!("--interval={interval}"),
        format!("--min-interval={}", (interval / 2).max(1)),
    ];
    (
        programs.tracker.clone(),
        args.into_iter().map(OsString::from).collect(),
    )
}

/// What a peer said about itself (swarm `--json`, the libtorrent script's JSON lines).
/// Fields a client does not report stay `None`.
#[derive(Debug, Clone, Default)]
pub struct ClientStats {
    pub uploaded: Option<u64>,
    pub downloaded: Option<u64>,
    /// Bytes of pieces that failed their hash check.
    pub failed_bytes: Option<u64>,
    pub pieces: Option<u32>,
    pub complete_at: Option<Instant>,
    /// Failed announces the client reported (swarm).
    pub tracker_errors: u32,
}

impl ClientStats {
    /// Adds a finished process's counters to these (a restarted peer's totals).
    pub fn absorb(&mut self, old: &ClientStats) {
        fn add<T: std::ops::Add<Output = T> + Copy>(a: &mut Option<T>, b: Option<T>) {
            if let Some(b) = b {
                *a = Some(a.map_or(b, |a| a + b));
            }
        }
        add(&mut self.uploaded, old.uploaded);
        add(&mut self.downloaded, old.downloaded);
        add(&mut self.failed_bytes, old.failed_bytes);
        self.tracker_errors += old.tracker_errors;
        if self.complete_at.is_none() {
            self.complete_at = old.complete_at;
        }
    }
}

/// Reads one line of a peer's stdout into `stats`.
pub fn parse_line(client: Client, line: &str, piece_length: u64, stats: &mut ClientStats) {
    if matches!(client, Client::Aria2 | Client::Rqbit) {
        return;
    }
    let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
        return;
    };
    let num = |key: &str| v.get(key).and_then(serde_json::Value::as_u64);
    match v.get("event").and_then(|e| e.as_str()).unwrap_or("") {
        "progress" => match client {
            Client::Swarm => {
                stats.uploaded = num("uploaded_bytes").or(stats.uploaded);
                stats.downloaded = num("downloaded_bytes").or(stats.downloaded);
                stats.pieces = num("pieces_done").map(|p| p as u32).or(stats.pieces);
                stats.failed_bytes.get_or_insert(0);
            }
            _ => {
                stats.uploaded = num("uploaded").or(stats.uploaded);
                stats.downloaded = num("downloaded").or(stats.downloaded);
                stats.pieces = num("pieces").map(|p| p as u32).or(stats.pieces);
                stats.failed_bytes = num("failed").or(stats.failed_bytes);
            }
        },
        "piece_failed" => *stats.failed_bytes.get_or_insert(0) += piece_length,
        "complete" => {
            stats.complete_at.get_or_insert_with(Instant::now);
        }
        "tracker_error" => stats.tracker_errors += 1,
        _ => {}
    }
}

/// A running program on a host: its stdout is parsed (and copied to a log) by a thread.
pub struct Running {
    pub child: Child,
    pub stats: Arc<parking_lot::Mutex<ClientStats>>,
    reader: Option<JoinHandle<()>>,
}

impl Running {
    /// Starts `program args` in namespace `ns`; stdout goes through [`parse_line`] into
    /// `log.out`, stderr into `log.err` (both appended: a restarted peer keeps one log).
    pub fn start(
        ns: &str,
        program: &Path,
        args: &[OsString],
        log: &Path,
        client: Option<Client>,
        piece_length: u64,
    ) -> anyhow::Result<Running> {
        let open = |ext: &str| {
            let path = log.with_extension(ext);
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .with_context(|| format!("cannot open {}", path.display()))
        };
        let mut out_log = open("out")?;
        let err_log = open("err")?;
        let mut cmd = netns::command_in(ns, program);
        cmd.args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(err_log))
            .env("RUST_LOG", "warn");
        let mut child = cmd
            .spawn()
            .with_context(|| format!("cannot start {} in {ns}", program.display()))?;
        let stats = Arc::new(parking_lot::Mutex::new(ClientStats::default()));
        let stdout = child.stdout.take().context("no stdout pipe")?;
        let shared = stats.clone();
        let reader = std::thread::Builder::new()
            .name(format!("out-{ns}"))
            .spawn(move || {
                for line in BufReader::new(stdout).lines() {
                    let Ok(line) = line else { break };
                    let _ = writeln!(out_log, "{line}");
                    if let Some(client) = client {
                        parse_line(client, &line, piece_length, &mut shared.lock());
                    }
                }
            })
            .context("cannot start an output reader")?;
        Ok(Running {
            child,
            stats,
            reader: Some(reader),
        })
    }

    /// Exit status if it has exited.
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// Sends `signal` by PID.
    pub fn signal(&self, signal: i32) {
        // SAFETY: kill by the PID of our own child.
        unsafe { libc::kill(self.child.id() as i32, signal) };
    }

    /// SIGTERM, up to `grace` to exit, then SIGKILL; reaps it and its reader.
    pub fn stop(&mut self, grace: std::time::Duration) -> Option<std::process::ExitStatus> {
        if self.exited().is_none() {
            self.signal(libc::SIGTERM);
            let end = Instant::now() + grace;
            while self.exited().is_none() && Instant::now() < end {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
        }
        if self.exited().is_none() {
            let _ = self.child.kill();
        }
        let status = self.child.wait().ok();
        if let Some(r) = self.reader.take() {
            let _ = r.join();
        }
        status
    }

    /// The last line of its stderr log, for failure messages.
    pub fn last_error_line(log: &Path) -> Option<String> {
        let text = std::fs::read_to_string(log.with_extension("err")).ok()?;
        text.lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .map(|l| l.chars().take(300).collect())
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if self.reader.is_some() {
            self.stop(std::time::Duration::from_millis(500));
        }
    }
}

/// Reads aria2c's completion file (written by its hook).
pub fn aria2_done(done_file: &Path) -> bool {
    File::open(done_file).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn programs() -> Programs {
        Programs {
            swarm: "/bin/swarm".into(),
            tracker: "/bin/tracker".into(),
            python: "/usr/bin/python3.11".into(),
            lt_peer: "/lab/lt_peer.py".into(),
            aria2c: "/usr/bin/aria2c".into(),
            rqbit: "/bin/rqbit".into(),
        }
    }

    fn setup() -> PeerSetup<'static> {
        PeerSetup {
            meta: Path::new("/w/f.meta"),
            data_dir: Path::new("/w/h1"),
            ip: Ipv4Addr::new(10, 77, 0, 3),
            done_file: Path::new("/w/h1.done"),
            lab_pid: 42,
            state_dir: Path::new("/w/h1.state"),
        }
    }

    fn line(client: Client, role: Role) -> String {
        let (p, args) = peer_command(&programs(), client, role, &setup());
        std::iter::once(p.display().to_string())
            .chain(args.iter().map(|a| a.to_string_lossy().into_owned()))
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[test]
    fn swarm_leechers_keep_seeding_and_print_json() {
        assert_eq!(
            line(Client::Swarm, Role::Leech),
            "/bin/swarm get /w/f.meta -o /w/h1 --seed --port 6881 --json --timeout 3600"
        );
        assert_eq!(
            line(Client::Swarm, Role::Seed),
            "/bin/swarm seed /w/f.meta --data /w/h1 --port 6881 --json"
        );
    }

    #[test]
    fn other_clients_have_discovery_off_and_bind_the_host_address() {
        let a = line(Client::Aria2, Role::Leech);
        for flag in [
            "--enable-dht=false",
            "--bt-enable-lpd=false",
            "--enable-peer-exchange=false",
            "--interface=10.77.0.3",
            "--stop-with-process=42",
            "--on-bt-download-complete=/w/h1.sh",
        ] {
            assert!(a.contains(flag), "{a} lacks {flag}");
        }
        let l = line(Client::Libtorrent, Role::Seed);
        assert!(
            l.contains("--bind 10.77.0.3") && l.ends_with("--seed"),
            "{l}"
        );
        let r = line(Client::Rqbit, Role::Seed);
        for flag in [
            "/usr/bin/env HOME=/w/h1.state ",
            "XDG_DATA_HOME=/w/h1.state /bin/rqbit ",
            "--disable-dht ",
            "--disable-dht-persistence ",
            "--disable-lsd ",
            "--disable-upnp-port-forward ",
            "--listen-ip 10.77.0.3 ",
            "download --disable-http-api --overwrite -o /w/h1 /w/f.meta",
        ] {
            assert!(r.contains(flag), "{r} lacks {flag}");
        }
    }

    #[test]
    fn swarm_json_lines_fill_the_stats() {
        let mut s = ClientStats::default();
        let pl = 65536;
        parse_line(
            Client::Swarm,
            r#"{"event":"progress","uploaded_bytes":10,"downloaded_bytes":20,"pieces_done":3}"#,
            pl,
            &mut s,
        );
        parse_line(
            Client::Swarm,
            r#"{"event":"piece_failed","piece":4,"peers":2}"#,
            pl,
            &mut s,
        );
        parse_line(
            Client::Swarm,
            r#"{"event":"tracker_error","url":"x","error":"refused"}"#,
            pl,
            &mut s,
        );
        parse_line(Client::Swarm, r#"{"event":"complete"}"#, pl, &mut s);
        parse_line(Client::Swarm, "not json", pl, &mut s);
        assert_eq!(
            (s.uploaded, s.downloaded, s.pieces),
            (Some(10), Some(20), Some(3))
        );
        assert_eq!(s.failed_bytes, Some(pl));
        assert_eq!(s.tracker_errors, 1);
        assert!(s.complete_at.is_some());
    }

    #[test]
    fn a_restarted_peer_adds_up_its_counters() {
        let mut now = ClientStats {
            uploaded: Some(5),
            ..Default::default()
        };
        let old = ClientStats {
            uploaded: Some(7),
            failed_bytes: Some(3),
            ..Default::default()
        };
        now.absorb(&old);
        assert_eq!((now.uploaded, now.failed_bytes), (Some(12), Some(3)));
    }
}
