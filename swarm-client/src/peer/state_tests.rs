//! The connection state machine against a fake torrent, without sockets: what it sends, what
//! it asks the torrent, and which peer behaviour ends the connection.

use std::collections::HashSet;
use std::sync::Mutex;

use super::*;
use metainfo::InfoHash;

use crate::extension::{ExtendedHandshake, ExtendedMessage, MetadataMessage};
use crate::storage::StorageError;
use crate::wire::{Extensions, PeerId};

const PIECES: u32 = 4;
const PIECE: u32 = 2 * crate::wire::BLOCK_SIZE;

/// A torrent of [`PIECES`] pieces of two blocks, recording what connections tell it.
#[derive(Default)]
struct FakeTorrent {
    have: Mutex<HashSet<u32>>,
    requested: Mutex<HashSet<BlockRequest>>,
    released: Mutex<Vec<BlockRequest>>,
    received: Mutex<Vec<BlockRequest>>,
    notices: Mutex<Vec<String>>,
    availability: Mutex<i64>,
    /// Pieces a seed sending each piece once declines, suggesting piece 3 instead.
    declined: Mutex<HashSet<u32>>,
    /// A private torrent (BEP 27).
    private: bool,
}

impl PeerHandler for FakeTorrent {
    fn info_hash(&self) -> InfoHash {
        InfoHash::from([7; 20])
    }
    fn is_private(&self) -> bool {
        self.private
    }
    fn listen_port(&self) -> Option<u16> {
        Some(6881)
    }
    fn metadata_size(&self) -> Option<u64> {
        None
    }
    fn metadata_piece(&self, piece: u32) -> MetadataMessage {
        MetadataMessage::Reject { piece }
    }
    fn piece_count(&self) -> u32 {
        PIECES
    }
    fn piece_size(&self, index: u32) -> u32 {
        if index < PIECES { PIECE } else { 0 }
    }
    fn our_pieces(&self) -> Bitfield {
        let mut f = Bitfield::new(PIECES);
        for i in self.have.lock().unwrap().iter() {
            f.set(*i).unwrap();
        }
        f
    }
    fn has_piece(&self, index: u32) -> bool {
        self.have.lock().unwrap().contains(&index)
    }
    fn is_complete(&self) -> bool {
        self.have.lock().unwrap().len() == PIECES as usize
    }
    fn is_interesting(&self, pieces: &Bitfield) -> bool {
        pieces.iter_ones().any(|i| !self.has_piece(i))
    }
    fn claim(&self, _: &PeerId) -> bool {
        true
    }
    fn unclaim(&self, _: &PeerId) {}
    fn peer_pieces(&self, old: &Bitfield, new: &Bitfield) {
        *self.availability.lock().unwrap() += i64::from(new.count()) - i64::from(old.count());
    }
    fn peer_piece(&self, _: u32) {
        *self.availability.lock().unwrap() += 1;
    }
    fn pick(
        &self,
        _: PeerKey,
        pieces: &Bitfield,
        room: usize,
        outstanding: &HashSet<BlockRequest>,
        _suggested: &[u32],
        out: &mut Vec<BlockRequest>,
    ) {
        let mut requested = self.requested.lock().unwrap();
        for index in pieces.iter_ones().filter(|i| !self.has_piece(*i)) {
            for r in BlockRequest::blocks_of_piece(index, PIECE) {
                if out.len() < room && !outstanding.contains(&r) && requested.insert(r) {
                    out.push(r);
                }
            }
        }
    }
    fn release(&self, _: PeerKey, requests: &[BlockRequest]) {
        let mut requested = self.requested.lock().unwrap();
        for r in requests {
            requested.remove(r);
        }
        self.released.lock().unwrap().extend_from_slice(requests);
    }
    fn block(&self, _: PeerKey, request: BlockRequest, _: &Bytes) -> BlockFate {
        self.received.lock().unwrap().push(request);
        BlockFate::Stored {
            cancel_others: false,
        }
    }
    fn upload_verdict(&self, _: PeerKey, ask: UploadAsk<'_>) -> Upload {
        if self.declined.lock().unwrap().contains(&ask.index) {
            Upload::Decline { suggest: Some(3) }
        } else {
            Upload::Serve
        }
    }
    fn read_blocks(&self, requests: &[BlockRequest]) -> Vec<Result<Bytes, StorageError>> {
        requests
            .iter()
            .map(|r| Ok(Bytes::from(vec![0; r.length as usize])))
            .collect()
    }
    fn uploaded(&self, _: u64) {}
    fn notify(&self, _: PeerKey, notice: Notice) {
        self.notices.lock().unwrap().push(format!("{notice:?}"));
    }
}

struct Harness {
    torrent: Arc<FakeTorrent>,
    state: PeerState,
    sent: mpsc::UnboundedReceiver<Out>,
    now: Instant,
}

impl Harness {
    fn new(have: &[u32]) -> Self {
        Self::with(have, Extensions::default())
    }

    /// A connection on which both sides announced `extensions`.
    fn with(have: &[u32], extensions: Extensions) -> Self {
        Self::of(FakeTorrent::default(), have, extensions)
    }

    /// A connection to `torrent`.
    fn of(torrent: FakeTorrent, have: &[u32], extensions: Extensions) -> Self {
        let torrent = Arc::new(torrent);
        torrent.have.lock().unwrap().extend(have);
        let (out, sent) = mpsc::unbounded_channel();
        let now = Instant::now();
        let state = PeerState::new(
            torrent.clone(),
            &Link {
                key: 7,
                addr: SocketAddr::from(([127, 0, 0, 1], 6881)),
                extensions,
                peer_id: PeerId::from([1; 20]),
            },
            Arc::new(PeerStats::default()),
            out,
            Arc::new(UploadQueue::new(Arc::default())),
            now,
        );
        Self {
            torrent,
            state,
            sent,
            now,
        }
    }

    fn message(&mut self, m: Message) -> Result<Flow, Violation> {
        self.state.on_message(m, self.now)
    }

    /// Everything queued for the writer since the last call, as messages (uploads as
    /// `Request`s, a choke as `Choke`).
    fn sent(&mut self) -> Vec<Message> {
        let mut all = Vec::new();
        while let Ok(out) = self.sent.try_recv() {
            match out {
                Out::Msgs(msgs) => all.extend(msgs),
                Out::Upload(r) => all.push(Message::Request(r)),
                Out::Choke => all.push(Message::Choke),
                Out::CancelUpload(r) => all.push(Message::Cancel(r)),
            }
        }
        all
    }
}

fn bitfield(ones: &[u32]) -> Message {
    let mut f = Bitfield::new(PIECES);
    for i in ones {
        f.set(*i).unwrap();
    }
    Message::Bitfield(f.to_bytes())
}

/// The block that answers request `r` (the fake torrent does not look at its bytes).
fn answer(r: &BlockRequest) -> Message {
    Message::Piece {
        index: r.index,
        begin: r.begin,
        data: Bytes::from(vec![1; r.length as usize]),
    }
}

fn requests(msgs: &[Message]) -> Vec<BlockRequest> {
    msgs.iter()
        .filter_map(|m| match m {
            Message::Request(r) => Some(*r),
            _ => None,
        })
        .collect()
}

#[test]
fn our_bitfield_opens_the_connection_only_when_we_have_pieces() {
    assert!(Harness::new(&[]).sent().is_empty());
    let mut h = Harness::new(&[2]);
    assert!(matches!(h.sent().as_slice(), [Message::Bitfield(_)]));
}

#[test]
fn a_useful_peer_gets_interest_then_requests_once_it_unchokes() {
    let mut h = Harness::new(&[]);
    assert_eq!(h.message(bitfield(&[0, 1])).unwrap(), Flow::Continue);
    assert!(matches!(h.sent().as_slice(), [Message::Interested]));
    h.message(Message::Unchoke).unwrap();
    let asked = requests(&h.sent());
    assert_eq!(asked.len(), 4, "both blocks of both pieces: {asked:?}");
}

#[test]
fn a_choke_gives_outstanding_requests_back_and_a_late_block_is_still_taken() {
    let mut h = Harness::new(&[]);
    h.message(bitfield(&[0])).unwrap();
    h.message(Message::Unchoke).unwrap();
    let asked = requests(&h.sent());
    h.message(Message::Choke).unwrap();
    assert_eq!(h.torrent.released.lock().unwrap().len(), asked.len());
    // A block already on its way when the choke came is not a violation.
    let r = asked[0];
    assert_eq!(h.message(answer(&r)).unwrap(), Flow::Continue);
    assert_eq!(*h.torrent.received.lock().unwrap(), vec![r]);
}

#[test]
fn an_unrequested_block_is_a_violation() {
    let mut h = Harness::new(&[]);
    let junk = Message::Piece {
        index: 0,
        begin: 0,
        data: Bytes::from(vec![0; 16384]),
    };
    assert!(matches!(
        h.message(junk),
        Err(Violation::Unrequested { index: 0, .. })
    ));
}

#[test]
fn a_have_out_of_range_is_a_violation() {
    let mut h = Harness::new(&[]);
    assert!(matches!(
        h.message(Message::Have { index: PIECES }),
        Err(Violation::HaveOutOfRange(_))
    ));
}

#[test]
fn requests_are_served_only_when_unchoked_and_for_pieces_we_have() {
    let mut h = Harness::new(&[1]);
    h.sent();
    let ask = |index| Message::Request(BlockRequest::new(index, 0, 16384));
    h.message(ask(1)).unwrap();
    assert!(h.sent().is_empty(), "choked: ignored");
    h.state.on_command(PeerCmd::Unchoke, h.now);
    assert!(matches!(h.sent().as_slice(), [Message::Unchoke]));
    h.message(ask(1)).unwrap();
    h.message(ask(0)).unwrap();
    assert_eq!(
        requests(&h.sent()),
        vec![BlockRequest::new(1, 0, 16384)],
        "only the piece we have goes to the writer"
    );
    assert!(matches!(
        h.message(Message::Request(BlockRequest::new(1, 0, 1 << 20))),
        Err(Violation::Request(_))
    ));
}

#[test]
fn two_seeds_part_ways() {
    let mut h = Harness::new(&[0, 1, 2, 3]);
    assert_eq!(h.message(bitfield(&[0, 1, 2, 3])).unwrap(), Flow::Close);
}

#[test]
fn a_peer_that_stops_sending_is_snubbed_and_its_requests_go_back() {
    let mut h = Harness::new(&[]);
    h.message(bitfield(&[0, 1])).unwrap();
    h.message(Message::Unchoke).unwrap();
    let asked = requests(&h.sent());
    let later = h.now + Duration::from_secs(9);
    h.state.on_tick(later).unwrap();
    assert_eq!(h.torrent.released.lock().unwrap().len(), asked.len());
    let sent = h.sent();
    assert!(
        sent.iter().any(|m| matches!(m, Message::Cancel(_))),
        "{sent:?}"
    );
    assert!(
        h.torrent
            .notices
            .lock()
            .unwrap()
            .iter()
            .any(|n| n == "BlocksReleased"),
        "other peers are told to pick them up"
    );
}

#[test]
fn a_silent_peer_is_dropped() {
    let mut h = Harness::new(&[]);
    let much_later = h.now + IDLE_TIMEOUT + Duration::from_secs(1);
    assert!(h.state.on_tick(much_later).is_err());
}

#[test]
fn leaving_returns_requests_and_availability() {
    let mut h = Harness::new(&[]);
    h.message(bitfield(&[0, 1, 2])).unwrap();
    h.message(Message::Unchoke).unwrap();
    assert_eq!(*h.torrent.availability.lock().unwrap(), 3);
    h.state.finish();
    assert_eq!(*h.torrent.availability.lock().unwrap(), 0);
    assert!(h.torrent.requested.lock().unwrap().is_empty());
}

const BOTH: Extensions = Extensions {
    extension_protocol: true,
    fast: true,
};
const FAST: Extensions = Extensions {
    extension_protocol: false,
    fast: true,
};

#[test]
fn a_seeder_with_the_fast_extension_opens_with_have_all_and_a_newcomer_with_have_none() {
    let mut seeder = Harness::with(&[0, 1, 2, 3], FAST);
    let sent = seeder.sent();
    assert!(matches!(sent.first(), Some(Message::HaveAll)), "{sent:?}");
    assert!(
        sent.iter()
            .skip(1)
            .all(|m| matches!(m, Message::AllowedFast { index } if *index < PIECES)),
        "then only allowed-fast pieces: {sent:?}"
    );
    let mut newcomer = Harness::with(&[], FAST);
    assert!(matches!(newcomer.sent().as_slice(), [Message::HaveNone]));
}

#[test]
fn the_extended_handshake_goes_first_when_both_sides_speak_bep_10() {
    let mut h = Harness::with(&[], BOTH);
    let sent = h.sent();
    let Some(Message::Extended { id: 0, payload }) = sent.first() else {
        panic!("{sent:?}");
    };
    let ours = ExtendedHandshake::decode(payload).unwrap();
    assert_eq!(ours.listen_port, Some(6881));
    assert!(ours.extensions.ut_metadata.is_some());
}

#[test]
fn a_choked_request_gets_an_explicit_reject_so_the_peer_does_not_wait() {
    let mut h = Harness::with(&[0, 1, 2, 3], FAST);
    h.sent();
    // Piece 0..3 are all ours; find one outside the peer's allowed-fast set (a 4-piece
    // torrent may allow all of them, in which case every request is served).
    let allowed: Vec<u32> = (0..PIECES)
        .filter(|p| h.state.fast.as_ref().unwrap().may_request_choked(*p))
        .collect();
    for index in 0..PIECES {
        let r = BlockRequest::new(index, 0, 16384);
        h.message(Message::Request(r)).unwrap();
        let sent = h.sent();
        if allowed.contains(&index) {
            assert_eq!(requests(&sent), vec![r], "allowed fast while choked");
        } else {
            assert!(
                matches!(sent.as_slice(), [Message::Reject(x)] if *x == r),
                "{sent:?}"
            );
        }
    }
}

#[test]
fn a_reject_returns_the_block_to_the_torrent_and_an_unasked_reject_is_a_violation() {
    let mut h = Harness::with(&[], FAST);
    h.message(Message::HaveAll).unwrap();
    h.message(Message::Unchoke).unwrap();
    let asked = requests(&h.sent());
    assert!(!asked.is_empty());
    let before = h.torrent.released.lock().unwrap().len();
    h.message(Message::Reject(asked[0])).unwrap();
    assert!(h.torrent.released.lock().unwrap().len() > before);
    assert!(matches!(
        h.message(Message::Reject(BlockRequest::new(3, 16384, 7))),
        Err(Violation::UnrequestedReject { .. })
    ));
}

#[test]
fn fast_messages_without_the_fast_extension_or_out_of_range_are_violations() {
    let mut plain = Harness::new(&[]);
    assert!(matches!(
        plain.message(Message::HaveAll),
        Err(Violation::FastNotNegotiated(_))
    ));
    let mut fast = Harness::with(&[], FAST);
    assert!(matches!(
        fast.message(Message::Suggest { index: PIECES }),
        Err(Violation::PieceOutOfRange(..))
    ));
    assert!(matches!(
        fast.message(Message::AllowedFast { index: u32::MAX }),
        Err(Violation::PieceOutOfRange(..))
    ));
}

#[test]
fn extended_messages_need_bep_10_and_a_malformed_handshake_drops_the_peer() {
    let mut plain = Harness::new(&[]);
    let hello = Message::Extended {
        id: 0,
        payload: Bytes::from_static(b"de"),
    };
    assert!(matches!(
        plain.message(hello),
        Err(Violation::ExtendedNotNegotiated)
    ));
    let mut h = Harness::with(&[], BOTH);
    let not_a_dict = Message::Extended {
        id: 0,
        payload: Bytes::from_static(b"li1ee"),
    };
    assert!(matches!(
        h.message(not_a_dict),
        Err(Violation::Extension(_))
    ));
    let huge = Message::Extended {
        id: 0,
        payload: Bytes::from(vec![b'd'; 1 << 20]),
    };
    assert!(matches!(h.message(huge), Err(Violation::Extension(_))));
}

#[test]
fn no_more_requests_are_outstanding_than_the_peer_says_it_queues() {
    let mut h = Harness::with(&[], BOTH);
    let mut theirs = ExtendedHandshake::ours(3);
    theirs.listen_port = None;
    h.message(Message::Extended {
        id: 0,
        payload: theirs.encode(),
    })
    .unwrap();
    h.message(Message::HaveAll).unwrap();
    h.message(Message::Unchoke).unwrap();
    let asked = requests(&h.sent());
    assert_eq!(asked.len(), 3, "reqq 3 of the peer: {asked:?}");
    h.message(answer(&asked[0])).unwrap();
    h.state.on_tick(h.now).unwrap();
    assert_eq!(
        requests(&h.sent()).len(),
        1,
        "one answered, one more asked: 3 again"
    );
}

#[test]
fn an_unknown_extension_is_ignored() {
    let mut h = Harness::with(&[], BOTH);
    h.sent();
    let unknown = Message::Extended {
        id: 200,
        payload: Bytes::from_static(b"whatever"),
    };
    assert_eq!(h.message(unknown).unwrap(), Flow::Continue);
    assert!(h.sent().is_empty());
}

#[test]
fn a_seed_declining_a_piece_suggests_another_then_rejects() {
    let mut h = Harness::with(&[0, 1, 2, 3], FAST);
    h.torrent.declined.lock().unwrap().insert(0);
    h.state.on_command(PeerCmd::Unchoke, h.now);
    h.sent();
    let declined = BlockRequest::new(0, 0, 16384);
    h.message(Message::Request(declined)).unwrap();
    assert_eq!(
        h.sent(),
        vec![Message::Suggest { index: 3 }, Message::Reject(declined)],
        "the suggestion comes first, so the peer's next pick can use it"
    );
    let served = BlockRequest::new(1, 0, 16384);
    h.message(Message::Request(served)).unwrap();
    assert_eq!(requests(&h.sent()), vec![served]);
}

#[test]
fn a_piece_the_peer_rejected_is_not_asked_of_it_again_at_once() {
    let mut h = Harness::with(&[], FAST);
    h.message(Message::HaveAll).unwrap();
    h.message(Message::Unchoke).unwrap();
    let asked = requests(&h.sent());
    assert_eq!(asked.len(), (2 * PIECES) as usize);
    let refused = asked[0];
    h.message(Message::Reject(refused)).unwrap();
    assert!(
        !requests(&h.sent()).contains(&refused),
        "asking again at once would be refused again (a reject storm)"
    );
    h.now += DECLINED_FOR;
    h.state.on_tick(h.now).unwrap();
    assert!(requests(&h.sent()).contains(&refused), "asked again later");
}

#[test]
fn a_peer_losing_interest_is_told_to_the_torrent_once() {
    let mut h = Harness::new(&[0]);
    h.message(Message::Interested).unwrap();
    h.message(Message::NotInterested).unwrap();
    h.message(Message::NotInterested).unwrap();
    let notices = h.torrent.notices.lock().unwrap();
    assert_eq!(
        notices.iter().filter(|n| *n == "NotInterested").count(),
        1,
        "{notices:?}"
    );
}

#[test]
fn a_private_torrent_neither_offers_nor_accepts_peer_exchange() {
    let private = FakeTorrent {
        private: true,
        ..FakeTorrent::default()
    };
    let mut h = Harness::of(private, &[], BOTH);
    let sent = h.sent();
    let Some(Message::Extended { id: 0, payload }) = sent.first() else {
        panic!("{sent:?}");
    };
    assert_eq!(
        ExtendedHandshake::decode(payload)
            .unwrap()
            .extensions
            .ut_pex,
        None
    );
    let mut pex = crate::extension::PexMessage::default();
    pex.added.push(crate::extension::PexPeer {
        addr: SocketAddr::from(([10, 0, 0, 9], 6881)),
        flags: crate::extension::PexFlags(0),
    });
    let theirs = ExtendedMessage::Pex(pex)
        .to_wire(&crate::extension::OUR_IDS)
        .unwrap();
    h.message(theirs).unwrap();
    assert!(
        !h.torrent
            .notices
            .lock()
            .unwrap()
            .iter()
            .any(|n| n.starts_with("Pex")),
        "PEX from a peer of a private torrent is not passed on"
    );
}

#[test]
fn an_idle_peer_asks_again_when_a_piece_is_verified() {
    let mut h = Harness::new(&[]);
    h.message(bitfield(&[0, 1])).unwrap();
    h.message(Message::Unchoke).unwrap();
    let asked = requests(&h.sent());
    for r in &asked {
        h.message(answer(r)).unwrap();
    }
    assert!(requests(&h.sent()).is_empty(), "nothing left to ask for");
    // Blocks become pickable again (in endgame: duplicates of another peer's requests).
    h.torrent.requested.lock().unwrap().clear();
    assert_eq!(h.state.on_command(PeerCmd::Have(0), h.now), Flow::Continue);
    let again = requests(&h.sent());
    assert!(
        !again.is_empty(),
        "an idle peer waited for its tick to ask again"
    );
}
