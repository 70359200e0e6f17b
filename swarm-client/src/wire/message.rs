//! Peer messages and their payload layout (without the 4-byte length prefix): BEP 3, the
//! BEP 6 fast extension and the BEP 10 extension protocol's envelope.
//!
//! Fast-extension messages are only legal once both handshakes set the fast bit (see
//! [`Extensions`](super::handshake::Extensions)); decoding accepts them regardless, and the
//! connection decides whether a peer that sends them unasked is dropped.

use bytes::{Buf, BufMut, Bytes};

use super::block::BlockRequest;

/// Message ids on the wire.
pub mod id {
    pub const CHOKE: u8 = 0;
    pub const UNCHOKE: u8 = 1;
    pub const INTERESTED: u8 = 2;
    pub const NOT_INTERESTED: u8 = 3;
    pub const HAVE: u8 = 4;
    pub const BITFIELD: u8 = 5;
    pub const REQUEST: u8 = 6;
    pub const PIECE: u8 = 7;
    pub const CANCEL: u8 = 8;
    pub const PORT: u8 = 9;
    /// BEP 6: "you might like piece i".
    pub const SUGGEST: u8 = 0x0D;
    /// BEP 6: replaces the bitfield of a seeder.
    pub const HAVE_ALL: u8 = 0x0E;
    /// BEP 6: replaces an empty bitfield.
    pub const HAVE_NONE: u8 = 0x0F;
    /// BEP 6: "I will not send this block".
    pub const REJECT_REQUEST: u8 = 0x10;
    /// BEP 6: "you may request piece i even while choked".
    pub const ALLOWED_FAST: u8 = 0x11;
    /// BEP 10 extension protocol: one byte of extended id, then the extension's payload.
    pub const EXTENDED: u8 = 20;
}

/// Bytes before a `piece` message's data: id, index, begin.
pub const PIECE_HEADER_LEN: usize = 9;

/// One peer wire message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// A zero-length message that keeps the connection open.
    KeepAlive,
    Choke,
    Unchoke,
    Interested,
    NotInterested,
    Have {
        index: u32,
    },
    /// The raw field; validate it against the piece count with
    /// [`Bitfield::from_wire`](super::bitfield::Bitfield::from_wire).
    Bitfield(Bytes),
    Request(BlockRequest),
    /// A block of data; `data` shares the read buffer (no copy).
    Piece {
        index: u32,
        begin: u32,
        data: Bytes,
    },
    Cancel(BlockRequest),
    /// DHT port (BEP 5); we run no DHT, so it is ignored.
    Port(u16),
    /// BEP 6 `suggest piece`: a hint, never an obligation.
    Suggest {
        index: u32,
    },
    /// BEP 6 `have all`: the peer has every piece (sent instead of a bitfield).
    HaveAll,
    /// BEP 6 `have none`: the peer has no piece (sent instead of a bitfield).
    HaveNone,
    /// BEP 6 `reject request`: the peer will not answer this request.
    Reject(BlockRequest),
    /// BEP 6 `allowed fast`: we may request this piece even while choked.
    AllowedFast {
        index: u32,
    },
    /// BEP 10 extended message: `id` 0 is the extended handshake, any other id names an
    /// extension by the number the *receiver* gave it in its handshake. Parse the payload
    /// with [`crate::extension`]; it shares the read buffer (no copy).
    Extended {
        id: u8,
        payload: Bytes,
    },
    /// Any other id: to be ignored safely.
    Unknown {
        id: u8,
        payload: Bytes,
    },
}

/// Why a message payload could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The payload length does not fit the message id.
    #[error("{name} message has a {actual}-byte payload, expected {expected}")]
    BadLength {
        name: &'static str,
        actual: usize,
        expected: &'static str,
    },
}

impl Message {
    /// Decodes a message from the bytes following its length prefix (empty = keep-alive).
    pub fn decode(mut frame: Bytes) -> Result<Message, DecodeError> {
        if frame.is_empty() {
            return Ok(Message::KeepAlive);
        }
        let id = frame.get_u8();
        let body_len = frame.len();
        let expect = |name, expected: &'static str, ok: bool| {
            if ok {
                Ok(())
            } else {
                Err(DecodeError::BadLength {
                    name,
                    actual: body_len,
                    expected,
                })
            }
        };
        let message = match id {
            id::CHOKE => {
                expect("choke", "0", body_len == 0)?;
                Message::Choke
            }
            id::UNCHOKE => {
                expect("unchoke", "0", body_len == 0)?;
                Message::Unchoke
            }
            id::INTERESTED => {
                expect("interested", "0", body_len == 0)?;
                Message::Interested
            }
            id::NOT_INTERESTED => {
                expect("not interested", "0", body_len == 0)?;
                Message::NotInterested
            }
            id::HAVE => {
                expect("have", "4", body_len == 4)?;
                Message::Have {
                    index: frame.get_u32(),
                }
            }
            id::BITFIELD => Message::Bitfield(frame),
            id::REQUEST => {
                expect("request", "12", body_len == 12)?;
                Message::Request(read_block_request(&mut frame))
            }
            id::PIECE => {
                expect("piece", "at least 8", body_len >= 8)?;
                let index = frame.get_u32();
                let begin = frame.get_u32();
                Message::Piece {
                    index,
                    begin,
                    data: frame,
                }
            }
            id::CANCEL => {
                expect("cancel", "12", body_len == 12)?;
                Message::Cancel(read_block_request(&mut frame))
            }
            id::PORT => {
                expect("port", "2", body_len == 2)?;
                Message::Port(frame.get_u16())
            }
            id::SUGGEST => {
                expect("suggest piece", "4", body_len == 4)?;
                Message::Suggest {
                    index: frame.get_u32(),
                }
            }
            id::HAVE_ALL => {
                expect("have all", "0", body_len == 0)?;
                Message::HaveAll
            }
            id::HAVE_NONE => {
                expect("have none", "0", body_len == 0)?;
                Message::HaveNone
            }
            id::REJECT_REQUEST => {
                expect("reject request", "12", body_len == 12)?;
                Message::Reject(read_block_request(&mut frame))
            }
            id::ALLOWED_FAST => {
                expect("allowed fast", "4", body_len == 4)?;
                Message::AllowedFast {
                    index: frame.get_u32(),
                }
            }
            id::EXTENDED => {
                expect("extended", "at least 1", body_len >= 1)?;
                Message::Extended {
                    id: frame.get_u8(),
                    payload: frame,
                }
            }
            id => Message::Unknown { id, payload: frame },
        };
        Ok(message)
    }

    /// The number of bytes after the length prefix.
    pub fn payload_len(&self) -> usize {
        match self {
            Message::KeepAlive => 0,
            Message::Choke
            | Message::Unchoke
            | Message::Interested
            | Message::NotInterested
            | Message::HaveAll
            | Message::HaveNone => 1,
            Message::Have { .. } | Message::Suggest { .. } | Message::AllowedFast { .. } => 5,
            Message::Bitfield(bits) => 1 + bits.len(),
            Message::Request(_) | Message::Cancel(_) | Message::Reject(_) => 13,
            Message::Piece { data, .. } => PIECE_HEADER_LEN + data.len(),
            Message::Port(_) => 3,
            Message::Extended { payload, .. } => 2 + payload.len(),
            Message::Unknown { payload, .. } => 1 + payload.len(),
        }
    }

    /// Writes the length prefix and the message (including any piece data) into `dst`.
    pub fn encode(&self, dst: &mut impl BufMut) {
        self.encode_header(dst);
        match self {
            Message::Bitfield(bytes)
            | Message::Piece { data: bytes, .. }
            | Message::Extended { payload: bytes, .. }
            | Message::Unknown { payload: bytes, .. } => dst.put_slice(bytes),
            _ => {}
        }
    }

    /// Writes the length prefix and everything except a trailing data buffer (the bitfield,
    /// piece data, extended or unknown payload, see [`Message::trailing_data`]) into `dst`.
    pub fn encode_header(&self, dst: &mut impl BufMut) {
        dst.put_u32(self.payload_len() as u32);
        match self {
            Message::KeepAlive => {}
            Message::Choke => dst.put_u8(id::CHOKE),
            Message::Unchoke => dst.put_u8(id::UNCHOKE),
            Message::Interested => dst.put_u8(id::INTERESTED),
            Message::NotInterested => dst.put_u8(id::NOT_INTERESTED),
            Message::Have { index } => {
                dst.put_u8(id::HAVE);
                dst.put_u32(*index);
            }
            Message::Bitfield(_) => dst.put_u8(id::BITFIELD),
            Message::Request(request) => write_block_request(dst, id::REQUEST, request),
            Message::Piece { index, begin, .. } => {
                dst.put_u8(id::PIECE);
                dst.put_u32(*index);
                dst.put_u32(*begin);
            }
            Message::Cancel(request) => write_block_request(dst, id::CANCEL, request),
            Message::Port(port) => {
                dst.put_u8(id::PORT);
                dst.put_u16(*port);
            }
            Message::Suggest { index } => {
                dst.put_u8(id::SUGGEST);
                dst.put_u32(*index);
            }
            Message::HaveAll => dst.put_u8(id::HAVE_ALL),
            Message::HaveNone => dst.put_u8(id::HAVE_NONE),
            Message::Reject(request) => write_block_request(dst, id::REJECT_REQUEST, request),
            Message::AllowedFast { index } => {
                dst.put_u8(id::ALLOWED_FAST);
                dst.put_u32(*index);
            }
            Message::Extended { id: extended, .. } => {
                dst.put_u8(id::EXTENDED);
                dst.put_u8(*extended);
            }
            Message::Unknown { id, .. } => dst.put_u8(*id),
        }
    }

    /// The data buffer that follows [`Message::encode_header`]'s output, if any.
    pub fn trailing_data(&self) -> Option<&Bytes> {
        match self {
            Message::Bitfield(bytes)
            | Message::Piece { data: bytes, .. }
            | Message::Extended { payload: bytes, .. }
            | Message::Unknown { payload: bytes, .. } => Some(bytes),
            _ => None,
        }
    }
}

fn read_block_request(body: &mut Bytes) -> BlockRequest {
    let index = body.get_u32();
    let begin = body.get_u32();
    let length = body.get_u32();
    BlockRequest::new(index, begin, length)
}

fn write_block_request(dst: &mut impl BufMut, id: u8, request: &BlockRequest) {
    dst.put_u8(id);
    dst.put_u32(request.index);
    dst.put_u32(request.begin);
    dst.put_u32(request.length);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded(message: &Message) -> Vec<u8> {
        let mut out = Vec::new();
        message.encode(&mut out);
        out
    }

    #[test]
    fn known_layouts() {
        assert_eq!(encoded(&Message::KeepAlive), [0, 0, 0, 0]);
        assert_eq!(encoded(&Message::Interested), [0, 0, 0, 1, 2]);
        assert_eq!(
            encoded(&Message::Have { index: 0x01020304 }),
            [0, 0, 0, 5, 4, 1, 2, 3, 4]
        );
        assert_eq!(
            encoded(&Message::Request(BlockRequest::new(1, 16384, 16384))),
            [0, 0, 0, 13, 6, 0, 0, 0, 1, 0, 0, 0x40, 0, 0, 0, 0x40, 0]
        );
        assert_eq!(
            encoded(&Message::Piece {
                index: 2,
                begin: 3,
                data: Bytes::from_static(b"ab")
            }),
            [0, 0, 0, 11, 7, 0, 0, 0, 2, 0, 0, 0, 3, b'a', b'b']
        );
        assert_eq!(encoded(&Message::Port(6881)), [0, 0, 0, 3, 9, 0x1a, 0xe1]);
    }

    #[test]
    fn rejects_wrong_payload_lengths() {
        for frame in [
            &[id::CHOKE, 0][..],
            &[id::HAVE, 0, 0, 0],
            &[id::REQUEST, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
            &[id::PIECE, 0, 0, 0, 0, 0, 0, 0],
            &[id::CANCEL],
            &[id::PORT, 1, 2, 3],
            &[id::SUGGEST, 0, 0, 0],
            &[id::HAVE_ALL, 0],
            &[id::HAVE_NONE, 1, 2],
            &[id::REJECT_REQUEST, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
            &[id::ALLOWED_FAST, 0, 0, 0, 0, 0],
            &[id::EXTENDED],
        ] {
            assert!(
                matches!(
                    Message::decode(Bytes::copy_from_slice(frame)),
                    Err(DecodeError::BadLength { .. })
                ),
                "{frame:?}"
            );
        }
    }

    #[test]
    fn unknown_ids_are_kept_as_unknown() {
        let message = Message::decode(Bytes::from_static(&[0x42, 0, b'd', b'e'])).unwrap();
        assert_eq!(
            message,
            Message::Unknown {
                id: 0x42,
                payload: Bytes::from_static(&[0, b'd', b'e'])
            }
        );
    }

    #[test]
    fn extended_message_splits_off_its_extended_id() {
        let message = Message::decode(Bytes::from_static(&[id::EXTENDED, 0, b'd', b'e'])).unwrap();
        assert_eq!(
            message,
            Message::Extended {
                id: 0,
                payload: Bytes::from_static(b"de")
            }
        );
        assert_eq!(encoded(&message), [0, 0, 0, 4, 20, 0, b'd', b'e']);
    }

    #[test]
    fn fast_extension_layouts() {
        assert_eq!(encoded(&Message::HaveAll), [0, 0, 0, 1, 0x0E]);
        assert_eq!(encoded(&Message::HaveNone), [0, 0, 0, 1, 0x0F]);
        assert_eq!(
            encoded(&Message::Suggest { index: 0x0102 }),
            [0, 0, 0, 5, 0x0D, 0, 0, 1, 2]
        );
        assert_eq!(
            encoded(&Message::AllowedFast { index: 7 }),
            [0, 0, 0, 5, 0x11, 0, 0, 0, 7]
        );
        assert_eq!(
            encoded(&Message::Reject(BlockRequest::new(1, 16384, 16384))),
            [0, 0, 0, 13, 0x10, 0, 0, 0, 1, 0, 0, 0x40, 0, 0, 0, 0x40, 0]
        );
    }

    #[test]
    fn empty_piece_and_bitfield_are_valid() {
        assert_eq!(
            Message::decode(Bytes::from_static(&[id::PIECE, 0, 0, 0, 1, 0, 0, 0, 2])).unwrap(),
            Message::Piece {
                index: 1,
                begin: 2,
                data: Bytes::new()
            }
        );
        assert_eq!(
            Message::decode(Bytes::from_static(&[id::BITFIELD])).unwrap(),
            Message::Bitfield(Bytes::new())
        );
    }
}
