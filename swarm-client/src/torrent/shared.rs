//! The part of a torrent its peer connections work on, from their own tasks: the picker
//! (behind a briefly held lock), the hash checks, the disk and the upload reads. It is the
//! torrent's side of [`PeerHandler`]; what needs the session's attention goes out as a
//! [`Signal`].

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Instant;

use bytes::Bytes;
use metainfo::{InfoHash, Metainfo};
use parking_lot::{Mutex, MutexGuard};

use super::blame::Blame;
use super::checking::{CheckQueue, Unchecked};
use super::picker::{Arrival, HaveSet, Picker};
use super::signal::{Signal, Signals};
use crate::disk::{ReadCache, TorrentDisk};
use crate::events::TorrentId;
use crate::extension::{MetadataMessage, MetadataSource, answer_request};
use crate::peer::{BlockFate, Notice, PeerHandler, PeerKey, Upload, UploadAsk};
use crate::piece_buf::PieceBuf;
use crate::storage::{Storage, StorageError};
use crate::wire::{Bitfield, BlockRequest, PeerId};

/// Counters of a torrent's transfers this session.
#[derive(Debug, Default)]
pub struct Transfer {
    /// Block payload bytes received (useful or not).
    pub downloaded: AtomicU64,
    /// Bytes of received blocks that were not needed (duplicates, late).
    pub wasted: AtomicU64,
    /// Block payload bytes sent.
    pub uploaded: AtomicU64,
}

/// A torrent's state shared with its peer connections.
pub struct TorrentShared {
    /// Itself, for the jobs it spawns (hash checks) from `&self` methods.
    me: Weak<TorrentShared>,
    pub id: TorrentId,
    info_hash: InfoHash,
    private: bool,
    /// Our info dictionary, served to peers that ask (BEP 9).
    metadata: MetadataSource,
    listen_port: u16,
    hashes: Vec<[u8; 20]>,
    pub storage: Arc<Storage>,
    disk: TorrentDisk,
    /// The session's cache of recently served chunks.
    cache: Arc<ReadCache>,
    picker: Mutex<Picker>,
    /// The picker's published "what we have", read without its lock.
    have: Arc<HaveSet>,
    to_check: CheckQueue,
    /// Block records of failed pieces, to find who sent bad data.
    blame: Blame,
    pub transfer: Transfer,
    signals: Signals,
    /// Peer ids with a live connection (to drop a second connection to the same peer).
    connected_ids: Mutex<HashSet<PeerId>>,
    /// Peers banned for bad data or protocol violations.
    banned_ids: Mutex<HashSet<PeerId>>,
}

impl TorrentShared {
    /// The shared state of torrent `id` of `meta`: `picker` already holds the pieces we have;
    /// verified pieces are written through `disk`.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        id: TorrentId,
        meta: &Metainfo,
        listen_port: u16,
        storage: Arc<Storage>,
        disk: TorrentDisk,
        cache: Arc<ReadCache>,
        picker: Picker,
        signals: Signals,
    ) -> Arc<Self> {
        Arc::new_cyclic(|me| Self {
            me: me.clone(),
            id,
            info_hash: meta.info_hash,
            private: meta.info.private,
            metadata: MetadataSource::new(Bytes::copy_from_slice(meta.info_bytes())),
            listen_port,
            hashes: meta.info.pieces.clone(),
            storage,
            disk,
            cache,
            have: picker.have_set(),
            picker: Mutex::new(picker),
            to_check: CheckQueue::default(),
            blame: Blame::default(),
            transfer: Transfer::default(),
            signals,
            connected_ids: Mutex::new(HashSet::new()),
            banned_ids: Mutex::new(HashSet::new()),
        })
    }

    /// Tells the session loop when the swarm has just come to hold every piece we seed
    /// (`was_spread` is what the picker said before the change).
    fn tell_if_spread(&self, was_spread: bool, picker: &Picker) {
        if !was_spread && picker.spread() {
            self.signals.send(self.id, Signal::Spread);
        }
    }

    /// The picker, locked (hold it briefly).
    pub fn picker(&self) -> MutexGuard<'_, Picker> {
        self.picker.lock()
    }

    /// Drops what the session caches for this torrent (it is leaving).
    pub fn forget_cached(&self) {
        self.cache.forget(self.id);
    }

    /// The pieces we have, readable without a lock.
    pub fn have(&self) -> &HaveSet {
        &self.have
    }

    /// Bans `id`: its connections are refused from now on.
    pub fn ban(&self, id: PeerId) {
        self.banned_ids.lock().insert(id);
    }

    /// Queues a complete piece (sent by `senders`, block by block) for its hash check.
    fn check_piece(&self, index: u32, data: PieceBuf, senders: Vec<PeerKey>) {
        self.to_check.push(Unchecked {
            index,
            data,
            senders,
        });
        let Some(shared) = self.me.upgrade() else {
            return; // the torrent is gone
        };
        rayon::spawn(move || {
            for (piece, good) in shared.to_check.check_some(&shared.hashes) {
                shared.settle(piece, good);
            }
        });
    }

    /// A good piece goes to the disk; a bad one is recorded for blame and fetched again.
    fn settle(self: &Arc<Self>, piece: Unchecked, good: bool) {
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
        let wake = self.picker().verified(index, ok, buffer);
        let signal = match result {
            Err(e) => Signal::StorageFailed(e),
            Ok(ok) => Signal::PieceChecked {
                index,
                ok,
                contributors,
                culprits,
            },
        };
        self.signals.send(self.id, signal);
        // Torrents whose picks found every buffer in use (the disk is behind) pick again now,
        // not at their next tick. (A failed piece wakes this torrent's peers anyway.)
        for torrent in wake {
            self.signals.send(torrent, Signal::Wake);
        }
    }

    fn wake_all(&self, torrents: Vec<TorrentId>) {
        for torrent in torrents {
            self.signals.send(torrent, Signal::Wake);
        }
    }
}

impl PeerHandler for TorrentShared {
    fn info_hash(&self) -> InfoHash {
        self.info_hash
    }

    fn piece_count(&self) -> u32 {
        self.storage.piece_count()
    }

    fn piece_size(&self, index: u32) -> u32 {
        self.storage.piece_size(index).unwrap_or(0)
    }

    fn our_pieces(&self) -> Bitfield {
        self.have.to_bitfield()
    }

    fn has_piece(&self, index: u32) -> bool {
        self.have.contains(index)
    }

    fn is_complete(&self) -> bool {
        self.have.is_complete()
    }

    fn is_interesting(&self, pieces: &Bitfield) -> bool {
        self.picker().is_interesting(pieces)
    }

    fn is_private(&self) -> bool {
        self.private
    }

    fn listen_port(&self) -> Option<u16> {
        (self.listen_port != 0).then_some(self.listen_port)
    }

    fn metadata_size(&self) -> Option<u64> {
        Some(self.metadata.size())
    }

    fn metadata_piece(&self, piece: u32) -> MetadataMessage {
        answer_request(Some(&self.metadata), piece)
    }

    fn claim(&self, id: &PeerId) -> bool {
        if self.banned_ids.lock().contains(id) {
            return false;
        }
        self.connected_ids.lock().insert(*id)
    }

    fn unclaim(&self, id: &PeerId) {
        self.connected_ids.lock().remove(id);
    }

    fn peer_pieces(&self, old: &Bitfield, new: &Bitfield) {
        let mut picker = self.picker();
        let was_spread = picker.spread();
        picker.remove_peer_pieces(old);
        picker.add_peer_pieces(new);
        self.tell_if_spread(was_spread, &picker);
    }

    fn peer_piece(&self, index: u32) {
        let mut picker = self.picker();
        let was_spread = picker.spread();
        picker.add_peer_piece(index);
        self.tell_if_spread(was_spread, &picker);
    }

    fn pick(
        &self,
        key: PeerKey,
        pieces: &Bitfield,
        room: usize,
        outstanding: &HashSet<BlockRequest>,
        suggested: &[u32],
        out: &mut Vec<BlockRequest>,
    ) {
        self.picker()
            .pick(key, pieces, room, outstanding, suggested, out);
    }

    fn release(&self, key: PeerKey, requests: &[BlockRequest]) {
        let wake = self.picker().release(key, requests);
        self.wake_all(wake);
    }

    fn block(&self, key: PeerKey, request: BlockRequest, data: &Bytes) -> BlockFate {
        let len = u64::from(request.length);
        self.transfer.downloaded.fetch_add(len, Ordering::Relaxed);
        let arrival = self
            .picker()
            .block_received(key, request.index, request.begin, data);
        match arrival {
            Arrival::Stored { cancel_duplicates } => BlockFate::Stored {
                cancel_others: cancel_duplicates,
            },
            Arrival::PieceComplete {
                index,
                data,
                senders,
                cancel_duplicates,
            } => {
                self.check_piece(index, data, senders);
                BlockFate::Stored {
                    cancel_others: cancel_duplicates,
                }
            }
            Arrival::NotNeeded => {
                self.transfer.wasted.fetch_add(len, Ordering::Relaxed);
                BlockFate::Wasted
            }
        }
    }

    fn upload_verdict(&self, key: PeerKey, ask: UploadAsk<'_>) -> Upload {
        self.picker().upload_verdict(key, ask, Instant::now())
    }

    fn read_blocks(&self, requests: &[BlockRequest]) -> Vec<Result<Bytes, StorageError>> {
        requests
            .iter()
            .map(|r| self.cache.read_block(self.id, &self.storage, *r))
            .collect()
    }

    fn uploaded(&self, bytes: u64) {
        self.transfer.uploaded.fetch_add(bytes, Ordering::Relaxed);
    }

    fn notify(&self, key: PeerKey, notice: Notice) {
        self.signals.send(self.id, Signal::Peer(key, notice));
    }
}
