//! The pieces we have, as the picker publishes them: an atomic bit set that anyone can read
//! without the picker's lock (a peer serving a request asks "do we have piece i?" for every
//! block it sends) and only the picker writes (a piece is added once it is verified and on
//! disk, and never removed).

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use crate::wire::Bitfield;

/// A grow-only set of piece indexes, written by the picker alone.
#[derive(Debug)]
pub struct HaveSet {
    words: Vec<AtomicU64>,
    count: AtomicU32,
    piece_count: u32,
}

impl HaveSet {
    /// The set holding the pieces of `initial`.
    pub(super) fn new(initial: &Bitfield) -> Self {
        let piece_count = initial.piece_count();
        let set = Self {
            words: (0..piece_count.div_ceil(64))
                .map(|_| AtomicU64::new(0))
                .collect(),
            count: AtomicU32::new(0),
            piece_count,
        };
        for i in initial.iter_ones() {
            set.insert(i);
        }
        set
    }

    /// Adds piece `index` (verified and written). Only the picker calls this.
    pub(super) fn insert(&self, index: u32) {
        let Some(word) = self.words.get(index as usize / 64) else {
            return;
        };
        let bit = 1u64 << (index % 64);
        if word.fetch_or(bit, Ordering::Release) & bit == 0 {
            self.count.fetch_add(1, Ordering::Release);
        }
    }

    /// Do we have piece `index`?
    pub fn contains(&self, index: u32) -> bool {
        self.words
            .get(index as usize / 64)
            .is_some_and(|w| w.load(Ordering::Acquire) & (1u64 << (index % 64)) != 0)
    }

    /// How many pieces we have.
    pub fn count(&self) -> u32 {
        self.count.load(Ordering::Acquire)
    }

    /// Do we have every piece?
    pub fn is_complete(&self) -> bool {
        self.count() == self.piece_count
    }

    /// The set as a bitfield (to send to a peer, or to save).
    pub fn to_bitfield(&self) -> Bitfield {
        let mut field = Bitfield::new(self.piece_count);
        for i in 0..self.piece_count {
            if self.contains(i) {
                let _ = field.set(i);
            }
        }
        field
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_added_are_seen_and_counted_once() {
        let mut start = Bitfield::new(130);
        start.set(3).unwrap();
        let set = HaveSet::new(&start);
        set.insert(129);
        set.insert(129);
        set.insert(500); // out of range: ignored
        assert!(set.contains(3) && set.contains(129) && !set.contains(4));
        assert_eq!(set.count(), 2);
        assert_eq!(set.to_bitfield().iter_ones().collect::<Vec<_>>(), [3, 129]);
        assert!(!set.is_complete());
    }
}
