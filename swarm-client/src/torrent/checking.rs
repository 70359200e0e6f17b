//! Hash checks of complete pieces, off the async runtime: pieces queue up, and each rayon job
//! takes up to [`HASH_LANES`] of them and hashes them side by side (several pieces hashed at
//! once on one core go faster than one after another). The torrent settles each result (a
//! good piece goes to the disk threads, a bad one is fetched again and its senders blamed).

use std::collections::VecDeque;

use parking_lot::Mutex;

use crate::peer::PeerKey;
use crate::piece_buf::PieceBuf;

/// How many pieces are worth hashing side by side.
pub const HASH_LANES: usize = metainfo::verify::LANES;

/// A complete piece waiting for its hash check.
pub struct Unchecked {
    pub index: u32,
    pub data: PieceBuf,
    /// Who sent each block, in block order.
    pub senders: Vec<PeerKey>,
}

/// Pieces waiting for a hash check.
#[derive(Default)]
pub struct CheckQueue(Mutex<VecDeque<Unchecked>>);

impl CheckQueue {
    /// Queues a piece; the caller then runs [`CheckQueue::check_some`] off the runtime (one
    /// call per piece pushed: a call finding the queue emptied by others just returns).
    pub fn push(&self, piece: Unchecked) {
        self.0.lock().push_back(piece);
    }

    /// Takes up to [`HASH_LANES`] queued pieces, oldest first, and hashes them together
    /// against `hashes`: each piece with whether it is good. Blocking.
    pub fn check_some(&self, hashes: &[[u8; 20]]) -> Vec<(Unchecked, bool)> {
        let batch: Vec<Unchecked> = {
            let mut queue = self.0.lock();
            let n = HASH_LANES.min(queue.len());
            queue.drain(..n).collect()
        };
        if batch.is_empty() {
            return Vec::new();
        }
        let pieces: Vec<(u32, &[u8])> = batch.iter().map(|p| (p.index, &p.data[..])).collect();
        let good = metainfo::verify::verify_batch(hashes, &pieces);
        batch.into_iter().zip(good).collect()
    }
}
