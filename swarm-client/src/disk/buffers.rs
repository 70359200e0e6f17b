//! The session's pool of piece buffers: every piece being downloaded or verified, in every
//! torrent, is assembled in one of these, and the pool holds them to a byte budget. So memory
//! stays bounded whatever the number and size of the torrents, a slow disk slows the download
//! instead of filling memory, and buffers are reused rather than faulted in afresh per piece.
//!
//! A torrent with no buffer in use may always take one, even over the budget: one torrent
//! with huge pieces can never starve the others for good. A torrent that found the pool dry
//! is remembered; when a buffer comes back, the caller is told which torrents to wake.

use std::collections::{HashMap, HashSet};

use parking_lot::Mutex;

use crate::events::TorrentId;
use crate::piece_buf::PieceBuf;

/// Memory allowed for piece buffers by default (48 MiB).
pub const DEFAULT_BUDGET: u64 = 48 * 1024 * 1024;

/// A spare buffer is reused for a piece only if it is at most this many times larger.
const MAX_OVERSIZE: usize = 4;

/// Piece buffers shared by the torrents of a session, within a byte budget.
#[derive(Debug)]
pub struct BufferPool {
    budget: u64,
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    /// Capacity of every buffer handed out or kept spare.
    allocated: u64,
    spare: Vec<PieceBuf>,
    /// Buffers in use per torrent.
    in_use: HashMap<TorrentId, usize>,
    /// Torrents whose last attempt found no buffer.
    starved: HashSet<TorrentId>,
}

impl BufferPool {
    /// A pool that keeps at most `budget` bytes of buffers (see the module doc for the one
    /// exception).
    pub fn new(budget: u64) -> Self {
        Self {
            budget,
            inner: Mutex::new(Inner::default()),
        }
    }

    /// A buffer of `len` bytes for a piece of `owner`, or `None` when the budget is spent
    /// (`owner` is then remembered as starved). The bytes are whatever the buffer held before.
    pub fn take(&self, owner: TorrentId, len: usize) -> Option<PieceBuf> {
        let mut inner = self.inner.lock();
        if !inner.grants(owner, len, self.budget) {
            inner.starved.insert(owner);
            return None;
        }
        let mut buffer = match inner.best_spare(len) {
            Some(i) => inner.spare.swap_remove(i),
            None => {
                // Fails only for a torrent's first buffer, which may exceed the budget.
                inner.make_room(len as u64, self.budget);
                inner.allocated += len as u64;
                PieceBuf::with_capacity(len)
            }
        };
        *inner.in_use.entry(owner).or_default() += 1;
        buffer.set_len(len);
        Some(buffer)
    }

    /// Whether [`BufferPool::take`] would give `owner` a buffer of `len` bytes now; when not,
    /// `owner` is remembered as starved, as by a failed `take`. Lets a caller skip the work
    /// of choosing what the buffer is for when there will be none.
    pub fn can_take(&self, owner: TorrentId, len: usize) -> bool {
        let mut inner = self.inner.lock();
        let grants = inner.grants(owner, len, self.budget);
        if !grants {
            inner.starved.insert(owner);
        }
        grants
    }

    /// Gives back a buffer `owner` took. Returns the torrents that were starved and should
    /// try again now (empty when nobody waits).
    pub fn give_back(&self, owner: TorrentId, buffer: PieceBuf) -> Vec<TorrentId> {
        let mut inner = self.inner.lock();
        if let Some(n) = inner.in_use.get_mut(&owner) {
            *n = n.saturating_sub(1);
        }
        if inner.allocated <= self.budget {
            inner.spare.push(buffer);
        } else {
            inner.allocated = inner.allocated.saturating_sub(buffer.capacity() as u64);
        }
        inner.starved.drain().collect()
    }

    /// Frees the spare buffers (when no torrent downloads, they are only memory held).
    pub fn release_spares(&self) {
        let mut inner = self.inner.lock();
        let freed: u64 = inner.spare.iter().map(|b| b.capacity() as u64).sum();
        inner.spare.clear();
        inner.allocated = inner.allocated.saturating_sub(freed);
    }

    /// Forgets a torrent that left the session (its buffers already came back).
    pub fn forget(&self, owner: TorrentId) {
        let mut inner = self.inner.lock();
        inner.in_use.remove(&owner);
        inner.starved.remove(&owner);
    }

    /// Bytes of buffers allocated (in use or spare).
    pub fn allocated(&self) -> u64 {
        self.inner.lock().allocated
    }
}

impl Inner {
    /// The pool's one rule: `owner` gets a buffer of `len` bytes if a spare fits, if one fits
    /// in `budget` once spares of other sizes are freed, or if it is `owner`'s first.
    fn grants(&self, owner: TorrentId, len: usize, budget: u64) -> bool {
        let spares: u64 = self.spare.iter().map(|b| b.capacity() as u64).sum();
        self.best_spare(len).is_some()
            || self.allocated.saturating_sub(spares) + len as u64 <= budget
            || self.in_use.get(&owner).copied().unwrap_or(0) == 0
    }

    /// The smallest spare buffer that holds `len` bytes without being wastefully large.
    fn best_spare(&self, len: usize) -> Option<usize> {
        self.spare
            .iter()
            .enumerate()
            .filter(|(_, b)| b.capacity() >= len && b.capacity() <= len.max(1) * MAX_OVERSIZE)
            .min_by_key(|(_, b)| b.capacity())
            .map(|(i, _)| i)
    }

    /// Frees spare buffers (of other sizes) until `len` more bytes fit in `budget`, or none
    /// is left.
    fn make_room(&mut self, len: u64, budget: u64) {
        while self.allocated + len > budget {
            let Some(old) = self.spare.pop() else {
                return;
            };
            self.allocated = self.allocated.saturating_sub(old.capacity() as u64);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: TorrentId = TorrentId(1);
    const B: TorrentId = TorrentId(2);

    const PIECE: usize = 64 * 1024;

    #[test]
    fn can_take_answers_as_take_would_and_a_no_is_woken_later() {
        let pool = BufferPool::new(2 * PIECE as u64);
        assert!(pool.can_take(A, PIECE), "the first buffer of a torrent");
        let a = pool.take(A, PIECE).unwrap();
        let b = pool.take(A, PIECE).unwrap();
        assert!(!pool.can_take(A, PIECE), "budget spent");
        assert!(
            pool.can_take(B, PIECE),
            "a torrent with none in use may always take one"
        );
        assert_eq!(
            pool.give_back(A, a),
            vec![A],
            "the refused torrent is woken"
        );
        assert!(pool.can_take(A, PIECE), "a spare of the size");
        drop(b);
    }

    #[test]
    fn the_budget_bounds_buffers_in_use() {
        let pool = BufferPool::new(2 * PIECE as u64);
        let a = pool.take(A, PIECE).unwrap();
        let b = pool.take(A, PIECE).unwrap();
        assert!(pool.take(A, PIECE).is_none(), "budget spent");
        assert_eq!(
            pool.give_back(A, a),
            vec![A],
            "the starved torrent is woken"
        );
        assert!(pool.take(A, PIECE).is_some(), "the buffer came back");
        drop(b);
    }

    #[test]
    fn a_torrent_with_nothing_in_use_always_gets_one_buffer() {
        let pool = BufferPool::new(PIECE as u64);
        let _a = pool.take(A, PIECE).unwrap();
        assert!(
            pool.take(B, PIECE).is_some(),
            "torrent 2 is not starved by torrent 1"
        );
        assert!(pool.take(B, PIECE).is_none());
    }

    #[test]
    fn spare_buffers_are_reused_not_reallocated() {
        let pool = BufferPool::new(4 * PIECE as u64);
        let a = pool.take(A, PIECE).unwrap();
        let at = a.as_ptr();
        pool.give_back(A, a);
        let b = pool.take(A, PIECE - 100).unwrap();
        assert_eq!(b.as_ptr(), at);
        assert_eq!(b.len(), PIECE - 100);
        assert_eq!(pool.allocated(), PIECE as u64);
    }

    #[test]
    fn spares_of_another_size_make_way_within_the_budget() {
        let pool = BufferPool::new(4 * PIECE as u64);
        let small = pool.take(A, PIECE / 8).unwrap();
        pool.give_back(A, small);
        let big = pool.take(B, 4 * PIECE).unwrap();
        assert_eq!(big.len(), 4 * PIECE);
        assert_eq!(
            pool.allocated(),
            4 * PIECE as u64,
            "the small spare was freed"
        );
    }
}
