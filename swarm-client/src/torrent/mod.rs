//! One torrent in a session: its picker (through [`shared::TorrentShared`], which its peer
//! connections work on), its peers, the addresses it knows, its trackers, and its progress.
//!
//! A `Torrent` is owned by the session loop and changed only there, in order: the loop hands
//! it the [`Signal`]s its tasks send and calls it on every tick. What the session shares
//! across torrents (connection budget, upload slots, the event channel) comes in a
//! [`Context`].

mod address_book;
mod announce;
mod blame;
mod checking;
mod context;
pub mod open;
mod peers;
pub mod picker;
mod shared;
pub mod signal;

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use metainfo::Metainfo;
use tokio::net::TcpStream;
use tokio::sync::mpsc;

use crate::events::{Event, Summary, TorrentError, TorrentId, TorrentState, TorrentStats};
use crate::extension::{PexLimiter, PexMessage};
use crate::peer::{self, Conn, Notice, PeerCmd, PeerKey, PeerSetup};
use crate::state::TorrentRecord;
use crate::tracker_client::TrackerStatus;
use crate::tracker_client::announcer::TransferStats;
use crate::wire::handshake::Extensions;
use crate::wire::{self, Bitfield, Handshake};
use address_book::{AddressBook, STRIKE_PROVEN, STRIKE_SOLE};
use announce::Trackers;
pub use context::Context;
use open::Opened;
pub use peers::{ChokeCandidate, SPREAD_SEED_SLOTS};
use peers::{PeerEntry, PeerTable, smooth};
use picker::Picker;
use shared::TorrentShared;
use signal::Signal;

/// How often the resume record is saved while pieces keep arriving.
const RESUME_EVERY: Duration = Duration::from_secs(5);
/// Fewer connected peers than this makes the torrent ask its trackers for more.
const FEW_PEERS: usize = 5;

/// What the user wants done with a torrent.
#[derive(Debug, Clone)]
pub struct TorrentSpec {
    pub meta: Metainfo,
    /// The folder the torrent's files are in (or go into).
    pub data_dir: PathBuf,
    /// Serve what is in `data_dir` and download nothing: files are opened read-only and
    /// nothing is created (`swarm seed`).
    pub seed_only: bool,
    /// After completing, go on dialling peers to seed (not only answering them).
    pub keep_seeding: bool,
    /// Peers given by the user.
    pub peers: Vec<SocketAddr>,
    /// Announce to the metainfo's trackers.
    pub use_trackers: bool,
    /// Give up when nothing arrives for this long while incomplete.
    pub stall_timeout: Option<Duration>,
    /// Pieces known to be good already (the data was just hashed to make the metainfo).
    pub verified: Option<Bitfield>,
    /// Stop seeding once this session uploaded this many times the torrent's size.
    pub seed_ratio: Option<f64>,
    /// Stop seeding after seeding this long.
    pub seed_time: Option<Duration>,
}

/// A torrent in the session.
pub struct Torrent {
    id: TorrentId,
    meta: Arc<Metainfo>,
    spec: TorrentSpec,
    shared: Arc<TorrentShared>,
    record: Arc<TorrentRecord>,
    ours: Handshake,
    peers: PeerTable,
    book: AddressBook,
    /// Bounds the peers taken from peer exchange.
    pex_limit: PexLimiter,
    trackers: Option<Trackers>,
    started: Instant,
    completed_at: Option<Instant>,
    /// Since when we serve a complete torrent (or all we have, seeding only).
    seeding_since: Option<Instant>,
    /// The seed ratio or time was reached: the session stops the torrent.
    goal_reached: bool,
    /// We seed, and the connected peers hold every piece between them: the torrent keeps
    /// only [`SPREAD_SEED_SLOTS`] upload slots (see `session::choker`).
    spread: bool,
    failed: bool,
    last_progress: Instant,
    last_downloaded: u64,
    last_resume: Instant,
    /// Pieces we had when the torrent joined the session.
    initial_pieces: u32,
    saved_have: u32,
    peers_used: usize,
    down_rate: f64,
    up_rate: f64,
    last_totals: (u64, u64),
}

impl Torrent {
    /// Torrent `id`, opened, joins the session: its peers are dialled on the next tick.
    pub fn new(id: TorrentId, spec: TorrentSpec, opened: Opened, ctx: &mut Context) -> Torrent {
        let meta = Arc::new(spec.meta.clone());
        let Opened {
            storage,
            have,
            record,
        } = opened;
        let piece_length = storage.geometry().piece_length();
        let mut picker = Picker::new(storage.geometry().clone(), &have, ctx.pool.clone(), id);
        if spec.seed_only {
            picker.seed_only();
        }
        let disk = ctx.disk.for_torrent(
            storage.clone(),
            !spec.seed_only && storage.uses_direct_writes(),
            (crate::disk::buffers::DEFAULT_BUDGET / u64::from(piece_length.max(1))) as usize / 2,
        );
        let saved_have = have.count();
        let shared = TorrentShared::new(
            id,
            &meta,
            ctx.listen_port,
            storage,
            disk,
            ctx.cache.clone(),
            picker,
            ctx.signals.clone(),
        );
        let now = Instant::now();
        let mut book = AddressBook::default();
        for addr in &spec.peers {
            book.add(*addr);
        }
        let mut torrent = Torrent {
            id,
            ours: Handshake::with_extensions(meta.info_hash, ctx.peer_id, Extensions::ALL),
            meta,
            shared,
            record: Arc::new(record),
            peers: PeerTable::default(),
            book,
            pex_limit: PexLimiter::with_defaults(now),
            trackers: None,
            started: now,
            completed_at: None,
            seeding_since: spec.seed_only.then_some(now),
            spread: false,
            goal_reached: false,
            failed: false,
            last_progress: now,
            last_downloaded: 0,
            last_resume: now,
            initial_pieces: saved_have,
            saved_have,
            peers_used: 0,
            down_rate: 0.0,
            up_rate: 0.0,
            last_totals: (0, 0),
            spec,
        };
        ctx.emit(Event::Started {
            torrent: id,
            pieces: saved_have,
            incomplete: if torrent.spec.seed_only {
                open::incomplete_files(&torrent.meta.info, &have, &torrent.spec.data_dir)
            } else {
                Vec::new()
            },
        });
        if torrent.spec.use_trackers {
            torrent.trackers = Trackers::start(
                id,
                torrent.meta.trackers(),
                torrent.meta.info_hash,
                ctx.peer_id,
                ctx.listen_port,
                torrent.transfer_stats(),
                ctx.signals.clone(),
            );
        }
        if torrent.is_complete() {
            torrent.on_complete(ctx);
        }
        torrent
    }

    pub fn id(&self) -> TorrentId {
        self.id
    }

    pub fn info_hash(&self) -> metainfo::InfoHash {
        self.meta.info_hash
    }

    /// Our handshake for this torrent (what the session's listener answers with).
    pub fn handshake(&self) -> Handshake {
        self.ours
    }

    pub fn is_complete(&self) -> bool {
        self.shared.have().is_complete()
    }

    /// Stopped trying (a storage error or no peers for too long).
    pub fn has_failed(&self) -> bool {
        self.failed
    }

    /// Peers connected now.
    pub fn peer_count(&self) -> usize {
        self.peers.len()
    }

    /// Handles one signal from the torrent's tasks.
    pub fn on_signal(&mut self, signal: Signal, ctx: &mut Context) {
        match signal {
            Signal::Peer(key, notice) => self.on_notice(key, notice, ctx),
            Signal::PieceChecked {
                index,
                ok,
                contributors,
                culprits,
            } => self.on_piece_checked(index, ok, &contributors, culprits, ctx),
            Signal::StorageFailed(e) => self.fail(TorrentError::Storage(e), ctx),
            Signal::Wake => self.peers.broadcast(|| PeerCmd::Refill),
            Signal::Spread => self.check_spread(ctx),
            Signal::TrackerPeers(addrs) => {
                for addr in addrs {
                    self.book.add(addr);
                }
                self.connect_more(ctx);
            }
            Signal::Tracker(status) => {
                if let (TrackerStatus::Announced { .. }, Some(t)) = (&status, &mut self.trackers) {
                    t.reached = true;
                }
                ctx.emit(Event::Tracker {
                    torrent: self.id,
                    status,
                });
            }
        }
    }

    fn on_notice(&mut self, key: PeerKey, notice: Notice, ctx: &mut Context) {
        match notice {
            Notice::Ready { peer_id } => {
                let Some(p) = self.peers.get_mut(key) else {
                    return;
                };
                p.peer_id = Some(peer_id);
                self.peers_used += 1;
                self.book.reached(p.addr);
                let client = wire::peer_id::client_name(&peer_id);
                tracing::debug!(peer = %p.addr, %client, "connected");
                ctx.emit(Event::PeerConnected {
                    torrent: self.id,
                    addr: p.addr,
                    client,
                });
            }
            Notice::Interested => {
                if ctx.unchoked < ctx.upload_slots + 1
                    && self.own_free_slots() > 0
                    && let Some(p) = self.peers.get_mut(key)
                    && !p.unchoked
                {
                    p.unchoked = true;
                    ctx.unchoked += 1;
                    p.send(PeerCmd::Unchoke);
                }
            }
            Notice::NotInterested => {
                // Its slot would idle until the next choke round: give it to a waiting peer.
                if self.peers.choke(key) {
                    ctx.unchoked = ctx.unchoked.saturating_sub(1);
                    self.shared.picker().forget_uploads(key);
                }
                self.fill_free_slots(ctx);
            }
            Notice::CancelOthers(block) => self.peers.cancel_others(key, block),
            Notice::BlocksReleased => self.peers.broadcast(|| PeerCmd::Refill),
            Notice::Extended {
                client,
                listen_port,
                pex,
            } => {
                let private = self.meta.info.private;
                if let Some(p) = self.peers.get_mut(key) {
                    p.greeted(client, listen_port, pex && !private);
                }
            }
            Notice::Pex(message) => self.on_pex(key, message, ctx),
            Notice::Closed { reason, misbehaved } => {
                self.on_peer_closed(key, reason, misbehaved, ctx)
            }
        }
    }

    /// Peers a peer told us of (BEP 11): checked (no port 0, not ourselves, no local
    /// addresses from a remote peer), bounded per message and per minute, merged into the
    /// address book (which drops duplicates, tracker peers included), then dialled.
    fn on_pex(&mut self, key: PeerKey, mut message: PexMessage, ctx: &mut Context) {
        if self.meta.info.private {
            return;
        }
        let Some(source) = self.peers.get(key).map(|p| p.addr.ip()) else {
            return;
        };
        let port = ctx.listen_port;
        let ours = [
            SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port),
            SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), port),
        ];
        let refused = message.retain_usable(source, &ours);
        let admitted = self.pex_limit.admit(message.added.len(), Instant::now());
        tracing::debug!(
            %source,
            added = message.added.len(),
            refused,
            admitted,
            "peer exchange"
        );
        for peer in message.added.iter().take(admitted) {
            self.book.add(peer.addr);
        }
        if admitted > 0 {
            self.connect_more(ctx);
        }
    }

    fn on_piece_checked(
        &mut self,
        index: u32,
        ok: bool,
        contributors: &[PeerKey],
        culprits: Vec<PeerKey>,
        ctx: &mut Context,
    ) {
        for key in culprits {
            self.strike(key, STRIKE_PROVEN, ctx);
        }
        if !ok {
            tracing::info!(
                piece = index,
                "piece failed its hash check; fetching it again"
            );
            ctx.emit(Event::PieceFailed {
                torrent: self.id,
                index,
                peers: contributors.len(),
            });
            // A piece from one peer alone is surely its fault; a shared one is settled when
            // the piece passes (see `blame`).
            if let [only] = contributors {
                self.strike(*only, STRIKE_SOLE, ctx);
            }
            self.peers.broadcast(|| PeerCmd::Refill);
            return;
        }
        self.last_progress = Instant::now();
        ctx.emit(Event::PieceVerified {
            torrent: self.id,
            index,
        });
        self.peers.broadcast(|| PeerCmd::Have(index));
        if self.is_complete() && self.completed_at.is_none() {
            self.on_complete(ctx);
        }
    }

    /// Every piece is verified: tell peers and trackers, keep a durable record if staying.
    fn on_complete(&mut self, ctx: &mut Context) {
        let now = Instant::now();
        self.completed_at = Some(now);
        self.seeding_since.get_or_insert(now);
        ctx.pool.release_spares();
        ctx.emit(Event::Complete { torrent: self.id });
        self.peers.broadcast(|| PeerCmd::Completed);
        if self.spec.keep_seeding {
            self.save_resume(true);
        }
        let stats = self.transfer_stats();
        if let Some(t) = &self.trackers {
            t.update(stats);
            t.completed();
        }
    }

    /// Adds penalty points to the peer behind `key`; bans it past the limit.
    fn strike(&mut self, key: PeerKey, points: u32, ctx: &mut Context) {
        let Some(p) = self.peers.get(key) else {
            return;
        };
        if !self.book.strike(p.addr, points) {
            return;
        }
        tracing::warn!(peer = %p.addr, "banned: sent bad data");
        ctx.emit(Event::PeerBanned {
            torrent: self.id,
            addr: p.addr,
            reason: "sent bad data".into(),
        });
        if let Some(id) = p.peer_id {
            self.shared.ban(id);
        }
        p.send(PeerCmd::Close);
    }

    fn on_peer_closed(
        &mut self,
        key: PeerKey,
        reason: Option<String>,
        misbehaved: bool,
        ctx: &mut Context,
    ) {
        let Some(p) = self.peers.remove(key) else {
            return;
        };
        ctx.connected = ctx.connected.saturating_sub(1);
        self.shared.picker().forget_uploads(key);
        if p.unchoked {
            ctx.unchoked = ctx.unchoked.saturating_sub(1);
            self.fill_free_slots(ctx);
        }
        let reason = reason.as_deref().unwrap_or("closed");
        tracing::debug!(peer = %p.addr, reason, "disconnected");
        if p.stats.pieces.load(Ordering::Relaxed) == self.meta.info.piece_count() {
            self.book.mark_seed(p.addr);
        }
        if misbehaved {
            ctx.emit(Event::PeerDropped {
                torrent: self.id,
                addr: p.addr,
                reason: reason.to_string(),
            });
            if let Some(id) = p.peer_id {
                self.shared.ban(id);
            }
        }
        self.book.closed(p.addr, misbehaved);
    }

    /// How many more of this torrent's peers may be unchoked now, whatever the session's
    /// slots: a spread seed keeps [`SPREAD_SEED_SLOTS`] and the optimistic one.
    fn own_free_slots(&self) -> usize {
        if self.spread {
            (SPREAD_SEED_SLOTS + 1).saturating_sub(self.peers.unchoked_count())
        } else {
            usize::MAX
        }
    }

    /// Follows whether the swarm holds every piece we seed. When it comes to, a choke round
    /// runs at once so the slots shrink now, not at the next round; when it no longer does
    /// (a holder left), initial seeding takes free slots again.
    fn check_spread(&mut self, ctx: &mut Context) {
        let spread = !self.failed && self.shared.picker().spread();
        if spread == self.spread {
            return;
        }
        self.spread = spread;
        tracing::debug!(torrent = %self.meta.info.name, spread, "connected peers hold every piece");
        if spread {
            ctx.rechoke = true;
        } else {
            self.fill_free_slots(ctx);
        }
    }

    /// Gives upload slots left free (over the session) to interested peers we choke, now
    /// rather than at the next choke round.
    fn fill_free_slots(&mut self, ctx: &mut Context) {
        let free = (ctx.upload_slots + 1)
            .saturating_sub(ctx.unchoked)
            .min(self.own_free_slots());
        if free > 0 && !self.failed {
            let seeding = self.is_complete() || self.spec.seed_only;
            ctx.unchoked += self.peers.unchoke_waiting(free, seeding);
        }
    }

    /// Takes a connection the listener accepted for this torrent (handshake done).
    pub fn accept(
        &mut self,
        stream: TcpStream,
        addr: SocketAddr,
        theirs: Handshake,
        ctx: &mut Context,
    ) {
        if ctx.connected >= ctx.max_peers || self.failed {
            return;
        }
        self.book.add(addr);
        self.book.mark_connected(addr);
        self.spawn_peer(addr, Conn::Incoming { stream, theirs }, ctx);
    }

    /// Dials known peers while the session has room.
    fn connect_more(&mut self, ctx: &mut Context) {
        if self.failed || (self.is_complete() && !self.spec.keep_seeding) {
            return;
        }
        let room = ctx.max_peers.saturating_sub(ctx.connected);
        let complete = self.is_complete() || self.spec.seed_only;
        for addr in self.book.take_due(Instant::now(), room, complete) {
            self.spawn_peer(addr, Conn::Outgoing, ctx);
        }
    }

    fn spawn_peer(&mut self, addr: SocketAddr, conn: Conn, ctx: &mut Context) {
        let key = ctx.new_key();
        let (cmd, cmds) = mpsc::unbounded_channel();
        let stats = Arc::new(peer::PeerStats::default());
        let dialled = matches!(conn, Conn::Outgoing);
        self.peers
            .insert(key, PeerEntry::new(addr, dialled, cmd, stats.clone()));
        ctx.connected += 1;
        peer::spawn(PeerSetup {
            handler: self.shared.clone(),
            key,
            addr,
            conn,
            ours: self.ours,
            cmds,
            stats,
            limits: ctx.limits.clone(),
        });
    }

    /// Housekeeping, every `elapsed` (the session's tick): rates, dialling, resume saves,
    /// tracker totals, and the stall timeout.
    pub fn tick(&mut self, elapsed: Duration, ctx: &mut Context) {
        if self.failed {
            return;
        }
        self.update_rates(elapsed);
        self.check_spread(ctx);
        self.connect_more(ctx);
        if self.last_resume.elapsed() >= RESUME_EVERY {
            self.last_resume = Instant::now();
            self.save_resume(false);
        }
        let stats = self.transfer_stats();
        let few_peers = self.peers.len() < FEW_PEERS && !self.is_complete();
        if let Some(t) = self.trackers.as_mut() {
            if few_peers {
                t.need_peers();
            }
            t.update(stats);
        }
        if let Err(e) = self.check_stall() {
            self.fail(e, ctx);
        }
        self.check_seed_goal(ctx);
        if !self.meta.info.private {
            self.peers
                .exchange_peers(self.meta.info.piece_count(), Instant::now());
        }
    }

    /// Has the torrent seeded enough (`--seed-ratio`, `--seed-time`)? The session then
    /// stops it.
    pub fn goal_reached(&self) -> bool {
        self.goal_reached
    }

    fn check_seed_goal(&mut self, ctx: &mut Context) {
        let Some(since) = self.seeding_since else {
            return;
        };
        if self.goal_reached {
            return;
        }
        let seeded_for = since.elapsed();
        let (_, uploaded) = self.totals();
        let ratio = uploaded as f64 / self.meta.info.total_length().max(1) as f64;
        let by_ratio = self.spec.seed_ratio.is_some_and(|r| ratio >= r);
        let by_time = self.spec.seed_time.is_some_and(|t| seeded_for >= t);
        if by_ratio || by_time {
            self.goal_reached = true;
            ctx.emit(Event::SeedGoalReached {
                torrent: self.id,
                ratio,
                seeded_for,
            });
        }
    }

    fn update_rates(&mut self, elapsed: Duration) {
        let secs = elapsed.as_secs_f64().max(1e-3);
        self.peers.update_rates(elapsed);
        let (down, up) = self.totals();
        self.down_rate = smooth(self.down_rate, (down - self.last_totals.0) as f64 / secs);
        self.up_rate = smooth(self.up_rate, (up - self.last_totals.1) as f64 / secs);
        self.last_totals = (down, up);
        if down != self.last_downloaded {
            self.last_downloaded = down;
            self.last_progress = Instant::now();
        }
    }

    /// Payload bytes received and sent this session.
    fn totals(&self) -> (u64, u64) {
        let t = &self.shared.transfer;
        (
            t.downloaded.load(Ordering::Relaxed),
            t.uploaded.load(Ordering::Relaxed),
        )
    }

    fn check_stall(&self) -> Result<(), TorrentError> {
        let Some(timeout) = self.spec.stall_timeout else {
            return Ok(());
        };
        if self.is_complete() || self.spec.seed_only || self.last_progress.elapsed() < timeout {
            return Ok(());
        }
        let secs = timeout.as_secs();
        let connected = self.peers.handshaken();
        if connected > 0 {
            return Err(TorrentError::Stalled {
                peers: connected,
                secs,
            });
        }
        Err(TorrentError::NoPeers {
            known: self.book.len(),
            tracker: match &self.trackers {
                None => "no tracker used",
                Some(t) if t.reached => "the tracker gave no usable peer",
                Some(_) => "no tracker reachable",
            },
            secs,
        })
    }

    /// The torrent cannot go on: its peers are closed and the user told.
    fn fail(&mut self, error: TorrentError, ctx: &mut Context) {
        if self.failed {
            return;
        }
        self.failed = true;
        self.peers.broadcast(|| PeerCmd::Close);
        ctx.emit(Event::Failed {
            torrent: self.id,
            error,
        });
    }

    /// The peers the choker may rank.
    pub fn choke_candidates(&self, out: &mut Vec<ChokeCandidate>) {
        let seeding = self.is_complete() || self.spec.seed_only;
        self.peers
            .choke_candidates(self.id, seeding, self.spread, out);
    }

    /// Applies a choke round: the peers in `unchoke` may download from us, the others not.
    /// A peer we choke loses the pieces set aside for it (its queued requests are dropped).
    pub fn apply_choke(&mut self, unchoke: &HashSet<PeerKey>, ctx: &mut Context) {
        let (change, choked) = self.peers.apply_choke(unchoke);
        ctx.unchoked = ctx.unchoked.saturating_add_signed(change);
        if !choked.is_empty() {
            let mut picker = self.shared.picker();
            for key in choked {
                picker.forget_uploads(key);
            }
        }
    }

    /// Saves the resume record off the runtime if pieces were verified since the last save;
    /// `durable` flushes the data first.
    fn save_resume(&mut self, durable: bool) {
        let have = self.shared.have();
        if have.count() == self.saved_have && !durable {
            return;
        }
        self.saved_have = have.count();
        let have = have.to_bitfield();
        let record = self.record.clone();
        let storage = self.shared.storage.clone();
        let meta = self.meta.clone();
        tokio::task::spawn_blocking(move || {
            let saved = if durable {
                record.save_resume_flushed(&storage, &meta.info_hash, &meta.info, &have)
            } else {
                record.save_resume_unflushed(&meta.info_hash, &meta.info, &have)
            };
            if let Err(e) = saved {
                tracing::warn!("cannot save the resume record: {e}");
            }
        });
    }

    fn transfer_stats(&self) -> TransferStats {
        let (downloaded, uploaded) = self.totals();
        TransferStats {
            uploaded,
            downloaded,
            left: self.meta.info.total_length() - self.verified_bytes(),
        }
    }

    /// Bytes of the pieces we have.
    fn verified_bytes(&self) -> u64 {
        let have = self.shared.have();
        if have.is_complete() {
            return self.meta.info.total_length();
        }
        let picker = self.shared.picker();
        (0..picker.piece_count())
            .filter(|i| have.contains(*i))
            .map(|i| u64::from(picker.piece_size(i)))
            .sum()
    }

    /// The torrent now, for the progress view.
    pub fn stats(&self) -> TorrentStats {
        let (downloaded, uploaded) = self.totals();
        let peers = self.peers.snapshots();
        let state = if self.is_complete() || self.spec.seed_only {
            TorrentState::Seeding
        } else {
            TorrentState::Downloading
        };
        TorrentStats {
            torrent: self.id,
            name: self.meta.info.name.clone(),
            state,
            verified_bytes: self.verified_bytes(),
            total_bytes: self.meta.info.total_length(),
            downloaded_bytes: downloaded,
            uploaded_bytes: uploaded,
            down_rate: self.down_rate,
            up_rate: self.up_rate,
            peers_connected: peers.len(),
            peers_known: self.book.len().max(peers.len()),
            pieces_done: self.shared.have().count(),
            piece_count: self.meta.info.piece_count(),
            peers,
        }
    }

    /// Leaves the session: closes the peers and gives back their slots now; the returned
    /// future announces `stopped`, saves the resume record (durable when seeding data we did
    /// not write) and reports the summary, and can run alongside other torrents' stops.
    pub fn stop(self, ctx: &mut Context) -> impl Future<Output = ()> + Send + 'static {
        self.peers.broadcast(|| PeerCmd::Close);
        ctx.connected = ctx.connected.saturating_sub(self.peers.len());
        ctx.unchoked = ctx.unchoked.saturating_sub(self.peers.unchoked());
        ctx.pool.forget(self.id);
        self.shared.forget_cached();
        let events = ctx.events.clone();
        async move {
            let mut this = self;
            if let Some(t) = this.trackers.take() {
                t.stop(this.transfer_stats()).await;
            }
            this.save_final_record().await;
            let _ = events.send(Event::Stopped {
                torrent: this.id,
                summary: this.summary(),
            });
        }
    }

    /// Saves the resume record at the end. No flush: exiting does not wait for the disk (the
    /// record is trusted until the next boot), except when seeding data we did not write,
    /// where there is nothing to flush.
    async fn save_final_record(&self) {
        let have = self.shared.have().to_bitfield();
        let record = self.record.clone();
        let storage = self.shared.storage.clone();
        let meta = self.meta.clone();
        let durable = self.spec.seed_only;
        let saved = tokio::task::spawn_blocking(move || {
            if durable {
                record.save_resume_flushed(&storage, &meta.info_hash, &meta.info, &have)
            } else {
                record.save_resume_unflushed(&meta.info_hash, &meta.info, &have)
            }
        })
        .await;
        if let Ok(Err(e)) = saved {
            tracing::warn!("cannot save the resume record: {e}");
        }
    }

    fn summary(&self) -> Summary {
        let (downloaded, uploaded) = self.totals();
        let downloaded_now = self.initial_pieces < self.meta.info.piece_count();
        Summary {
            name: self.meta.info.name.clone(),
            complete: self.is_complete(),
            total_bytes: self.meta.info.total_length(),
            downloaded_bytes: downloaded,
            uploaded_bytes: uploaded,
            elapsed: self.started.elapsed(),
            download_time: self
                .completed_at
                .filter(|_| downloaded_now)
                .map(|at| at.duration_since(self.started)),
            peers_used: self.peers_used,
        }
    }
}
