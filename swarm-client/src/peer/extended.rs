//! The BEP 10 extension protocol on one connection, when both sides announced it: our
//! extended handshake, what the peer's says (its extension ids, client, listen port), and
//! its `ut_metadata` requests (answered from the torrent's info dictionary) and `ut_pex`
//! messages (handed to the torrent). Unknown extensions are ignored.

use std::net::SocketAddr;

use bytes::Bytes;

use super::handler::{Notice, PeerHandler, PeerKey};
use super::state::MAX_QUEUED_UPLOADS;
use crate::extension::{
    ExtendedHandshake, ExtendedMessage, ExtensionError, ExtensionIds, MetadataMessage, OUR_IDS,
};
use crate::wire::Message;

/// What the extension protocol knows of one connection.
#[derive(Debug, Default)]
pub struct ExtendedState {
    /// The ids the peer receives each extension with (from its handshake).
    theirs: ExtensionIds,
    /// Its extended handshake arrived.
    greeted: bool,
    /// `reqq`: the requests it queues before it drops or rejects more.
    request_queue: Option<u32>,
}

impl ExtendedState {
    /// Our extended handshake for the peer at `addr`: our extension ids (no `ut_pex` on a
    /// private torrent), client name, request queue, the address we see it at, the size of
    /// our info dictionary, and our listen port.
    pub fn our_handshake(handler: &dyn PeerHandler, addr: SocketAddr) -> Message {
        let mut ours = ExtendedHandshake::ours(MAX_QUEUED_UPLOADS as u32);
        if handler.is_private() {
            ours.extensions.ut_pex = None;
        }
        ours.yourip = Some(addr.ip());
        ours.metadata_size = handler.metadata_size();
        ours.listen_port = handler.listen_port();
        Message::Extended {
            id: 0,
            payload: ours.encode(),
        }
    }

    /// An extended message from the peer; returns the messages to send back.
    pub fn on_message(
        &mut self,
        handler: &dyn PeerHandler,
        key: PeerKey,
        id: u8,
        payload: &Bytes,
    ) -> Result<Vec<Message>, ExtensionError> {
        let Some(message) = ExtendedMessage::decode(id, payload)? else {
            return Ok(Vec::new());
        };
        match message {
            ExtendedMessage::Handshake(theirs) => {
                self.theirs = theirs.extensions;
                self.request_queue = theirs.reqq;
                if handler.is_private() {
                    self.theirs.ut_pex = None;
                }
                if !self.greeted {
                    self.greeted = true;
                    handler.notify(
                        key,
                        Notice::Extended {
                            client: theirs.client,
                            listen_port: theirs.listen_port,
                            pex: self.theirs.ut_pex.is_some(),
                        },
                    );
                }
            }
            ExtendedMessage::Metadata(MetadataMessage::Request { piece }) => {
                let answer = ExtendedMessage::Metadata(handler.metadata_piece(piece));
                return Ok(answer.to_wire(&self.theirs).into_iter().collect());
            }
            // Data or rejects we never asked for (we have the metadata): ignored.
            ExtendedMessage::Metadata(_) => {}
            ExtendedMessage::Pex(message) => {
                if OUR_IDS.ut_pex.is_some() && !handler.is_private() {
                    handler.notify(key, Notice::Pex(message));
                }
            }
        }
        Ok(Vec::new())
    }

    /// How many requests the peer said it queues (`reqq`), at least one; `None` until its
    /// handshake says.
    pub fn request_queue(&self) -> Option<usize> {
        self.request_queue
            .map(|n| usize::try_from(n).unwrap_or(usize::MAX).max(1))
    }

    /// The wire form of `message` for this peer, if it speaks that extension.
    pub fn to_wire(&self, message: &ExtendedMessage) -> Option<Message> {
        message.to_wire(&self.theirs)
    }
}
