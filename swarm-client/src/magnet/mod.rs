//! From a magnet link to a metainfo (BEP 9): find peers (the link's `x.pe` addresses, the
//! user's `--peer`s, and its `tr=` trackers, announced to with a non-zero `left` so they hand
//! out seeders), ask them for the info dictionary in 16 KiB pieces, check its SHA-1 against
//! the info-hash, and build a full metainfo carrying the link's trackers.
//!
//! Resolution runs before the torrent joins the session: the session routes incoming
//! connections by info-hash to torrents it holds, so a peer that dials us during these
//! seconds is turned away and is met again through the tracker or when we dial it. The peers
//! found here are handed to the torrent so its download starts at once.
//!
//! Bounds: at most [`ResolveConfig::max_connections`] peers at once; metadata of at most
//! [`crate::extension::MAX_METADATA_SIZE`]; a peer that sends a wrong or oversized piece, or
//! contributed to a dictionary whose hash is wrong, is dropped and not asked again.

mod connection;

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

use metainfo::{Magnet, Metainfo, MetainfoError};
use parking_lot::Mutex;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::extension::MetadataFetch;
use crate::tracker_client::{Announcer, TrackerStatus, TransferStats};
use crate::wire::handshake::Extensions;
use crate::wire::{Handshake, PeerId};
use connection::Shared;

/// How long a peer that failed waits before it is dialled again.
const REDIAL_AFTER: Duration = Duration::from_secs(5);
/// Most redials of one address.
const MAX_DIALS: u32 = 5;

/// What the resolution may use.
#[derive(Debug, Clone)]
pub struct ResolveConfig {
    /// Our peer id (the session's, so trackers see one peer).
    pub peer_id: PeerId,
    /// The session's listen port, told to trackers and peers.
    pub listen_port: u16,
    /// Peers the user gave (`--peer`), asked along with the link's `x.pe`.
    pub peers: Vec<SocketAddr>,
    /// Announce to the link's `tr=` trackers.
    pub use_trackers: bool,
    /// Give up after this long (`None`: never).
    pub timeout: Option<Duration>,
    /// Most peers asked at once.
    pub max_connections: usize,
}

/// A resolved magnet link.
#[derive(Debug)]
pub struct Resolved {
    /// The metainfo: the fetched info dictionary and the link's trackers.
    pub meta: Metainfo,
    /// Every peer address found on the way (for the torrent to dial at once).
    pub peers: Vec<SocketAddr>,
}

/// Why a magnet link could not be resolved.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    #[error(
        "nowhere to ask for its metadata: the link has no tr= tracker or x.pe= peer (add --peer HOST:PORT)"
    )]
    NoSources,
    #[error("no peer sent its metadata within {secs} s ({tried} peers tried)")]
    Timeout { secs: u64, tried: usize },
    #[error("its metadata is not a valid info dictionary: {0}")]
    Invalid(#[from] MetainfoError),
}

/// Fetches the metadata of `magnet`.
pub async fn resolve(magnet: &Magnet, config: ResolveConfig) -> Result<Resolved, ResolveError> {
    let mut sources = Sources::new(magnet, &config);
    let trackers: Vec<Vec<String>> = if config.use_trackers {
        magnet.trackers.iter().map(|t| vec![t.clone()]).collect()
    } else {
        Vec::new()
    };
    if trackers.is_empty() && sources.queue.is_empty() {
        return Err(ResolveError::NoSources);
    }
    let (peers_tx, mut peers_rx) = mpsc::channel(16);
    let _announcer = start_announcer(magnet, &config, trackers, peers_tx);
    let (done, mut done_rx) = watch::channel(None);
    let shared = Arc::new(Shared {
        fetch: Mutex::new(MetadataFetch::new(magnet.info_hash)),
        done,
        ours: Handshake::with_extensions(
            magnet.info_hash,
            config.peer_id,
            Extensions {
                extension_protocol: true,
                fast: false,
            },
        ),
        listen_port: config.listen_port,
    });
    let deadline = config.timeout.map(|t| Instant::now() + t);
    let mut dials = JoinSet::new();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let info = loop {
        while dials.len() < config.max_connections.max(1)
            && let Some((key, addr)) = sources.next_dial()
        {
            let shared = shared.clone();
            dials.spawn(async move { (addr, connection::run(addr, key, shared).await) });
        }
        tokio::select! {
            changed = done_rx.changed() => {
                if changed.is_ok() && let Some(info) = done_rx.borrow().clone() {
                    break info;
                }
            }
            Some(peers) = peers_rx.recv() => sources.add(peers),
            Some(Ok((addr, result))) = dials.join_next() => {
                if let Err(e) = result {
                    tracing::debug!(%addr, "metadata peer: {e}");
                    let wrong = matches!(e, connection::ConnError::WrongMetadata
                        | connection::ConnError::Fetch(_)
                        | connection::ConnError::Extension(_));
                    sources.failed(addr, !wrong);
                }
            }
            _ = tick.tick() => {
                if deadline.is_some_and(|d| Instant::now() >= d) {
                    return Err(ResolveError::Timeout {
                        secs: config.timeout.unwrap_or_default().as_secs(),
                        tried: sources.tried(),
                    });
                }
                sources.redial_due();
            }
        }
    };
    dials.abort_all();
    let meta = Metainfo::from_magnet(magnet, &info)?;
    Ok(Resolved {
        meta,
        peers: sources.known(),
    })
}

/// Announces to the link's trackers with a non-zero `left` (we want everything), passing the
/// peers they give on; the task ends when the returned handle is dropped.
fn start_announcer(
    magnet: &Magnet,
    config: &ResolveConfig,
    trackers: Vec<Vec<String>>,
    peers_tx: mpsc::Sender<Vec<SocketAddr>>,
) -> Option<AbortOnDrop> {
    if trackers.is_empty() {
        return None;
    }
    let announcer = Announcer::new(
        trackers,
        magnet.info_hash,
        config.peer_id,
        config.listen_port,
    );
    let (stats_tx, stats_rx) = watch::channel(TransferStats {
        uploaded: 0,
        downloaded: 0,
        left: 1,
    });
    let (events_tx, events_rx) = mpsc::channel(4);
    let (status_tx, mut status_rx) = mpsc::channel(16);
    let task = tokio::spawn(async move {
        // Held by the task, so the announcer keeps running.
        let _keep = (stats_tx, events_tx);
        let log = async {
            while let Some(status) = status_rx.recv().await {
                if let TrackerStatus::Failed { url, error } = status {
                    tracing::info!("tracker {url}: {error}");
                }
            }
        };
        tokio::join!(announcer.run(stats_rx, events_rx, peers_tx, status_tx), log);
    });
    Some(AbortOnDrop(task))
}

/// Aborts its task when dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Peer addresses to ask, each dialled a bounded number of times.
struct Sources {
    queue: VecDeque<SocketAddr>,
    seen: HashSet<SocketAddr>,
    /// Addresses to dial again, and when.
    retry: Vec<(Instant, SocketAddr)>,
    dials: HashMap<SocketAddr, u32>,
    /// Peers that sent bad metadata: not handed to the torrent.
    bad: HashSet<SocketAddr>,
    next_key: u64,
}

impl Sources {
    fn new(magnet: &Magnet, config: &ResolveConfig) -> Self {
        let mut sources = Self {
            queue: VecDeque::new(),
            seen: HashSet::new(),
            retry: Vec::new(),
            dials: HashMap::new(),
            bad: HashSet::new(),
            next_key: 0,
        };
        let from_link = magnet
            .peers
            .iter()
            .filter_map(|p| p.to_socket_addrs().ok()?.next());
        sources.add(config.peers.iter().copied().chain(from_link).collect());
        sources
    }

    fn add(&mut self, peers: Vec<SocketAddr>) {
        for addr in peers {
            if addr.port() != 0 && self.seen.insert(addr) {
                self.queue.push_back(addr);
            }
        }
    }

    fn next_dial(&mut self) -> Option<(u64, SocketAddr)> {
        let addr = self.queue.pop_front()?;
        *self.dials.entry(addr).or_default() += 1;
        self.next_key += 1;
        Some((self.next_key, addr))
    }

    /// A dial of `addr` ended without the metadata; `retry` unless it misbehaved.
    fn failed(&mut self, addr: SocketAddr, retry: bool) {
        if !retry {
            self.bad.insert(addr);
        } else if self.dials.get(&addr).copied().unwrap_or(0) < MAX_DIALS {
            self.retry.push((Instant::now() + REDIAL_AFTER, addr));
        }
    }

    fn redial_due(&mut self) {
        let now = Instant::now();
        let (due, later): (Vec<_>, Vec<_>) = self.retry.drain(..).partition(|(at, _)| *at <= now);
        self.retry = later;
        self.queue.extend(due.into_iter().map(|(_, addr)| addr));
    }

    fn tried(&self) -> usize {
        self.dials.len()
    }

    fn known(&self) -> Vec<SocketAddr> {
        self.seen.difference(&self.bad).copied().collect()
    }
}

#[cfg(test)]
mod tests;
