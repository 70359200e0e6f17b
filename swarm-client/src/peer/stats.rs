//! Counters of one peer connection, written by its task and read by the torrent (rates, the
//! choker, the progress view) without locking.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64};

/// Counters of one peer connection.
#[derive(Debug, Default)]
pub struct PeerStats {
    /// Block payload bytes received from the peer.
    pub downloaded: AtomicU64,
    /// Block payload bytes sent to the peer.
    pub uploaded: AtomicU64,
    /// The peer wants our data.
    pub peer_interested: AtomicBool,
    /// The peer sent nothing for a long while although we asked.
    pub snubbed: AtomicBool,
    /// Pieces the peer has.
    pub pieces: AtomicU32,
}
