//! libtorrent (python3-libtorrent 2.0, run by Debian's Python) as a seeder or leecher on
//! 127.0.0.1, through `tests/scripts/lt_seed.py` and `lt_leech.py`: DHT, LSD, UPnP, NAT-PMP off,
//! no plugins (so no PEX), TCP only, several connections per IP allowed (every loopback peer
//! is 127.0.0.1). Call [`crate::require_libtorrent`] first.

use crate::output::Proc;
use crate::{SYSTEM_PYTHON, free_port};
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// Path of one of the libtorrent helper scripts in `tests/scripts/`.
pub fn lt_script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scripts")
        .join(name)
}

/// Start a libtorrent seeder for `meta` whose data is in `data_dir` (seed_mode: no recheck),
/// listening on a free port; it dials each of `peers` once seeding. Returns once it seeds.
pub fn lt_seed(meta: &Path, data_dir: &Path, peers: &[String]) -> Proc {
    lt_seed_with(meta, data_dir, peers, &[])
}

/// [`lt_seed`] with more `lt_seed.py` arguments (`--plugin ut_metadata`, `--plugin ut_pex`,
/// `--upload-rate N`, `--recheck`).
pub fn lt_seed_with(meta: &Path, data_dir: &Path, peers: &[String], extra: &[&str]) -> Proc {
    let port = free_port();
    let mut cmd = Command::new(SYSTEM_PYTHON);
    cmd.arg(lt_script("lt_seed.py"))
        .arg("--meta")
        .arg(meta)
        .arg("--dir")
        .arg(data_dir)
        .arg("--port")
        .arg(port.to_string())
        .args(["--seconds", "600"])
        .args(extra);
    for p in peers {
        cmd.arg("--peer").arg(p);
    }
    let mut proc = Proc::spawn("libtorrent seeder", &mut cmd, port);
    proc.expect_line(Duration::from_secs(60), "\"seeding\"", |l| l == "seeding");
    proc
}

/// Start a libtorrent leecher downloading `meta` into `out_dir`, listening on a free port,
/// with peers from the metainfo's tracker and `peers` (dialed directly). It prints
/// `done SECONDS` and exits 0 when complete; wait with [`Proc::wait_success`].
pub fn lt_leech(meta: &Path, out_dir: &Path, peers: &[String], timeout: Duration) -> Proc {
    lt_leech_with(meta, out_dir, peers, timeout, &[])
}

/// [`lt_leech`] with more `lt_leech.py` arguments (`--plugin ut_pex`, `--keep-seeding`, …).
pub fn lt_leech_with(
    meta: &Path,
    out_dir: &Path,
    peers: &[String],
    timeout: Duration,
    extra: &[&str],
) -> Proc {
    let mut args: Vec<&OsStr> = vec![OsStr::new("--meta"), meta.as_os_str()];
    args.extend(extra.iter().map(OsStr::new));
    for p in peers {
        args.extend([OsStr::new("--peer"), OsStr::new(p)]);
    }
    leech("libtorrent leecher", &args, out_dir, timeout)
}

/// Start a libtorrent leecher given only `magnet` (with the ut_metadata plugin, so it fetches
/// the metadata from peers; peers from the link's `tr=` trackers), downloading into
/// `out_dir`. It prints `done SECONDS` and exits 0 when complete.
pub fn lt_leech_magnet(magnet: &str, out_dir: &Path, timeout: Duration) -> Proc {
    let args = ["--magnet", magnet, "--plugin", "ut_metadata"].map(OsStr::new);
    leech("libtorrent magnet leecher", &args, out_dir, timeout)
}

/// `lt_leech.py --dir OUT --port P --timeout S ARGS…`, on a free port; returns once it listens.
fn leech(name: &str, args: &[&OsStr], out_dir: &Path, timeout: Duration) -> Proc {
    let port = free_port();
    std::fs::create_dir_all(out_dir).expect("create leecher dir");
    let mut cmd = Command::new(SYSTEM_PYTHON);
    cmd.arg(lt_script("lt_leech.py"))
        .arg("--dir")
        .arg(out_dir)
        .arg("--port")
        .arg(port.to_string())
        .arg("--timeout")
        .arg(timeout.as_secs().to_string())
        .args(args);
    let mut proc = Proc::spawn(name, &mut cmd, port);
    proc.expect_line(Duration::from_secs(30), "\"listening\"", |l| {
        l.starts_with("listening ")
    });
    proc
}
