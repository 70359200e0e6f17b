//! Fetching a torrent's info dictionary from peers (BEP 9), for a magnet link.
//!
//! [`MetadataFetch`] is a state machine without I/O: the connection code tells it which
//! peers can serve metadata (and the size each advertised), asks it which piece to request
//! next, and hands it every `data` and `reject` message. It assembles the pieces in a buffer
//! bounded by [`FetchConfig::max_size`], checks the SHA-1 of the whole against the
//! info-hash, and on a mismatch names every peer that contributed so they can be dropped.
//!
//! The size: the first usable peer's `metadata_size` is adopted; only peers that advertised
//! that same size are asked. If every such peer goes away, or the assembled dictionary fails
//! its hash, the size is chosen again from the peers that remain.

use std::collections::{HashMap, HashSet};
use std::hash::Hash;
use std::time::{Duration, Instant};

use bytes::Bytes;
use metainfo::InfoHash;

use super::metadata::METADATA_PIECE_LEN;

/// Largest info dictionary we fetch by default: 16 MiB (1024 pieces).
pub const MAX_METADATA_SIZE: u64 = 16 << 20;

/// Limits and timings of a fetch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FetchConfig {
    /// Largest `metadata_size` accepted.
    pub max_size: u64,
    /// How long a request may go unanswered before its piece is asked of another peer.
    pub request_timeout: Duration,
    /// Requests outstanding per peer (libtorrent keeps two).
    pub max_in_flight: usize,
    /// How long a peer that rejected a request is left alone.
    pub reject_backoff: Duration,
}

impl Default for FetchConfig {
    fn default() -> Self {
        Self {
            max_size: MAX_METADATA_SIZE,
            request_timeout: Duration::from_secs(15),
            max_in_flight: 2,
            reject_backoff: Duration::from_secs(60),
        }
    }
}

/// Why a peer's metadata input was refused. Every variant but [`FetchError::SizeOutOfBounds`]
/// (which only means the peer cannot serve us) is a protocol violation: drop the peer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    #[error("metadata_size {size} is outside 1..={max}")]
    SizeOutOfBounds { size: u64, max: u64 },
    #[error("metadata piece {piece} is out of range ({count} pieces)")]
    PieceOutOfRange { piece: u32, count: u32 },
    #[error("metadata piece {piece} was not requested from this peer")]
    Unrequested { piece: u32 },
    #[error("metadata piece {piece} is {len} bytes, expected {expected}")]
    WrongPieceLength {
        piece: u32,
        len: usize,
        expected: usize,
    },
    #[error("peer says the metadata is {theirs} bytes, but it is {ours}")]
    SizeMismatch { ours: u64, theirs: u64 },
}

/// What a `data` message led to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DataOutcome<P> {
    /// Stored; more pieces are needed.
    Stored,
    /// A piece we already had (a late answer to a request that timed out): ignored.
    Duplicate,
    /// Every piece is in and the SHA-1 matches the info-hash: the raw info dictionary.
    Complete(Bytes),
    /// Every piece is in but the SHA-1 is wrong. Everything received is discarded, these
    /// peers (each that sent a piece) are forgotten by the fetch, and it starts over with
    /// the others.
    HashMismatch { contributors: Vec<P> },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot<P> {
    Missing,
    Requested { peer: P, at: Instant },
    Received { from: P },
}

#[derive(Debug)]
struct PeerState {
    /// The `metadata_size` this peer advertised.
    size: u64,
    /// Pieces asked of this peer and not answered yet (including timed-out requests, so a
    /// late answer is not taken for an unrequested one).
    asked: HashSet<u32>,
    /// No requests before this instant (after a reject).
    idle_until: Option<Instant>,
}

/// The fetch of one torrent's info dictionary; `P` identifies a peer connection.
#[derive(Debug)]
pub struct MetadataFetch<P> {
    info_hash: InfoHash,
    config: FetchConfig,
    peers: HashMap<P, PeerState>,
    /// The size being assembled, once a peer gave one.
    size: Option<u64>,
    slots: Vec<Slot<P>>,
    /// Allocated at the first piece received; at most `size` bytes.
    buffer: Vec<u8>,
    received: u32,
    complete: bool,
}

impl<P: Copy + Eq + Hash> MetadataFetch<P> {
    /// A fetch for the torrent `info_hash` with the default limits.
    pub fn new(info_hash: InfoHash) -> Self {
        Self::with_config(info_hash, FetchConfig::default())
    }

    /// A fetch with explicit limits.
    pub fn with_config(info_hash: InfoHash, config: FetchConfig) -> Self {
        Self {
            info_hash,
            config,
            peers: HashMap::new(),
            size: None,
            slots: Vec::new(),
            buffer: Vec::new(),
            received: 0,
            complete: false,
        }
    }

    /// Whether the info dictionary was assembled and verified.
    pub fn is_complete(&self) -> bool {
        self.complete
    }

    /// The size being fetched, once known.
    pub fn size(&self) -> Option<u64> {
        self.size
    }

    /// Pieces received and the piece count of the size being fetched (0 while unknown).
    pub fn progress(&self) -> (u32, u32) {
        (self.received, self.slots.len() as u32)
    }

    /// A peer that announced ut_metadata with `metadata_size` in its extended handshake.
    /// Announcing again (a new handshake) replaces what it said before.
    pub fn add_peer(&mut self, peer: P, metadata_size: u64) -> Result<(), FetchError> {
        if metadata_size == 0 || metadata_size > self.config.max_size {
            self.remove_peer(peer);
            return Err(FetchError::SizeOutOfBounds {
                size: metadata_size,
                max: self.config.max_size,
            });
        }
        let asked = self
            .peers
            .remove(&peer)
            .map(|old| old.asked)
            .unwrap_or_default();
        self.peers.insert(
            peer,
            PeerState {
                size: metadata_size,
                asked,
                idle_until: None,
            },
        );
        if self.size.is_none() {
            self.start(metadata_size);
        }
        self.reselect_size_if_orphaned();
        Ok(())
    }

    /// A peer went away: its outstanding requests go back to the pool.
    pub fn remove_peer(&mut self, peer: P) {
        if self.peers.remove(&peer).is_none() {
            return;
        }
        for slot in &mut self.slots {
            if matches!(slot, Slot::Requested { peer: p, .. } if *p == peer) {
                *slot = Slot::Missing;
            }
        }
        self.reselect_size_if_orphaned();
    }

    /// The piece to request from `peer` now, if any; the request is recorded as sent.
    pub fn next_request(&mut self, peer: P, now: Instant) -> Option<u32> {
        if self.complete {
            return None;
        }
        let size = self.size?;
        let state = self.peers.get_mut(&peer)?;
        if state.size != size
            || state.asked.len() >= self.config.max_in_flight
            || state.idle_until.is_some_and(|until| now < until)
        {
            return None;
        }
        let piece = self.slots.iter().position(|s| *s == Slot::Missing)?;
        self.slots[piece] = Slot::Requested { peer, at: now };
        let piece = piece as u32;
        state.asked.insert(piece);
        Some(piece)
    }

    /// A `data` message from `peer`. An error means the peer broke the protocol.
    pub fn on_data(
        &mut self,
        peer: P,
        piece: u32,
        total_size: Option<u64>,
        data: &[u8],
    ) -> Result<DataOutcome<P>, FetchError> {
        let count = self.slots.len() as u32;
        let Some(state) = self.peers.get_mut(&peer) else {
            return Err(FetchError::Unrequested { piece });
        };
        if self.complete {
            // Late answers after the end are harmless.
            return Ok(DataOutcome::Duplicate);
        }
        if !state.asked.remove(&piece) {
            return Err(if piece >= count {
                FetchError::PieceOutOfRange { piece, count }
            } else {
                FetchError::Unrequested { piece }
            });
        }
        let size = match self.size {
            Some(size) if state.size == size => size,
            // We started over with another size since asking: nothing to do.
            _ => return Ok(DataOutcome::Duplicate),
        };
        if let Some(theirs) = total_size.filter(|theirs| *theirs != size) {
            return Err(FetchError::SizeMismatch { ours: size, theirs });
        }
        let Some(slot) = self.slots.get_mut(piece as usize) else {
            return Err(FetchError::PieceOutOfRange { piece, count });
        };
        if matches!(slot, Slot::Received { .. }) {
            return Ok(DataOutcome::Duplicate);
        }
        let (start, expected) = piece_span(size, piece);
        if data.len() != expected {
            return Err(FetchError::WrongPieceLength {
                piece,
                len: data.len(),
                expected,
            });
        }
        *slot = Slot::Received { from: peer };
        if self.buffer.is_empty() {
            self.buffer = vec![0; size as usize];
        }
        self.buffer[start..start + expected].copy_from_slice(data);
        self.received += 1;
        if self.received < count {
            return Ok(DataOutcome::Stored);
        }
        Ok(self.verify())
    }

    /// A `reject` message from `peer`: its piece goes back to the pool and the peer is left
    /// alone for [`FetchConfig::reject_backoff`]. A reject for a piece we did not ask for
    /// is ignored.
    pub fn on_reject(&mut self, peer: P, piece: u32, now: Instant) {
        let Some(state) = self.peers.get_mut(&peer) else {
            return;
        };
        if !state.asked.remove(&piece) {
            return;
        }
        state.idle_until = Some(now + self.config.reject_backoff);
        if let Some(slot) = self.slots.get_mut(piece as usize)
            && matches!(slot, Slot::Requested { peer: p, .. } if *p == peer)
        {
            *slot = Slot::Missing;
        }
    }

    /// Releases requests older than [`FetchConfig::request_timeout`] so other peers can be
    /// asked, and returns the peers that let them time out (each once). Such a peer is not
    /// asked again until it answers; its late answer still counts.
    pub fn expire(&mut self, now: Instant) -> Vec<P> {
        let mut late = Vec::new();
        for slot in &mut self.slots {
            if let Slot::Requested { peer, at } = *slot
                && now.saturating_duration_since(at) >= self.config.request_timeout
            {
                *slot = Slot::Missing;
                if !late.contains(&peer) {
                    late.push(peer);
                }
            }
        }
        late
    }

    /// Checks the assembled dictionary; on a mismatch forgets the contributors and starts
    /// over.
    fn verify(&mut self) -> DataOutcome<P> {
        if InfoHash::of_info_bytes(&self.buffer) == self.info_hash {
            self.complete = true;
            return DataOutcome::Complete(Bytes::from(std::mem::take(&mut self.buffer)));
        }
        let mut contributors = Vec::new();
        for slot in &self.slots {
            if let Slot::Received { from } = *slot
                && !contributors.contains(&from)
            {
                contributors.push(from);
            }
        }
        for peer in &contributors {
            self.peers.remove(peer);
        }
        self.size = None;
        self.reselect_size_if_orphaned();
        DataOutcome::HashMismatch { contributors }
    }

    /// When no remaining peer advertises the size being fetched, drops what was received
    /// and adopts the size most remaining peers advertise (the smallest on a tie).
    fn reselect_size_if_orphaned(&mut self) {
        if self.complete
            || self
                .size
                .is_some_and(|size| self.peers.values().any(|p| p.size == size))
        {
            return;
        }
        let mut votes: HashMap<u64, usize> = HashMap::new();
        for state in self.peers.values() {
            *votes.entry(state.size).or_default() += 1;
        }
        let best = votes
            .into_iter()
            .max_by(|(size_a, a), (size_b, b)| a.cmp(b).then(size_b.cmp(size_a)))
            .map(|(size, _)| size);
        match best {
            Some(size) => self.start(size),
            None => {
                self.size = None;
                self.slots.clear();
                self.buffer = Vec::new();
                self.received = 0;
            }
        }
    }

    /// Starts assembling a dictionary of `size` bytes from nothing.
    fn start(&mut self, size: u64) {
        self.size = Some(size);
        self.slots = vec![Slot::Missing; size.div_ceil(METADATA_PIECE_LEN as u64) as usize];
        self.buffer = Vec::new();
        self.received = 0;
    }
}

/// Offset and length of metadata piece `piece` in a dictionary of `size` bytes (the caller
/// has checked that the piece exists).
fn piece_span(size: u64, piece: u32) -> (usize, usize) {
    let start = piece as usize * METADATA_PIECE_LEN;
    (start, METADATA_PIECE_LEN.min(size as usize - start))
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: u8 = 1;
    const B: u8 = 2;
    const C: u8 = 3;

    fn info(len: usize) -> (Vec<u8>, InfoHash) {
        let bytes: Vec<u8> = (0..len).map(|i| (i * 7 % 251) as u8).collect();
        let hash = InfoHash::of_info_bytes(&bytes);
        (bytes, hash)
    }

    fn piece(bytes: &[u8], index: u32) -> &[u8] {
        let (start, len) = piece_span(bytes.len() as u64, index);
        &bytes[start..start + len]
    }

    #[test]
    fn fetches_from_two_peers_and_verifies() {
        let (bytes, hash) = info(40_000);
        let now = Instant::now();
        let mut fetch = MetadataFetch::new(hash);
        fetch.add_peer(A, 40_000).unwrap();
        fetch.add_peer(B, 40_000).unwrap();
        assert_eq!(fetch.progress(), (0, 3));
        assert_eq!(fetch.next_request(A, now), Some(0));
        assert_eq!(fetch.next_request(B, now), Some(1));
        assert_eq!(fetch.next_request(A, now), Some(2));
        assert_eq!(fetch.next_request(B, now), None);
        let size = Some(40_000);
        assert_eq!(
            fetch.on_data(A, 2, size, piece(&bytes, 2)),
            Ok(DataOutcome::Stored)
        );
        assert_eq!(
            fetch.on_data(A, 0, size, piece(&bytes, 0)),
            Ok(DataOutcome::Stored)
        );
        assert_eq!(
            fetch.on_data(B, 1, None, piece(&bytes, 1)),
            Ok(DataOutcome::Complete(Bytes::from(bytes)))
        );
        assert!(fetch.is_complete());
        assert_eq!(fetch.next_request(A, now), None);
        // Found by fuzzing: progress once complete used to read (3, 0).
        assert_eq!(fetch.progress(), (3, 3));
        // Late answers after the end are harmless.
        assert_eq!(fetch.on_data(B, 1, None, b"x"), Ok(DataOutcome::Duplicate));
    }

    #[test]
    fn wrong_hash_names_every_contributor_and_starts_over() {
        let (bytes, hash) = info(20_000);
        let now = Instant::now();
        let mut fetch = MetadataFetch::new(hash);
        for peer in [A, B, C] {
            fetch.add_peer(peer, 20_000).unwrap();
        }
        assert_eq!(fetch.next_request(A, now), Some(0));
        assert_eq!(fetch.next_request(B, now), Some(1));
        fetch.on_data(A, 0, None, piece(&bytes, 0)).unwrap();
        let mut bad = piece(&bytes, 1).to_vec();
        bad[0] ^= 1;
        let DataOutcome::HashMismatch { mut contributors } =
            fetch.on_data(B, 1, None, &bad).unwrap()
        else {
            panic!("expected a hash mismatch");
        };
        contributors.sort();
        assert_eq!(contributors, vec![A, B]);
        // Forgotten: not asked again, their late data is unrequested.
        assert_eq!(fetch.next_request(A, now), None);
        assert!(fetch.on_data(A, 0, None, piece(&bytes, 0)).is_err());
        // C is still there and the fetch starts from scratch.
        assert_eq!(fetch.progress(), (0, 2));
        assert_eq!(fetch.next_request(C, now), Some(0));
        assert_eq!(fetch.next_request(C, now), Some(1));
        fetch.on_data(C, 0, None, piece(&bytes, 0)).unwrap();
        assert!(matches!(
            fetch.on_data(C, 1, None, piece(&bytes, 1)),
            Ok(DataOutcome::Complete(_))
        ));
    }

    #[test]
    fn refuses_sizes_out_of_bounds() {
        let mut fetch = MetadataFetch::new(InfoHash([0; 20]));
        assert_eq!(
            fetch.add_peer(A, 0),
            Err(FetchError::SizeOutOfBounds {
                size: 0,
                max: MAX_METADATA_SIZE
            })
        );
        assert!(matches!(
            fetch.add_peer(A, MAX_METADATA_SIZE + 1),
            Err(FetchError::SizeOutOfBounds { .. })
        ));
        assert!(matches!(
            fetch.add_peer(A, u64::MAX),
            Err(FetchError::SizeOutOfBounds { .. })
        ));
        assert_eq!(fetch.size(), None);
        assert_eq!(fetch.next_request(A, Instant::now()), None);
        fetch.add_peer(A, MAX_METADATA_SIZE).unwrap();
        assert_eq!(fetch.progress(), (0, 1024));
    }

    #[test]
    fn unrequested_out_of_range_and_wrong_length_pieces_are_violations() {
        let (bytes, hash) = info(20_000);
        let now = Instant::now();
        let mut fetch = MetadataFetch::new(hash);
        fetch.add_peer(A, 20_000).unwrap();
        assert_eq!(
            fetch.on_data(A, 0, None, piece(&bytes, 0)),
            Err(FetchError::Unrequested { piece: 0 })
        );
        assert_eq!(
            fetch.on_data(A, 9, None, b"x"),
            Err(FetchError::PieceOutOfRange { piece: 9, count: 2 })
        );
        assert_eq!(
            fetch.on_data(B, 0, None, b"x"),
            Err(FetchError::Unrequested { piece: 0 })
        );
        assert_eq!(fetch.next_request(A, now), Some(0));
        assert_eq!(fetch.next_request(A, now), Some(1));
        assert_eq!(
            fetch.on_data(A, 0, None, &bytes[..100]),
            Err(FetchError::WrongPieceLength {
                piece: 0,
                len: 100,
                expected: METADATA_PIECE_LEN
            })
        );
        assert_eq!(
            fetch.on_data(A, 1, None, &bytes[..METADATA_PIECE_LEN]),
            Err(FetchError::WrongPieceLength {
                piece: 1,
                len: METADATA_PIECE_LEN,
                expected: 20_000 - METADATA_PIECE_LEN
            })
        );
    }

    #[test]
    fn total_size_must_match_the_advertised_size() {
        let (bytes, hash) = info(1000);
        let mut fetch = MetadataFetch::new(hash);
        fetch.add_peer(A, 1000).unwrap();
        assert_eq!(fetch.next_request(A, Instant::now()), Some(0));
        assert_eq!(
            fetch.on_data(A, 0, Some(999), &bytes),
            Err(FetchError::SizeMismatch {
                ours: 1000,
                theirs: 999
            })
        );
    }

    #[test]
    fn peers_with_another_size_wait_until_the_first_size_is_orphaned() {
        let (bytes, hash) = info(1000);
        let now = Instant::now();
        let mut fetch = MetadataFetch::new(hash);
        fetch.add_peer(A, 5_000_000).unwrap(); // a liar goes first
        fetch.add_peer(B, 1000).unwrap();
        fetch.add_peer(C, 1000).unwrap();
        assert_eq!(fetch.size(), Some(5_000_000));
        assert_eq!(fetch.next_request(B, now), None);
        assert_eq!(fetch.next_request(A, now), Some(0));
        // The liar never answers: its request times out and the engine drops it.
        let later = now + FetchConfig::default().request_timeout;
        assert_eq!(fetch.expire(later), vec![A]);
        fetch.remove_peer(A);
        assert_eq!(fetch.size(), Some(1000));
        assert_eq!(fetch.next_request(B, later), Some(0));
        assert!(matches!(
            fetch.on_data(B, 0, Some(1000), &bytes),
            Ok(DataOutcome::Complete(_))
        ));
    }

    #[test]
    fn the_most_advertised_size_wins_a_reselection() {
        let mut fetch: MetadataFetch<u8> = MetadataFetch::new(InfoHash([0; 20]));
        fetch.add_peer(A, 100).unwrap();
        fetch.add_peer(B, 300).unwrap();
        fetch.add_peer(C, 300).unwrap();
        fetch.remove_peer(A);
        assert_eq!(fetch.size(), Some(300));
        fetch.remove_peer(B);
        fetch.remove_peer(C);
        assert_eq!(fetch.size(), None);
        assert_eq!(fetch.progress(), (0, 0));
    }

    #[test]
    fn timed_out_pieces_go_to_another_peer_and_late_answers_are_kept() {
        let (bytes, hash) = info(20_000);
        let now = Instant::now();
        let mut fetch = MetadataFetch::new(hash);
        fetch.add_peer(A, 20_000).unwrap();
        fetch.add_peer(B, 20_000).unwrap();
        assert_eq!(fetch.next_request(A, now), Some(0));
        assert!(fetch.expire(now + Duration::from_secs(1)).is_empty());
        let later = now + Duration::from_secs(20);
        assert_eq!(fetch.expire(later), vec![A]);
        assert_eq!(fetch.next_request(B, later), Some(0));
        assert_eq!(fetch.next_request(B, later), Some(1));
        // A's late answer is not a violation; it counts.
        assert_eq!(
            fetch.on_data(A, 0, None, piece(&bytes, 0)),
            Ok(DataOutcome::Stored)
        );
        // B's answer for the same piece is then a duplicate.
        assert_eq!(
            fetch.on_data(B, 0, None, piece(&bytes, 0)),
            Ok(DataOutcome::Duplicate)
        );
        assert!(matches!(
            fetch.on_data(B, 1, None, piece(&bytes, 1)),
            Ok(DataOutcome::Complete(_))
        ));
    }

    #[test]
    fn a_peer_has_at_most_two_requests_out() {
        let mut fetch: MetadataFetch<u8> = MetadataFetch::new(InfoHash([0; 20]));
        fetch.add_peer(A, 100_000).unwrap();
        let now = Instant::now();
        assert_eq!(fetch.next_request(A, now), Some(0));
        assert_eq!(fetch.next_request(A, now), Some(1));
        assert_eq!(fetch.next_request(A, now), None);
    }

    #[test]
    fn a_rejecting_peer_is_left_alone_for_a_while() {
        let mut fetch: MetadataFetch<u8> = MetadataFetch::new(InfoHash([0; 20]));
        fetch.add_peer(A, 100).unwrap();
        let now = Instant::now();
        assert_eq!(fetch.next_request(A, now), Some(0));
        fetch.on_reject(A, 0, now);
        assert_eq!(fetch.next_request(A, now + Duration::from_secs(10)), None);
        assert_eq!(
            fetch.next_request(A, now + FetchConfig::default().reject_backoff),
            Some(0)
        );
        // A reject for something never asked changes nothing.
        fetch.on_reject(A, 5, now);
        fetch.on_reject(B, 0, now);
    }

    #[test]
    fn a_departing_peer_releases_its_requests() {
        let mut fetch: MetadataFetch<u8> = MetadataFetch::new(InfoHash([0; 20]));
        fetch.add_peer(A, 100).unwrap();
        fetch.add_peer(B, 100).unwrap();
        let now = Instant::now();
        assert_eq!(fetch.next_request(A, now), Some(0));
        assert_eq!(fetch.next_request(B, now), None);
        fetch.remove_peer(A);
        assert_eq!(fetch.next_request(B, now), Some(0));
    }
}
