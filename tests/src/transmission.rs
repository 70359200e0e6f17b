//! Transmission (`transmission-cli` 3.00) as a seeder on 127.0.0.1, with its own config
//! directory whose `settings.json` turns off DHT, LPD, PEX, uTP and port mapping and binds to
//! 127.0.0.1 (`transmission-cli` 3.00 has no `--no-dht` switch: it rejects it as a torrent
//! name, so DHT can only be disabled through the settings file). Quirks (see /work/shared/peers.md): it ignores 127.x peers a
//! tracker hands it, so our client reaches a Transmission seeder by dialing it
//! (`--peer 127.0.0.1:PORT`); as a seeder it serves only the first loopback leecher, so start
//! one per test. Call [`crate::require_tool`]`("transmission-cli")` first.

use crate::free_port;
use crate::output::Proc;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

/// Start `transmission-cli` on `meta` with the data in `data_dir` and its state in
/// `config_dir` (a fresh directory per instance). It verifies the data and then seeds
/// (or downloads into `data_dir` if the data is missing). Returns once it listens.
pub fn transmission(meta: &Path, data_dir: &Path, config_dir: &Path) -> Proc {
    let port = free_port();
    std::fs::create_dir_all(config_dir).expect("create transmission config dir");
    std::fs::create_dir_all(data_dir).expect("create transmission data dir");
    std::fs::write(config_dir.join("settings.json"), settings_json(port))
        .expect("write transmission settings");
    // `stdbuf -o0` (which execs, so the PID stays Transmission's): its status line goes to
    // stdout with '\r' and is otherwise stuck in a pipe buffer.
    let mut cmd = Command::new("stdbuf");
    cmd.args(["-o0", "transmission-cli", "-M", "-et", "-U", "-D", "-B"])
        .arg("-p")
        .arg(port.to_string())
        .arg("-g")
        .arg(config_dir)
        .arg("-w")
        .arg(data_dir)
        .arg(meta);
    let proc = Proc::spawn("transmission-cli", &mut cmd, port);
    crate::wait_for_port(port, Duration::from_secs(60));
    proc
}

/// Wait until a Transmission started on complete data reports seeding (it verifies first).
pub fn wait_transmission_seeding(proc: &mut Proc, timeout: Duration) {
    proc.expect_line(timeout, "Transmission seeding", |l| l.contains("Seeding"));
}

/// Transmission settings for a loopback-only peer listening on `port`.
pub fn settings_json(port: u16) -> String {
    format!(
        r#"{{
    "dht-enabled": false,
    "lpd-enabled": false,
    "pex-enabled": false,
    "utp-enabled": false,
    "port-forwarding-enabled": false,
    "blocklist-enabled": false,
    "bind-address-ipv4": "127.0.0.1",
    "bind-address-ipv6": "::1",
    "peer-port": {port},
    "peer-port-random-on-start": false,
    "encryption": 0,
    "rpc-enabled": false,
    "speed-limit-up-enabled": false,
    "speed-limit-down-enabled": false,
    "ratio-limit-enabled": false,
    "idle-seeding-limit-enabled": false,
    "message-level": 2
}}
"#
    )
}
