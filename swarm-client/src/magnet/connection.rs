//! One peer asked for a torrent's info dictionary (BEP 9): connect, handshake with the
//! extension-protocol bit, exchange extended handshakes, then request metadata pieces as the
//! shared [`MetadataFetch`] hands them out until the whole dictionary is in.
//!
//! Only the extension protocol is announced (not the fast extension), so nothing else is
//! owed to the peer: we have no pieces and send no bitfield. Everything but extended
//! messages is ignored here; the data comes later, over the torrent's own connections.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::StreamExt;
use parking_lot::Mutex;
use tokio::io::AsyncWrite;
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio_util::codec::FramedRead;

use crate::extension::{
    DataOutcome, ExtendedHandshake, ExtendedMessage, ExtensionError, ExtensionIds, FetchError,
    MAX_METADATA_SIZE, METADATA_PIECE_LEN, MetadataFetch, MetadataMessage,
};
use crate::wire::{self, CodecError, Handshake, LinkError, Message, MessageCodec};

/// A peer that sends nothing for this long is dropped.
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// A peer that does not send its extended handshake this soon cannot help.
const GREETING_TIMEOUT: Duration = Duration::from_secs(20);

/// What every metadata connection of one magnet link shares.
pub struct Shared {
    pub fetch: Mutex<MetadataFetch<u64>>,
    /// Set once, to the verified info dictionary.
    pub done: watch::Sender<Option<Bytes>>,
    /// Our handshake (info-hash, peer id, the extension-protocol bit).
    pub ours: Handshake,
    /// Our listen port, told to peers in the extended handshake.
    pub listen_port: u16,
}

/// Why a metadata connection ended without the metadata.
#[derive(Debug, thiserror::Error)]
pub enum ConnError {
    #[error(transparent)]
    Link(#[from] LinkError),
    #[error("the peer does not speak the extension protocol (BEP 10)")]
    NoExtensionProtocol,
    #[error("the peer cannot send metadata (no ut_metadata or metadata_size)")]
    NoMetadata,
    #[error("no extended handshake within {0:?}")]
    NoGreeting(Duration),
    #[error("protocol violation: {0}")]
    Message(CodecError),
    #[error("protocol violation: {0}")]
    Extension(#[from] ExtensionError),
    #[error("metadata: {0}")]
    Fetch(#[from] FetchError),
    #[error("sent metadata that does not match the info-hash")]
    WrongMetadata,
}

/// Asks the peer at `addr` (connection `key`) for metadata until the fetch completes.
pub async fn run(addr: SocketAddr, key: u64, shared: Arc<Shared>) -> Result<(), ConnError> {
    let (stream, theirs) = wire::dial(addr, &shared.ours).await?;
    if !theirs.extensions().extension_protocol {
        return Err(ConnError::NoExtensionProtocol);
    }
    let result = exchange(stream, key, &shared).await;
    shared.fetch.lock().remove_peer(key);
    result
}

/// The extended handshake, then requests and answers until done.
async fn exchange(stream: TcpStream, key: u64, shared: &Shared) -> Result<(), ConnError> {
    let (rd, mut wr) = stream.into_split();
    let mut reader = FramedRead::new(rd, codec());
    let mut hello = ExtendedHandshake::ours(2);
    hello.listen_port = Some(shared.listen_port);
    send(
        &mut wr,
        ExtendedMessage::Handshake(hello).to_wire(&ExtensionIds::default()),
    )
    .await?;
    let mut peer = Peer {
        key,
        ids: None,
        started: Instant::now(),
        last_message: Instant::now(),
    };
    let mut done = shared.done.subscribe();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            frame = reader.next() => {
                let message = match frame {
                    None => return Err(LinkError::Eof.into()),
                    Some(Err(CodecError::Io(e))) => return Err(LinkError::Io(e).into()),
                    Some(Err(e)) => return Err(ConnError::Message(e)),
                    Some(Ok(message)) => message,
                };
                peer.last_message = Instant::now();
                if let Message::Extended { id, payload } = message
                    && let Some(message) = ExtendedMessage::decode(id, &payload)?
                {
                    for reply in peer.on_extended(message, shared)? {
                        send(&mut wr, Some(reply)).await?;
                    }
                }
            }
            _ = done.changed() => return Ok(()),
            _ = tick.tick() => peer.check_time(shared)?,
        }
        if shared.done.borrow().is_some() {
            return Ok(());
        }
        for request in peer.requests(shared) {
            send(&mut wr, Some(request)).await?;
        }
    }
}

/// A codec that takes any bitfield a torrent with the largest metadata we accept could have
/// (we do not know the piece count yet).
fn codec() -> MessageCodec {
    let most_pieces = MAX_METADATA_SIZE / 20;
    MessageCodec::for_piece_count(u32::try_from(most_pieces).unwrap_or(u32::MAX))
}

async fn send<W: AsyncWrite + Unpin>(
    wr: &mut W,
    message: Option<Message>,
) -> Result<(), LinkError> {
    match message {
        Some(message) => Ok(wire::codec::write_message(wr, &message).await?),
        None => Ok(()),
    }
}

/// What we know of the peer.
struct Peer {
    key: u64,
    /// Its extension ids, once its extended handshake came.
    ids: Option<ExtensionIds>,
    started: Instant,
    last_message: Instant,
}

impl Peer {
    /// Handles one extended message; returns replies to send.
    fn on_extended(
        &mut self,
        message: ExtendedMessage,
        shared: &Shared,
    ) -> Result<Vec<Message>, ConnError> {
        match message {
            ExtendedMessage::Handshake(theirs) => {
                let size = theirs
                    .metadata_size
                    .filter(|_| theirs.extensions.ut_metadata.is_some());
                let Some(size) = size else {
                    return Err(ConnError::NoMetadata);
                };
                shared.fetch.lock().add_peer(self.key, size)?;
                self.ids = Some(theirs.extensions);
            }
            ExtendedMessage::Metadata(MetadataMessage::Data {
                piece,
                total_size,
                data,
            }) => self.on_data(piece, total_size, &data, shared)?,
            ExtendedMessage::Metadata(MetadataMessage::Reject { piece }) => {
                shared
                    .fetch
                    .lock()
                    .on_reject(self.key, piece, Instant::now());
            }
            // We have no metadata to give yet.
            ExtendedMessage::Metadata(MetadataMessage::Request { piece }) => {
                let reject = ExtendedMessage::Metadata(MetadataMessage::Reject { piece });
                return Ok(self
                    .ids
                    .as_ref()
                    .and_then(|ids| reject.to_wire(ids))
                    .into_iter()
                    .collect());
            }
            ExtendedMessage::Pex(_) => {}
        }
        Ok(Vec::new())
    }

    fn on_data(
        &self,
        piece: u32,
        total_size: Option<u64>,
        data: &[u8],
        shared: &Shared,
    ) -> Result<(), ConnError> {
        if data.len() > METADATA_PIECE_LEN {
            return Err(FetchError::WrongPieceLength {
                piece,
                len: data.len(),
                expected: METADATA_PIECE_LEN,
            }
            .into());
        }
        let outcome = shared
            .fetch
            .lock()
            .on_data(self.key, piece, total_size, data)?;
        match outcome {
            DataOutcome::Complete(info) => {
                shared.done.send_replace(Some(info));
            }
            DataOutcome::HashMismatch { contributors } if contributors.contains(&self.key) => {
                return Err(ConnError::WrongMetadata);
            }
            _ => {}
        }
        Ok(())
    }

    /// Requests the fetch wants sent to this peer now.
    fn requests(&self, shared: &Shared) -> Vec<Message> {
        let Some(ids) = &self.ids else {
            return Vec::new();
        };
        let now = Instant::now();
        let mut fetch = shared.fetch.lock();
        std::iter::from_fn(|| fetch.next_request(self.key, now))
            .filter_map(|piece| {
                ExtendedMessage::Metadata(MetadataMessage::Request { piece }).to_wire(ids)
            })
            .collect()
    }

    /// Ends a connection that went quiet or never greeted us; hands timed-out requests back.
    fn check_time(&self, shared: &Shared) -> Result<(), ConnError> {
        let now = Instant::now();
        shared.fetch.lock().expire(now);
        if self.ids.is_none() && now.duration_since(self.started) > GREETING_TIMEOUT {
            return Err(ConnError::NoGreeting(GREETING_TIMEOUT));
        }
        if now.duration_since(self.last_message) > IDLE_TIMEOUT {
            return Err(LinkError::Idle(IDLE_TIMEOUT).into());
        }
        Ok(())
    }
}
