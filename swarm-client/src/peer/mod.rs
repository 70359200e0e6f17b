//! One task per peer connection: handshake, then a reader loop (this task) that keeps the
//! request pipeline full and a writer task that sends messages and serves uploads.
//!
//! A peer that breaks the protocol (bad bitfield, out-of-range index, unrequested block,
//! oversized request or message) ends its own connection; nothing else is disturbed.

pub mod pipeline;
mod writer;

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::StreamExt;
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_util::codec::FramedRead;

use crate::engine::shared::{Event, PeerStats, Shared};
use crate::picker::{Arrival, PeerKey};
use crate::wire::{
    self, Bitfield, BitfieldError, BlockRequest, CodecError, Handshake, HandshakeError, Message,
    MessageCodec, PeerId, RequestError,
};
use pipeline::Pipeline;
use writer::Out;

/// Time allowed to open a TCP connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Time allowed for the handshake exchange.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// A peer that sends no block for this long while we wait for some is snubbing us: its
/// requests go to other peers.
const SNUB_TIMEOUT: Duration = Duration::from_secs(8);
/// A peer silent (not even keep-alives) for this long is dropped.
const IDLE_TIMEOUT: Duration = Duration::from_secs(180);
/// How often we send a keep-alive.
const KEEPALIVE_EVERY: Duration = Duration::from_secs(60);
/// Most upload requests queued for one peer; more are ignored.
const MAX_QUEUED_UPLOADS: usize = 1024;
/// Blocks we cancelled or gave up on that may still arrive (remembered so they are not
/// taken for unrequested blocks).
const MAX_CANCELLED_REMEMBERED: usize = 4096;

/// How the connection starts.
pub(crate) enum Conn {
    /// We dial the peer.
    Outgoing,
    /// The peer dialled us (listener).
    Incoming(TcpStream),
}

/// Orders from the session loop to one peer task.
#[derive(Debug)]
pub(crate) enum PeerCmd {
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

/// Why a connection ended.
#[derive(Debug, thiserror::Error)]
pub(crate) enum PeerError {
    #[error("connect: {0}")]
    Connect(std::io::Error),
    #[error("connect timed out")]
    ConnectTimeout,
    #[error(transparent)]
    Handshake(#[from] HandshakeError),
    #[error("already connected to this peer (or it is banned)")]
    Duplicate,
    #[error("connection: {0}")]
    Io(#[from] std::io::Error),
    #[error("peer closed the connection")]
    Eof,
    #[error("no message for {0:?}")]
    Idle(Duration),
    #[error("protocol violation: {0}")]
    Violation(#[from] Violation),
}

impl PeerError {
    /// Did the peer misbehave (as opposed to a network failure)?
    pub fn is_misbehaviour(&self) -> bool {
        matches!(self, PeerError::Violation(_))
    }
}

/// Protocol violations that get a peer dropped.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Violation {
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

/// Connects (or answers), handshakes and runs a peer connection until it ends.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn run(
    shared: Arc<Shared>,
    key: PeerKey,
    addr: SocketAddr,
    conn: Conn,
    cmds: mpsc::UnboundedReceiver<PeerCmd>,
    stats: Arc<PeerStats>,
) -> Result<(), PeerError> {
    let ours = Handshake::new(shared.info_hash, shared.peer_id);
    let (stream, theirs) = match conn {
        Conn::Outgoing => {
            let mut stream = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(addr))
                .await
                .map_err(|_| PeerError::ConnectTimeout)?
                .map_err(PeerError::Connect)?;
            let theirs = wire::handshake::initiate(&mut stream, &ours, HANDSHAKE_TIMEOUT).await?;
            (stream, theirs)
        }
        Conn::Incoming(mut stream) => {
            let theirs = wire::handshake::respond(&mut stream, &ours, HANDSHAKE_TIMEOUT).await?;
            (stream, theirs)
        }
    };
    if !shared.claim_peer_id(theirs.peer_id) {
        return Err(PeerError::Duplicate);
    }
    let mut cmds = cmds;
    let (mut conn, mut reader) =
        Connection::start(shared.clone(), key, stream, theirs.peer_id, stats);
    let result = conn.drive(&mut reader, &mut cmds).await;
    conn.finish();
    shared.release_peer_id(&theirs.peer_id);
    result
}

/// A live, handshaken connection.
struct Connection {
    shared: Arc<Shared>,
    key: PeerKey,
    stats: Arc<PeerStats>,
    out: mpsc::UnboundedSender<Out>,
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
    writer: Option<tokio::task::JoinHandle<()>>,
}

impl Connection {
    /// Splits the stream, starts the writer task and sends our bitfield.
    fn start(
        shared: Arc<Shared>,
        key: PeerKey,
        stream: TcpStream,
        peer_id: PeerId,
        stats: Arc<PeerStats>,
    ) -> (
        Self,
        FramedRead<tokio::net::tcp::OwnedReadHalf, MessageCodec>,
    ) {
        let _ = stream.set_nodelay(false);
        let (rd, wr) = stream.into_split();
        let (out, out_rx) = mpsc::unbounded_channel();
        let queued_uploads = Arc::new(AtomicUsize::new(0));
        let writer = tokio::spawn(writer::run(
            wr,
            out_rx,
            shared.clone(),
            stats.clone(),
            queued_uploads.clone(),
        ));
        let _ = shared.events.send(Event::PeerReady { key, peer_id });
        let have = shared.picker().have_bitfield();
        if !have.is_empty() {
            let _ = out.send(Out::Msgs(vec![Message::Bitfield(have.to_bytes())]));
        }
        let now = Instant::now();
        let conn = Connection {
            pieces: Bitfield::new(shared.piece_count),
            shared,
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
            writer: Some(writer),
        };
        let reader = FramedRead::with_capacity(
            rd,
            MessageCodec::for_piece_count(conn.shared.piece_count),
            256 * 1024,
        );
        (conn, reader)
    }
}

impl Connection {
    async fn drive(
        &mut self,
        reader: &mut FramedRead<tokio::net::tcp::OwnedReadHalf, MessageCodec>,
        cmds: &mut mpsc::UnboundedReceiver<PeerCmd>,
    ) -> Result<(), PeerError> {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                frame = reader.next() => match frame {
                    None => return Err(PeerError::Eof),
                    Some(Err(CodecError::Io(e))) => return Err(PeerError::Io(e)),
                    Some(Err(e)) => return Err(Violation::Message(e).into()),
                    Some(Ok(message)) => {
                        self.last_message = Instant::now();
                        if !self.on_message(message)? {
                            return Ok(());
                        }
                    }
                },
                cmd = cmds.recv() => match cmd {
                    None | Some(PeerCmd::Close) => return Ok(()),
                    Some(cmd) => {
                        if !self.on_command(cmd) {
                            return Ok(());
                        }
                    }
                },
                _ = tick.tick() => self.on_tick()?,
            }
            if self.out.is_closed() {
                return Err(PeerError::Eof);
            }
        }
    }

    /// Handles one message; `Ok(false)` ends the connection in an orderly way.
    fn on_message(&mut self, message: Message) -> Result<bool, Violation> {
        match message {
            // We announce neither the fast extension nor the extension protocol (yet), so
            // their messages are ignored like unknown ones.
            Message::KeepAlive
            | Message::Port(_)
            | Message::Suggest { .. }
            | Message::HaveAll
            | Message::HaveNone
            | Message::Reject(_)
            | Message::AllowedFast { .. }
            | Message::Extended { .. }
            | Message::Unknown { .. } => {}
            Message::Bitfield(bytes) => {
                let field = Bitfield::from_wire(&bytes, self.shared.piece_count)?;
                {
                    // A repeated bitfield (aria2 sends one after its `have`s) replaces
                    // what we knew.
                    let mut picker = self.shared.picker();
                    picker.remove_peer_pieces(&self.pieces);
                    picker.add_peer_pieces(&field);
                }
                self.pieces = field;
                self.stats
                    .pieces
                    .store(self.pieces.count(), Ordering::Relaxed);
                if self.both_seeds() {
                    return Ok(false);
                }
                self.update_interest();
            }
            Message::Have { index } => {
                if index >= self.shared.piece_count {
                    return Err(Violation::HaveOutOfRange(index));
                }
                if self.pieces.set(index).unwrap_or(false) {
                    self.shared.picker().add_peer_piece(index);
                    self.stats
                        .pieces
                        .store(self.pieces.count(), Ordering::Relaxed);
                    if !self.am_interested && !self.shared.has_piece(index) {
                        self.update_interest();
                    }
                    if self.both_seeds() {
                        return Ok(false);
                    }
                }
            }
            Message::Choke => {
                self.peer_choking = true;
                self.abandon_outstanding(false);
            }
            Message::Unchoke => {
                self.peer_choking = false;
                self.pipeline.restart_window(Instant::now());
                self.refill(None);
            }
            Message::Interested => {
                if !self.stats.peer_interested.swap(true, Ordering::Relaxed) {
                    let _ = self.shared.events.send(Event::PeerInterested(self.key));
                }
            }
            Message::NotInterested => {
                self.stats.peer_interested.store(false, Ordering::Relaxed);
            }
            Message::Request(request) => self.on_request(request)?,
            Message::Cancel(request) => {
                let _ = self.out.send(Out::CancelUpload(request));
            }
            Message::Piece { index, begin, data } => self.on_block(index, begin, data)?,
        }
        Ok(true)
    }

    fn on_request(&mut self, request: BlockRequest) -> Result<(), Violation> {
        let shared = &self.shared;
        request.validate(shared.piece_count, |i| {
            shared.storage.piece_size(i).unwrap_or(0)
        })?;
        if self.am_choking || !shared.has_piece(request.index) {
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

    fn on_block(&mut self, index: u32, begin: u32, data: Bytes) -> Result<(), Violation> {
        let len = data.len() as u32;
        let request = BlockRequest::new(index, begin, len);
        if !self.outstanding.remove(&request) && !self.forget_cancelled(&request) {
            return Err(Violation::Unrequested { index, begin, len });
        }
        let now = Instant::now();
        self.last_block = now;
        self.pipeline.received(u64::from(len));
        self.stats
            .downloaded
            .fetch_add(u64::from(len), Ordering::Relaxed);
        self.shared
            .downloaded
            .fetch_add(u64::from(len), Ordering::Relaxed);
        if self.snubbed {
            self.snubbed = false;
            self.stats.snubbed.store(false, Ordering::Relaxed);
        }
        let arrival = self
            .shared
            .picker()
            .block_received(self.key, index, begin, &data);
        match arrival {
            Arrival::Stored { cancel_duplicates } => {
                if cancel_duplicates {
                    self.cancel_duplicates(request);
                }
            }
            Arrival::PieceComplete {
                index,
                data,
                senders,
                cancel_duplicates,
            } => {
                if cancel_duplicates {
                    self.cancel_duplicates(request);
                }
                self.shared.check_piece(index, data, senders);
            }
            Arrival::NotNeeded => {
                self.shared
                    .wasted
                    .fetch_add(u64::from(len), Ordering::Relaxed);
            }
        }
        self.refill(Some(arrival_batch(self.pipeline.depth())));
        Ok(())
    }

    fn cancel_duplicates(&self, block: BlockRequest) {
        let _ = self.shared.events.send(Event::CancelDuplicates {
            block,
            from: self.key,
        });
    }

    fn on_command(&mut self, cmd: PeerCmd) -> bool {
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
                self.refill(None);
            }
            PeerCmd::Refill => {
                self.update_interest();
                self.refill(None);
            }
            PeerCmd::Completed => {
                if self.pieces.is_complete() {
                    return false;
                }
                self.update_interest();
            }
            PeerCmd::Close => return false,
        }
        true
    }

    fn on_tick(&mut self) -> Result<(), PeerError> {
        let now = Instant::now();
        self.pipeline.update(now);
        if now.duration_since(self.last_message) > IDLE_TIMEOUT {
            return Err(PeerError::Idle(IDLE_TIMEOUT));
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
        self.refill(None);
        Ok(())
    }

    /// Returns our outstanding requests to the picker (after a choke or a snub).
    fn abandon_outstanding(&mut self, send_cancel: bool) {
        if self.outstanding.is_empty() {
            return;
        }
        let requests: Vec<BlockRequest> = self.outstanding.drain().collect();
        self.shared.picker().release(self.key, &requests);
        if send_cancel {
            let msgs = requests.iter().map(|r| Message::Cancel(*r)).collect();
            let _ = self.out.send(Out::Msgs(msgs));
        }
        for r in requests {
            self.remember_cancelled(r);
        }
        let _ = self.shared.events.send(Event::WakePeers);
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
        !self.shared.is_complete() && self.shared.picker().is_interesting(&self.pieces)
    }

    fn both_seeds(&self) -> bool {
        self.pieces.is_complete() && self.shared.is_complete()
    }

    /// Tops the request pipeline up to the depth the peer's rate calls for. With
    /// `min_batch`, does nothing unless at least that many requests can be sent.
    fn refill(&mut self, min_batch: Option<usize>) {
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
            self.shared.picker().pick(
                self.key,
                &self.pieces,
                room,
                |r| outstanding.contains(r),
                &mut picked,
            );
        }
        if picked.is_empty() {
            return;
        }
        let mut msgs = Vec::with_capacity(picked.len());
        for r in picked {
            // A block of a piece that failed and started over may be picked again while this
            // peer's first request for it is still in flight: that request will do; asking
            // twice would bring a second copy nobody expects.
            if self.outstanding.insert(r) {
                msgs.push(Message::Request(r));
            }
        }
        if msgs.is_empty() {
            return;
        }
        if self.outstanding.len() == msgs.len() {
            // The pipe was empty: the clock for snubbing starts now.
            self.last_block = Instant::now();
        }
        let _ = self.out.send(Out::Msgs(msgs));
    }

    /// Leaves the swarm: hands our requests and the peer's availability back.
    fn finish(&mut self) {
        {
            let mut picker = self.shared.picker();
            let requests: Vec<BlockRequest> = self.outstanding.drain().collect();
            picker.release(self.key, &requests);
            picker.remove_peer_pieces(&self.pieces);
        }
        if let Some(w) = self.writer.take() {
            w.abort();
        }
    }
}

/// After a block arrives, refill only when this many requests can go out at once
/// (fewer lock round-trips and syscalls for fast peers).
fn arrival_batch(depth: usize) -> usize {
    (depth / 8).max(1)
}
