//! Network namespaces: running `ip`/`tc`/`iptables` commands, entering a namespace from a
//! thread (`setns`, for the delay lines, counters, observer and link checks, which live in
//! this process), and starting programs inside one.

use std::ffi::OsStr;
use std::fs::File;
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};

use anyhow::{Context, bail};

/// Where `ip netns add` keeps its namespaces.
pub const NETNS_DIR: &str = "/run/netns";

/// Runs a command to completion; the error names the command line and quotes its stderr.
pub fn run<I, S>(program: &str, args: I) -> anyhow::Result<String>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let args: Vec<_> = args
        .into_iter()
        .map(|a| a.as_ref().to_os_string())
        .collect();
    let line = || {
        std::iter::once(program.to_string())
            .chain(args.iter().map(|a| a.to_string_lossy().into_owned()))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let out = Command::new(program)
        .args(&args)
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("cannot run `{}`", line()))?;
    if !out.status.success() {
        bail!(
            "`{}` failed ({}): {}",
            line(),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// `ip ARGS…`
pub fn ip(args: &[&str]) -> anyhow::Result<String> {
    run("ip", args)
}

/// Moves the calling thread into namespace `name` (only this thread: network namespaces are
/// per thread). Sockets it opens afterwards belong to that namespace.
pub fn enter(name: &str) -> anyhow::Result<()> {
    let path = format!("{NETNS_DIR}/{name}");
    let file = File::open(&path).with_context(|| format!("cannot open namespace {path}"))?;
    // SAFETY: setns on a valid namespace fd; affects only the calling thread.
    let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
    if rc != 0 {
        return Err(std::io::Error::last_os_error())
            .with_context(|| format!("cannot enter namespace {name}"));
    }
    Ok(())
}

/// Runs `f` on a new thread inside namespace `ns` and returns its result.
pub fn within<T: Send + 'static>(
    ns: &str,
    f: impl FnOnce() -> anyhow::Result<T> + Send + 'static,
) -> anyhow::Result<T> {
    let ns = ns.to_string();
    std::thread::Builder::new()
        .name(format!("in-{ns}"))
        .spawn(move || {
            enter(&ns)?;
            f()
        })
        .context("cannot start a thread")?
        .join()
        .map_err(|_| anyhow::anyhow!("a thread in namespace panicked"))?
}

/// A command that runs `program` inside namespace `ns` (`ip netns exec`, which execs it: the
/// child's PID is the program's). The child gets SIGKILL if this process dies, so a crashed
/// lab leaves no peers running; spawn it from a thread that lives as long as the run (the
/// signal follows the spawning thread).
pub fn command_in(ns: &str, program: impl AsRef<OsStr>) -> Command {
    let mut cmd = Command::new("ip");
    cmd.args(["netns", "exec", ns]).arg(program);
    // SAFETY: prctl is async-signal-safe; nothing else runs between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    cmd
}

/// Writes a sysctl of the namespace the calling thread is in (e.g.
/// `net/ipv4/tcp_congestion_control`).
pub fn write_sysctl(key: &str, value: &str) -> anyhow::Result<()> {
    let path = format!("/proc/sys/{key}");
    std::fs::write(&path, value).with_context(|| format!("cannot set {path} to {value}"))
}

/// Reads a sysctl of the namespace the calling thread is in.
pub fn read_sysctl(key: &str) -> anyhow::Result<String> {
    let path = format!("/proc/sys/{key}");
    Ok(std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {path}"))?
        .trim()
        .to_string())
}

/// Namespaces that exist now (names under /run/netns).
pub fn list() -> Vec<String> {
    std::fs::read_dir(NETNS_DIR)
        .map(|dir| {
            dir.filter_map(|e| e.ok())
                .filter_map(|e| e.file_name().into_string().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// PIDs of the processes inside namespace `name`.
pub fn pids(name: &str) -> Vec<i32> {
    ip(&["netns", "pids", name])
        .map(|out| {
            out.split_whitespace()
                .filter_map(|p| p.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}
