//! `swarm`: download torrents from many peers at once (`swarm get`) or seed them
//! (`swarm seed`), many torrents in one session over one port.
//!
//! Exit statuses: 0 done, 1 other error (or, with several torrents, any of them failed),
//! 2 usage (or a magnet link with nowhere to ask for its metadata), 3 unreadable or invalid
//! metainfo (a file, a URL's reply, a magnet link or the metadata peers sent), 4 download
//! directory or state not usable, 5 disk full, 6 no peers / stalled (for a magnet link: no
//! metadata in time), 130 interrupted.

mod cli;
mod magnets;
mod render;
mod seed;
mod sources;
mod units;

use std::collections::{HashMap, HashSet};
use std::io::IsTerminal;
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, anyhow};
use clap::Parser;
use metainfo::{InfoHash, Metainfo};
use swarm_client::disk::{DiskIo, buffers::DEFAULT_BUDGET};
use swarm_client::events::{Event, TorrentError, TorrentId};
use swarm_client::session::{Session, SessionConfig};
use swarm_client::state::StateDir;
use swarm_client::torrent::TorrentSpec;
use tokio::sync::mpsc;

use cli::{Cli, Command, CommonArgs};
use magnets::{MagnetJob, Resolving, SpecTemplate};
use render::{OutputMode, Renderer};
use seed::watch::{Change, LibraryWatch};
use sources::Source;

/// A failure with the exit status it maps to.
#[derive(Debug)]
pub struct Failure {
    status: u8,
    error: anyhow::Error,
}

impl Failure {
    pub fn new(status: u8, error: anyhow::Error) -> Self {
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
        .with_ansi(std::io::stderr().is_terminal())
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
        Ok(status) => ExitCode::from(status),
        Err(f) => {
            eprintln!("swarm: {:#}", f.error);
            ExitCode::from(f.status)
        }
    }
}

async fn run(cli: Cli) -> Result<u8, Failure> {
    match cli.command {
        Command::Get(args) => {
            let template = SpecTemplate {
                data_dir: args.dir.clone(),
                keep_seeding: args.seed,
                use_trackers: !args.common.no_tracker,
                stall_timeout: (args.timeout > 0).then(|| Duration::from_secs(args.timeout)),
                seed_ratio: args.seeding.seed_ratio,
                seed_time: args.seeding.seed_time,
            };
            let mut specs = Vec::new();
            let mut magnets = Vec::new();
            for source in &args.sources {
                match sources::load(source).await? {
                    Source::Meta(meta) => specs.push(template.spec(*meta)),
                    Source::Magnet(magnet) => magnets.push(MagnetJob {
                        magnet: *magnet,
                        template: template.clone(),
                        save_meta: args.save_meta.clone(),
                    }),
                }
            }
            if args.save_meta.is_some() && magnets.len() != 1 {
                return Err(Failure::new(
                    2,
                    anyhow!("--save-meta needs exactly one magnet link among the sources"),
                ));
            }
            std::fs::create_dir_all(&args.dir)
                .with_context(|| format!("cannot create download directory {}", args.dir.display()))
                .map_err(|e| Failure::new(4, e))?;
            let goal = if args.seed {
                Goal::Seed
            } else {
                Goal::Download
            };
            let torrents = Torrents {
                specs,
                magnets,
                watch: None,
            };
            run_session(torrents, &args.common, args.disk_io, goal).await
        }
        Command::Seed(args) => {
            let plan = seed::plan(&args, output_mode(&args.common))?;
            let goal = if plan.watch.is_some() {
                Goal::Watch
            } else {
                Goal::Seed
            };
            let say = seed::Say::new(output_mode(&args.common));
            let torrents = Torrents {
                specs: plan.specs,
                magnets: Vec::new(),
                watch: plan.watch.map(|w| (w, say)),
            };
            run_session(torrents, &args.common, DiskIo::Buffered, goal).await
        }
    }
}

/// The torrents of a run: those whose metainfo is at hand, magnet links to resolve, and
/// library folders to watch (`swarm seed --watch`).
struct Torrents {
    specs: Vec<TorrentSpec>,
    magnets: Vec<MagnetJob>,
    watch: Option<(LibraryWatch, seed::Say)>,
}

/// When the run ends by itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Goal {
    /// When every torrent is complete or failed.
    Download,
    /// When every torrent has stopped (seed goal reached) or failed; else when interrupted.
    Seed,
    /// Only when interrupted: watched folders may bring torrents at any time.
    Watch,
}

/// Where each torrent of the run ended up.
#[derive(Default)]
struct Outcomes {
    complete: HashMap<TorrentId, bool>,
    /// Failed torrents: the exit status the failure maps to, and the message.
    failed: HashMap<TorrentId, (u8, String)>,
    /// Torrents that left the session (seed goal reached).
    stopped: HashSet<TorrentId>,
    names: HashMap<TorrentId, String>,
    /// Torrents added to the session.
    expected: usize,
    /// Magnet links whose metadata could not be had: exit status and message.
    unresolved: Vec<(u8, String)>,
}

impl Outcomes {
    fn note(&mut self, event: &Event) {
        match event {
            Event::Added { torrent, name, .. } => {
                self.names.insert(*torrent, name.clone());
                self.complete.insert(*torrent, false);
            }
            Event::Complete { torrent } => {
                self.complete.insert(*torrent, true);
            }
            Event::Stopped { torrent, .. } => {
                self.stopped.insert(*torrent);
            }
            Event::Failed { torrent, error } => {
                let name = self.names.get(torrent).cloned().unwrap_or_default();
                // Keep the first error: what caused the failure.
                self.failed
                    .entry(*torrent)
                    .or_insert_with(|| (exit_status_of(error), describe(&name, error)));
            }
            _ => {}
        }
    }

    fn all_settled(&self) -> bool {
        self.complete.len() >= self.expected
            && self
                .complete
                .iter()
                .all(|(t, done)| *done || self.failed.contains_key(t))
    }

    /// Every torrent stopped (its seed goal reached) or failed.
    fn all_ended(&self) -> bool {
        self.complete.len() >= self.expected
            && self
                .complete
                .keys()
                .all(|t| self.failed.contains_key(t) || self.stopped.contains(t))
    }

    fn all_complete(&self) -> bool {
        !self.complete.is_empty() && self.complete.values().all(|c| *c)
    }
}

async fn run_session(
    torrents: Torrents,
    common: &CommonArgs,
    disk_io: DiskIo,
    goal: Goal,
) -> Result<u8, Failure> {
    let peers = common
        .peers
        .iter()
        .map(|p| resolve_peer(p))
        .collect::<anyhow::Result<Vec<_>>>()
        .map_err(|e| Failure::new(2, e))?;
    let state =
        StateDir::locate(common.state_dir.clone()).map_err(|e| Failure::new(4, e.into()))?;
    let config = SessionConfig {
        bind: common.bind,
        port: common.port,
        max_peers: common.max_peers,
        upload_slots: common.upload_slots,
        disk_io,
        state,
        buffer_budget: DEFAULT_BUDGET,
        up_rate: common.up_rate,
        down_rate: common.down_rate,
    };
    let (session, mut events) = Session::start(config).map_err(|e| Failure::new(1, e.into()))?;
    let mut renderer = Renderer::new(
        output_mode(common),
        common.verbose,
        Duration::from_secs(common.status_interval),
    );
    let mut outcomes = Outcomes::default();
    let mut ids = HashMap::new();
    for spec in torrents.specs {
        add(
            &session,
            spec,
            &peers,
            &mut renderer,
            &mut outcomes,
            &mut ids,
        )
        .await;
    }
    for job in &torrents.magnets {
        renderer.note(&format!(
            "{}: fetching the metadata",
            magnets::label(&job.magnet)
        ));
    }
    let mut run = Run {
        session: &session,
        peers: &peers,
        resolving: Resolving::start(torrents.magnets, &session, &peers),
        goal,
        watch: torrents.watch,
        ids,
    };
    let interrupted = watch_events(&mut events, &mut renderer, &mut outcomes, &mut run).await;
    // Stop every torrent (stopped announces, records) while still showing what happens.
    let shutdown = session.shutdown();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            Some(event) = events.recv() => renderer.event(&event),
        }
    }
    while let Ok(event) = events.try_recv() {
        renderer.event(&event);
    }
    renderer.finish();
    exit_status(&outcomes, interrupted)
}

/// Adds a torrent to the session (with the user's `--peer`s), counting it as expected and
/// noting its id in `ids`.
async fn add(
    session: &Session,
    mut spec: TorrentSpec,
    peers: &[SocketAddr],
    renderer: &mut Renderer,
    outcomes: &mut Outcomes,
    ids: &mut HashMap<InfoHash, TorrentId>,
) {
    spec.peers.extend(peers);
    let hash = spec.meta.info_hash;
    match session.add(spec).await {
        Ok(id) => {
            outcomes.expected += 1;
            ids.insert(hash, id);
        }
        Err(e) => renderer.note(&format!("swarm: {e}")),
    }
}

/// What the event loop of a run works with.
struct Run<'a> {
    session: &'a Session,
    peers: &'a [SocketAddr],
    resolving: Resolving,
    goal: Goal,
    /// Watched library folders, and how to tell what they change.
    watch: Option<(LibraryWatch, seed::Say)>,
    /// The session's torrents by info-hash (what a watched folder removes is stopped).
    ids: HashMap<InfoHash, TorrentId>,
}

impl Run<'_> {
    /// What a watched folder changed: torrents to add or to stop.
    async fn apply(
        &mut self,
        changes: Vec<Change>,
        renderer: &mut Renderer,
        outcomes: &mut Outcomes,
    ) {
        for change in changes {
            match change {
                Change::Add(spec) => {
                    add(
                        self.session,
                        *spec,
                        self.peers,
                        renderer,
                        outcomes,
                        &mut self.ids,
                    )
                    .await;
                }
                Change::Remove(hash) => {
                    if let Some(id) = self.ids.remove(&hash) {
                        self.session.remove(id).await;
                    }
                }
            }
        }
    }
}

/// The next changes of the watched folders (never, without any).
async fn next_changes(watch: Option<&mut (LibraryWatch, seed::Say)>) -> Vec<Change> {
    match watch {
        Some((w, say)) => w.changes(say).await,
        None => std::future::pending().await,
    }
}

/// Renders events until the goal is reached, every torrent failed, or the user interrupts;
/// true when interrupted. Magnet links that resolve meanwhile join the session, and what
/// watched folders change is applied.
async fn watch_events(
    events: &mut mpsc::UnboundedReceiver<Event>,
    renderer: &mut Renderer,
    outcomes: &mut Outcomes,
    run: &mut Run<'_>,
) -> bool {
    let mut sigterm =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    let terminate = async move {
        match sigterm.as_mut() {
            Some(s) => {
                s.recv().await;
            }
            None => std::future::pending::<()>().await,
        }
    };
    tokio::pin!(terminate);
    loop {
        tokio::select! {
            event = events.recv() => {
                let Some(event) = event else { return false };
                outcomes.note(&event);
                renderer.event(&event);
            }
            resolution = run.resolving.next() => match resolution {
                Ok(spec) => {
                    renderer.note(&format!("{}: metadata received", spec.meta.info.name));
                    add(run.session, spec, run.peers, renderer, outcomes, &mut run.ids).await;
                }
                Err((status, message)) => outcomes.unresolved.push((status, message)),
            },
            changes = next_changes(run.watch.as_mut()) => {
                run.apply(changes, renderer, outcomes).await;
            }
            _ = tokio::signal::ctrl_c() => return true,
            () = &mut terminate => return true,
        }
        let done = run.resolving.pending() == 0
            && match run.goal {
                Goal::Download => outcomes.all_settled(),
                Goal::Seed => outcomes.all_ended(),
                Goal::Watch => false,
            };
        if done {
            return false;
        }
    }
}

/// The exit status of the run, with a line per failed torrent.
fn exit_status(outcomes: &Outcomes, interrupted: bool) -> Result<u8, Failure> {
    let mut failed: Vec<(&TorrentId, &(u8, String))> = outcomes.failed.iter().collect();
    failed.sort_by_key(|(t, _)| **t);
    let failures: Vec<&(u8, String)> = failed
        .into_iter()
        .map(|(_, f)| f)
        .chain(&outcomes.unresolved)
        .collect();
    if failures.is_empty() {
        return Ok(if interrupted && !outcomes.all_complete() {
            130
        } else {
            0
        });
    }
    let total = outcomes.complete.len() + outcomes.unresolved.len();
    if let [(status, message)] = failures.as_slice()
        && total == 1
    {
        return Err(Failure::new(*status, anyhow!("{message}")));
    }
    for (_, message) in &failures {
        eprintln!("swarm: {message}");
    }
    Err(Failure::new(
        1,
        anyhow!("{} of {} torrents failed", failures.len(), total),
    ))
}

/// The exit status a torrent's failure maps to when it is the only torrent.
fn exit_status_of(e: &TorrentError) -> u8 {
    match e {
        _ if e.is_disk_full() => 5,
        TorrentError::Storage(_) | TorrentError::State(_) => 4,
        TorrentError::NoPeers { .. } | TorrentError::Stalled { .. } => 6,
        TorrentError::PieceTooLarge(_) => 3,
    }
}

/// A failure as one line naming the torrent.
fn describe(name: &str, e: &TorrentError) -> String {
    if e.is_disk_full() {
        format!(
            "{name}: {e}: verified pieces are kept; free some space and run the same command again to resume"
        )
    } else {
        format!("{name}: {e}")
    }
}

fn output_mode(common: &CommonArgs) -> OutputMode {
    if common.json {
        OutputMode::Json
    } else if common.quiet {
        OutputMode::Quiet
    } else {
        OutputMode::Human
    }
}

fn resolve_peer(text: &str) -> anyhow::Result<SocketAddr> {
    text.to_socket_addrs()
        .with_context(|| format!("bad --peer {text:?} (expected HOST:PORT)"))?
        .next()
        .ok_or_else(|| anyhow!("--peer {text:?} resolves to no address"))
}

/// Reads and parses a metainfo file; the error names it.
pub fn load_meta(path: &Path) -> anyhow::Result<Metainfo> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    Metainfo::from_bytes(&bytes).with_context(|| format!("invalid metainfo {}", path.display()))
}
