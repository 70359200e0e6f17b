//! Piece and block selection, and assembly of the pieces being downloaded.
//!
//! The picker decides which 16 KiB blocks a peer should be asked for:
//! - blocks of pieces already in progress come first (a peer finishes what it started, then
//!   helps finish pieces others started), so few pieces are half-done at any time;
//! - a new piece is the rarest among the peer's pieces (availability counted from bitfields
//!   and `have`s), picked at random among equally rare ones; the first few pieces are random,
//!   so there is something to share early;
//! - in endgame (every missing piece is in progress) blocks already requested from someone
//!   else are requested again from a peer that has run dry, and the duplicates cancelled
//!   when one copy arrives.
//!
//! It also holds the buffers of the pieces in progress and hands out a whole piece once its
//! last block arrives, for verification. Piece buffers come from the session's
//! [`BufferPool`] and go back to it once the piece is checked and written, so memory stays
//! bounded whatever the torrent size and a slow disk slows the download instead of filling
//! memory.
//!
//! The picker is the one owner of "which pieces do we have": it publishes them in a
//! [`HaveSet`] that others (peers serving requests, the resume saver) read without a lock.
//!
//! As it counts who holds which piece ([`availability`]), it also decides which requests a
//! seed serves: while it alone holds some pieces, each piece goes to one peer ([`seeding`]);
//! afterwards the rarest pieces, and others only rather than leave the uplink idle
//! ([`spread_seeding`]).

mod availability;
mod have;
mod seeding;
mod spread_seeding;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Instant;

use metainfo::PieceGeometry;

use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};

use crate::disk::BufferPool;
use crate::events::TorrentId;
use crate::peer::{PeerKey, Upload, UploadAsk};
use crate::piece_buf::PieceBuf;
use crate::wire::{BLOCK_SIZE, Bitfield, BlockRequest};
use availability::Availability;
pub use have::HaveSet;
use seeding::InitialSeeding;
use spread_seeding::SpreadSeeding;

/// How many pieces are picked at random before rarest-first takes over.
const RANDOM_FIRST_PIECES: u32 = 4;

/// Endgame starts only when at most this many requested blocks are still awaited (so early
/// on, while many pieces are in flight, no bandwidth goes to duplicates).
const ENDGAME_MAX_AWAITED: u32 = 64;

/// In endgame, at most this many extra requests for the same block are outstanding: one, as
/// libtorrent's strict endgame. With two, the lab's flash-crowd leechers received 1.04 × what
/// they needed (libtorrent's 1.02): blocks already on the wire when the cancel came.
const MAX_DUPLICATES: u8 = 1;

/// In endgame, a peer is given duplicates only while it awaits fewer than this many blocks,
/// so the duplicates go to peers running dry. A peer that still awaits its own long queue
/// would answer a duplicate late, and taking it would leave nothing for an idle peer (with a
/// single duplicate per block, the first busy peer to refill took them all). Endgame covers
/// at most the last [`ENDGAME_MAX_AWAITED`] blocks, shared by the peers that ran dry, up to
/// four each.
const ENDGAME_QUEUE: usize = 4;

/// Where one piece stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    /// Not started.
    Missing,
    /// Some blocks requested or received; the piece has an entry in `partial`.
    InProgress,
    /// Every block received; its hash is being checked.
    Verifying,
    /// Verified and written.
    Have,
}

/// One block of a piece in progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Block {
    Missing,
    /// Requested from `by`, plus `extra` endgame duplicates from other peers.
    Requested {
        by: PeerKey,
        extra: u8,
    },
    Received,
}

/// A piece being downloaded: block states and the bytes received so far.
struct Partial {
    blocks: Vec<Block>,
    /// Every block before this index is requested or received (a search hint).
    first_missing: usize,
    missing: u32,
    received: u32,
    data: PieceBuf,
    /// The peer that sent each block (blamed if the piece fails its hash check).
    senders: Vec<PeerKey>,
    /// The peer that started the piece; it prefers to finish it.
    owner: PeerKey,
}

/// What became of a block that arrived.
#[derive(Debug, PartialEq, Eq)]
pub enum Arrival {
    /// Stored; the piece still lacks blocks. `cancel_duplicates`: other peers were asked
    /// for the same block in endgame and should be sent a `cancel`.
    Stored { cancel_duplicates: bool },
    /// Stored and the piece is now whole: verify `data` and report with [`Picker::verified`].
    PieceComplete {
        index: u32,
        data: PieceBuf,
        /// Who sent each block, in block order.
        senders: Vec<PeerKey>,
        cancel_duplicates: bool,
    },
    /// We already had this block (an endgame duplicate or a late one); nothing stored.
    NotNeeded,
}

/// Rarest-first piece picker and assembler of the pieces in progress.
pub struct Picker {
    geometry: PieceGeometry,
    piece_count: u32,
    status: Vec<Status>,
    /// How many connected peers hold each piece.
    availability: Availability,
    /// Which peer each piece went to while we seed pieces nobody else holds.
    initial_seeding: InitialSeeding,
    /// Which pieces each peer started with us once the swarm holds every piece.
    spread_seeding: SpreadSeeding,
    partial: HashMap<u32, Partial>,
    missing_pieces: u32,
    have_count: u32,
    /// The pieces we have, published for lock-free readers.
    published: Arc<HaveSet>,
    /// Pieces verified during this session (for random-first).
    verified_this_session: u32,
    /// Where piece buffers come from, and the torrent they are taken for.
    pool: Arc<BufferPool>,
    owner: TorrentId,
    /// Seeding what we have only: nothing is picked, no peer is interesting.
    seed_only: bool,
    rng: SmallRng,
}

impl Picker {
    /// A picker for a torrent cut into pieces as `geometry` says, holding the pieces in
    /// `have` (verified already). Piece buffers are taken from `pool` for torrent `owner`.
    pub fn new(
        geometry: PieceGeometry,
        have: &Bitfield,
        pool: Arc<BufferPool>,
        owner: TorrentId,
    ) -> Self {
        let piece_count = geometry.piece_count();
        let status: Vec<Status> = (0..piece_count)
            .map(|i| {
                if have.get(i) {
                    Status::Have
                } else {
                    Status::Missing
                }
            })
            .collect();
        let have_count = status.iter().filter(|s| **s == Status::Have).count() as u32;
        let mut published = Bitfield::new(piece_count);
        for i in have.iter_ones().filter(|i| *i < piece_count) {
            let _ = published.set(i);
        }
        Self {
            geometry,
            piece_count,
            status,
            availability: Availability::new(piece_count),
            initial_seeding: InitialSeeding::new(piece_count),
            spread_seeding: SpreadSeeding::default(),
            partial: HashMap::new(),
            missing_pieces: piece_count - have_count,
            have_count,
            published: Arc::new(HaveSet::new(&published)),
            verified_this_session: 0,
            pool,
            owner,
            seed_only: false,
            rng: SmallRng::seed_from_u64(rand::random()),
        }
    }

    /// The pieces we have, readable without the picker's lock.
    pub fn have_set(&self) -> Arc<HaveSet> {
        self.published.clone()
    }

    /// Number of pieces in the torrent.
    pub fn piece_count(&self) -> u32 {
        self.piece_count
    }

    /// Size in bytes of piece `index` (the last one may be short).
    pub fn piece_size(&self, index: u32) -> u32 {
        self.geometry.piece_size(index)
    }

    /// Do we have piece `index`, verified?
    pub fn has(&self, index: u32) -> bool {
        self.status.get(index as usize) == Some(&Status::Have)
    }

    /// Are we seeding to a swarm whose connected peers hold every piece between them
    /// (initial seeding is over: the leechers can trade for everything)?
    pub fn spread(&self) -> bool {
        self.is_complete() && self.availability.unheld() == 0
    }

    /// Number of verified pieces.
    pub fn have_count(&self) -> u32 {
        self.have_count
    }

    /// Is every piece verified?
    pub fn is_complete(&self) -> bool {
        self.have_count == self.piece_count
    }

    /// The verified pieces as a bitfield (to send to peers).
    pub fn have_bitfield(&self) -> Bitfield {
        let mut field = Bitfield::new(self.piece_count);
        for (i, s) in self.status.iter().enumerate() {
            if *s == Status::Have {
                let _ = field.set(i as u32);
            }
        }
        field
    }

    /// Number of pieces being downloaded right now.
    pub fn in_progress(&self) -> usize {
        self.partial.len()
    }

    /// Gives a piece buffer back to the pool; returns the torrents to wake (they found the
    /// pool dry).
    fn recycle(&mut self, buffer: PieceBuf) -> Vec<TorrentId> {
        self.pool.give_back(self.owner, buffer)
    }

    /// Downloads nothing from now on: only the pieces we have are served.
    pub fn seed_only(&mut self) {
        self.seed_only = true;
    }

    /// Would a peer holding `pieces` have something we lack (and want)?
    pub fn is_interesting(&self, pieces: &Bitfield) -> bool {
        !self.seed_only && pieces.iter_ones().any(|i| !self.has(i))
    }

    /// Is piece `index` one we still lack (so a peer that has it is interesting)?
    pub fn wants(&self, index: u32) -> bool {
        matches!(
            self.status.get(index as usize),
            Some(Status::Missing | Status::InProgress)
        )
    }

    /// A peer announced its whole bitfield.
    pub fn add_peer_pieces(&mut self, pieces: &Bitfield) {
        for i in pieces.iter_ones() {
            self.add_peer_piece(i);
        }
    }

    /// A peer announced one more piece (`have`).
    pub fn add_peer_piece(&mut self, index: u32) {
        self.availability.add(index);
    }

    /// A peer holding `pieces` left.
    pub fn remove_peer_pieces(&mut self, pieces: &Bitfield) {
        for i in pieces.iter_ones() {
            if self.availability.remove(i) {
                self.initial_seeding.unheld(i);
            }
        }
    }

    /// Should a request of `peer` for a block of the piece it asks for be served? Always
    /// while we are not a seed. A seed, while some piece is held by no connected peer,
    /// gives each piece to one peer only (initial seeding, see [`seeding`]; a refusal
    /// suggests a piece nobody holds when the ask allows); once the connected peers hold
    /// every piece, it serves the rarest pieces, and others only rather than leave its
    /// uplink idle ([`spread_seeding`]).
    pub fn upload_verdict(&mut self, peer: PeerKey, ask: UploadAsk<'_>, now: Instant) -> Upload {
        if !self.is_complete() {
            return Upload::Serve;
        }
        if self.spread() {
            return self.spread_seeding.decide(peer, ask, &self.availability);
        }
        let rng = ask.may_suggest.then_some(&mut self.rng);
        self.initial_seeding
            .decide(peer, ask, self.availability.as_slice(), now, rng)
    }

    /// `peer` left or was choked: the pieces we were seeding to it may go to others.
    pub fn forget_uploads(&mut self, peer: PeerKey) {
        self.initial_seeding.forget_peer(peer);
        self.spread_seeding.forget_peer(peer);
    }

    /// Chooses up to `want` blocks to request from `peer`, which has `pieces`, appending them
    /// to `out`. `outstanding` are the blocks this peer was asked for and has not sent yet;
    /// a new piece is taken from `suggested` (the peer's hints, BEP 6) first when one is
    /// missing here and held there.
    pub fn pick(
        &mut self,
        peer: PeerKey,
        pieces: &Bitfield,
        want: usize,
        outstanding: &HashSet<BlockRequest>,
        suggested: &[u32],
        out: &mut Vec<BlockRequest>,
    ) {
        if self.seed_only {
            return;
        }
        let start = out.len();
        let target = start + want;
        // 1. pieces this peer started, 2. pieces others started.
        self.pick_from_partials(peer, pieces, target, true, out);
        if out.len() < target {
            self.pick_from_partials(peer, pieces, target, false, out);
        }
        // 3. new pieces, rarest first, while the pool has a buffer to assemble one in
        // (choosing scans every piece: not worth it when no buffer would come of it).
        while out.len() < target
            && self
                .pool
                .can_take(self.owner, self.geometry.piece_length() as usize)
        {
            let hinted = suggested
                .iter()
                .copied()
                .find(|i| pieces.get(*i) && self.status.get(*i as usize) == Some(&Status::Missing));
            let Some(index) = hinted.or_else(|| self.choose_new_piece(pieces)) else {
                break;
            };
            if !self.start_piece(index, peer) {
                break; // every buffer is in use: the pool wakes us when one comes back
            }
            self.take_missing_blocks(index, peer, target, out);
        }
        // 4. endgame: duplicate requests for blocks others are fetching, for a peer that is
        // running dry.
        let queued = outstanding.len() + (out.len() - start);
        if out.len() < target
            && queued < ENDGAME_QUEUE
            && self.missing_pieces == 0
            && self.awaited_blocks() <= ENDGAME_MAX_AWAITED
        {
            let target = target.min(out.len() + ENDGAME_QUEUE - queued);
            self.pick_endgame(peer, pieces, target, outstanding, out);
        }
    }

    fn pick_from_partials(
        &mut self,
        peer: PeerKey,
        pieces: &Bitfield,
        target: usize,
        own: bool,
        out: &mut Vec<BlockRequest>,
    ) {
        let mut candidates: Vec<u32> = self
            .partial
            .iter()
            .filter(|(i, p)| p.missing > 0 && (p.owner == peer) == own && pieces.get(**i))
            .map(|(i, _)| *i)
            .collect();
        // Finish the pieces closest to done first.
        candidates.sort_unstable_by_key(|i| {
            self.partial
                .get(i)
                .map(|p| (p.missing, *i))
                .unwrap_or((u32::MAX, *i))
        });
        for index in candidates {
            if out.len() >= target {
                break;
            }
            self.take_missing_blocks(index, peer, target, out);
        }
    }

    /// Picks a piece to start among those `pieces` holds and nobody is downloading: the
    /// rarest, ties broken by the first after a random position (one random number per
    /// pick, not one per tie: with every peer a seed, every piece ties).
    fn choose_new_piece(&mut self, pieces: &Bitfield) -> Option<u32> {
        if self.missing_pieces == 0 {
            return None;
        }
        let random_first = self.verified_this_session < RANDOM_FIRST_PIECES && self.have_count == 0;
        let count = self.geometry.piece_count().max(1);
        let start = self.rng.random_range(0..count);
        let mut best: Option<(u32, u64, u32)> = None; // (rank, distance from start, index)
        for index in pieces.iter_ones() {
            if self.status.get(index as usize) != Some(&Status::Missing) {
                continue;
            }
            let rank = if random_first {
                0
            } else {
                self.availability.of(index)
            };
            let distance =
                (u64::from(index) + u64::from(count) - u64::from(start)) % u64::from(count);
            let key = (rank, distance, index);
            if best.is_none_or(|b| key < b) {
                best = Some(key);
            }
        }
        best.map(|(_, _, index)| index)
    }

    /// Starts downloading piece `index` (`owner` asked first); false when no buffer is free.
    fn start_piece(&mut self, index: u32, owner: PeerKey) -> bool {
        let size = self.piece_size(index);
        let block_count = size.div_ceil(BLOCK_SIZE) as usize;
        // Every byte is overwritten by a block before the piece is handed out.
        let Some(data) = self.pool.take(self.owner, size as usize) else {
            return false;
        };
        self.partial.insert(
            index,
            Partial {
                blocks: vec![Block::Missing; block_count],
                first_missing: 0,
                missing: block_count as u32,
                received: 0,
                data,
                senders: vec![PeerKey::MAX; block_count],
                owner,
            },
        );
        if let Some(s) = self.status.get_mut(index as usize) {
            *s = Status::InProgress;
        }
        self.missing_pieces -= 1;
        true
    }

    fn take_missing_blocks(
        &mut self,
        index: u32,
        peer: PeerKey,
        target: usize,
        out: &mut Vec<BlockRequest>,
    ) {
        let size = self.piece_size(index);
        let Some(p) = self.partial.get_mut(&index) else {
            return;
        };
        let mut i = p.first_missing;
        while i < p.blocks.len() && out.len() < target && p.missing > 0 {
            if p.blocks[i] == Block::Missing {
                p.blocks[i] = Block::Requested { by: peer, extra: 0 };
                p.missing -= 1;
                out.push(block_at(index, i, size));
            }
            i += 1;
        }
        while p.first_missing < p.blocks.len() && p.blocks[p.first_missing] != Block::Missing {
            p.first_missing += 1;
        }
    }

    fn pick_endgame(
        &mut self,
        peer: PeerKey,
        pieces: &Bitfield,
        target: usize,
        outstanding: &HashSet<BlockRequest>,
        out: &mut Vec<BlockRequest>,
    ) {
        let mut indexes: Vec<u32> = self
            .partial
            .keys()
            .copied()
            .filter(|i| pieces.get(*i))
            .collect();
        indexes.sort_unstable();
        for index in indexes {
            let size = self.piece_size(index);
            let Some(p) = self.partial.get_mut(&index) else {
                continue;
            };
            for (i, block) in p.blocks.iter_mut().enumerate() {
                if out.len() >= target {
                    return;
                }
                if let Block::Requested { by, extra } = block
                    && *by != peer
                    && *extra < MAX_DUPLICATES
                {
                    let request = block_at(index, i, size);
                    if !outstanding.contains(&request) {
                        *extra += 1;
                        out.push(request);
                    }
                }
            }
        }
    }

    /// Blocks requested and not yet received, over all pieces in progress.
    fn awaited_blocks(&self) -> u32 {
        self.partial
            .values()
            .map(|p| p.blocks.len() as u32 - p.received - p.missing)
            .sum()
    }

    /// Puts requests of `peer` that will not be answered (choked, timed out, disconnected)
    /// back so other peers can fetch those blocks. Returns the torrents to wake (a buffer
    /// went back to the pool).
    pub fn release(&mut self, peer: PeerKey, requests: &[BlockRequest]) -> Vec<TorrentId> {
        for r in requests {
            let Some(p) = self.partial.get_mut(&r.index) else {
                continue;
            };
            let i = (r.begin / BLOCK_SIZE) as usize;
            let Some(block) = p.blocks.get_mut(i) else {
                continue;
            };
            if let Block::Requested { by, extra } = *block {
                if extra > 0 {
                    *block = Block::Requested {
                        by: if by == peer { PeerKey::MAX } else { by },
                        extra: extra - 1,
                    };
                } else if by == peer || by == PeerKey::MAX {
                    *block = Block::Missing;
                    p.missing += 1;
                    p.first_missing = p.first_missing.min(i);
                }
                // Otherwise the request is left over from before the piece failed its check
                // and started again; the block is now another peer's to fetch.
            }
        }
        // Drop pieces nobody is working on and nothing arrived for: frees their buffers.
        let idle: Vec<u32> = self
            .partial
            .iter()
            .filter(|(_, p)| p.received == 0 && p.missing as usize == p.blocks.len())
            .map(|(i, _)| *i)
            .collect();
        let mut wake = Vec::new();
        for index in idle {
            if let Some(p) = self.partial.remove(&index) {
                wake.extend(self.recycle(p.data));
            }
            if let Some(s) = self.status.get_mut(index as usize) {
                *s = Status::Missing;
            }
            self.missing_pieces += 1;
        }
        wake
    }

    /// Was the block `request` (as sent by a peer) one we still want? Checks the geometry
    /// too: a block must start on a 16 KiB boundary and have the full block length.
    pub fn is_expected_block(&self, index: u32, begin: u32, len: u32) -> bool {
        begin.is_multiple_of(BLOCK_SIZE)
            && index < self.piece_count
            && u64::from(begin) + u64::from(len) <= u64::from(self.piece_size(index))
            && len == BLOCK_SIZE.min(self.piece_size(index) - begin)
    }

    /// Stores a block received from `peer`. The caller has checked that it was requested.
    pub fn block_received(
        &mut self,
        peer: PeerKey,
        index: u32,
        begin: u32,
        data: &[u8],
    ) -> Arrival {
        if !self.is_expected_block(index, begin, data.len() as u32) {
            return Arrival::NotNeeded;
        }
        let Some(p) = self.partial.get_mut(&index) else {
            return Arrival::NotNeeded;
        };
        let i = (begin / BLOCK_SIZE) as usize;
        let cancel_duplicates = match p.blocks.get(i) {
            Some(Block::Received) | None => return Arrival::NotNeeded,
            Some(Block::Missing) => {
                p.missing -= 1;
                false
            }
            Some(Block::Requested { by, extra }) => *extra > 0 || *by != peer,
        };
        p.blocks[i] = Block::Received;
        p.received += 1;
        let start = begin as usize;
        if let Some(dst) = p.data.get_mut(start..start + data.len()) {
            dst.copy_from_slice(data);
        }
        if let Some(s) = p.senders.get_mut(i) {
            *s = peer;
        }
        if p.received as usize == p.blocks.len() {
            let Some(done) = self.partial.remove(&index) else {
                return Arrival::NotNeeded;
            };
            if let Some(s) = self.status.get_mut(index as usize) {
                *s = Status::Verifying;
            }
            Arrival::PieceComplete {
                index,
                data: done.data,
                senders: done.senders,
                cancel_duplicates,
            }
        } else {
            Arrival::Stored { cancel_duplicates }
        }
    }

    /// Reports the hash check of a piece handed out by [`Arrival::PieceComplete`] and gives
    /// its buffer back: a good piece counts as had; a bad one is fetched again.
    ///
    /// Returns the torrents whose picks were waiting for a buffer: their peers should pick
    /// again now rather than at their next tick.
    pub fn verified(&mut self, index: u32, ok: bool, buffer: PieceBuf) -> Vec<TorrentId> {
        let Some(s) = self.status.get_mut(index as usize) else {
            return Vec::new();
        };
        if *s != Status::Verifying {
            return Vec::new();
        }
        if ok {
            *s = Status::Have;
            self.have_count += 1;
            self.verified_this_session += 1;
            self.published.insert(index);
        } else {
            *s = Status::Missing;
            self.missing_pieces += 1;
        }
        self.recycle(buffer)
    }
}

/// The request for block `i` of piece `index` (`size` bytes long).
fn block_at(index: u32, i: usize, size: u32) -> BlockRequest {
    let begin = i as u32 * BLOCK_SIZE;
    BlockRequest::new(index, begin, BLOCK_SIZE.min(size - begin))
}

#[cfg(test)]
mod tests {
    use super::*;

    const PIECE: u32 = 4 * BLOCK_SIZE;

    /// A picker of `count` pieces of [`PIECE`] bytes (`total` in all) holding `have`, with
    /// buffers for `buffers` pieces.
    fn picker(count: u32, total: u64, have: &[bool], buffers: u64) -> Picker {
        let mut field = Bitfield::new(count);
        for (i, _) in have.iter().enumerate().filter(|(_, h)| **h) {
            field.set(i as u32).unwrap();
        }
        let pool = Arc::new(BufferPool::new(buffers * u64::from(PIECE)));
        let geometry = PieceGeometry::from_lengths(u64::from(PIECE), [total]).unwrap();
        assert_eq!(geometry.piece_count(), count);
        Picker::new(geometry, &field, pool, TorrentId(1))
    }

    fn full(n: u32) -> Bitfield {
        Bitfield::full(n)
    }

    fn field(n: u32, ones: &[u32]) -> Bitfield {
        let mut f = Bitfield::new(n);
        for i in ones {
            f.set(*i).unwrap();
        }
        f
    }

    /// No requests outstanding.
    fn no() -> HashSet<BlockRequest> {
        HashSet::new()
    }

    fn deliver(p: &mut Picker, peer: PeerKey, r: &BlockRequest) -> Arrival {
        p.block_received(peer, r.index, r.begin, &vec![7u8; r.length as usize])
    }

    #[test]
    fn a_peer_gets_whole_pieces_in_block_order() {
        let mut p = picker(10, 10 * u64::from(PIECE), &[], 8);
        let mut out = Vec::new();
        p.pick(1, &full(10), 6, &no(), &[], &mut out);
        assert_eq!(out.len(), 6);
        assert!(out[..4].iter().all(|r| r.index == out[0].index));
        assert_eq!(
            out[..4].iter().map(|r| r.begin).collect::<Vec<_>>(),
            [0, BLOCK_SIZE, 2 * BLOCK_SIZE, 3 * BLOCK_SIZE]
        );
        assert_eq!(p.in_progress(), 2);
    }

    #[test]
    fn last_piece_is_short() {
        let total = 2 * u64::from(PIECE) + 100;
        let mut p = picker(3, total, &[true, true], 8);
        assert_eq!(p.piece_size(2), 100);
        let mut out = Vec::new();
        p.pick(1, &full(3), 10, &no(), &[], &mut out);
        assert_eq!(out, vec![BlockRequest::new(2, 0, 100)]);
        match deliver(&mut p, 1, &out[0]) {
            Arrival::PieceComplete { index, data, .. } => {
                assert_eq!(index, 2);
                assert_eq!(data.len(), 100);
            }
            other => panic!("unexpected {other:?}"),
        }
        p.verified(2, true, PieceBuf::default());
        assert!(p.is_complete());
    }

    #[test]
    fn rarest_piece_is_chosen_after_random_first() {
        let have: Vec<bool> = (0..10).map(|i| i == 9).collect();
        let mut p = picker(10, 10 * u64::from(PIECE), &have, 8);
        p.add_peer_pieces(&full(10));
        p.add_peer_pieces(&field(10, &[0, 1, 2, 3, 4, 5, 6, 7]));
        p.add_peer_pieces(&field(10, &[0, 1, 2, 3, 4, 5, 6]));
        // Piece 8 is held by one peer only (and 9 we have).
        let mut out = Vec::new();
        p.pick(1, &full(10), 4, &no(), &[], &mut out);
        assert!(out.iter().all(|r| r.index == 8), "{out:?}");
    }

    #[test]
    fn a_suggested_piece_is_started_first_when_it_is_missing_here_and_held_there() {
        let mut p = picker(10, 10 * u64::from(PIECE), &[true], 8);
        let mut out = Vec::new();
        // Piece 0 we have, piece 42 does not exist, piece 3 the peer lacks: piece 7 it is.
        p.pick(1, &field(10, &[0, 7]), 1, &no(), &[0, 42, 3, 7], &mut out);
        assert_eq!(out[0].index, 7);
    }

    #[test]
    fn partial_pieces_are_finished_before_new_ones() {
        let mut p = picker(10, 10 * u64::from(PIECE), &[], 8);
        let mut a = Vec::new();
        p.pick(1, &full(10), 2, &no(), &[], &mut a);
        p.release(1, &a[1..]);
        let mut b = Vec::new();
        p.pick(2, &full(10), 3, &no(), &[], &mut b);
        assert!(b.iter().all(|r| r.index == a[0].index), "{a:?} {b:?}");
    }

    #[test]
    fn in_progress_pieces_are_bounded() {
        let mut p = picker(100, 100 * u64::from(PIECE), &[], 3);
        let mut out = Vec::new();
        p.pick(1, &full(100), 1000, &no(), &[], &mut out);
        assert_eq!(out.len(), 12);
        assert_eq!(p.in_progress(), 3);
    }

    #[test]
    fn pieces_being_verified_hold_their_buffer_until_reused() {
        let mut p = picker(4, 4 * u64::from(PIECE), &[], 1);
        let complete = |p: &mut Picker, requests: &[BlockRequest]| {
            requests
                .iter()
                .filter_map(|r| match deliver(p, 1, r) {
                    Arrival::PieceComplete { index, data, .. } => Some((index, data)),
                    _ => None,
                })
                .next_back()
                .unwrap()
        };
        let mut a = Vec::new();
        p.pick(1, &full(4), 4, &no(), &[], &mut a);
        let (index, data) = complete(&mut p, &a);
        let mut b = Vec::new();
        p.pick(1, &full(4), 4, &no(), &[], &mut b);
        assert!(b.is_empty(), "the only buffer is being verified");
        let reused = data.as_ptr();
        assert_eq!(
            p.verified(index, true, data),
            vec![TorrentId(1)],
            "the freed buffer is reported, so waiting peers pick again at once"
        );
        p.pick(1, &full(4), 4, &no(), &[], &mut b);
        assert_eq!(b.len(), 4);
        let (index, data) = complete(&mut p, &b);
        assert_eq!(data.as_ptr(), reused, "the buffer came back from the pool");
        assert!(
            p.verified(index, true, data).is_empty(),
            "no pick was waiting for this buffer"
        );
    }

    #[test]
    fn endgame_duplicates_and_cancels() {
        let mut p = picker(1, u64::from(PIECE), &[], 8);
        let mut a = Vec::new();
        p.pick(1, &full(1), 10, &no(), &[], &mut a);
        assert_eq!(a.len(), 4);
        let mut b = Vec::new();
        p.pick(2, &full(1), 10, &no(), &[], &mut b);
        assert_eq!(b.len(), 4, "endgame duplicates");
        let mut c = Vec::new();
        p.pick(2, &full(1), 10, &b.iter().copied().collect(), &[], &mut c);
        assert!(c.is_empty(), "no double request by one peer");
        assert_eq!(
            deliver(&mut p, 2, &b[0]),
            Arrival::Stored {
                cancel_duplicates: true
            }
        );
        assert_eq!(deliver(&mut p, 1, &a[0]), Arrival::NotNeeded);
    }

    #[test]
    fn endgame_duplicates_go_to_a_peer_running_dry_not_to_a_busy_one() {
        // Two pieces of four blocks: peer 1 is asked for all eight.
        let mut p = picker(2, 2 * u64::from(PIECE), &[], 8);
        let mut a = Vec::new();
        p.pick(1, &full(2), 10, &no(), &[], &mut a);
        assert_eq!(a.len(), 8);
        let mut busy = Vec::new();
        let queue: HashSet<BlockRequest> = (0..ENDGAME_QUEUE as u32)
            .map(|i| BlockRequest::new(9, i * BLOCK_SIZE, BLOCK_SIZE))
            .collect();
        p.pick(2, &full(2), 10, &queue, &[], &mut busy);
        assert!(busy.is_empty(), "a busy peer took duplicates: {busy:?}");
        let mut idle = Vec::new();
        p.pick(3, &full(2), 10, &no(), &[], &mut idle);
        assert_eq!(idle.len(), ENDGAME_QUEUE, "an idle peer gets a short queue");
        let mut another = Vec::new();
        p.pick(4, &full(2), 10, &no(), &[], &mut another);
        assert_eq!(
            another.len(),
            8 - ENDGAME_QUEUE,
            "each block is duplicated once"
        );
    }

    #[test]
    fn failed_piece_is_fetched_again() {
        let mut p = picker(1, u64::from(PIECE), &[], 8);
        let mut a = Vec::new();
        p.pick(1, &full(1), 10, &no(), &[], &mut a);
        let mut last = None;
        for r in &a {
            last = Some(deliver(&mut p, 1, r));
        }
        match last {
            Some(Arrival::PieceComplete { senders, .. }) => assert_eq!(senders, [1, 1, 1, 1]),
            other => panic!("unexpected {other:?}"),
        }
        let mut none = Vec::new();
        p.pick(2, &full(1), 10, &no(), &[], &mut none);
        assert!(none.is_empty(), "nothing to pick while verifying");
        p.verified(0, false, PieceBuf::default());
        let mut again = Vec::new();
        p.pick(2, &full(1), 10, &no(), &[], &mut again);
        assert_eq!(again.len(), 4);
        assert!(!p.is_complete());
    }

    #[test]
    fn misshapen_blocks_are_not_stored() {
        let mut p = picker(2, 2 * u64::from(PIECE), &[], 8);
        let mut a = Vec::new();
        p.pick(1, &full(2), 1, &no(), &[], &mut a);
        let r = a[0];
        assert_eq!(
            p.block_received(1, r.index, r.begin + 1, &[0; 16]),
            Arrival::NotNeeded
        );
        assert_eq!(
            p.block_received(1, r.index, r.begin, &[0; 16]),
            Arrival::NotNeeded
        );
        assert_eq!(p.block_received(1, 9, 0, &[0; 16]), Arrival::NotNeeded);
    }

    #[test]
    fn a_stale_release_leaves_another_peers_request_alone() {
        let mut p = picker(2, 2 * u64::from(PIECE), &[], 8);
        let mut a = Vec::new();
        p.pick(1, &full(2), 4, &no(), &[], &mut a);
        let index = a[0].index;
        // Peer 1 delivers, the piece fails, and peer 2 now fetches it.
        for r in &a {
            deliver(&mut p, 1, r);
        }
        p.verified(index, false, PieceBuf::default());
        let mut b = Vec::new();
        p.pick(2, &field(2, &[index]), 4, &no(), &[], &mut b);
        assert_eq!(b, a);
        // A late release of peer 1's old requests must not hand peer 2's blocks out again.
        p.release(1, &a);
        let mut c = Vec::new();
        p.pick(3, &field(2, &[index]), 4, &no(), &[], &mut c);
        assert!(c.is_empty(), "{c:?}");
    }

    /// A request for piece `index` while the uplink is busy.
    fn busy(index: u32, pieces: &Bitfield) -> UploadAsk<'_> {
        UploadAsk {
            index,
            pieces,
            may_suggest: true,
            uplink_idle: false,
        }
    }

    #[test]
    fn a_seed_sends_each_piece_once_until_the_swarm_holds_a_copy() {
        let mut p = picker(4, 4 * u64::from(PIECE), &[true; 4], 8);
        let none = Bitfield::new(4);
        let now = Instant::now();
        p.add_peer_pieces(&none);
        p.add_peer_pieces(&none);
        assert_eq!(p.upload_verdict(1, busy(0, &none), now), Upload::Serve);
        assert!(matches!(
            p.upload_verdict(2, busy(0, &none), now),
            Upload::Decline { .. }
        ));
        // Peer 1 got piece 0, peer 3 arrives with the rest: a full copy is out there.
        p.add_peer_piece(0);
        p.add_peer_pieces(&field(4, &[1, 2, 3]));
        assert_eq!(p.upload_verdict(2, busy(0, &none), now), Upload::Serve);
        // Peer 3 leaves: pieces 1 to 3 are ours alone again.
        p.remove_peer_pieces(&field(4, &[1, 2, 3]));
        assert!(matches!(
            p.upload_verdict(2, busy(0, &none), now),
            Upload::Decline {
                suggest: Some(1..=3)
            }
        ));
    }

    /// The seed's slots shrink on this: true too early would starve initial seeding, never
    /// true would keep every leecher on the seed's uplink.
    #[test]
    fn a_seed_is_spread_while_its_connected_peers_hold_every_piece() {
        let mut p = picker(4, 4 * u64::from(PIECE), &[true; 4], 8);
        assert!(!p.spread(), "nobody holds anything yet");
        p.add_peer_pieces(&field(4, &[0, 1]));
        p.add_peer_pieces(&field(4, &[1, 2]));
        assert!(!p.spread(), "piece 3 is ours alone");
        p.add_peer_piece(3);
        assert!(p.spread());
        p.remove_peer_pieces(&field(4, &[0, 1]));
        assert!(!p.spread(), "piece 0 left with its only holder");

        let mut leecher = picker(4, 4 * u64::from(PIECE), &[true, true], 8);
        leecher.add_peer_pieces(&full(4));
        assert!(!leecher.spread(), "only a seed's slots shrink");
    }

    #[test]
    fn a_leecher_serves_whatever_it_has() {
        let mut p = picker(4, 4 * u64::from(PIECE), &[true, true], 8);
        let none = Bitfield::new(4);
        let now = Instant::now();
        for peer in 1..4 {
            assert_eq!(p.upload_verdict(peer, busy(0, &none), now), Upload::Serve);
        }
    }

    #[test]
    fn released_idle_pieces_free_their_slot() {
        let mut p = picker(4, 4 * u64::from(PIECE), &[], 1);
        let mut a = Vec::new();
        p.pick(1, &full(4), 4, &no(), &[], &mut a);
        assert_eq!(p.in_progress(), 1);
        p.release(1, &a);
        assert_eq!(p.in_progress(), 0);
        let mut b = Vec::new();
        p.pick(2, &full(4), 4, &no(), &[], &mut b);
        assert_eq!(b.len(), 4);
    }
}
