//! The lab end to end, at CI size (bench/lab/scenarios/ci.toml: the tracker, a `swarm seed`
//! seeder and two `swarm get` leechers behind rate limits, delay, jitter and loss, 4 MiB).
//! Needs root, iproute2, iptables and the workspace's `swarm` and `tracker` next to `lab`
//! (`cargo build --workspace --bins`, as scripts/test does). With `CI` set a missing
//! prerequisite fails the test; otherwise it is skipped with a message.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

fn lab() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_lab"))
}

fn scenario(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios")
        .join(name)
}

fn which(tool: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(tool).is_file()))
}

/// Everything the lab needs, or why not (fails under CI, skips otherwise).
fn prerequisites() -> bool {
    let mut missing = Vec::new();
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        missing.push("root".to_string());
    }
    for tool in ["ip", "tc"] {
        if !which(tool) {
            missing.push(tool.to_string());
        }
    }
    if !which("iptables-legacy") && !which("iptables") {
        missing.push("iptables (scripts/install-test-deps installs it)".to_string());
    }
    let dir = lab().parent().expect("lab has a directory").to_path_buf();
    for bin in ["swarm", "tracker"] {
        if !dir.join(bin).is_file() {
            missing.push(format!(
                "{} (cargo build --workspace --bins)",
                dir.join(bin).display()
            ));
        }
    }
    if missing.is_empty() {
        return true;
    }
    if std::env::var_os("CI").is_some() {
        panic!("the lab test needs: {}", missing.join(", "));
    }
    eprintln!("SKIP: the lab test needs: {}", missing.join(", "));
    false
}

/// Namespaces of the lab process `pid` that still exist.
fn namespaces_of(pid: u32) -> Vec<String> {
    let prefix = format!("swlab-{pid}.");
    std::fs::read_dir("/run/netns")
        .map(|d| {
            d.filter_map(|e| e.ok()?.file_name().into_string().ok())
                .filter(|n| n.starts_with(&prefix))
                .collect()
        })
        .unwrap_or_default()
}

/// Waits for `child` at most `limit`; kills it (by PID) and panics past that.
fn wait(child: &mut Child, limit: Duration) -> ExitStatus {
    let end = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return status;
        }
        if Instant::now() > end {
            let _ = child.kill();
            let _ = child.wait();
            panic!("lab did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn every_leecher_gets_verified_data_through_the_emulated_network_and_nothing_is_left_behind() {
    if !prerequisites() {
        return;
    }
    let out = tempfile::tempdir().expect("tempdir");
    let mut child = Command::new(lab())
        .arg("run")
        .arg(scenario("ci.toml"))
        .arg("--out")
        .arg(out.path())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start lab");
    let pid = child.id();
    let status = wait(&mut child, Duration::from_secs(120));
    let mut text = String::new();
    std::io::Read::read_to_string(child.stdout.as_mut().expect("stdout"), &mut text)
        .expect("read stdout");
    assert!(status.success(), "lab run ci failed ({status}):\n{text}");
    assert!(
        namespaces_of(pid).is_empty(),
        "namespaces left: {:?}",
        namespaces_of(pid)
    );

    let dir = out.path().join("ci");
    let report: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("report.json")).expect("report.json"),
    )
    .expect("json");
    assert_eq!(report["ok"], true, "{text}");
    assert_eq!(report["leechers"], 2);
    assert_eq!(report["disk"]["good"], 2, "{text}");
    assert_eq!(report["failed_verification_bytes"], 0, "{text}");
    assert!(report["all_done_secs"].as_f64().expect("done time") > 0.0);
    assert!(report["bound"]["t_min"].as_f64().expect("t_min") > 0.0);
    // Every host runs the congestion control the scenario asks for (bbr by default).
    let cc = report["congestion"].as_object().expect("congestion");
    assert_eq!(cc.keys().collect::<Vec<_>>(), ["bbr"], "{cc:?}");
    // The delay line works: no round trip can be shorter than the configured delays minus
    // jitter (2 × (10 - 2) ms), whatever the load; and the rate limit holds a TCP flow
    // below its rate.
    let lc = &report["link_check"];
    assert!(
        lc["rtt"]["received"].as_u64().expect("received") > 50,
        "{lc}"
    );
    assert!(lc["rtt"]["min_ms"].as_f64().expect("min") >= 15.0, "{lc}");
    let flow = lc["flow"]["bits_per_sec"].as_f64().expect("flow");
    assert!(flow > 0.0 && flow <= 16e6, "{lc}");
    assert_eq!(lc["flow"]["congestion"], "bbr");
    // The seeder sent at least one copy; the observer saw every leecher complete.
    assert!(
        report["seeder"]["payload_over_f"].as_f64().expect("seeder") > 0.5,
        "{text}"
    );
    for h in report["hosts"].as_array().expect("hosts") {
        if h["role"] == "leech" {
            assert_eq!(h["pieces_seen"], report["pieces"], "{h}");
        }
    }
    let svg = std::fs::read_to_string(dir.join("report.svg")).expect("report.svg");
    assert!(svg.contains("<svg") && svg.contains("T_min"));
    let txt = std::fs::read_to_string(dir.join("report.txt")).expect("report.txt");
    assert!(txt.contains("RESULT OK"), "{txt}");
    assert!(dir.join("logs/seeder.err").exists() && dir.join("logs/leecher-1.out").exists());
}

#[test]
fn ctrl_c_tears_down_every_namespace_and_process() {
    if !prerequisites() {
        return;
    }
    let out = tempfile::tempdir().expect("tempdir");
    // Slow enough that the swarm is still running when the signal comes.
    let sc = out.path().join("slow.toml");
    std::fs::write(
        &sc,
        "name = \"slow\"\nfile_size = \"8MiB\"\nlink_check = \"off\"\ntimeout = \"5min\"\n\
         [link]\nup = \"1Mbit\"\ndown = \"2Mbit\"\ndelay = \"5ms\"\n\
         [[group]]\nname = \"seeder\"\nrole = \"seed\"\n\
         [[group]]\nname = \"leecher\"\nrole = \"leech\"\ncount = 2\n",
    )
    .expect("write scenario");
    let mut child = Command::new(lab())
        .arg("run")
        .arg(&sc)
        .arg("--out")
        .arg(out.path())
        .stdout(Stdio::null())
        .spawn()
        .expect("start lab");
    let pid = child.id();
    // Wait until the leechers run (three peers and the tracker inside its namespaces).
    let end = Instant::now() + Duration::from_secs(60);
    let mut inside = Vec::new();
    while Instant::now() < end {
        inside = namespaces_of(pid)
            .iter()
            .flat_map(|ns| {
                let out = Command::new("ip")
                    .args(["netns", "pids", ns])
                    .output()
                    .expect("ip netns pids");
                String::from_utf8_lossy(&out.stdout)
                    .split_whitespace()
                    .filter_map(|p| p.parse::<i32>().ok())
                    .collect::<Vec<_>>()
            })
            .collect();
        if inside.len() >= 4 {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(inside.len() >= 4, "the swarm did not start: {inside:?}");
    // SAFETY: SIGINT to the lab we started, by PID.
    unsafe { libc::kill(pid as i32, libc::SIGINT) };
    let status = wait(&mut child, Duration::from_secs(60));
    assert_eq!(status.code(), Some(130), "{status}");
    assert!(
        namespaces_of(pid).is_empty(),
        "namespaces left: {:?}",
        namespaces_of(pid)
    );
    for p in inside {
        assert!(
            !Path::new(&format!("/proc/{p}")).exists(),
            "process {p} still runs"
        );
    }
    let report: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(out.path().join("slow/report.json")).expect("report"),
    )
    .expect("json");
    assert_eq!(report["ok"], false);
    assert!(
        report["failures"].to_string().contains("interrupted"),
        "{}",
        report["failures"]
    );
}

#[test]
fn a_dead_runs_namespaces_are_removed() {
    if !prerequisites() {
        return;
    }
    // A PID that no process can have: above the largest pid_max (2^22).
    let stale = "swlab-2000000000.0-sw";
    let _ = Command::new("ip").args(["netns", "add", stale]).status();
    assert!(
        Path::new("/run/netns").join(stale).exists(),
        "could not create {stale}"
    );
    let out = Command::new(lab())
        .arg("clean")
        .output()
        .expect("lab clean");
    assert!(out.status.success());
    let exists = Path::new("/run/netns").join(stale).exists();
    if exists {
        let _ = Command::new("ip").args(["netns", "del", stale]).status();
    }
    assert!(
        !exists,
        "lab clean left {stale}: {}",
        String::from_utf8_lossy(&out.stdout)
    );
}
