//! The download/seed session: opens storage, resumes, listens, connects to peers, runs the
//! choker, reports progress, and decides when the job is done.
//!
//! The session loop owns the peer list; peer tasks work on [`shared::Shared`] (the picker
//! behind a briefly held mutex) and report back through [`shared::Event`]s.

mod blame;
mod checking;
mod disk;
pub mod listener;
pub(crate) mod shared;

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use metainfo::Metainfo;
use tokio::sync::mpsc;

use crate::choker::{Candidate, Choker};
use crate::peer::{self, Conn, PeerCmd, PeerError};
use crate::picker::{PeerKey, Picker};
use crate::progress::{OutputMode, PeerSnapshot, Progress, Snapshot, Summary};
use crate::resume::{self, ResumeRecord};
use crate::storage::{Storage, StorageError};
use crate::tracker_client::announcer::{self, Announcer, TrackerStatus, TransferStats};
use crate::wire::{self, HandshakeError, PeerId};
pub use disk::DiskIo;
use disk::DiskWriter;
use shared::{Event, PeerStats, Shared};

/// Memory allowed for the buffers of pieces being downloaded or verified.
const PIECE_BUFFER_BUDGET: u64 = 48 * 1024 * 1024;
/// How often the session loop wakes up for housekeeping.
const TICK: Duration = Duration::from_millis(500);
/// How often the choker runs.
const CHOKE_EVERY: Duration = Duration::from_secs(10);
/// How often the resume record is saved while pieces keep arriving.
const RESUME_EVERY: Duration = Duration::from_secs(5);
/// Penalty points for a failed piece this peer alone sent, and for a wrong block proven by
/// comparing with the piece's good copy.
const STRIKE_SOLE: u32 = 2;
const STRIKE_PROVEN: u32 = 2;
/// A peer with this many points is banned.
const BAN_POINTS: u32 = 4;

/// How a session is run.
#[derive(Debug, Clone)]
pub struct Options {
    /// Directory holding the torrent's files.
    pub dir: PathBuf,
    /// Peers given on the command line.
    pub peers: Vec<SocketAddr>,
    /// Listening port (`None`: 6881–6889; `Some(0)`: any).
    pub port: Option<u16>,
    pub bind: IpAddr,
    pub max_peers: usize,
    /// Stay seeding after the download completes (until Ctrl-C).
    pub keep_seeding: bool,
    /// Serve the data already in `dir` and download nothing: the files are opened read-only
    /// and nothing is created (`swarm seed`).
    pub seed_only: bool,
    /// How downloaded data is written: direct I/O (bypassing the page cache), buffered, or
    /// direct while the disk keeps up.
    pub disk_io: DiskIo,
    /// Announce to the metainfo's trackers.
    pub use_trackers: bool,
    /// Give up when nothing arrives for this long while incomplete.
    pub timeout: Option<Duration>,
    pub output: OutputMode,
    pub verbose: bool,
}

/// How a session ended (errors aside).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Everything downloaded and verified.
    Complete,
    /// Stopped by Ctrl-C / SIGTERM before completing.
    Interrupted,
}

/// Why a session failed.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("cannot listen for peers: {0}")]
    Listen(std::io::Error),
    #[error("cannot start the disk threads: {0}")]
    DiskThread(std::io::Error),
    #[error("piece length {0} is too large")]
    PieceTooLarge(u64),
    #[error("no peers after {secs} s: none of {known} known peer(s) answered ({tracker})")]
    NoPeers {
        known: usize,
        tracker: &'static str,
        secs: u64,
    },
    #[error("stalled: nothing received for {secs} s from {peers} connected peer(s)")]
    Stalled { peers: usize, secs: u64 },
}

impl SessionError {
    /// Is this the disk being full?
    pub fn is_disk_full(&self) -> bool {
        matches!(self, SessionError::Storage(e) if e.is_disk_full())
    }
}

/// The running announce task and the channels to and from it.
struct Trackers {
    events: mpsc::Sender<announcer::Event>,
    stats: tokio::sync::watch::Sender<TransferStats>,
    task: tokio::task::JoinHandle<()>,
    /// Has any tracker answered?
    reached: bool,
    last_need_peers: Instant,
}

/// One peer connection known to the session loop.
struct PeerEntry {
    addr: SocketAddr,
    cmd: mpsc::UnboundedSender<PeerCmd>,
    stats: Arc<PeerStats>,
    peer_id: Option<PeerId>,
    unchoked: bool,
    last_down: u64,
    last_up: u64,
    down_rate: f64,
    up_rate: f64,
}

/// A peer address we may connect to.
#[derive(Debug)]
struct Known {
    connected: bool,
    failures: u32,
    retry_at: Instant,
    banned: bool,
    /// Ever completed a handshake.
    reached: bool,
}

/// A running download or seed of one torrent.
pub struct Session {
    meta: Arc<Metainfo>,
    opts: Options,
    shared: Arc<Shared>,
    events: mpsc::UnboundedReceiver<Event>,
    listener: Option<tokio::net::TcpListener>,
    listen_port: u16,
    peers: HashMap<PeerKey, PeerEntry>,
    history: HashMap<PeerKey, SocketAddr>,
    known: HashMap<SocketAddr, Known>,
    strikes: HashMap<SocketAddr, u32>,
    next_key: PeerKey,
    choker: Choker,
    progress: Progress,
    started: Instant,
    last_progress: Instant,
    last_downloaded: u64,
    saved_have: u32,
    peers_used: usize,
    down_rate: f64,
    up_rate: f64,
    last_totals: (u64, u64),
    trackers: Option<Trackers>,
}

impl Session {
    /// Prepares a session: opens (creates) the files, loads the resume record or rechecks the
    /// data already there, and binds the listening port.
    pub fn new(meta: Metainfo, opts: Options) -> Result<Session, SessionError> {
        let info = &meta.info;
        let piece_length = u32::try_from(info.piece_length)
            .map_err(|_| SessionError::PieceTooLarge(info.piece_length))?;
        let progress = Progress::new(opts.output, opts.verbose, &info.name, info.total_length());
        let storage = Arc::new(if opts.seed_only {
            Storage::open_read_only(&opts.dir, info)?
        } else {
            let mut storage = Storage::open(&opts.dir, info)?;
            if opts.disk_io != DiskIo::Buffered {
                storage.use_direct_writes();
            }
            storage
        });
        let have = match ResumeRecord::load(&opts.dir, &meta) {
            Some(have) => have,
            None => {
                let total = info.piece_count();
                let done = std::sync::atomic::AtomicU32::new(0);
                resume::recheck(&storage, info, |_| {
                    let n = done.fetch_add(1, Ordering::Relaxed) + 1;
                    progress.recheck(n, total);
                })?
            }
        };
        let max_buffers = (PIECE_BUFFER_BUDGET / u64::from(piece_length.max(1))).max(4) as usize;
        let mut picker = Picker::new(
            info.piece_count(),
            piece_length,
            info.total_length(),
            &have,
            max_buffers,
        );
        if opts.seed_only {
            picker.seed_only();
        }
        let (events_tx, events) = mpsc::unbounded_channel();
        let hashes = info.pieces.clone();
        // Auto mode: the disk is behind when half the piece buffers wait for it.
        let disk = DiskWriter::start(
            storage.clone(),
            opts.disk_io == DiskIo::Auto,
            max_buffers / 2,
        )
        .map_err(SessionError::DiskThread)?;
        let shared = Arc::new(Shared::new(
            meta.info_hash,
            wire::peer_id::generate(),
            hashes,
            storage,
            disk,
            picker,
            events_tx,
        ));
        let listener = listener::bind(opts.bind, opts.port).map_err(SessionError::Listen)?;
        let listen_port = listener.local_addr().map_err(SessionError::Listen)?.port();
        let now = Instant::now();
        let saved_have = shared.picker().have_count();
        let mut session = Session {
            meta: Arc::new(meta),
            opts,
            shared,
            events,
            listener: Some(listener),
            listen_port,
            peers: HashMap::new(),
            history: HashMap::new(),
            known: HashMap::new(),
            strikes: HashMap::new(),
            next_key: 1,
            choker: Choker::new(),
            progress,
            started: now,
            last_progress: now,
            last_downloaded: 0,
            saved_have,
            peers_used: 0,
            down_rate: 0.0,
            up_rate: 0.0,
            last_totals: (0, 0),
            trackers: None,
        };
        for addr in session.opts.peers.clone() {
            session.add_known(addr);
        }
        Ok(session)
    }

    /// The TCP port we listen on.
    pub fn listen_port(&self) -> u16 {
        self.listen_port
    }

    /// Runs until complete (unless seeding), interrupted, or failed.
    pub async fn run(mut self) -> Result<Outcome, SessionError> {
        self.progress
            .event("listening", serde_json::json!({ "port": self.listen_port }));
        if let Some(l) = self.listener.take() {
            tokio::spawn(listener::run(l, self.shared.events.clone()));
        }
        if self.opts.use_trackers {
            self.start_trackers();
        }
        if self.shared.is_complete() {
            self.progress.event("complete", serde_json::json!({}));
            if !self.opts.keep_seeding {
                return self.shutdown(Outcome::Complete).await;
            }
        }
        let result = self.main_loop().await;
        match result {
            Ok(outcome) => self.shutdown(outcome).await,
            Err(e) => {
                let _ = self.shutdown(Outcome::Interrupted).await;
                Err(e)
            }
        }
    }

    async fn main_loop(&mut self) -> Result<Outcome, SessionError> {
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_choke = Instant::now();
        let mut last_resume = Instant::now();
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
        self.connect_more();
        loop {
            tokio::select! {
                ev = self.events.recv() => {
                    let Some(ev) = ev else { return Ok(Outcome::Interrupted) };
                    if let Some(outcome) = self.on_event(ev)? {
                        return Ok(outcome);
                    }
                }
                _ = tick.tick() => {
                    let now = Instant::now();
                    self.update_rates();
                    self.connect_more();
                    if now.duration_since(last_choke) >= CHOKE_EVERY {
                        last_choke = now;
                        self.run_choker();
                    }
                    if now.duration_since(last_resume) >= RESUME_EVERY {
                        last_resume = now;
                        self.save_resume_in_background();
                    }
                    self.report();
                    self.update_trackers();
                    self.check_timeout()?;
                }
                _ = tokio::signal::ctrl_c() => return Ok(self.interrupted_outcome()),
                _ = &mut terminate => return Ok(self.interrupted_outcome()),
            }
        }
    }

    fn interrupted_outcome(&self) -> Outcome {
        if self.shared.is_complete() {
            Outcome::Complete
        } else {
            Outcome::Interrupted
        }
    }

    /// Handles one event; `Some(outcome)` ends the session.
    fn on_event(&mut self, ev: Event) -> Result<Option<Outcome>, SessionError> {
        match ev {
            Event::PeerReady { key, peer_id } => {
                if let Some(p) = self.peers.get_mut(&key) {
                    p.peer_id = Some(peer_id);
                    self.peers_used += 1;
                    if let Some(k) = self.known.get_mut(&p.addr) {
                        k.reached = true;
                        k.failures = 0;
                    }
                    tracing::debug!(peer = %p.addr, client = %wire::peer_id::client_name(&peer_id), "connected");
                }
            }
            Event::PeerInterested(key) => {
                let unchoked = self.peers.values().filter(|p| p.unchoked).count();
                if Choker::has_free_slot(unchoked)
                    && let Some(p) = self.peers.get_mut(&key)
                    && !p.unchoked
                {
                    p.unchoked = true;
                    let _ = p.cmd.send(PeerCmd::Unchoke);
                }
            }
            Event::PeerClosed {
                key,
                reason,
                misbehaved,
            } => self.on_peer_closed(key, reason, misbehaved),
            Event::WakePeers => self.broadcast(|| PeerCmd::Refill),
            Event::CancelDuplicates { block, from } => {
                for (k, p) in &self.peers {
                    if *k != from {
                        let _ = p.cmd.send(PeerCmd::Cancel(block));
                    }
                }
            }
            Event::PieceChecked {
                index,
                ok,
                contributors,
                culprits,
            } => return Ok(self.on_piece_checked(index, ok, contributors, culprits)),
            Event::StorageFailed(e) => return Err(e.into()),
            Event::Incoming(stream, addr) => self.on_incoming(stream, addr),
            Event::TrackerPeers(addrs) => {
                for addr in addrs {
                    self.add_known(addr);
                }
                self.connect_more();
            }
            Event::Tracker(status) => self.on_tracker_status(status),
        }
        Ok(None)
    }

    fn on_piece_checked(
        &mut self,
        index: u32,
        ok: bool,
        contributors: Vec<PeerKey>,
        culprits: Vec<PeerKey>,
    ) -> Option<Outcome> {
        for key in culprits {
            self.strike(key, STRIKE_PROVEN);
        }
        if !ok {
            tracing::info!(
                piece = index,
                "piece failed its hash check; fetching it again"
            );
            self.progress.event(
                "piece_failed",
                serde_json::json!({ "piece": index, "peers": contributors.len() }),
            );
            // A piece from one peer alone is surely its fault; a shared one is settled when
            // the piece passes (see `blame`).
            if let [only] = contributors.as_slice() {
                self.strike(*only, STRIKE_SOLE);
            }
            self.broadcast(|| PeerCmd::Refill);
            return None;
        }
        self.last_progress = Instant::now();
        self.broadcast(|| PeerCmd::Have(index));
        let complete = self.shared.picker().is_complete();
        if complete && !self.shared.is_complete() {
            self.shared.complete.store(true, Ordering::Release);
            self.progress.event("complete", serde_json::json!({}));
            self.broadcast(|| PeerCmd::Completed);
            if self.opts.keep_seeding {
                self.save_durable_resume_in_background();
            }
            self.update_trackers();
            if let Some(t) = &self.trackers {
                let _ = t.events.try_send(announcer::Event::Completed);
            }
            if !self.opts.keep_seeding {
                return Some(Outcome::Complete);
            }
        }
        None
    }

    /// Adds penalty points to the peer behind `key`; bans it past the limit.
    fn strike(&mut self, key: PeerKey, points: u32) {
        let Some(addr) = self.history.get(&key).copied() else {
            return;
        };
        let total = self.strikes.entry(addr).or_insert(0);
        let before = *total;
        *total += points;
        if *total < BAN_POINTS || before >= BAN_POINTS {
            return;
        }
        self.progress.event(
            "peer_banned",
            serde_json::json!({ "peer": addr.to_string(), "reason": "sent bad data" }),
        );
        tracing::warn!(peer = %addr, "banned: sent bad data");
        if let Some(k) = self.known.get_mut(&addr) {
            k.banned = true;
        }
        if let Some(p) = self.peers.get(&key) {
            if let Some(id) = p.peer_id {
                self.shared.ban_peer_id(id);
            }
            let _ = p.cmd.send(PeerCmd::Close);
        }
    }

    fn on_peer_closed(&mut self, key: PeerKey, reason: Option<String>, misbehaved: bool) {
        let Some(p) = self.peers.remove(&key) else {
            return;
        };
        tracing::debug!(peer = %p.addr, reason = reason.as_deref().unwrap_or("closed"), "disconnected");
        if misbehaved {
            self.progress.event(
                "peer_dropped",
                serde_json::json!({ "peer": p.addr.to_string(), "reason": reason }),
            );
        }
        if let Some(k) = self.known.get_mut(&p.addr) {
            k.connected = false;
            if misbehaved {
                k.banned = true;
            } else {
                k.failures += 1;
                let backoff = Duration::from_secs(1u64 << k.failures.min(6));
                k.retry_at = Instant::now() + backoff;
            }
        }
        if misbehaved && let Some(id) = p.peer_id {
            self.shared.ban_peer_id(id);
        }
    }

    fn on_incoming(&mut self, stream: tokio::net::TcpStream, addr: SocketAddr) {
        if self.peers.len() >= self.opts.max_peers {
            return;
        }
        self.spawn_peer(addr, Conn::Incoming(stream));
    }

    /// Remembers a peer address to connect to.
    pub fn add_known(&mut self, addr: SocketAddr) {
        self.known.entry(addr).or_insert(Known {
            connected: false,
            failures: 0,
            retry_at: Instant::now(),
            banned: false,
            reached: false,
        });
    }

    /// Dials known peers while below `--max-peers`.
    fn connect_more(&mut self) {
        if self.shared.is_complete() && !self.opts.keep_seeding {
            return;
        }
        let now = Instant::now();
        let mut room = self.opts.max_peers.saturating_sub(self.peers.len());
        let due: Vec<SocketAddr> = self
            .known
            .iter()
            .filter(|(_, k)| !k.connected && !k.banned && k.retry_at <= now)
            .map(|(a, _)| *a)
            .collect();
        for addr in due {
            if room == 0 {
                break;
            }
            if let Some(k) = self.known.get_mut(&addr) {
                k.connected = true;
            }
            self.spawn_peer(addr, Conn::Outgoing);
            room -= 1;
        }
    }

    fn spawn_peer(&mut self, addr: SocketAddr, conn: Conn) {
        let key = self.next_key;
        self.next_key += 1;
        let (cmd, cmds) = mpsc::unbounded_channel();
        let stats = Arc::new(PeerStats::default());
        self.peers.insert(
            key,
            PeerEntry {
                addr,
                cmd,
                stats: stats.clone(),
                peer_id: None,
                unchoked: false,
                last_down: 0,
                last_up: 0,
                down_rate: 0.0,
                up_rate: 0.0,
            },
        );
        self.history.insert(key, addr);
        let shared = self.shared.clone();
        tokio::spawn(async move {
            let result = peer::run(shared.clone(), key, addr, conn, cmds, stats).await;
            let (reason, misbehaved) = match result {
                Ok(()) => (None, false),
                Err(PeerError::Handshake(HandshakeError::SelfConnection)) => {
                    (Some("connected to ourselves".to_owned()), true)
                }
                Err(e) => (Some(e.to_string()), e.is_misbehaviour()),
            };
            let _ = shared.events.send(Event::PeerClosed {
                key,
                reason,
                misbehaved,
            });
        });
    }

    fn broadcast(&self, cmd: impl Fn() -> PeerCmd) {
        for p in self.peers.values() {
            let _ = p.cmd.send(cmd());
        }
    }

    fn update_rates(&mut self) {
        let secs = TICK.as_secs_f64();
        for p in self.peers.values_mut() {
            let down = p.stats.downloaded.load(Ordering::Relaxed);
            let up = p.stats.uploaded.load(Ordering::Relaxed);
            p.down_rate = smooth(p.down_rate, (down - p.last_down) as f64 / secs);
            p.up_rate = smooth(p.up_rate, (up - p.last_up) as f64 / secs);
            p.last_down = down;
            p.last_up = up;
        }
        let down = self.shared.downloaded.load(Ordering::Relaxed);
        let up = self.shared.uploaded.load(Ordering::Relaxed);
        self.down_rate = smooth(self.down_rate, (down - self.last_totals.0) as f64 / secs);
        self.up_rate = smooth(self.up_rate, (up - self.last_totals.1) as f64 / secs);
        self.last_totals = (down, up);
        if down != self.last_downloaded {
            self.last_downloaded = down;
            self.last_progress = Instant::now();
        }
    }

    fn run_choker(&mut self) {
        let candidates: Vec<Candidate> = self
            .peers
            .iter()
            .filter(|(_, p)| p.peer_id.is_some())
            .map(|(k, p)| Candidate {
                key: *k,
                interested: p.stats.peer_interested.load(Ordering::Relaxed),
                download_rate: p.down_rate,
                upload_rate: p.up_rate,
                snubbed: p.stats.snubbed.load(Ordering::Relaxed),
            })
            .collect();
        let unchoke = self.choker.round(&candidates, self.shared.is_complete());
        for (k, p) in self.peers.iter_mut() {
            let want = unchoke.contains(k);
            if want != p.unchoked {
                p.unchoked = want;
                let _ = p.cmd.send(if want {
                    PeerCmd::Unchoke
                } else {
                    PeerCmd::Choke
                });
            }
        }
    }

    fn check_timeout(&self) -> Result<(), SessionError> {
        let Some(timeout) = self.opts.timeout else {
            return Ok(());
        };
        if self.shared.is_complete() || self.last_progress.elapsed() < timeout {
            return Ok(());
        }
        let secs = timeout.as_secs();
        let connected = self.peers.values().filter(|p| p.peer_id.is_some()).count();
        if connected == 0 {
            Err(SessionError::NoPeers {
                known: self.known.len(),
                tracker: match &self.trackers {
                    None => "no tracker used",
                    Some(t) if t.reached => "the tracker gave no usable peer",
                    Some(_) => "no tracker reachable",
                },
                secs,
            })
        } else {
            Err(SessionError::Stalled {
                peers: connected,
                secs,
            })
        }
    }

    /// Saves the resume record off the runtime if pieces were verified since the last save,
    /// without flushing the data (trusted until the next boot; see `resume`).
    fn save_resume_in_background(&mut self) {
        let picker = self.shared.picker();
        let have_count = picker.have_count();
        if have_count == self.saved_have {
            return;
        }
        let have = picker.have_flags();
        drop(picker);
        self.saved_have = have_count;
        let storage = self.shared.storage.clone();
        let meta = self.meta.clone();
        tokio::task::spawn_blocking(move || {
            if let Err(e) = ResumeRecord::save_unflushed(&storage, &meta, &have) {
                tracing::warn!("cannot save the resume record: {e}");
            }
        });
    }

    /// Flushes the data and saves a durable resume record, off the runtime (when we stay to
    /// seed a completed download, so nothing waits for the disk).
    fn save_durable_resume_in_background(&self) {
        let have = self.shared.picker().have_flags();
        let storage = self.shared.storage.clone();
        let meta = self.meta.clone();
        tokio::task::spawn_blocking(move || {
            if let Err(e) = ResumeRecord::save_flushed(&storage, &meta, &have) {
                tracing::warn!("cannot save the resume record: {e}");
            }
        });
    }

    fn snapshot(&self) -> Snapshot {
        let (pieces_done, verified_bytes) = {
            let picker = self.shared.picker();
            let done = picker.have_count();
            let bytes = if picker.is_complete() {
                self.meta.info.total_length()
            } else {
                (0..picker.piece_count())
                    .filter(|i| picker.has(*i))
                    .map(|i| u64::from(picker.piece_size(i)))
                    .sum()
            };
            (done, bytes)
        };
        let peers = self
            .peers
            .values()
            .filter_map(|p| {
                let id = p.peer_id?;
                Some(PeerSnapshot {
                    addr: p.addr,
                    client: wire::peer_id::client_name(&id),
                    down_rate: p.down_rate,
                    up_rate: p.up_rate,
                    pieces: p.stats.pieces.load(Ordering::Relaxed),
                    downloaded: p.stats.downloaded.load(Ordering::Relaxed),
                    uploaded: p.stats.uploaded.load(Ordering::Relaxed),
                })
            })
            .collect::<Vec<_>>();
        Snapshot {
            verified_bytes,
            total_bytes: self.meta.info.total_length(),
            downloaded_bytes: self.shared.downloaded.load(Ordering::Relaxed),
            uploaded_bytes: self.shared.uploaded.load(Ordering::Relaxed),
            down_rate: self.down_rate,
            up_rate: self.up_rate,
            peers_connected: peers.len(),
            peers_known: self.known.len().max(peers.len()),
            pieces_done,
            piece_count: self.shared.piece_count,
            peers,
        }
    }

    fn report(&self) {
        self.progress.update(&self.snapshot());
    }

    /// Closes every connection, saves the resume record and prints the summary.
    async fn shutdown(mut self, outcome: Outcome) -> Result<Outcome, SessionError> {
        self.broadcast(|| PeerCmd::Close);
        if let Some(t) = self.trackers.take() {
            self.update_trackers_with(&t);
            let _ = t.events.send(announcer::Event::Stopped).await;
            let _ = tokio::time::timeout(Duration::from_secs(8), t.task).await;
        }
        // No flush: exiting does not wait for the disk (the record is trusted until the next
        // boot), except when seeding data we did not write, where there is nothing to flush.
        let have = self.shared.picker().have_flags();
        let storage = self.shared.storage.clone();
        let meta = self.meta.clone();
        let durable = self.opts.seed_only;
        let saved = tokio::task::spawn_blocking(move || {
            if durable {
                ResumeRecord::save_flushed(&storage, &meta, &have)
            } else {
                ResumeRecord::save_unflushed(&storage, &meta, &have)
            }
        })
        .await;
        if let Ok(Err(e)) = saved {
            tracing::warn!("cannot save the resume record: {e}");
        }
        self.update_rates();
        self.report();
        self.progress.finish(&Summary {
            complete: self.shared.is_complete(),
            total_bytes: self.meta.info.total_length(),
            downloaded_bytes: self.shared.downloaded.load(Ordering::Relaxed),
            uploaded_bytes: self.shared.uploaded.load(Ordering::Relaxed),
            elapsed: self.started.elapsed(),
            peers_used: self.peers_used,
        });
        self.peers.clear();
        Ok(outcome)
    }
}

impl Session {
    /// Starts the announce task when the metainfo names usable trackers.
    fn start_trackers(&mut self) {
        let announcer = Announcer::new(
            self.meta.trackers(),
            self.meta.info_hash,
            self.shared.peer_id,
            self.listen_port,
        );
        if !announcer.has_trackers() {
            return;
        }
        let (events_tx, events_rx) = mpsc::channel(8);
        let (stats_tx, stats_rx) = tokio::sync::watch::channel(self.transfer_stats());
        let (peers_tx, mut peers_rx) = mpsc::channel(16);
        let (status_tx, mut status_rx) = mpsc::channel(16);
        let task = tokio::spawn(announcer.run(stats_rx, events_rx, peers_tx, status_tx));
        // Forward what the announcer finds into the session's event stream.
        let events = self.shared.events.clone();
        tokio::spawn(async move {
            while let Some(addrs) = peers_rx.recv().await {
                if events.send(Event::TrackerPeers(addrs)).is_err() {
                    return;
                }
            }
        });
        let events = self.shared.events.clone();
        tokio::spawn(async move {
            while let Some(status) = status_rx.recv().await {
                if events.send(Event::Tracker(status)).is_err() {
                    return;
                }
            }
        });
        self.trackers = Some(Trackers {
            events: events_tx,
            stats: stats_tx,
            task,
            reached: false,
            last_need_peers: Instant::now(),
        });
    }

    fn transfer_stats(&self) -> TransferStats {
        let left = {
            let picker = self.shared.picker();
            (0..picker.piece_count())
                .filter(|i| !picker.has(*i))
                .map(|i| u64::from(picker.piece_size(i)))
                .sum()
        };
        TransferStats {
            uploaded: self.shared.uploaded.load(Ordering::Relaxed),
            downloaded: self.shared.downloaded.load(Ordering::Relaxed),
            left,
        }
    }

    /// Keeps the announce totals current and asks for peers when we have few.
    fn update_trackers(&mut self) {
        let connected = self.peers.len();
        let Some(t) = self.trackers.as_mut() else {
            return;
        };
        if connected < 5
            && !self.shared.is_complete()
            && t.last_need_peers.elapsed() > Duration::from_secs(15)
        {
            t.last_need_peers = Instant::now();
            let _ = t.events.try_send(announcer::Event::NeedPeers);
        }
        if let Some(t) = self.trackers.take() {
            self.update_trackers_with(&t);
            self.trackers = Some(t);
        }
    }

    fn update_trackers_with(&self, t: &Trackers) {
        let stats = self.transfer_stats();
        t.stats.send_if_modified(|s| {
            let changed = *s != stats;
            *s = stats;
            changed
        });
    }

    fn on_tracker_status(&mut self, status: TrackerStatus) {
        match status {
            TrackerStatus::Announced { url, peers, .. } => {
                if let Some(t) = self.trackers.as_mut() {
                    t.reached = true;
                }
                tracing::debug!(%url, peers, "announced");
                self.progress.event(
                    "tracker_announced",
                    serde_json::json!({ "url": url, "peers": peers }),
                );
            }
            TrackerStatus::Warning { url, message } => {
                self.progress.event(
                    "tracker_warning",
                    serde_json::json!({ "url": url, "message": message }),
                );
            }
            TrackerStatus::Failed { url, error } => {
                tracing::info!(%url, %error, "tracker failed");
                self.progress.event(
                    "tracker_error",
                    serde_json::json!({ "url": url, "error": error }),
                );
            }
            TrackerStatus::AllFailed { retry_in } => {
                self.progress.event(
                    "trackers_down",
                    serde_json::json!({ "retry_in_secs": retry_in.as_secs() }),
                );
            }
        }
    }
}

/// Exponential smoothing of a rate sample.
fn smooth(old: f64, sample: f64) -> f64 {
    0.7 * old + 0.3 * sample
}
