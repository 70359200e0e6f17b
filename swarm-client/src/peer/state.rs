//! The peer connection as a state machine, with no I/O: it takes the peer's messages, the
//! torrent's commands and clock ticks, keeps the choke/interest state and the request
//! pipeline, and queues what to send for the writer task. The torrent is reached only
//! through [`PeerHandler`].
//!
//! The fast extension (BEP 6, [`FastState`]) and the extension protocol (BEP 10,
//! [`ExtendedState`]) are used when both handshakes announced them.
//!
//! A peer that breaks the protocol (bad bitfield, out-of-range index, unrequested block,
//! oversized request, an extension message it was not entitled to) gets a [`Violation`];
//! the driver then ends the connection.

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::sync::mpsc;

use super::Link;
use super::extended::ExtendedState;
use super::fast::FastState;
use super::handler::{BlockFate, Notice, PeerHandler, PeerKey, Upload, UploadAsk};
use super::pipeline::Pipeline;
use super::stats::PeerStats;
use super::upload_queue::UploadQueue;
use super::writer::Out;
use crate::extension::{ExtendedMessage, ExtensionError, PexMessage};
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
/// A piece the peer rejected while unchoking us (a seed sending each piece once gave it to
/// someone else) is not asked of it again for this long: long enough that a seed's refusals
/// cost a few small messages, not a storm; short, because nothing tells us when a seed's
/// initial seeding ends. With 10 s, the lab's flash-crowd seeder idled 13 s after it had sent
/// its first full copy: every leecher held back, from it, nearly every piece it lacked.
const DECLINED_FOR: Duration = Duration::from_secs(2);

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
    /// Tell the peer of other peers (BEP 11), if it exchanges peers.
    Pex(PexMessage),
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
    #[error("sent {0} without the fast extension")]
    FastNotNegotiated(&'static str),
    #[error("sent {0} for piece {1}, out of range")]
    PieceOutOfRange(&'static str, u32),
    #[error("rejected block {index}:{begin}, which was never requested")]
    UnrequestedReject { index: u32, begin: u32 },
    #[error("sent an extended message without the extension protocol")]
    ExtendedNotNegotiated,
    #[error(transparent)]
    Extension(#[from] ExtensionError),
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
    /// The fast extension's state, when both sides speak it.
    fast: Option<FastState>,
    /// The extension protocol's state, when both sides speak it.
    extended: Option<ExtendedState>,
    stats: Arc<PeerStats>,
    out: mpsc::UnboundedSender<Out>,
    /// Upload requests queued in the writer (shared with it).
    queued_uploads: Arc<UploadQueue>,
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
    /// Pieces the peer rejected lately, and when: picked from other peers for a while.
    declined: HashMap<u32, Instant>,
    pipeline: Pipeline,
    snubbed: bool,
    last_block: Instant,
    last_message: Instant,
    last_keepalive: Instant,
}

impl PeerState {
    /// The state of a fresh connection to peer `key` at `addr`, using the `extensions`
    /// both handshakes announced; queues what opens the connection: the extended handshake,
    /// what we have (`have all` / `have none` with the fast extension, else a bitfield when we
    /// have pieces), and the pieces the peer may have while choked.
    pub fn new(
        handler: Arc<dyn PeerHandler>,
        link: &Link,
        stats: Arc<PeerStats>,
        out: mpsc::UnboundedSender<Out>,
        queued_uploads: Arc<UploadQueue>,
        now: Instant,
    ) -> Self {
        let fast = link
            .extensions
            .fast
            .then(|| FastState::new(link.addr.ip(), &handler.info_hash(), handler.piece_count()));
        let extended = link
            .extensions
            .extension_protocol
            .then(ExtendedState::default);
        let _ = out.send(Out::Msgs(opening(
            handler.as_ref(),
            link.addr,
            fast.as_ref(),
            extended.is_some(),
        )));
        Self {
            pieces: Bitfield::new(handler.piece_count()),
            handler,
            key: link.key,
            fast,
            extended,
            stats,
            out,
            queued_uploads,
            peer_choking: true,
            am_interested: false,
            am_choking: true,
            outstanding: HashSet::new(),
            cancelled: HashMap::new(),
            cancelled_order: VecDeque::new(),
            declined: HashMap::new(),
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
            Message::HaveAll => {
                self.fast_state("have all")?;
                let all = Bitfield::full(self.handler.piece_count());
                self.handler.peer_pieces(&self.pieces, &all);
                self.pieces = all;
                return Ok(self.pieces_changed());
            }
            Message::HaveNone => {
                self.fast_state("have none")?;
                let none = Bitfield::new(self.handler.piece_count());
                self.handler.peer_pieces(&self.pieces, &none);
                self.pieces = none;
                return Ok(self.pieces_changed());
            }
            Message::Suggest { index } => {
                self.check_piece("suggest piece", index)?;
                self.fast_state("suggest piece")?.suggested(index);
            }
            Message::AllowedFast { index } => {
                self.check_piece("allowed fast", index)?;
                self.fast_state("allowed fast")?.allowed_by_them(index);
                self.refill(None, now);
            }
            Message::Reject(request) => self.on_reject(request, now)?,
            Message::Extended { id, payload } => {
                let Some(extended) = self.extended.as_mut() else {
                    return Err(Violation::ExtendedNotNegotiated);
                };
                let replies = extended.on_message(self.handler.as_ref(), self.key, id, &payload)?;
                if !replies.is_empty() {
                    let _ = self.out.send(Out::Msgs(replies));
                }
            }
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
                // Pieces allowed fast may still be asked for.
                self.refill(None, now);
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
                if self.stats.peer_interested.swap(false, Ordering::Relaxed) {
                    self.handler.notify(self.key, Notice::NotInterested);
                }
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
        let allowed_choked = self
            .fast
            .as_ref()
            .is_some_and(|f| f.may_request_choked(request.index));
        let serve = (!self.am_choking || allowed_choked)
            && handler.has_piece(request.index)
            && self.queued_uploads.len() < MAX_QUEUED_UPLOADS;
        let verdict = if serve && self.fast.is_some() {
            let ask = UploadAsk {
                index: request.index,
                pieces: &self.pieces,
                // A choked peer could not ask for a suggested piece: it gets none.
                may_suggest: !self.am_choking,
                uplink_idle: self.queued_uploads.uplink_idle(),
            };
            handler.upload_verdict(self.key, ask)
        } else {
            Upload::Serve
        };
        if let Upload::Decline { suggest } = verdict {
            // The suggestion goes first, so the peer's next pick after the reject can use it.
            let mut msgs: Vec<Message> = suggest
                .map(|index| Message::Suggest { index })
                .into_iter()
                .collect();
            msgs.push(Message::Reject(request));
            let _ = self.out.send(Out::Msgs(msgs));
        } else if serve {
            self.queued_uploads.push();
            let _ = self.out.send(Out::Upload(request));
        } else if self.fast.is_some() {
            // Choked, a piece we lack, or too many queued: say so, so the peer asks
            // elsewhere at once rather than waiting.
            let _ = self.out.send(Out::Msgs(vec![Message::Reject(request)]));
        }
        // Without the fast extension a request racing our choke is simply ignored.
        Ok(())
    }

    /// The peer will not answer `request` (fast extension): it goes back to the torrent.
    fn on_reject(&mut self, request: BlockRequest, now: Instant) -> Result<(), Violation> {
        self.fast_state("reject request")?;
        if self.outstanding.remove(&request) {
            // Refused, not cut short by a choke: ask others for this piece for a while
            // (asking again at once would only be refused again).
            self.declined.insert(request.index, now);
            self.handler.release(self.key, &[request]);
            self.handler.notify(self.key, Notice::BlocksReleased);
            self.refill(None, now);
        } else if !self.forget_cancelled(&request) {
            return Err(Violation::UnrequestedReject {
                index: request.index,
                begin: request.begin,
            });
        }
        Ok(())
    }

    /// The fast extension's state, or the violation of using it without agreeing to.
    fn fast_state(&mut self, what: &'static str) -> Result<&mut FastState, Violation> {
        self.fast.as_mut().ok_or(Violation::FastNotNegotiated(what))
    }

    /// Checks a piece index a message names.
    fn check_piece(&self, what: &'static str, index: u32) -> Result<(), Violation> {
        if index < self.handler.piece_count() {
            Ok(())
        } else {
            Err(Violation::PieceOutOfRange(what, index))
        }
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
                if let Some(fast) = self.fast.as_mut() {
                    fast.have(index);
                }
                let mut msgs = vec![Message::Have { index }];
                if self.am_interested && !self.still_interesting() {
                    self.am_interested = false;
                    msgs.push(Message::NotInterested);
                }
                let _ = self.out.send(Out::Msgs(msgs));
                // A peer that awaits nothing would otherwise ask again only on its
                // once-a-second tick. Pieces get verified as the last blocks arrive, which is
                // when endgame opens: an idle peer gets its share of duplicates then.
                if self.outstanding.is_empty() {
                    self.refill(None, now);
                }
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
            PeerCmd::Pex(message) => {
                let wire = self
                    .extended
                    .as_ref()
                    .and_then(|e| e.to_wire(&ExtendedMessage::Pex(message)));
                if let Some(wire) = wire {
                    let _ = self.out.send(Out::Msgs(vec![wire]));
                }
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
        self.declined
            .retain(|_, at| now.duration_since(*at) < DECLINED_FOR);
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
        if !self.am_interested {
            return;
        }
        // While choked, only the pieces the peer allows fast (BEP 6) may be asked for.
        let choked_pieces = match (&self.fast, self.peer_choking) {
            (_, false) => None,
            (Some(fast), true) if !fast.choked_allowance().is_empty() => {
                let mut allowed = Bitfield::new(self.pieces.piece_count());
                for p in fast.choked_allowance() {
                    if self.pieces.get(*p) {
                        let _ = allowed.set(*p);
                    }
                }
                Some(allowed)
            }
            _ => return,
        };
        // Never more than the peer queues (its `reqq`): past that, requests are rejected or
        // dropped, and a rejected piece would be held back from this peer for a while.
        let peer_queue = self
            .extended
            .as_ref()
            .and_then(ExtendedState::request_queue)
            .unwrap_or(usize::MAX);
        let depth = if self.snubbed {
            1
        } else {
            self.pipeline.depth().min(peer_queue)
        };
        let room = depth.saturating_sub(self.outstanding.len());
        if room == 0 || min_batch.is_some_and(|b| room < b) {
            return;
        }
        // Pieces the peer declined lately are left out (a copy only when there are some).
        let masked = (!self.declined.is_empty()).then(|| {
            let mut field = choked_pieces.clone().unwrap_or_else(|| self.pieces.clone());
            for index in self.declined.keys() {
                let _ = field.clear(*index);
            }
            field
        });
        let pickable = masked
            .as_ref()
            .or(choked_pieces.as_ref())
            .unwrap_or(&self.pieces);
        let mut picked = Vec::with_capacity(room);
        {
            let suggested = self
                .fast
                .as_ref()
                .map(FastState::suggestions)
                .unwrap_or_default();
            self.handler.pick(
                self.key,
                pickable,
                room,
                &self.outstanding,
                &suggested,
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

/// The messages that open a connection: our extended handshake (BEP 10), then what we have
/// — `have all` or `have none` with the fast extension (a seeder opens with `have all`), a
/// bitfield otherwise when we have pieces — and the pieces the peer may request while
/// choked (BEP 6).
fn opening(
    handler: &dyn PeerHandler,
    addr: SocketAddr,
    fast: Option<&FastState>,
    extended: bool,
) -> Vec<Message> {
    let mut msgs = Vec::new();
    if extended {
        msgs.push(ExtendedState::our_handshake(handler, addr));
    }
    let ours = handler.our_pieces();
    match fast {
        Some(_) if ours.is_complete() => msgs.push(Message::HaveAll),
        Some(_) if ours.is_empty() => msgs.push(Message::HaveNone),
        _ if !ours.is_empty() => msgs.push(Message::Bitfield(ours.to_bytes())),
        _ => {}
    }
    if let Some(fast) = fast {
        msgs.extend(
            fast.to_announce(|p| ours.get(p))
                .into_iter()
                .map(|index| Message::AllowedFast { index }),
        );
    }
    msgs
}

/// After a block arrives, refill only when this many requests can go out at once
/// (fewer lock round-trips and syscalls for fast peers).
fn arrival_batch(depth: usize) -> usize {
    (depth / 8).max(1)
}

#[cfg(test)]
#[path = "state_tests.rs"]
mod tests;
