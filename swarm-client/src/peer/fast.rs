//! The BEP 6 fast extension on one connection, when both sides announced it: which pieces
//! each side may request while choked (allowed fast), the peer's piece suggestions, and the
//! rule that every request gets an answer (a block or an explicit reject), so nobody waits
//! for a request that will never be served.

use std::collections::{HashSet, VecDeque};
use std::net::IpAddr;

use metainfo::InfoHash;

use crate::extension::{ALLOWED_FAST_COUNT, allowed_fast_set};

/// Most suggestions remembered (older ones are dropped first).
const MAX_SUGGESTIONS: usize = 16;
/// Most allowed-fast pieces accepted from one peer (BEP 6 suggests 10; some send more).
const MAX_ALLOWED_BY_THEM: usize = 64;

/// Fast-extension state of one connection.
#[derive(Debug, Default)]
pub struct FastState {
    /// Pieces this peer may request from us while choked.
    allowed_for_them: HashSet<u32>,
    /// Pieces the peer lets us request while it chokes us.
    allowed_by_them: HashSet<u32>,
    /// Pieces the peer suggested, newest last.
    suggested: VecDeque<u32>,
}

impl FastState {
    /// The state for a peer at `ip` on a torrent of `piece_count` pieces: its allowed-fast
    /// set is computed (BEP 6), so both sides agree without telling each other.
    pub fn new(ip: IpAddr, info_hash: &InfoHash, piece_count: u32) -> Self {
        let allowed = allowed_fast_set(ip, info_hash, piece_count, ALLOWED_FAST_COUNT);
        Self {
            allowed_for_them: allowed.into_iter().collect(),
            ..Self::default()
        }
    }

    /// The allowed-fast pieces to announce to the peer: those of its set that we have (an
    /// offer of a piece we lack would be no help).
    pub fn to_announce(&self, has: impl Fn(u32) -> bool) -> Vec<u32> {
        let mut pieces: Vec<u32> = self
            .allowed_for_them
            .iter()
            .copied()
            .filter(|p| has(*p))
            .collect();
        pieces.sort_unstable();
        pieces
    }

    /// May the peer request `piece` while we choke it?
    pub fn may_request_choked(&self, piece: u32) -> bool {
        self.allowed_for_them.contains(&piece)
    }

    /// The peer allows us `piece` while choked.
    pub fn allowed_by_them(&mut self, piece: u32) {
        if self.allowed_by_them.len() < MAX_ALLOWED_BY_THEM {
            self.allowed_by_them.insert(piece);
        }
    }

    /// Pieces we may request while the peer chokes us.
    pub fn choked_allowance(&self) -> &HashSet<u32> {
        &self.allowed_by_them
    }

    /// The peer suggests `piece`.
    pub fn suggested(&mut self, piece: u32) {
        self.suggested.retain(|p| *p != piece);
        if self.suggested.len() == MAX_SUGGESTIONS {
            self.suggested.pop_front();
        }
        self.suggested.push_back(piece);
    }

    /// The peer's suggestions, newest first (a hint for which new piece to start).
    pub fn suggestions(&self) -> Vec<u32> {
        self.suggested.iter().rev().copied().collect()
    }

    /// Forgets a suggestion once the piece is ours.
    pub fn have(&mut self, piece: u32) {
        self.suggested.retain(|p| *p != piece);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_allowed_set_is_offered_only_for_pieces_we_have() {
        let state = FastState::new("80.4.4.200".parse().unwrap(), &InfoHash([0xaa; 20]), 1313);
        let all = state.to_announce(|_| true);
        assert_eq!(all.len(), ALLOWED_FAST_COUNT);
        assert!(state.to_announce(|_| false).is_empty());
        assert!(all.iter().all(|p| state.may_request_choked(*p)));
    }

    #[test]
    fn suggestions_are_bounded_and_newest_first() {
        let mut state = FastState::default();
        for p in 0..40 {
            state.suggested(p);
        }
        state.suggested(30);
        let s = state.suggestions();
        assert_eq!(s.len(), MAX_SUGGESTIONS);
        assert_eq!(s[0], 30, "a repeated suggestion moves to the front");
        state.have(30);
        assert!(!state.suggestions().contains(&30));
    }

    #[test]
    fn a_peer_cannot_grow_our_allowance_without_bound() {
        let mut state = FastState::default();
        for p in 0..10_000 {
            state.allowed_by_them(p);
        }
        assert_eq!(state.choked_allowance().len(), MAX_ALLOWED_BY_THEM);
    }
}
