//! The protocol extensions beyond BEP 3, as pieces without I/O for the connection and
//! torrent code to drive:
//!
//! - [`handshake`]: the BEP 10 extended handshake ([`ExtendedHandshake`]), ours and theirs.
//! - [`metadata`]: BEP 9 `ut_metadata` messages ([`MetadataMessage`]).
//! - [`metadata_fetch`]: fetching the info dictionary for a magnet link ([`MetadataFetch`]).
//! - [`metadata_source`]: serving our info dictionary ([`MetadataSource`], [`answer_request`]).
//! - [`pex`]: BEP 11 `ut_pex` messages ([`PexMessage`]) and which learned peers to dial.
//! - [`pex_state`]: what to tell each peer next, once a minute ([`PexState`]).
//! - [`pex_limit`]: how many learned peers to take ([`PexLimiter`]).
//! - [`allowed_fast`]: the BEP 6 allowed-fast set ([`allowed_fast_set`]).
//!
//! On the wire, all BEP 10 traffic is [`crate::wire::Message::Extended`]: id 0 is the
//! handshake; any other id names an extension by the number the *receiver* chose. So we
//! decode incoming messages with [`OUR_IDS`] ([`ExtendedMessage::decode`]) and address
//! outgoing ones with the ids from the peer's handshake ([`ExtendedMessage::to_wire`]).

pub mod allowed_fast;
pub mod handshake;
pub mod metadata;
pub mod metadata_fetch;
pub mod metadata_source;
pub mod pex;
pub mod pex_limit;
pub mod pex_state;

use bytes::Bytes;

pub use allowed_fast::{ALLOWED_FAST_COUNT, allowed_fast_set};
pub use handshake::{ExtendedHandshake, HandshakeError, MAX_HANDSHAKE_LEN, OUR_CLIENT};
pub use metadata::{METADATA_PIECE_LEN, MetadataError, MetadataMessage};
pub use metadata_fetch::{DataOutcome, FetchConfig, FetchError, MAX_METADATA_SIZE, MetadataFetch};
pub use metadata_source::{MetadataSource, answer_request};
pub use pex::{PexError, PexFlags, PexMessage, PexPeer};
pub use pex_limit::PexLimiter;
pub use pex_state::{PEX_INTERVAL, PexState};

use crate::wire::Message;

/// The name of the metadata extension in `m` (BEP 9).
pub const UT_METADATA: &str = "ut_metadata";

/// The name of the peer exchange extension in `m` (BEP 11).
pub const UT_PEX: &str = "ut_pex";

/// Extended id 0: the handshake.
pub const HANDSHAKE_ID: u8 = 0;

/// The ids we receive each extension with (what our handshake's `m` says).
pub const OUR_IDS: ExtensionIds = ExtensionIds {
    ut_metadata: Some(1),
    ut_pex: Some(2),
};

/// Which extended id each extension we speak has on one side of a connection (`None`: that
/// side does not support it).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct ExtensionIds {
    pub ut_metadata: Option<u8>,
    pub ut_pex: Option<u8>,
}

/// A decoded BEP 10 message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExtendedMessage {
    Handshake(ExtendedHandshake),
    Metadata(MetadataMessage),
    Pex(PexMessage),
}

/// Why an extended message was refused; the peer broke the protocol.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExtensionError {
    #[error(transparent)]
    Handshake(#[from] HandshakeError),
    #[error(transparent)]
    Metadata(#[from] MetadataError),
    #[error(transparent)]
    Pex(#[from] PexError),
}

impl ExtendedMessage {
    /// Decodes the payload of an incoming `Message::Extended { id, payload }`, `id` being
    /// one of [`OUR_IDS`]. `Ok(None)`: an id or message type we don't know, to be ignored.
    pub fn decode(id: u8, payload: &Bytes) -> Result<Option<Self>, ExtensionError> {
        Ok(match id {
            HANDSHAKE_ID => Some(Self::Handshake(ExtendedHandshake::decode(payload)?)),
            id if Some(id) == OUR_IDS.ut_metadata => {
                MetadataMessage::decode(payload)?.map(Self::Metadata)
            }
            id if Some(id) == OUR_IDS.ut_pex => Some(Self::Pex(PexMessage::decode(payload)?)),
            _ => None,
        })
    }

    /// The wire message carrying this one to a peer whose handshake gave `theirs`; `None`
    /// when the peer does not support the extension (or sent no handshake yet).
    pub fn to_wire(&self, theirs: &ExtensionIds) -> Option<Message> {
        let (id, payload) = match self {
            Self::Handshake(handshake) => (HANDSHAKE_ID, handshake.encode()),
            Self::Metadata(message) => (theirs.ut_metadata?, message.encode()),
            Self::Pex(message) => (theirs.ut_pex?, message.encode()),
        };
        Some(Message::Extended { id, payload })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outgoing_messages_use_the_peer_ids_and_incoming_ours() {
        let theirs = ExtensionIds {
            ut_metadata: Some(3),
            ut_pex: None,
        };
        let request = ExtendedMessage::Metadata(MetadataMessage::Request { piece: 1 });
        let Some(Message::Extended { id, payload }) = request.to_wire(&theirs) else {
            panic!("expected an extended message");
        };
        assert_eq!(id, 3);
        assert_eq!(
            ExtendedMessage::decode(OUR_IDS.ut_metadata.unwrap(), &payload).unwrap(),
            Some(request)
        );
        assert_eq!(
            ExtendedMessage::Pex(PexMessage::default()).to_wire(&theirs),
            None
        );
    }

    #[test]
    fn handshake_always_goes_as_id_zero() {
        let ours = ExtendedMessage::Handshake(ExtendedHandshake::ours(250));
        let Some(Message::Extended { id, payload }) = ours.to_wire(&ExtensionIds::default()) else {
            panic!("expected an extended message");
        };
        assert_eq!(id, 0);
        assert_eq!(ExtendedMessage::decode(0, &payload).unwrap(), Some(ours));
    }

    #[test]
    fn unknown_ids_are_ignored_and_bad_payloads_are_errors() {
        assert_eq!(
            ExtendedMessage::decode(99, &Bytes::from_static(b"garbage")),
            Ok(None)
        );
        assert!(matches!(
            ExtendedMessage::decode(OUR_IDS.ut_pex.unwrap(), &Bytes::from_static(b"i1e")),
            Err(ExtensionError::Pex(PexError::NotADictionary(_)))
        ));
        assert!(matches!(
            ExtendedMessage::decode(0, &Bytes::from_static(b"")),
            Err(ExtensionError::Handshake(_))
        ));
    }

    #[test]
    fn our_ids_are_distinct_and_not_the_handshake() {
        let (metadata, pex) = (OUR_IDS.ut_metadata.unwrap(), OUR_IDS.ut_pex.unwrap());
        assert_ne!(metadata, pex);
        assert!(metadata != HANDSHAKE_ID && pex != HANDSHAKE_ID);
    }
}
