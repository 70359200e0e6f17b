//! What a torrent's tasks (peer connections, hash checks, the announcer) report to the
//! session loop, which owns the torrent and acts on it in order.

use std::net::SocketAddr;

use tokio::sync::mpsc;

use crate::events::TorrentId;
use crate::peer::{Notice, PeerKey};
use crate::storage::StorageError;
use crate::tracker_client::TrackerStatus;

/// A report for the session loop about one torrent.
#[derive(Debug)]
pub enum Signal {
    /// From a peer connection.
    Peer(PeerKey, Notice),
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
    /// Piece buffers came back: peers whose picks found none should pick again.
    Wake,
    /// The swarm came to hold every piece we seed (see `Picker::spread`): our upload
    /// slots for it shrink.
    Spread,
    /// Peers a tracker handed out.
    TrackerPeers(Vec<SocketAddr>),
    /// Something to show about the trackers.
    Tracker(TrackerStatus),
}

/// The sending end of the session loop's signal channel.
#[derive(Debug, Clone)]
pub struct Signals(mpsc::UnboundedSender<(TorrentId, Signal)>);

impl Signals {
    /// A channel for signals: the sender to hand to torrents, the receiver for the loop.
    pub fn channel() -> (Signals, mpsc::UnboundedReceiver<(TorrentId, Signal)>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (Signals(tx), rx)
    }

    /// Reports `signal` about `torrent` (dropped if the session is gone).
    pub fn send(&self, torrent: TorrentId, signal: Signal) {
        let _ = self.0.send((torrent, signal));
    }
}
