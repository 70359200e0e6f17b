//! The peer connection as a state machine, with no I/O: it takes the peer's messages, the
//! torrent's commands and clock ticks, keeps the choke/interest state and the request
//! pipeline, and queues what to send for the writer task. The torrent is reached only
//! through [`PeerHandler`].
//!
//! A peer that breaks the protocol (bad bitfield, out-of-range index, unrequested block,
//! oversized request) gets a [`Violation`]; the driver then ends the connection.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::sync::mpsc;

use super::handler::{BlockFate, Notice, PeerHandler, PeerKey};
use super::pipeline::Pipeline;
use super::stats::PeerStats;
use super::writer::Out;
use crate::wire::{Bitfield, BitfieldError, BlockRequest, CodecError, Message, RequestError};

/// A peer that sends no block for this long while we wait for some is snubbing us: its
/// requests go to other peers.
const SNUB_TIMEOUT: Duration = Duration::from_secs(8);
/// A peer silent (not even keep-alives) for this long is dropped.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(180);
/// How often we send a keep-alive.
const KEEPALIVE_EVERY: Duration = Duration::from_secs(60);
/// Most upload requests queued for one peer; more are ignored.
pub const MAX_QUEUED_UPLOADS: usize = 1024;
/// Blocks we cancelled or gave up on that may still arrive (remembered so they are not
/// taken for unrequested blocks).
const MAX_CANCELLED_REMEMBERED: usize = 4096;

/// Orders from the torrent to one connection.
#[derive(Debug)]
pub enum PeerCmd {
    /// We verified a piece: tell the peer.
    Have(u32),
    Choke,
    Unchoke,
    /// Another peer delivered this block first (endgame).
    Cancel(BlockRequest),
    /// Pieces became available to pick (a piece failed or a slot freed): refill requests.
    Refill,
    /// The download finished: lose interest, drop the peer if it is a seed too.
    Completed,
    /// Close the connection (shutdown or ban).
    Close,
}

/// Protocol violations that get a peer dropped.
#[derive(Debug, thiserror::Error)]
pub enum Violation {
    #[error(transparent)]
    Message(CodecError),
    #[error("bad bitfield: {0}")]
    Bitfield(#[from] BitfieldError),
    #[error("have for piece {0}, out of range")]
    HaveOutOfRange(u32),
    #[error("bad request: {0}")]
    Request(#[from] RequestError),
    #[error("block {index}:{begin}+{len} was never requested")]
    Unrequested { index: u32, begin: u32, len: u32 },
}

/// Whether the connection goes on after a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    Continue,
    /// End the connection in an orderly way (both sides are seeds, or we were told to).
    Close,
}

/// The state of one handshaken connection.
pub struct PeerState {
    handler: Arc<dyn PeerHandler>,
    key: PeerKey,
    stats: Arc<PeerStats>,
    out: mpsc::UnboundedSender<Out>,
    /// Upload requests queued in the writer (shared with it).
    queued_uploads: Arc<AtomicUsize>,
    /// Pieces the peer has.
    pieces: Bitfield,
    peer_choking: bool,
    am_interested: bool,
    am_choking: bool,
    /// Our requests awaiting an answer.
    outstanding: HashSet<BlockRequest>,
    /// Requests we gave up on (cancelled, choked, snubbed) that may still be answered, with
    /// how many of each are in flight (a block of a piece that failed and started over can be
    /// given up on twice).
    cancelled: HashMap<BlockRequest, u32>,
    cancelled_order: VecDeque<BlockRequest>,
    pipeline: Pipeline,
    snubbed: bool,
    last_block: Instant,
    last_message: Instant,
    last_keepalive: Instant,
}

impl PeerState {
    /// The state of a fresh connection to peer `key`; queues our bitfield when we have
    /// pieces.
    pub fn new(
        handler: Arc<dyn PeerHandler>,
        key: PeerKey,
        stats: Arc<PeerStats>,
        out: mpsc::UnboundedSender<Out>,
        queued_uploads: Arc<AtomicUsize>,
        now: Instant,
    ) -> Self {
        let ours = handler.our_pieces();
        if !ours.is_empty() {
            let _ = out.send(Out::Msgs(vec![Message::Bitfield(ours.to_bytes())]));
        }
        Self {
            pieces: Bitfield::new(handler.piece_count()),
            handler,
            key,
            stats,
            out,
            queued_uploads,
            peer_choking: true,
            am_interested: false,
            am_choking: true,
            outstanding: HashSet::new(),
            cancelled: HashMap::new(),
            cancelled_order: VecDeque::new(),
            pipeline: Pipeline::new(),
            snubbed: false,
            last_block: now,
            last_message: now,
            last_keepalive: now,
        }
    }

    /// Handles one message from the peer.
    pub fn on_message(&mut self, message: Message, now: Instant) -> Result<Flow, Violation> {
        self.last_message = now;
        match message {
            Message::KeepAlive | Message::Port(_) | Message::Unknown { .. } => {}
            Message::Bitfield(bytes) => {
                let field = Bitfield::from_wire(&bytes, self.handler.piece_count())?;
                // A repeated bitfield (aria2 sends one after its `have`s) replaces what we
                // knew.
                self.handler.peer_pieces(&self.pieces, &field);
                self.pieces = field;
                return Ok(self.pieces_changed());
            }
            Message::Have { index } => {
                if index >= self.handler.piece_count() {
                    return Err(Violation::HaveOutOfRange(index));
                }
                if self.pieces.set(index).unwrap_or(false) {
                    self.handler.peer_piece(index);
                    return Ok(self.pieces_changed());
                }
            }
            Message::Choke => {
                self.peer_choking = true;
                self.abandon_outstanding(false);
            }
            Message::Unchoke => {
                self.peer_choking = false;
                self.pipeline.restart_window(now);
                self.refill(None, now);
            }
            Message::Interested => {
                if !self.stats.peer_interested.swap(true, Ordering::Relaxed) {
                    self.handler.notify(self.key, Notice::Interested);
                }
            }
            Message::NotInterested => {
                self.stats.peer_interested.store(false, Ordering::Relaxed);
            }
            Message::Request(request) => self.on_request(request)?,
            Message::Cancel(request) => {
                let _ = self.out.send(Out::CancelUpload(request));
            }
            Message::Piece { index, begin, data } => self.on_block(index, begin, data, now)?,
        }
        Ok(Flow::Continue)
    }

    /// After the peer's pieces changed: counts them, updates our interest, and ends the
    /// connection when both sides are seeds.
    fn pieces_changed(&mut self) -> Flow {
        self.stats
            .pieces
            .store(self.pieces.count(), Ordering::Relaxed);
        if self.both_seeds() {
            return Flow::Close;
        }
        self.update_interest();
        Flow::Continue
    }

    fn on_request(&mut self, request: BlockRequest) -> Result<(), Violation> {
        let handler = &self.handler;
        request.validate(handler.piece_count(), |i| handler.piece_size(i))?;
        if self.am_choking || !handler.has_piece(request.index) {
            // A request racing our choke, or for a piece we never announced: ignore it.
            return Ok(());
        }
        if self.queued_uploads.load(Ordering::Relaxed) >= MAX_QUEUED_UPLOADS {
            return Ok(());
        }
        self.queued_uploads.fetch_add(1, Ordering::Relaxed);
        let _ = self.out.send(Out::Upload(request));
        Ok(())
    }

    fn on_block(
        &mut self,
        index: u32,
        begin: u32,
        data: Bytes,
        now: Instant,
    ) -> Result<(), Violation> {
        let len = data.len() as u32;
        let request = BlockRequest::new(index, begin, len);
        if !self.outstanding.remove(&request) && !self.forget_cancelled(&request) {
            return Err(Violation::Unrequested { index, begin, len });
        }
        self.last_block = now;
        self.pipeline.received(u64::from(len), now);
        self.stats
            .downloaded
            .fetch_add(u64::from(len), Ordering::Relaxed);
        if self.snubbed {
            self.snubbed = false;
            self.stats.snubbed.store(false, Ordering::Relaxed);
        }
        if let BlockFate::Stored {
            cancel_others: true,
        } = self.handler.block(self.key, request, &data)
        {
            self.handler.notify(self.key, Notice::CancelOthers(request));
        }
        self.refill(Some(arrival_batch(self.pipeline.depth())), now);
        Ok(())
    }

    /// Handles one command from the torrent.
    pub fn on_command(&mut self, cmd: PeerCmd, now: Instant) -> Flow {
        match cmd {
            PeerCmd::Have(index) => {
                let mut msgs = vec![Message::Have { index }];
                if self.am_interested && !self.still_interesting() {
                    self.am_interested = false;
                    msgs.push(Message::NotInterested);
                }
                let _ = self.out.send(Out::Msgs(msgs));
            }
            PeerCmd::Choke => {
                if !self.am_choking {
                    self.am_choking = true;
                    let _ = self.out.send(Out::Choke);
                }
            }
            PeerCmd::Unchoke => {
                if self.am_choking {
                    self.am_choking = false;
                    let _ = self.out.send(Out::Msgs(vec![Message::Unchoke]));
                }
            }
            PeerCmd::Cancel(block) => {
                if self.outstanding.remove(&block) {
                    self.remember_cancelled(block);
                    let _ = self.out.send(Out::Msgs(vec![Message::Cancel(block)]));
                }
                self.refill(None, now);
            }
            PeerCmd::Refill => {
                self.update_interest();
                self.refill(None, now);
            }
            PeerCmd::Completed => {
                if self.pieces.is_complete() {
                    return Flow::Close;
                }
                self.update_interest();
            }
            PeerCmd::Close => return Flow::Close,
        }
        Flow::Continue
    }

    /// Once a second: rate measurement, keep-alives, snub detection, and a refill. Errors
    /// when the peer has been silent too long.
    pub fn on_tick(&mut self, now: Instant) -> Result<(), Duration> {
        self.pipeline.update(now);
        if now.duration_since(self.last_message) > IDLE_TIMEOUT {
            return Err(IDLE_TIMEOUT);
        }
        if now.duration_since(self.last_keepalive) > KEEPALIVE_EVERY {
            self.last_keepalive = now;
            let _ = self.out.send(Out::Msgs(vec![Message::KeepAlive]));
        }
        if !self.outstanding.is_empty()
            && !self.snubbed
            && now.duration_since(self.last_block) > SNUB_TIMEOUT
        {
            // Snubbed: give its blocks to others, ask it for one block at a time.
            self.snubbed = true;
            self.stats.snubbed.store(true, Ordering::Relaxed);
            tracing::debug!(peer = self.key, "snubbed");
            self.abandon_outstanding(true);
        }
        self.update_interest();
        self.refill(None, now);
        Ok(())
    }

    /// Leaves the swarm: hands our requests and the peer's availability back.
    pub fn finish(&mut self) {
        let requests: Vec<BlockRequest> = self.outstanding.drain().collect();
        self.handler.release(self.key, &requests);
        let none = Bitfield::new(self.pieces.piece_count());
        self.handler.peer_pieces(&self.pieces, &none);
        self.pieces = none;
    }

    /// Returns our outstanding requests to the torrent (after a choke or a snub).
    fn abandon_outstanding(&mut self, send_cancel: bool) {
        if self.outstanding.is_empty() {
            return;
        }
        let requests: Vec<BlockRequest> = self.outstanding.drain().collect();
        self.handler.release(self.key, &requests);
        if send_cancel {
            let msgs = requests.iter().map(|r| Message::Cancel(*r)).collect();
            let _ = self.out.send(Out::Msgs(msgs));
        }
        for r in requests {
            self.remember_cancelled(r);
        }
        self.handler.notify(self.key, Notice::BlocksReleased);
    }

    fn remember_cancelled(&mut self, block: BlockRequest) {
        *self.cancelled.entry(block).or_insert(0) += 1;
        self.cancelled_order.push_back(block);
        while self.cancelled_order.len() > MAX_CANCELLED_REMEMBERED {
            if let Some(old) = self.cancelled_order.pop_front() {
                self.forget_cancelled(&old);
            }
        }
    }

    /// Takes one given-up request for `block` off the books; false if there was none.
    fn forget_cancelled(&mut self, block: &BlockRequest) -> bool {
        let Some(count) = self.cancelled.get_mut(block) else {
            return false;
        };
        *count -= 1;
        if *count == 0 {
            self.cancelled.remove(block);
        }
        true
    }

    /// Sends `interested` / `not interested` when our interest in the peer changed.
    fn update_interest(&mut self) {
        let interesting = self.still_interesting();
        if interesting != self.am_interested {
            self.am_interested = interesting;
            let msg = if interesting {
                Message::Interested
            } else {
                Message::NotInterested
            };
            let _ = self.out.send(Out::Msgs(vec![msg]));
        }
    }

    fn still_interesting(&self) -> bool {
        !self.handler.is_complete() && self.handler.is_interesting(&self.pieces)
    }

    fn both_seeds(&self) -> bool {
        self.pieces.is_complete() && self.handler.is_complete()
    }

    /// Tops the request pipeline up to the depth the peer's rate calls for. With
    /// `min_batch`, does nothing unless at least that many requests can be sent.
    fn refill(&mut self, min_batch: Option<usize>, now: Instant) {
        if self.peer_choking || !self.am_interested {
            return;
        }
        let depth = if self.snubbed {
            1
        } else {
            self.pipeline.depth()
        };
        let room = depth.saturating_sub(self.outstanding.len());
        if room == 0 || min_batch.is_some_and(|b| room < b) {
            return;
        }
        let mut picked = Vec::with_capacity(room);
        {
            let outstanding = &self.outstanding;
            self.handler.pick(
                self.key,
                &self.pieces,
                room,
                &|r| outstanding.contains(r),
                &mut picked,
            );
        }
        let was_empty = self.outstanding.is_empty();
        // A block of a piece that failed and started over may be picked again while this
        // peer's first request for it is still in flight: that request will do; asking twice
        // would bring a second copy nobody expects.
        let msgs: Vec<Message> = picked
            .into_iter()
            .filter(|r| self.outstanding.insert(*r))
            .map(Message::Request)
            .collect();
        if msgs.is_empty() {
            return;
        }
        if was_empty {
            // The pipe was empty: the clock for snubbing starts now.
            self.last_block = now;
        }
        let _ = self.out.send(Out::Msgs(msgs));
    }
}

/// After a block arrives, refill only when this many requests can go out at once
/// (fewer lock round-trips and syscalls for fast peers).
fn arrival_batch(depth: usize) -> usize {
    (depth / 8).max(1)
}

#[cfg(test)]
#[path = "state_tests.rs"]
mod tests;
