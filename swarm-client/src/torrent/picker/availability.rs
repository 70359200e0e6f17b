//! How many connected peers hold each piece, and how many pieces sit at each count.
//!
//! The per-piece counts drive rarest-first; the per-count tally answers "how rare is the
//! rarest piece?" (and "does any piece have no holder?") in time that grows with the peer
//! count, not the piece count, which a seed asks on every request it weighs.

/// Holders per piece, and pieces per holder count.
#[derive(Debug)]
pub struct Availability {
    /// How many connected peers hold each piece.
    holders: Vec<u32>,
    /// `levels[n]`: how many pieces exactly `n` connected peers hold.
    levels: Vec<u32>,
}

impl Availability {
    /// No peer holds any of `piece_count` pieces.
    pub fn new(piece_count: u32) -> Self {
        Self {
            holders: vec![0; piece_count as usize],
            levels: vec![piece_count],
        }
    }

    /// How many connected peers hold piece `index` (0 for an index out of range).
    pub fn of(&self, index: u32) -> u32 {
        self.holders.get(index as usize).copied().unwrap_or(0)
    }

    /// The counts of every piece, in piece order.
    pub fn as_slice(&self) -> &[u32] {
        &self.holders
    }

    /// How many pieces no connected peer holds.
    pub fn unheld(&self) -> u32 {
        self.levels.first().copied().unwrap_or(0)
    }

    /// How many connected peers hold the rarest piece (0 for a torrent without pieces).
    pub fn rarest(&self) -> u32 {
        self.levels
            .iter()
            .position(|pieces| *pieces > 0)
            .map_or(0, |n| n as u32)
    }

    /// One more peer holds piece `index`.
    pub fn add(&mut self, index: u32) {
        let Some(count) = self.holders.get_mut(index as usize) else {
            return;
        };
        let before = *count as usize;
        *count += 1;
        if self.levels.len() <= before + 1 {
            self.levels.resize(before + 2, 0);
        }
        move_between(&mut self.levels, before, before + 1);
    }

    /// One peer fewer holds piece `index`; true when nobody holds it any more.
    pub fn remove(&mut self, index: u32) -> bool {
        let Some(count) = self.holders.get_mut(index as usize).filter(|c| **c > 0) else {
            return false;
        };
        let before = *count as usize;
        *count -= 1;
        move_between(&mut self.levels, before, before - 1);
        before == 1
    }
}

/// One piece leaves the tally at `from` for the one at `to`.
fn move_between(levels: &mut [u32], from: usize, to: usize) {
    if let Some(n) = levels.get_mut(from) {
        *n = n.saturating_sub(1);
    }
    if let Some(n) = levels.get_mut(to) {
        *n += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rarest_count_follows_holders_coming_and_going() {
        let mut a = Availability::new(3);
        assert_eq!((a.unheld(), a.rarest()), (3, 0));
        for index in [0, 1, 2, 0] {
            a.add(index);
        }
        assert_eq!((a.unheld(), a.rarest()), (0, 1));
        a.add(1);
        a.add(2);
        assert_eq!(a.rarest(), 2);
        assert!(!a.remove(0));
        assert!(a.remove(0), "its last holder left");
        assert_eq!((a.unheld(), a.rarest(), a.of(0)), (1, 0, 0));
    }

    #[test]
    fn a_bad_index_or_a_surplus_removal_changes_nothing() {
        let mut a = Availability::new(2);
        a.add(7);
        assert!(!a.remove(1));
        assert!(!a.remove(9));
        assert_eq!((a.unheld(), a.of(7), a.as_slice()), (2, 0, &[0, 0][..]));
    }
}
