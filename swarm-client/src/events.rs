//! What a session tells its user: typed events on a channel, and a periodic snapshot of every
//! torrent. The library never prints; the `swarm` binary renders these as a progress view,
//! plain status lines or JSON.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use metainfo::InfoHash;

use crate::state::StateError;
use crate::storage::StorageError;
use crate::tracker_client::TrackerStatus;

/// Identifies a torrent within one session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TorrentId(pub u32);

impl fmt::Display for TorrentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// Something that happened in the session.
#[derive(Debug)]
pub enum Event {
    /// The session listens for peers on this port.
    Listening { port: u16 },
    /// A torrent joined the session; its data is being checked.
    Added {
        torrent: TorrentId,
        name: String,
        info_hash: InfoHash,
        total_bytes: u64,
        piece_count: u32,
    },
    /// Existing data is being checked: `checked` of `total` pieces so far.
    Checking {
        torrent: TorrentId,
        checked: u32,
        total: u32,
    },
    /// The torrent's data is known and it joins the swarm with `pieces` of its pieces.
    Started {
        torrent: TorrentId,
        pieces: u32,
        /// A torrent that only seeds (`swarm seed`): its files that are not whole on disk,
        /// so it cannot serve all of them (empty otherwise).
        incomplete: Vec<IncompleteFile>,
    },
    /// A peer completed the handshake.
    PeerConnected {
        torrent: TorrentId,
        addr: SocketAddr,
        client: String,
    },
    /// A peer broke the protocol and was disconnected.
    PeerDropped {
        torrent: TorrentId,
        addr: SocketAddr,
        reason: String,
    },
    /// A peer sent bad data too often and is banned for the rest of the session.
    PeerBanned {
        torrent: TorrentId,
        addr: SocketAddr,
        reason: String,
    },
    /// A piece passed its hash check and is on disk.
    PieceVerified { torrent: TorrentId, index: u32 },
    /// A piece failed its hash check (from `peers` different peers) and is fetched again.
    PieceFailed {
        torrent: TorrentId,
        index: u32,
        peers: usize,
    },
    /// News from the torrent's trackers.
    Tracker {
        torrent: TorrentId,
        status: TrackerStatus,
    },
    /// Every piece of the torrent is verified.
    Complete { torrent: TorrentId },
    /// The torrent seeded as long or as much as asked (`--seed-time`, `--seed-ratio`); it
    /// stops next.
    SeedGoalReached {
        torrent: TorrentId,
        /// Uploaded this session ÷ the torrent's size.
        ratio: f64,
        seeded_for: Duration,
    },
    /// The torrent cannot go on.
    Failed {
        torrent: TorrentId,
        error: TorrentError,
    },
    /// The torrent left the session (after `Complete`, `Failed`, a removal or shutdown).
    Stopped {
        torrent: TorrentId,
        summary: Summary,
    },
    /// The state of every torrent, a couple of times a second.
    Stats(SessionStats),
}

impl Event {
    /// The torrent the event is about, if any.
    pub fn torrent(&self) -> Option<TorrentId> {
        match self {
            Event::Listening { .. } | Event::Stats(_) => None,
            Event::Added { torrent, .. }
            | Event::Checking { torrent, .. }
            | Event::Started { torrent, .. }
            | Event::PeerConnected { torrent, .. }
            | Event::PeerDropped { torrent, .. }
            | Event::PeerBanned { torrent, .. }
            | Event::PieceVerified { torrent, .. }
            | Event::PieceFailed { torrent, .. }
            | Event::Tracker { torrent, .. }
            | Event::Complete { torrent }
            | Event::SeedGoalReached { torrent, .. }
            | Event::Failed { torrent, .. }
            | Event::Stopped { torrent, .. } => Some(*torrent),
        }
    }
}

/// A file of a torrent that is not whole on disk: missing, short or with bad pieces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncompleteFile {
    /// Where it was looked for: the data folder joined with the file's path in the torrent.
    pub path: PathBuf,
    /// Its length in the torrent.
    pub length: u64,
    /// Its bytes that lie in verified pieces.
    pub verified_bytes: u64,
}

/// Where a torrent stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TorrentState {
    /// Reading and hashing the data already on disk.
    Checking,
    /// Fetching missing pieces (and serving what it has).
    Downloading,
    /// Complete (or serving only what it has): uploading.
    Seeding,
}

/// One torrent at one moment.
#[derive(Debug, Clone)]
pub struct TorrentStats {
    pub torrent: TorrentId,
    pub name: String,
    pub state: TorrentState,
    /// Bytes of verified pieces.
    pub verified_bytes: u64,
    pub total_bytes: u64,
    /// Payload bytes received this session (including data that later failed its check).
    pub downloaded_bytes: u64,
    pub uploaded_bytes: u64,
    /// Bytes per second, recent average.
    pub down_rate: f64,
    pub up_rate: f64,
    pub peers_connected: usize,
    pub peers_known: usize,
    pub pieces_done: u32,
    pub piece_count: u32,
    /// Connected peers.
    pub peers: Vec<PeerStats>,
}

/// One connected peer at one moment.
#[derive(Debug, Clone)]
pub struct PeerStats {
    pub addr: SocketAddr,
    /// Client name from its peer id.
    pub client: String,
    pub down_rate: f64,
    pub up_rate: f64,
    /// Pieces the peer has.
    pub pieces: u32,
    /// Payload bytes received from / sent to it this session.
    pub downloaded: u64,
    pub uploaded: u64,
    /// We let it download from us.
    pub unchoked: bool,
}

/// Every torrent of the session at one moment.
#[derive(Debug, Clone, Default)]
pub struct SessionStats {
    pub torrents: Vec<TorrentStats>,
}

/// How a torrent's run went, for the final line.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    pub name: String,
    /// Every piece verified.
    pub complete: bool,
    pub total_bytes: u64,
    pub downloaded_bytes: u64,
    pub uploaded_bytes: u64,
    /// Time in the session.
    pub elapsed: Duration,
    /// Time from the start to the last piece, when this run downloaded the torrent.
    pub download_time: Option<Duration>,
    /// Peers that completed a handshake.
    pub peers_used: usize,
}

/// Why a torrent could not go on.
#[derive(Debug, thiserror::Error)]
pub enum TorrentError {
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error(transparent)]
    State(#[from] StateError),
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

impl TorrentError {
    /// Is this the disk being full?
    pub fn is_disk_full(&self) -> bool {
        matches!(self, TorrentError::Storage(e) if e.is_disk_full())
    }
}
