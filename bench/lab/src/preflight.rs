//! What the lab needs before it starts: root, iproute2, iptables, and the programs its
//! scenarios run. Each missing thing is named, with how to get it.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::clients::Programs;
use crate::scenario::{Client, Scenario};
use crate::topology;

/// Debian's Python, which sees python3-libtorrent (a pyenv `python3` may not).
pub const SYSTEM_PYTHON: &str = "/usr/bin/python3.11";

/// Root, `ip`, `tc` and iptables.
pub fn network() -> Result<(), String> {
    let mut missing = Vec::new();
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        missing.push("root (network namespaces, tc and iptables need it)".to_string());
    }
    for tool in ["ip", "tc"] {
        if which(tool).is_none() {
            missing.push(format!("`{tool}` (apt-get install iproute2)"));
        }
    }
    if topology::iptables_program().is_none() {
        missing.push(
            "iptables (apt-get install iptables; scripts/install-test-deps does)".to_string(),
        );
    }
    if missing.is_empty() {
        Ok(())
    } else {
        Err(missing.join("; "))
    }
}

/// Everything `scenarios` need; the programs' paths.
pub fn check(scenarios: &[Scenario], bin_dir: &Path) -> Result<Programs, String> {
    let mut missing: Vec<String> = network().err().into_iter().collect();
    let uses = |c: Client| {
        scenarios
            .iter()
            .any(|s| s.groups.iter().any(|g| g.client == c))
    };
    let ours = |name: &str, missing: &mut Vec<String>| {
        let p = bin_dir.join(name);
        if !p.is_file() {
            missing.push(format!(
                "{} (cargo build --release -p {})",
                p.display(),
                if name == "swarm" {
                    "swarm-client"
                } else {
                    name
                }
            ));
        }
        p
    };
    let swarm = ours("swarm", &mut missing);
    let tracker = ours("tracker", &mut missing);
    let lt_peer = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/lt_peer.py");
    if uses(Client::Libtorrent) {
        let ok = Command::new(SYSTEM_PYTHON)
            .args(["-c", "import libtorrent"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            missing.push(format!(
                "libtorrent for {SYSTEM_PYTHON} (apt-get install python3-libtorrent)"
            ));
        }
        if !lt_peer.is_file() {
            missing.push(format!("{}", lt_peer.display()));
        }
    }
    let aria2c = which("aria2c");
    if uses(Client::Aria2) && aria2c.is_none() {
        missing.push("aria2c (apt-get install aria2)".to_string());
    }
    // cargo installs into ~/.cargo/bin, which a root shell's PATH may not hold.
    let rqbit = which("rqbit").or_else(|| {
        let home = std::env::var_os("HOME")?;
        let p = PathBuf::from(home).join(".cargo/bin/rqbit");
        p.is_file().then_some(p)
    });
    if uses(Client::Rqbit) && rqbit.is_none() {
        missing.push("rqbit (cargo install --locked rqbit)".to_string());
    }
    if !missing.is_empty() {
        return Err(missing.join("; "));
    }
    Ok(Programs {
        swarm,
        tracker,
        python: PathBuf::from(SYSTEM_PYTHON),
        lt_peer,
        aria2c: aria2c.unwrap_or_else(|| PathBuf::from("aria2c")),
        rqbit: rqbit.unwrap_or_else(|| PathBuf::from("rqbit")),
    })
}

fn which(tool: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(tool))
        .find(|p| p.is_file())
}
