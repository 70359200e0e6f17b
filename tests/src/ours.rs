//! Starting our own binaries for the interop tests: the `tracker` (HTTP, loopback) and the
//! `swarm` client as a leecher (`swarm get`) or seeder (`swarm get --seed`, `swarm seed DIR`).

use crate::output::Proc;
use crate::{bin, free_port};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

/// Our HTTP tracker on a free loopback port, with a short announce interval so peers that
/// start later are found quickly.
pub struct Tracker {
    /// The running tracker process.
    pub proc: Proc,
}

impl Tracker {
    /// Start `tracker` and wait until it accepts connections.
    pub fn start() -> Tracker {
        let port = free_port();
        let mut cmd = Command::new(bin("tracker"));
        cmd.arg("--http")
            .arg(format!("127.0.0.1:{port}"))
            .args(["--interval", "2"]);
        let proc = Proc::spawn("tracker", &mut cmd, port);
        crate::wait_for_port(port, Duration::from_secs(30));
        Tracker { proc }
    }

    /// The announce URL to put in a metainfo file.
    pub fn announce_url(&self) -> String {
        format!("http://127.0.0.1:{}/announce", self.proc.port)
    }
}

/// `swarm get META -o OUT --port PORT [--peer P]... --json [extra]` with a free port.
/// Wait for it with [`Proc::wait_success`]; its JSON events are in `proc.out`.
pub fn swarm_get(meta: &Path, out_dir: &Path, peers: &[String], extra: &[&str]) -> Proc {
    let port = free_port();
    std::fs::create_dir_all(out_dir).expect("create swarm output dir");
    let mut cmd = Command::new(bin("swarm"));
    cmd.arg("get")
        .arg(meta)
        .arg("-o")
        .arg(out_dir)
        .arg("--port")
        .arg(port.to_string())
        .arg("--json");
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

/// `swarm seed DIR --port PORT` (DIR holds the data and the metainfo `swarm get` saved).
pub fn swarm_seed(dir: &Path) -> Proc {
    let port = free_port();
    let mut cmd = Command::new(bin("swarm"));
    cmd.arg("seed").arg(dir).arg("--port").arg(port.to_string());
    let proc = Proc::spawn("swarm seed", &mut cmd, port);
    crate::wait_for_port(port, Duration::from_secs(60));
    proc
}
