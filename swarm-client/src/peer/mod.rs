//! One task per peer connection: it connects (or takes an accepted connection), finishes the
//! handshake, then feeds the peer's messages, the torrent's commands and a clock into the
//! connection's state machine ([`state::PeerState`]); a writer task sends what the state
//! machine queues and serves uploads.
//!
//! The torrent is reached only through [`PeerHandler`]; this module knows nothing of
//! pickers, storage or sessions.

mod extended;
mod fast;
mod handler;
mod limits;
pub mod pipeline;
mod state;
mod stats;
mod upload_queue;
mod writer;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use tokio::net::TcpStream;
use tokio::net::tcp::OwnedReadHalf;
use tokio::sync::mpsc;
use tokio_util::codec::FramedRead;

use crate::wire::handshake::Extensions;
use crate::wire::{self, CodecError, Handshake, HandshakeError, LinkError, Message, MessageCodec};
pub use handler::{BlockFate, Notice, PeerHandler, PeerKey, Upload, UploadAsk};
pub use limits::{Limits, RateLimit};
pub use state::{Flow, PeerCmd, PeerState, Violation};
pub use stats::PeerStats;
use upload_queue::UploadQueue;
pub use writer::Out;

/// Read buffer of a connection: room for many 16 KiB blocks per read.
const READ_BUFFER: usize = 256 * 1024;

/// How the connection starts.
pub enum Conn {
    /// We dial the peer.
    Outgoing,
    /// The peer dialled us and the handshake is done (see `wire::handshake::respond_for`).
    Incoming {
        stream: TcpStream,
        theirs: Handshake,
    },
}

/// Why a connection ended.
#[derive(Debug, thiserror::Error)]
pub enum PeerError {
    #[error(transparent)]
    Link(#[from] LinkError),
    #[error("already connected to this peer (or it is banned)")]
    Duplicate,
    #[error("protocol violation: {0}")]
    Violation(#[from] Violation),
}

impl PeerError {
    /// Did the peer misbehave (as opposed to a network failure)?
    pub fn is_misbehaviour(&self) -> bool {
        matches!(
            self,
            PeerError::Violation(_)
                | PeerError::Link(LinkError::Handshake(HandshakeError::SelfConnection))
        )
    }
}

/// Everything a connection task starts with.
pub struct PeerSetup {
    pub handler: Arc<dyn PeerHandler>,
    pub key: PeerKey,
    pub addr: SocketAddr,
    pub conn: Conn,
    /// Our handshake for the torrent.
    pub ours: Handshake,
    pub cmds: mpsc::UnboundedReceiver<PeerCmd>,
    pub stats: Arc<PeerStats>,
    /// The session's transfer rate limits.
    pub limits: Limits,
}

/// Runs a connection on its own task; when it ends, the handler hears [`Notice::Closed`].
pub fn spawn(setup: PeerSetup) {
    tokio::spawn(async move {
        let handler = setup.handler.clone();
        let key = setup.key;
        let notice = match run(setup).await {
            Ok(()) => Notice::Closed {
                reason: None,
                misbehaved: false,
            },
            Err(e) => Notice::Closed {
                misbehaved: e.is_misbehaviour(),
                reason: Some(e.to_string()),
            },
        };
        handler.notify(key, notice);
    });
}

async fn run(setup: PeerSetup) -> Result<(), PeerError> {
    let PeerSetup {
        handler,
        key,
        addr,
        conn,
        ours,
        mut cmds,
        stats,
        limits,
    } = setup;
    let (stream, theirs) = match conn {
        Conn::Outgoing => wire::dial(addr, &ours).await?,
        Conn::Incoming { stream, theirs } => (stream, theirs),
    };
    if !handler.claim(&theirs.peer_id) {
        return Err(PeerError::Duplicate);
    }
    let link = Link {
        key,
        addr,
        extensions: ours.extensions().both(theirs.extensions()),
        peer_id: theirs.peer_id,
    };
    let result = drive(handler.clone(), &link, stream, &mut cmds, stats, limits).await;
    handler.unclaim(&theirs.peer_id);
    result
}

/// Who a handshaken connection is with, and what both sides agreed to speak.
pub struct Link {
    pub key: PeerKey,
    pub addr: SocketAddr,
    pub extensions: Extensions,
    pub peer_id: wire::PeerId,
}

/// Runs a handshaken connection until it ends.
async fn drive(
    handler: Arc<dyn PeerHandler>,
    link: &Link,
    stream: TcpStream,
    cmds: &mut mpsc::UnboundedReceiver<PeerCmd>,
    stats: Arc<PeerStats>,
    limits: Limits,
) -> Result<(), PeerError> {
    let key = link.key;
    let _ = stream.set_nodelay(false);
    let (rd, wr) = stream.into_split();
    let (out, out_rx) = mpsc::unbounded_channel();
    let queued_uploads = Arc::new(UploadQueue::new(limits.uploads.clone()));
    let writer = tokio::spawn(writer::run(
        wr,
        out_rx,
        handler.clone(),
        stats.clone(),
        queued_uploads.clone(),
        limits.up.clone(),
        link.extensions.fast,
    ));
    handler.notify(
        key,
        Notice::Ready {
            peer_id: link.peer_id,
        },
    );
    let mut reader = FramedRead::with_capacity(
        rd,
        MessageCodec::for_piece_count(handler.piece_count()),
        READ_BUFFER,
    );
    let mut state = PeerState::new(
        handler,
        link,
        stats,
        out.clone(),
        queued_uploads,
        Instant::now(),
    );
    let result = pump(&mut state, &mut reader, cmds, &out, limits.down.as_deref()).await;
    state.finish();
    writer.abort();
    result
}

/// Feeds messages, commands and ticks into the state machine until the connection ends.
async fn pump(
    state: &mut PeerState,
    reader: &mut FramedRead<OwnedReadHalf, MessageCodec>,
    cmds: &mut mpsc::UnboundedReceiver<PeerCmd>,
    out: &mpsc::UnboundedSender<Out>,
    down_limit: Option<&RateLimit>,
) -> Result<(), PeerError> {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let flow = tokio::select! {
            frame = reader.next() => match frame {
                None => return Err(LinkError::Eof.into()),
                Some(Err(CodecError::Io(e))) => return Err(LinkError::Io(e).into()),
                Some(Err(e)) => return Err(Violation::Message(e).into()),
                Some(Ok(message)) => {
                    let block = match &message {
                        Message::Piece { data, .. } => Some(data.len()),
                        _ => None,
                    };
                    let flow = state.on_message(message, Instant::now())?;
                    if let (Some(limit), Some(len)) = (down_limit, block) {
                        // Read no further until the download budget allows.
                        limit.take(len).await;
                    }
                    flow
                }
            },
            cmd = cmds.recv() => match cmd {
                None => Flow::Close,
                Some(cmd) => state.on_command(cmd, Instant::now()),
            },
            _ = tick.tick() => {
                state.on_tick(Instant::now()).map_err(LinkError::Idle)?;
                Flow::Continue
            }
        };
        if flow == Flow::Close {
            return Ok(());
        }
        if out.is_closed() {
            return Err(LinkError::Eof.into());
        }
    }
}
