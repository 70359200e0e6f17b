//! State shared by the session loop and every peer task.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use metainfo::InfoHash;
use tokio::sync::mpsc;

use super::checking::CheckQueue;
use super::disk::DiskWriter;
use crate::picker::{PeerKey, Picker};
use crate::storage::{Storage, StorageError};
use crate::wire::{BlockRequest, PeerId};

/// What peer tasks tell the session loop.
#[derive(Debug)]
pub(crate) enum Event {
    /// Handshake done and our bitfield sent.
    PeerReady { key: PeerKey, peer_id: PeerId },
    /// The peer became interested in our pieces (it may deserve an unchoke now).
    PeerInterested(PeerKey),
    /// The connection ended (`reason` is `None` for an orderly close).
    PeerClosed {
        key: PeerKey,
        reason: Option<String>,
        /// The peer broke the protocol: do not reconnect.
        misbehaved: bool,
    },
    /// Blocks went back to the picker: idle peers should try to pick again.
    WakePeers,
    /// A block arrived that other peers were also asked for (endgame): cancel theirs.
    CancelDuplicates { block: BlockRequest, from: PeerKey },
    /// A piece was hash-checked (and written when good).
    PieceChecked {
        index: u32,
        ok: bool,
        /// The peers that sent its blocks (each once).
        contributors: Vec<PeerKey>,
        /// For a good piece that failed before: the peers proven to have sent wrong blocks.
        culprits: Vec<PeerKey>,
    },
    /// Writing a verified piece failed.
    StorageFailed(StorageError),
    /// An incoming connection was accepted by the listener.
    Incoming(tokio::net::TcpStream, SocketAddr),
    /// Peers a tracker handed out.
    TrackerPeers(Vec<SocketAddr>),
    /// Something to show about the trackers.
    Tracker(crate::tracker_client::TrackerStatus),
}

/// Counters of one peer connection, read by the session (rates, choker, progress).
#[derive(Debug, Default)]
pub(crate) struct PeerStats {
    /// Block payload bytes received from the peer.
    pub downloaded: AtomicU64,
    /// Block payload bytes sent to the peer.
    pub uploaded: AtomicU64,
    pub peer_interested: AtomicBool,
    pub snubbed: AtomicBool,
    /// Pieces the peer has.
    pub pieces: AtomicU32,
}

/// The torrent-wide state peer tasks work on.
pub(crate) struct Shared {
    pub info_hash: InfoHash,
    pub peer_id: PeerId,
    pub piece_count: u32,
    pub hashes: Vec<[u8; 20]>,
    pub storage: Arc<Storage>,
    /// Complete pieces waiting for their hash check.
    pub(super) to_check: CheckQueue,
    /// Writes verified pieces.
    pub(super) disk: DiskWriter,
    /// Block records of failed pieces, to find who sent bad data.
    pub blame: super::blame::Blame,
    picker: Mutex<Picker>,
    /// `have[i]`: piece `i` verified and on disk (lock-free check for serving requests).
    have: Vec<AtomicBool>,
    pub complete: AtomicBool,
    /// Block payload bytes received this session (useful or not).
    pub downloaded: AtomicU64,
    /// Bytes of received blocks that were not needed (duplicates, late).
    pub wasted: AtomicU64,
    pub uploaded: AtomicU64,
    pub events: mpsc::UnboundedSender<Event>,
    /// Peer ids with a live connection (to drop a second connection to the same peer).
    connected_ids: Mutex<HashSet<PeerId>>,
    /// Peers banned for bad data or protocol violations.
    banned_ids: Mutex<HashSet<PeerId>>,
}

impl Shared {
    /// State for a torrent, `picker` seeded with the pieces we already have, verified pieces
    /// written by `disk`.
    pub fn new(
        info_hash: InfoHash,
        peer_id: PeerId,
        hashes: Vec<[u8; 20]>,
        storage: Arc<Storage>,
        disk: DiskWriter,
        picker: Picker,
        events: mpsc::UnboundedSender<Event>,
    ) -> Self {
        let have = (0..picker.piece_count())
            .map(|i| AtomicBool::new(picker.has(i)))
            .collect();
        Self {
            info_hash,
            peer_id,
            piece_count: picker.piece_count(),
            hashes,
            storage,
            disk,
            to_check: CheckQueue::default(),
            blame: super::blame::Blame::default(),
            complete: AtomicBool::new(picker.is_complete()),
            picker: Mutex::new(picker),
            have,
            downloaded: AtomicU64::new(0),
            wasted: AtomicU64::new(0),
            uploaded: AtomicU64::new(0),
            events,
            connected_ids: Mutex::new(HashSet::new()),
            banned_ids: Mutex::new(HashSet::new()),
        }
    }

    /// The picker, locked (hold it briefly).
    pub fn picker(&self) -> MutexGuard<'_, Picker> {
        // A panic while holding the lock leaves consistent-enough state; keep going.
        self.picker.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Do we have piece `index`, verified?
    pub fn has_piece(&self, index: u32) -> bool {
        self.have
            .get(index as usize)
            .is_some_and(|h| h.load(Ordering::Acquire))
    }

    /// Records piece `index` as verified and written.
    pub fn set_have(&self, index: u32) {
        if let Some(h) = self.have.get(index as usize) {
            h.store(true, Ordering::Release);
        }
    }

    /// Is everything downloaded?
    pub fn is_complete(&self) -> bool {
        self.complete.load(Ordering::Acquire)
    }

    /// Registers a live connection to `id`; false if one exists already or `id` is banned.
    pub fn claim_peer_id(&self, id: PeerId) -> bool {
        if lock(&self.banned_ids).contains(&id) {
            return false;
        }
        lock(&self.connected_ids).insert(id)
    }

    /// Forgets the live connection to `id`.
    pub fn release_peer_id(&self, id: &PeerId) {
        lock(&self.connected_ids).remove(id);
    }

    /// Bans `id` (its connections are refused from now on).
    pub fn ban_peer_id(&self, id: PeerId) {
        lock(&self.banned_ids).insert(id);
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
