//! The BEP 3 peer wire protocol.
//!
//! - [`handshake`]: the 68-byte handshake, the extension bits it announces ([`Extensions`])
//!   and the initiate/respond exchanges.
//! - [`message`]: the [`Message`] enum and its payload layout (BEP 3, BEP 6 fast extension,
//!   BEP 10 extended messages, whose payloads [`crate::extension`] parses).
//! - [`codec`]: length-prefixed framing for `tokio_util::codec`, bounded message length.
//! - [`outbox`]: outgoing messages written with vectored writes, block data uncopied.
//! - [`bitfield`]: the set of pieces a peer has, validated against the piece count.
//! - [`block`]: block requests and the limits a peer's request must respect.
//! - [`peer_id`]: the peer id type (and, re-exported, generating ours and naming others).
//! - [`dial`]: connecting and handshaking within time limits, and [`LinkError`], how a
//!   connection fails at the transport level.
//!
//! A typical connection: `handshake::initiate` (or `respond`) on the `TcpStream`, then
//! `Framed::new(stream, MessageCodec::for_piece_count(n))`.

pub mod bitfield;
pub mod block;
pub mod codec;
pub mod dial;
pub mod handshake;
pub mod message;
pub mod outbox;
pub mod peer_id;

pub use bitfield::{Bitfield, BitfieldError};
pub use block::{BLOCK_SIZE, BlockRequest, RequestError};
pub use codec::{
    CodecError, DEFAULT_MAX_EXTENDED_LEN, DEFAULT_MAX_MESSAGE_LEN, MessageCodec, write_message,
};
pub use dial::{LinkError, dial};
pub use handshake::{Extensions, Handshake, HandshakeError};
pub use message::{DecodeError, Message};
pub use outbox::Outbox;
pub use peer_id::PeerId;
