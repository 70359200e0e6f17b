//! Who sent the bad data? When a piece fails its hash check, the hash of every block and its
//! sender are kept; when the piece later passes, each kept block is compared with the good
//! copy, so exactly the peers that sent wrong blocks are blamed and honest peers that merely
//! shared the piece with them are not.

use std::collections::HashMap;

use parking_lot::Mutex;
use sha1::{Digest, Sha1};

use crate::peer::PeerKey;
use crate::wire::BLOCK_SIZE;

/// Block hashes of the pieces that failed, with who sent each block.
#[derive(Debug, Default)]
pub struct Blame {
    failed: Mutex<HashMap<u32, Vec<BlockRecord>>>,
}

#[derive(Debug)]
struct BlockRecord {
    block: usize,
    sender: PeerKey,
    hash: [u8; 20],
}

impl Blame {
    /// Remembers the blocks of piece `index`, which failed its hash check. Blocking (hashes).
    pub fn record_failure(&self, index: u32, data: &[u8], senders: &[PeerKey]) {
        let records: Vec<BlockRecord> = data
            .chunks(BLOCK_SIZE as usize)
            .zip(senders)
            .enumerate()
            .map(|(block, (bytes, sender))| BlockRecord {
                block,
                sender: *sender,
                hash: Sha1::digest(bytes).into(),
            })
            .collect();
        self.lock().entry(index).or_default().extend(records);
    }

    /// Piece `index` passed with `good` data: the peers that once sent a different block for
    /// it (each listed once). Blocking (hashes).
    pub fn culprits(&self, index: u32, good: &[u8]) -> Vec<PeerKey> {
        let Some(records) = self.lock().remove(&index) else {
            return Vec::new();
        };
        let good_hashes: Vec<[u8; 20]> = good
            .chunks(BLOCK_SIZE as usize)
            .map(|b| Sha1::digest(b).into())
            .collect();
        let mut culprits = Vec::new();
        for r in records {
            if good_hashes.get(r.block) != Some(&r.hash) && !culprits.contains(&r.sender) {
                culprits.push(r.sender);
            }
        }
        culprits
    }

    fn lock(&self) -> parking_lot::MutexGuard<'_, HashMap<u32, Vec<BlockRecord>>> {
        self.failed.lock()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_sender_of_a_wrong_block_is_blamed() {
        let blame = Blame::default();
        let good = vec![1u8; 3 * BLOCK_SIZE as usize];
        let mut bad = good.clone();
        bad[BLOCK_SIZE as usize + 5] ^= 0xff;
        blame.record_failure(7, &bad, &[10, 20, 10]);
        assert_eq!(blame.culprits(7, &good), vec![20]);
        assert!(blame.culprits(7, &good).is_empty(), "record consumed");
    }
}
