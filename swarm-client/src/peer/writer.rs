//! The writing half of a peer connection: batches outgoing messages into few syscalls and
//! serves upload requests, reading their blocks from storage off the runtime and writing
//! them uncopied (vectored writes, see [`crate::wire::outbox`]).

use std::sync::Arc;
use std::sync::atomic::Ordering;

use tokio::net::tcp::OwnedWriteHalf;
use tokio::sync::mpsc;

use super::handler::PeerHandler;
use super::limits::RateLimit;
use super::stats::PeerStats;
use super::upload_queue::UploadQueue;
use crate::wire::{BlockRequest, Message, Outbox};

/// Most queued items handled before a flush.
const MAX_BATCH: usize = 256;
/// Bytes queued before the outbox writes to the socket on its own.
const WRITE_BUFFER: usize = 512 * 1024;

/// What the reader side hands the writer.
#[derive(Debug)]
pub enum Out {
    /// Messages to send in order.
    Msgs(Vec<Message>),
    /// Serve this block (the request was validated; we have the piece).
    Upload(BlockRequest),
    /// The peer cancelled a request: drop it if not served yet.
    CancelUpload(BlockRequest),
    /// We choke the peer: send `choke` and drop its queued requests.
    Choke,
}

/// Runs until the channel closes or the socket fails.
pub(super) async fn run(
    wr: OwnedWriteHalf,
    mut rx: mpsc::UnboundedReceiver<Out>,
    handler: Arc<dyn PeerHandler>,
    stats: Arc<PeerStats>,
    queued_uploads: Arc<UploadQueue>,
    up_limit: Option<Arc<RateLimit>>,
    fast: bool,
) {
    let mut sink = Outbox::new(wr, WRITE_BUFFER);
    let mut uploads: Vec<BlockRequest> = Vec::new();
    while let Some(first) = rx.recv().await {
        let mut item = Some(first);
        let mut handled = 0;
        while let Some(out) = item.take() {
            handled += 1;
            match out {
                Out::Msgs(msgs) => {
                    for m in &msgs {
                        if sink.feed(m).await.is_err() {
                            return;
                        }
                    }
                }
                Out::Upload(r) => uploads.push(r),
                Out::CancelUpload(r) => {
                    let before = uploads.len();
                    uploads.retain(|u| *u != r);
                    let dropped = before - uploads.len();
                    queued_uploads.taken(dropped);
                    // With the fast extension every request is answered (BEP 6).
                    if fast && dropped > 0 && sink.feed(&Message::Reject(r)).await.is_err() {
                        return;
                    }
                }
                Out::Choke => {
                    queued_uploads.taken(uploads.len());
                    let dropped = std::mem::take(&mut uploads);
                    if sink.feed(&Message::Choke).await.is_err() {
                        return;
                    }
                    // With the fast extension, requests the choke cuts short are rejected
                    // explicitly, so the peer asks others at once (no waiting in endgame).
                    for r in dropped.into_iter().filter(|_| fast) {
                        if sink.feed(&Message::Reject(r)).await.is_err() {
                            return;
                        }
                    }
                }
            }
            if handled < MAX_BATCH {
                item = rx.try_recv().ok();
            }
        }
        if !uploads.is_empty() {
            let batch = std::mem::take(&mut uploads);
            queued_uploads.taken(batch.len());
            if !serve(&mut sink, batch, &handler, &stats, up_limit.as_deref()).await {
                return;
            }
        }
        if sink.flush().await.is_err() {
            return;
        }
    }
}

/// Reads the requested blocks (one blocking job for the batch) and queues them.
async fn serve(
    sink: &mut Outbox<OwnedWriteHalf>,
    batch: Vec<BlockRequest>,
    handler: &Arc<dyn PeerHandler>,
    stats: &Arc<PeerStats>,
    up_limit: Option<&RateLimit>,
) -> bool {
    let reader = handler.clone();
    let read = tokio::task::spawn_blocking(move || {
        let blocks = reader.read_blocks(&batch);
        (batch, blocks)
    })
    .await;
    let Ok((batch, blocks)) = read else {
        return false;
    };
    for (r, data) in batch.into_iter().zip(blocks) {
        let data = match data {
            Ok(d) => d,
            Err(e) => {
                tracing::warn!("cannot read block {}:{} for upload: {e}", r.index, r.begin);
                return false;
            }
        };
        let len = data.len() as u64;
        if let Some(limit) = up_limit {
            // Flush what is queued before waiting, so the limit paces the socket.
            if sink.flush().await.is_err() {
                return false;
            }
            limit.take(data.len()).await;
        }
        let msg = Message::Piece {
            index: r.index,
            begin: r.begin,
            data,
        };
        if sink.feed(&msg).await.is_err() {
            return false;
        }
        stats.uploaded.fetch_add(len, Ordering::Relaxed);
        handler.uploaded(len);
    }
    true
}
