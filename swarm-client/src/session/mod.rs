//! A session: many torrents in one process, sharing one listening port (connections routed by
//! info-hash), the connection budget, the upload slots and the choker, the disk threads, the
//! piece-buffer pool and the state directory.
//!
//! [`Session::start`] binds the port and runs the session loop on its own task; the returned
//! handle adds and removes torrents, and the loop reports everything as typed
//! [`Event`]s on a channel. The loop owns every [`Torrent`] and changes them in order,
//! driven by their tasks' signals, accepted connections, commands and a clock.

mod choker;
pub mod listener;
mod router;

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::future::join_all;
use tokio::sync::{mpsc, oneshot};

use crate::disk::{BufferPool, DiskIo, DiskThreads, ReadCache, read_cache};
use crate::events::{Event, SessionStats, TorrentError, TorrentId};
use crate::peer::{Limits, RateLimit};
use crate::state::StateDir;
use crate::torrent::open::{self, Opened};
use crate::torrent::signal::{Signal, Signals};
use crate::torrent::{Context, Torrent, TorrentSpec};
use crate::wire;
use choker::Choker;
pub use choker::UPLOAD_SLOTS;
use listener::Incoming;
use router::Router;

/// How often the session loop wakes up for housekeeping (and reports [`Event::Stats`]).
const TICK: Duration = Duration::from_millis(500);
/// How often the choker runs.
const CHOKE_EVERY: Duration = Duration::from_secs(10);

/// How a session runs.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// Address to listen on.
    pub bind: IpAddr,
    /// Listening port (`None`: 6881–6889; `Some(0)`: any).
    pub port: Option<u16>,
    /// Most peer connections over all torrents.
    pub max_peers: usize,
    /// Regular upload slots over all torrents (plus one optimistic).
    pub upload_slots: usize,
    /// How downloaded data is written.
    pub disk_io: DiskIo,
    /// Where resume records and metainfo copies live.
    pub state: StateDir,
    /// Memory for the buffers of pieces being downloaded or verified.
    pub buffer_budget: u64,
    /// Most bytes per second sent / received over all torrents (0: unlimited).
    pub up_rate: u64,
    pub down_rate: u64,
}

/// Why a session could not start.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error("cannot listen for peers on {addr}: {source}")]
    Listen {
        addr: String,
        source: std::io::Error,
    },
    #[error("cannot start the disk threads: {0}")]
    DiskThreads(std::io::Error),
}

/// Why a torrent could not be added.
#[derive(Debug, thiserror::Error)]
pub enum AddError {
    #[error("{name} ({info_hash}) is in this session already")]
    Duplicate {
        name: String,
        info_hash: metainfo::InfoHash,
    },
    #[error("the session has ended")]
    SessionGone,
}

enum Command {
    Add {
        spec: Box<TorrentSpec>,
        reply: oneshot::Sender<Result<TorrentId, AddError>>,
    },
    Remove {
        torrent: TorrentId,
        reply: oneshot::Sender<()>,
    },
    Shutdown {
        reply: oneshot::Sender<()>,
    },
}

/// A running session.
pub struct Session {
    commands: mpsc::Sender<Command>,
    listen_port: u16,
    peer_id: wire::PeerId,
    task: tokio::task::JoinHandle<()>,
}

impl Session {
    /// Binds the port, starts the disk threads and the session loop. Events come on the
    /// returned channel until the session ends.
    pub fn start(
        config: SessionConfig,
    ) -> Result<(Session, mpsc::UnboundedReceiver<Event>), SessionError> {
        let listener =
            listener::bind(config.bind, config.port).map_err(|source| SessionError::Listen {
                addr: match config.port {
                    Some(p) => format!("{}:{p}", config.bind),
                    None => format!("{} (ports 6881-6889 and any)", config.bind),
                },
                source,
            })?;
        let listen_port = listener
            .local_addr()
            .map_err(|source| SessionError::Listen {
                addr: config.bind.to_string(),
                source,
            })?
            .port();
        let disk = Arc::new(DiskThreads::start().map_err(SessionError::DiskThreads)?);
        let (events, events_rx) = mpsc::unbounded_channel();
        let (signals, signals_rx) = Signals::channel();
        let (incoming_tx, incoming_rx) = mpsc::channel(64);
        let (commands, commands_rx) = mpsc::channel(16);
        let router = Arc::new(Router::default());
        tokio::spawn(listener::run(listener, router.clone(), incoming_tx));
        let _ = events.send(Event::Listening { port: listen_port });
        let peer_id = wire::peer_id::generate();
        let ctx = Context::new(
            events,
            signals,
            peer_id,
            listen_port,
            Arc::new(BufferPool::new(config.buffer_budget)),
            disk,
            Arc::new(ReadCache::new(read_cache::DEFAULT_BUDGET)),
            config.max_peers.max(1),
            config.upload_slots,
            Limits {
                up: RateLimit::per_second(config.up_rate),
                down: RateLimit::per_second(config.down_rate),
                uploads: Arc::default(),
            },
        );
        let (opened_tx, opened_rx) = mpsc::unbounded_channel();
        let state = Loop {
            config,
            ctx,
            torrents: HashMap::new(),
            opening: HashMap::new(),
            router,
            choker: Choker::new(),
            next_id: 0,
            opened_tx,
            stopping: tokio::task::JoinSet::new(),
        };
        let task = tokio::spawn(state.run(commands_rx, signals_rx, incoming_rx, opened_rx));
        Ok((
            Session {
                commands,
                listen_port,
                peer_id,
                task,
            },
            events_rx,
        ))
    }

    /// The peer id the session's torrents use (for a magnet link's resolution, so trackers
    /// see one peer).
    pub fn peer_id(&self) -> wire::PeerId {
        self.peer_id
    }

    /// The TCP port the session listens on.
    pub fn listen_port(&self) -> u16 {
        self.listen_port
    }

    /// Adds a torrent. It is checked (and joins the swarm) in the background: watch the
    /// events for `Started` or `Failed`.
    pub async fn add(&self, spec: TorrentSpec) -> Result<TorrentId, AddError> {
        let (reply, answer) = oneshot::channel();
        let spec = Box::new(spec);
        self.commands
            .send(Command::Add { spec, reply })
            .await
            .map_err(|_| AddError::SessionGone)?;
        answer.await.map_err(|_| AddError::SessionGone)?
    }

    /// Removes a torrent: its peers are closed, `stopped` announced, its record saved.
    pub async fn remove(&self, torrent: TorrentId) {
        let (reply, done) = oneshot::channel();
        if self
            .commands
            .send(Command::Remove { torrent, reply })
            .await
            .is_ok()
        {
            let _ = done.await;
        }
    }

    /// Stops every torrent (`stopped` announces, records saved; each reports `Stopped`) and
    /// ends the session.
    pub async fn shutdown(self) {
        let (reply, done) = oneshot::channel();
        if self
            .commands
            .send(Command::Shutdown { reply })
            .await
            .is_ok()
        {
            let _ = done.await;
        }
        let _ = self.task.await;
    }
}

/// The result of opening a torrent off the loop.
type OpenResult = (TorrentId, Box<TorrentSpec>, Result<Opened, TorrentError>);

/// The session loop's state.
struct Loop {
    config: SessionConfig,
    ctx: Context,
    torrents: HashMap<TorrentId, Torrent>,
    /// Torrents being opened (checked), by info-hash, to refuse duplicates meanwhile.
    opening: HashMap<TorrentId, metainfo::InfoHash>,
    router: Arc<Router>,
    choker: Choker,
    next_id: u32,
    opened_tx: mpsc::UnboundedSender<OpenResult>,
    /// Torrents stopping in the background (seed goal reached), awaited at shutdown.
    stopping: tokio::task::JoinSet<()>,
}

impl Loop {
    async fn run(
        mut self,
        mut commands: mpsc::Receiver<Command>,
        mut signals: mpsc::UnboundedReceiver<(TorrentId, Signal)>,
        mut incoming: mpsc::Receiver<Incoming>,
        mut opened: mpsc::UnboundedReceiver<OpenResult>,
    ) {
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_tick = Instant::now();
        let mut last_choke = Instant::now();
        loop {
            tokio::select! {
                Some((torrent, signal)) = signals.recv() => {
                    if let Some(t) = self.torrents.get_mut(&torrent) {
                        t.on_signal(signal, &mut self.ctx);
                    }
                    self.rechoke_if_asked();
                }
                Some(conn) = incoming.recv() => {
                    if let Some(t) = self.torrents.get_mut(&conn.torrent) {
                        t.accept(conn.stream, conn.addr, conn.theirs, &mut self.ctx);
                    }
                }
                Some((id, spec, result)) = opened.recv() => self.on_opened(id, spec, result),
                command = commands.recv() => match command {
                    Some(Command::Add { spec, reply }) => {
                        let _ = reply.send(self.add(spec));
                    }
                    Some(Command::Remove { torrent, reply }) => {
                        self.remove(torrent).await;
                        let _ = reply.send(());
                    }
                    Some(Command::Shutdown { reply }) => {
                        self.stop_all().await;
                        let _ = reply.send(());
                        return;
                    }
                    None => {
                        self.stop_all().await;
                        return;
                    }
                },
                _ = tick.tick() => {
                    let elapsed = last_tick.elapsed();
                    last_tick = Instant::now();
                    for t in self.torrents.values_mut() {
                        t.tick(elapsed, &mut self.ctx);
                    }
                    self.stop_finished();
                    self.rechoke_if_asked();
                    if last_choke.elapsed() >= CHOKE_EVERY {
                        last_choke = Instant::now();
                        self.choke_round();
                    }
                    self.report();
                }
            }
        }
    }

    /// Starts opening a torrent off the loop; refuses one that is here already.
    fn add(&mut self, spec: Box<TorrentSpec>) -> Result<TorrentId, AddError> {
        let info_hash = spec.meta.info_hash;
        if self.router.route(&info_hash).is_some() || self.opening.values().any(|h| *h == info_hash)
        {
            return Err(AddError::Duplicate {
                name: spec.meta.info.name.clone(),
                info_hash,
            });
        }
        self.next_id += 1;
        let id = TorrentId(self.next_id);
        self.opening.insert(id, info_hash);
        let info = &spec.meta.info;
        self.ctx.emit_event(Event::Added {
            torrent: id,
            name: info.name.clone(),
            info_hash,
            total_bytes: info.total_length(),
            piece_count: info.piece_count(),
        });
        let events = self.ctx.events.clone();
        let state = self.config.state.clone();
        let disk_io = self.config.disk_io;
        let done = self.opened_tx.clone();
        tokio::task::spawn_blocking(move || {
            let progress = |checked, total| {
                let _ = events.send(Event::Checking {
                    torrent: id,
                    checked,
                    total,
                });
            };
            let result = open::open(
                &spec.meta,
                &spec.data_dir,
                &state,
                spec.seed_only,
                disk_io,
                spec.verified.clone(),
                &progress,
            );
            let _ = done.send((id, spec, result));
        });
        Ok(id)
    }

    /// A torrent finished opening: it joins the swarm, or fails.
    fn on_opened(
        &mut self,
        id: TorrentId,
        spec: Box<TorrentSpec>,
        result: Result<Opened, TorrentError>,
    ) {
        if self.opening.remove(&id).is_none() {
            return; // removed while it was being opened
        }
        match result {
            Ok(opened) => {
                let torrent = Torrent::new(id, *spec, opened, &mut self.ctx);
                self.router.add(id, torrent.handshake());
                self.torrents.insert(id, torrent);
            }
            Err(error) => {
                self.ctx.emit_event(Event::Failed { torrent: id, error });
            }
        }
    }

    async fn remove(&mut self, id: TorrentId) {
        self.opening.remove(&id);
        if let Some(t) = self.torrents.remove(&id) {
            self.router.remove(&t.info_hash());
            t.stop(&mut self.ctx).await;
        }
    }

    /// Stops the torrents that seeded enough, in the background (their `stopped`
    /// announces must not hold up the loop).
    fn stop_finished(&mut self) {
        let done: Vec<TorrentId> = self
            .torrents
            .values()
            .filter(|t| t.goal_reached())
            .map(Torrent::id)
            .collect();
        for id in done {
            if let Some(t) = self.torrents.remove(&id) {
                self.router.remove(&t.info_hash());
                self.stopping.spawn(t.stop(&mut self.ctx));
            }
        }
    }

    /// Stops every torrent at once (their `stopped` announces run side by side).
    async fn stop_all(&mut self) {
        self.opening.clear();
        let torrents: Vec<Torrent> = self.torrents.drain().map(|(_, t)| t).collect();
        let mut stops = Vec::with_capacity(torrents.len());
        for t in torrents {
            self.router.remove(&t.info_hash());
            stops.push(t.stop(&mut self.ctx));
        }
        join_all(stops).await;
        while self.stopping.join_next().await.is_some() {}
    }

    /// Runs a choke round now if a torrent asked for one (its slots shrank); the regular
    /// rounds keep their pace.
    fn rechoke_if_asked(&mut self) {
        if std::mem::take(&mut self.ctx.rechoke) {
            self.choke_round();
        }
    }

    /// One choke round over the peers of every torrent.
    fn choke_round(&mut self) {
        let mut candidates = Vec::new();
        for t in self.torrents.values() {
            t.choke_candidates(&mut candidates);
        }
        let unchoke = self.choker.round(&candidates, self.ctx.upload_slots);
        for t in self.torrents.values_mut() {
            t.apply_choke(&unchoke, &mut self.ctx);
        }
    }

    fn report(&self) {
        let mut torrents: Vec<_> = self.torrents.values().map(Torrent::stats).collect();
        torrents.sort_by_key(|t| t.torrent);
        self.ctx.emit_event(Event::Stats(SessionStats { torrents }));
    }
}
