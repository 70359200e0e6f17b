//! Hash checks of complete pieces, off the async runtime: pieces queue up, and each rayon job
//! takes up to [`verify::HASH_LANES`] of them and hashes them side by side (several pieces
//! hashed at once on one core go faster than one after another). A good piece goes to the
//! disk threads; then the picker gets the buffer back and the session hears of the result,
//! with who to blame for bad data.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};

use super::shared::{Event, Shared};
use crate::picker::PeerKey;
use crate::piece_buf::PieceBuf;
use crate::storage::StorageError;
use crate::verify;

/// A complete piece waiting for its hash check.
struct Unchecked {
    index: u32,
    data: PieceBuf,
    /// Who sent each block, in block order.
    senders: Vec<PeerKey>,
}

/// Pieces waiting for a hash check.
#[derive(Default)]
pub(crate) struct CheckQueue(Mutex<VecDeque<Unchecked>>);

impl CheckQueue {
    fn push(&self, piece: Unchecked) {
        self.lock().push_back(piece);
    }

    /// Up to `n` pieces, oldest first.
    fn take(&self, n: usize) -> Vec<Unchecked> {
        let mut queue = self.lock();
        let n = n.min(queue.len());
        queue.drain(..n).collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<Unchecked>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Shared {
    /// Queues a complete piece (sent by `senders`, block by block) for its hash check.
    pub fn check_piece(self: &Arc<Self>, index: u32, data: PieceBuf, senders: Vec<PeerKey>) {
        self.to_check.push(Unchecked {
            index,
            data,
            senders,
        });
        // One job per piece: a job finding the queue emptied by others just returns.
        let shared = self.clone();
        rayon::spawn(move || shared.check_queued());
    }

    /// Hashes up to [`verify::HASH_LANES`] queued pieces together and settles each.
    fn check_queued(self: &Arc<Self>) {
        let batch = self.to_check.take(verify::HASH_LANES);
        if batch.is_empty() {
            return;
        }
        let messages: Vec<&[u8]> = batch.iter().map(|p| &p.data[..]).collect();
        let digests = verify::sha1_many(&messages);
        for (piece, digest) in batch.into_iter().zip(digests) {
            let good = self.hashes.get(piece.index as usize) == Some(&digest);
            self.checked(piece, good);
        }
    }

    /// A good piece goes to the disk; a bad one is recorded for blame and fetched again.
    fn checked(self: &Arc<Self>, piece: Unchecked, good: bool) {
        let Unchecked {
            index,
            data,
            senders,
        } = piece;
        let mut contributors = senders.clone();
        contributors.sort_unstable();
        contributors.dedup();
        contributors.retain(|k| *k != PeerKey::MAX);
        if !good {
            self.blame.record_failure(index, &data, &senders);
            self.piece_done(index, Ok(false), data, contributors, Vec::new());
            return;
        }
        let culprits = self.blame.culprits(index, &data);
        let done = self.clone();
        let written = Box::new(move |result: Result<(), StorageError>, data| {
            done.piece_done(index, result.map(|()| true), data, contributors, culprits);
        });
        self.disk.write(index, data, written);
    }

    /// Settles a checked piece: `Ok(true)` verified and written, `Ok(false)` failed its check.
    fn piece_done(
        &self,
        index: u32,
        result: Result<bool, StorageError>,
        buffer: PieceBuf,
        contributors: Vec<PeerKey>,
        culprits: Vec<PeerKey>,
    ) {
        let ok = matches!(result, Ok(true));
        if ok {
            self.set_have(index);
        }
        let slot_freed = self.picker().verified(index, ok, buffer);
        let event = match result {
            Err(e) => Event::StorageFailed(e),
            Ok(ok) => Event::PieceChecked {
                index,
                ok,
                contributors,
                culprits,
            },
        };
        let _ = self.events.send(event);
        if slot_freed && ok {
            // Peers whose picks found every buffer in use (the disk is behind) pick again
            // now, not at their next tick. (A failed piece wakes them in the session.)
            let _ = self.events.send(Event::WakePeers);
        }
    }
}
