//! aria2c as a seeder or leecher on 127.0.0.1 with DHT, LPD and PEX off. aria2 cannot be given
//! a peer address, so it always needs a tracker (our `tracker` binary) in the metainfo.
//! Call [`crate::require_tool`]`("aria2c")` first.

use crate::free_port;
use crate::output::Proc;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

/// Flags every aria2c started by a test gets: nothing that reaches beyond the tracker given,
/// loopback only, quiet console, exits if the test process dies.
pub fn aria2_base_args(port: u16) -> Vec<String> {
    [
        "--enable-dht=false",
        "--enable-dht6=false",
        "--bt-enable-lpd=false",
        "--enable-peer-exchange=false",
        "--disable-ipv6=true",
        "--interface=127.0.0.1",
        "--summary-interval=0",
        "--console-log-level=warn",
        "--file-allocation=none",
        "--auto-file-renaming=false",
        "--allow-overwrite=true",
        "--bt-save-metadata=false",
        "--bt-tracker-interval=2",
        "--follow-torrent=mem",
        "--no-conf=true",
    ]
    .iter()
    .map(|s| s.to_string())
    .chain([
        format!("--listen-port={port}"),
        format!("--stop-with-process={}", std::process::id()),
    ])
    .collect()
}

/// Start aria2c seeding `meta` from `data_dir` (it checks the data first). Returns once it
/// listens.
pub fn aria2_seed(meta: &Path, data_dir: &Path) -> Proc {
    let port = free_port();
    let mut cmd = Command::new("aria2c");
    cmd.args(aria2_base_args(port))
        .args([
            "--check-integrity=true",
            "--seed-ratio=0.0",
            "--seed-time=30",
        ])
        .arg(format!("--dir={}", data_dir.display()))
        .arg(meta);
    let proc = Proc::spawn("aria2c seeder", &mut cmd, port);
    crate::wait_for_port(port, Duration::from_secs(60));
    proc
}

/// Start aria2c downloading `meta` into `out_dir` (peers come from the tracker); it exits 0
/// a few seconds after the download completes. Wait with [`Proc::wait_success`].
pub fn aria2_leech(meta: &Path, out_dir: &Path) -> Proc {
    leech("aria2c leecher", meta.as_os_str(), out_dir)
}

/// Start aria2c given only `magnet` (peers from the link's `tr=` trackers: aria2 cannot be
/// given a peer), downloading into `out_dir`; it exits 0 a few seconds after completing.
pub fn aria2_leech_magnet(magnet: &str, out_dir: &Path) -> Proc {
    leech(
        "aria2c magnet leecher",
        std::ffi::OsStr::new(magnet),
        out_dir,
    )
}

/// aria2c downloading `source` (a metainfo file or a magnet link) into `out_dir`.
fn leech(name: &str, source: &std::ffi::OsStr, out_dir: &Path) -> Proc {
    let port = free_port();
    std::fs::create_dir_all(out_dir).expect("create leecher dir");
    let mut cmd = Command::new("aria2c");
    cmd.args(aria2_base_args(port))
        .args(["--seed-time=0", "--bt-stop-timeout=170"])
        .arg(format!("--dir={}", out_dir.display()))
        .arg(source);
    Proc::spawn(name, &mut cmd, port)
}
