//! `swarm`: download a torrent from many peers at once (`swarm get`) or seed one (`swarm seed`).
//!
//! Exit statuses: 0 done, 1 other error, 2 usage, 3 unreadable or invalid metainfo,
//! 4 download directory not usable, 5 disk full, 6 no peers / stalled, 130 interrupted.

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use clap::Parser;
use metainfo::Metainfo;
use swarm_client::cli::{Cli, Command, CommonArgs};
use swarm_client::engine::{Options, Outcome, Session, SessionError};
use swarm_client::progress::OutputMode;
use swarm_client::resume::ResumeRecord;

/// A failure with the exit status it maps to.
struct Failure {
    status: u8,
    error: anyhow::Error,
}

impl Failure {
    fn new(status: u8, error: anyhow::Error) -> Self {
        Self { status, error }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("swarm: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(Outcome::Complete) => ExitCode::SUCCESS,
        Ok(Outcome::Interrupted) => ExitCode::from(130),
        Err(f) => {
            eprintln!("swarm: {:#}", f.error);
            ExitCode::from(f.status)
        }
    }
}

async fn run(cli: Cli) -> Result<Outcome, Failure> {
    match cli.command {
        Command::Get(args) => {
            let meta = load_meta(&args.meta).map_err(|e| Failure::new(3, e))?;
            std::fs::create_dir_all(&args.dir)
                .with_context(|| format!("cannot create download directory {}", args.dir.display()))
                .map_err(|e| Failure::new(4, e))?;
            save_meta_copy(&args.dir, &args.meta, &meta).map_err(|e| Failure::new(4, e))?;
            let timeout = (args.timeout > 0).then(|| Duration::from_secs(args.timeout));
            let opts = Options {
                keep_seeding: args.seed,
                timeout,
                disk_io: args.disk_io,
                ..options(args.dir.clone(), &args.common)?
            };
            run_session(meta, opts, &args.dir).await
        }
        Command::Seed(args) => {
            let meta_path = match &args.meta {
                Some(p) => p.clone(),
                None => find_meta(&args.dir).map_err(|e| Failure::new(3, e))?,
            };
            let meta = load_meta(&meta_path).map_err(|e| Failure::new(3, e))?;
            let opts = Options {
                keep_seeding: true,
                seed_only: true,
                ..options(args.dir.clone(), &args.common)?
            };
            run_session(meta, opts, &args.dir).await
        }
    }
}

async fn run_session(meta: Metainfo, opts: Options, dir: &Path) -> Result<Outcome, Failure> {
    let session = Session::new(meta, opts).map_err(|e| session_failure(e, dir))?;
    session.run().await.map_err(|e| session_failure(e, dir))
}

fn session_failure(e: SessionError, dir: &Path) -> Failure {
    let status = match &e {
        _ if e.is_disk_full() => 5,
        SessionError::Storage(_) => 4,
        SessionError::NoPeers { .. } | SessionError::Stalled { .. } => 6,
        _ => 1,
    };
    let error = if e.is_disk_full() {
        anyhow!(
            "{e}: verified pieces are kept; free some space and run the same command again to resume ({})",
            dir.display()
        )
    } else {
        anyhow!(e)
    };
    Failure::new(status, error)
}

/// Session options from the flags both commands share; the rest keep their defaults (a plain
/// download with no timeout) for the caller to set.
fn options(dir: PathBuf, common: &CommonArgs) -> Result<Options, Failure> {
    let peers = common
        .peers
        .iter()
        .map(|p| resolve_peer(p))
        .collect::<anyhow::Result<Vec<_>>>()
        .map_err(|e| Failure::new(2, e))?;
    let output = if common.json {
        OutputMode::Json
    } else if common.quiet {
        OutputMode::Quiet
    } else {
        OutputMode::Bar
    };
    Ok(Options {
        dir,
        peers,
        port: common.port,
        bind: common.bind,
        max_peers: common.max_peers.max(1),
        keep_seeding: false,
        seed_only: false,
        disk_io: swarm_client::engine::DiskIo::Buffered,
        use_trackers: !common.no_tracker,
        timeout: None,
        output,
        verbose: common.verbose,
    })
}

fn resolve_peer(text: &str) -> anyhow::Result<SocketAddr> {
    text.to_socket_addrs()
        .with_context(|| format!("bad --peer {text:?} (expected HOST:PORT)"))?
        .next()
        .ok_or_else(|| anyhow!("--peer {text:?} resolves to no address"))
}

fn load_meta(path: &Path) -> anyhow::Result<Metainfo> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    Metainfo::from_bytes(&bytes).with_context(|| format!("invalid metainfo {}", path.display()))
}

/// Keeps a copy of the metainfo in DIR (as `<name>.meta`) so `swarm seed DIR` finds it.
fn save_meta_copy(dir: &Path, source: &Path, meta: &Metainfo) -> anyhow::Result<()> {
    let target = dir.join(format!("{}.meta", meta.info.name));
    let same = match (source.canonicalize(), target.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    if same {
        return Ok(());
    }
    std::fs::write(&target, meta.to_bytes())
        .with_context(|| format!("download directory {} is not writable", dir.display()))
}

/// The metainfo file saved in DIR: the only `.meta` there, or the one whose resume record
/// is there when several are.
fn find_meta(dir: &Path) -> anyhow::Result<PathBuf> {
    let entries = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read directory {}", dir.display()))?;
    let mut metas: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "meta" || x == "torrent") && p.is_file())
        .collect();
    metas.sort();
    match metas.len() {
        0 => bail!(
            "no .meta file in {}: pass one with --meta FILE",
            dir.display()
        ),
        1 => Ok(metas.remove(0)),
        _ => {
            let with_record: Vec<&PathBuf> = metas
                .iter()
                .filter(|p| {
                    load_meta(p).is_ok_and(|m| ResumeRecord::path(dir, &m.info_hash).exists())
                })
                .collect();
            match with_record.as_slice() {
                [one] => Ok((*one).clone()),
                _ => bail!(
                    "several .meta files in {}: pick one with --meta FILE",
                    dir.display()
                ),
            }
        }
    }
}
