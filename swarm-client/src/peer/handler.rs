//! What a peer connection asks of its torrent, and tells it.
//!
//! The connection (this module) owns the socket, the codec, the request pipeline and its
//! bookkeeping; the torrent owns the pieces. Everything the connection needs from the torrent
//! goes through [`PeerHandler`], so the connection logic never sees the torrent's insides and
//! can be tested against a fake torrent without sockets.

use std::collections::HashSet;

use bytes::Bytes;
use metainfo::InfoHash;

use crate::extension::{MetadataMessage, PexMessage};
use crate::storage::StorageError;
use crate::wire::{Bitfield, BlockRequest, PeerId};

/// Identifies a peer connection within a session.
pub type PeerKey = u64;

/// What became of a block the peer sent (that we had asked for).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockFate {
    /// Stored (and when it completed a piece, the piece went to its hash check).
    Stored {
        /// Other peers were asked for the same block (endgame): cancel their requests.
        cancel_others: bool,
    },
    /// Not needed any more (a duplicate or a late block); nothing stored.
    Wasted,
}

/// What to do with a peer's request for a block of a piece we have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upload {
    Serve,
    /// Reject it (a seed sending each piece once gave the piece to someone else); `suggest`
    /// is a piece the peer lacks that it may have instead.
    Decline {
        suggest: Option<u32>,
    },
}

/// A peer's request for a block of a piece we have, as the torrent weighs it.
#[derive(Debug, Clone, Copy)]
pub struct UploadAsk<'a> {
    /// The piece asked for.
    pub index: u32,
    /// The pieces the asking peer holds.
    pub pieces: &'a Bitfield,
    /// A refusal may suggest another piece: the peer is unchoked, so it can ask for it.
    pub may_suggest: bool,
    /// Hardly any upload is queued over the session: a refusal would leave the uplink idle.
    pub uplink_idle: bool,
}

/// Something a connection tells its torrent; the torrent acts on it in its own time.
#[derive(Debug)]
pub enum Notice {
    /// The handshake is done and our bitfield sent.
    Ready { peer_id: PeerId },
    /// The peer became interested in our pieces (it may deserve an unchoke now).
    Interested,
    /// The peer lost interest: an upload slot it holds is free for another.
    NotInterested,
    /// A block arrived that other peers were also asked for (endgame): cancel theirs.
    CancelOthers(BlockRequest),
    /// Blocks went back to the torrent: idle peers should try to pick again.
    BlocksReleased,
    /// The peer's extended handshake (BEP 10): its client, the port it listens on, and
    /// whether it exchanges peers (`ut_pex`).
    Extended {
        client: Option<String>,
        listen_port: Option<u16>,
        pex: bool,
    },
    /// Peers the peer told us of (BEP 11), not yet checked or limited.
    Pex(PexMessage),
    /// The connection ended (`reason` is `None` for an orderly close).
    Closed {
        reason: Option<String>,
        /// The peer broke the protocol: do not reconnect.
        misbehaved: bool,
    },
}

/// The torrent, as a peer connection sees it. Implementations are shared by every connection
/// of the torrent and called from their tasks, so every method is quick (a brief lock at
/// most); only [`PeerHandler::read_blocks`] blocks, and it is called off the async runtime.
pub trait PeerHandler: Send + Sync + 'static {
    /// The torrent's info-hash.
    fn info_hash(&self) -> InfoHash;
    /// Number of pieces in the torrent.
    fn piece_count(&self) -> u32;
    /// Length of piece `index` in bytes (0 if out of range).
    fn piece_size(&self, index: u32) -> u32;
    /// The pieces we have now (for our opening bitfield).
    fn our_pieces(&self) -> Bitfield;
    /// Do we have piece `index`, verified?
    fn has_piece(&self, index: u32) -> bool;
    /// Do we have every piece?
    fn is_complete(&self) -> bool;
    /// Would a peer holding `pieces` have something we want?
    fn is_interesting(&self, pieces: &Bitfield) -> bool;
    /// A private torrent (BEP 27): no peer exchange.
    fn is_private(&self) -> bool;
    /// The port we listen on, to tell peers (`p` in the extended handshake).
    fn listen_port(&self) -> Option<u16>;
    /// The size of our info dictionary (`metadata_size`), when we have it.
    fn metadata_size(&self) -> Option<u64>;
    /// The answer to a peer's request for metadata piece `piece` (BEP 9).
    fn metadata_piece(&self, piece: u32) -> MetadataMessage;

    /// Registers a live connection to the peer `id`; false if we have one already or the
    /// peer is banned (the new connection is then dropped).
    fn claim(&self, id: &PeerId) -> bool;
    /// The connection to `id` ended.
    fn unclaim(&self, id: &PeerId);

    /// The peer's pieces changed from `old` to `new` (its bitfield).
    fn peer_pieces(&self, old: &Bitfield, new: &Bitfield);
    /// The peer got piece `index` (a `have`).
    fn peer_piece(&self, index: u32);

    /// Chooses up to `room` blocks to ask peer `key` (which holds `pieces`) for, appending them
    /// to `out`; `outstanding` are the blocks it was asked for already; a new piece is
    /// started from `suggested` first when one fits.
    fn pick(
        &self,
        key: PeerKey,
        pieces: &Bitfield,
        room: usize,
        outstanding: &HashSet<BlockRequest>,
        suggested: &[u32],
        out: &mut Vec<BlockRequest>,
    );
    /// Requests of `key` that will not be answered go back to be picked by others.
    fn release(&self, key: PeerKey, requests: &[BlockRequest]);
    /// A block we asked `key` for arrived.
    fn block(&self, key: PeerKey, request: BlockRequest, data: &Bytes) -> BlockFate;

    /// May peer `key` have a block of the piece it asks for, which we have? Asked only of
    /// peers that speak the fast extension, so a refusal is an explicit `reject`.
    fn upload_verdict(&self, key: PeerKey, ask: UploadAsk<'_>) -> Upload {
        let _ = (key, ask);
        Upload::Serve
    }

    /// Reads blocks to upload. Blocking: call it off the async runtime.
    fn read_blocks(&self, requests: &[BlockRequest]) -> Vec<Result<Bytes, StorageError>>;
    /// `bytes` of block payload were sent to a peer.
    fn uploaded(&self, bytes: u64);

    /// Tells the torrent something about connection `key`.
    fn notify(&self, key: PeerKey, notice: Notice);
}
