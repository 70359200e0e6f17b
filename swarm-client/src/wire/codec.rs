//! Length-prefixed framing of peer messages for `tokio_util::codec` (`Framed`, `FramedRead`,
//! `FramedWrite`), with a bound on the accepted message length.
//!
//! Two bounds: every message may be up to `max_len` bytes (a block plus its header, or a
//! bitfield); a BEP 10 extended message may instead be up to `max_extended_len` bytes, so a
//! ut_metadata piece (16 KiB plus a small dictionary) or a PEX message fits while a `piece`
//! message still cannot carry more than one block.
//!
//! Decoding is zero-copy: a `piece` message's data is a `Bytes` split off the read buffer.
//! Encoding copies piece data once, into the write buffer; [`write_message`] (one message)
//! and [`super::outbox::Outbox`] (a connection's stream of them) instead write header and
//! data with vectored writes and no copy.

use std::io;

use bytes::{Buf, BytesMut};
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio_util::codec::{Decoder, Encoder};

use super::bitfield::wire_len;
use super::block::BLOCK_SIZE;
use super::message::{DecodeError, Message, PIECE_HEADER_LEN, id};

/// Default maximum length of a message after its length prefix: one 16 KiB block plus the
/// `piece` header.
pub const DEFAULT_MAX_MESSAGE_LEN: u32 = BLOCK_SIZE + PIECE_HEADER_LEN as u32;

/// Default maximum length of a BEP 10 extended message: 64 KiB, room for a ut_metadata
/// piece (16 KiB and its dictionary), an extended handshake or a PEX message of ~10,000
/// peers, and small enough that a hostile peer cannot make us buffer much.
pub const DEFAULT_MAX_EXTENDED_LEN: u32 = 64 * 1024;

/// Spare buffer room requested while a frame is incomplete (a few 16 KiB blocks).
const READ_AHEAD: usize = 64 * 1024;

/// The longest header [`Message::encode_header`] produces (a `request` or `cancel`).
const MAX_HEADER_LEN: usize = 17;

/// Why a stream of peer messages could not be read.
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    #[error(transparent)]
    Io(#[from] io::Error),
    /// The peer announced a message longer than we accept; drop it.
    #[error("message of {len} bytes exceeds the {max}-byte limit")]
    TooLong { len: u32, max: u32 },
    #[error(transparent)]
    Decode(#[from] DecodeError),
}

/// Frames [`Message`]s as `<u32 big-endian length><payload>`.
#[derive(Debug, Clone, Copy)]
pub struct MessageCodec {
    max_len: u32,
    max_extended_len: u32,
}

impl Default for MessageCodec {
    fn default() -> Self {
        Self::new()
    }
}

impl MessageCodec {
    /// A codec accepting messages up to [`DEFAULT_MAX_MESSAGE_LEN`], and extended messages
    /// up to [`DEFAULT_MAX_EXTENDED_LEN`].
    pub fn new() -> Self {
        Self::with_max_len(DEFAULT_MAX_MESSAGE_LEN)
    }

    /// A codec accepting messages up to `max_len` bytes after the length prefix (extended
    /// messages up to [`DEFAULT_MAX_EXTENDED_LEN`] when that is more).
    pub fn with_max_len(max_len: u32) -> Self {
        Self {
            max_len,
            max_extended_len: DEFAULT_MAX_EXTENDED_LEN,
        }
    }

    /// The same codec with extended messages bounded by `max_extended_len` instead.
    pub fn with_max_extended_len(self, max_extended_len: u32) -> Self {
        Self {
            max_extended_len,
            ..self
        }
    }

    /// The default limit, raised if needed so a full `bitfield` for `piece_count` pieces fits.
    pub fn for_piece_count(piece_count: u32) -> Self {
        let bitfield_len = u32::try_from(1 + wire_len(piece_count)).unwrap_or(u32::MAX);
        Self::with_max_len(DEFAULT_MAX_MESSAGE_LEN.max(bitfield_len))
    }

    /// The largest accepted message length (after the length prefix).
    pub fn max_len(&self) -> u32 {
        self.max_len
    }

    /// The largest accepted extended message length (after the length prefix).
    pub fn max_extended_len(&self) -> u32 {
        self.max_extended_len
    }

    /// Whether a frame of `len` bytes may be buffered: `Some(true)` yes, `Some(false)` no
    /// (too long), `None` when that depends on the message id, which has not arrived yet.
    fn accepts(&self, len: u32, message_id: Option<u8>) -> Option<bool> {
        if len <= self.max_len {
            return Some(true);
        }
        if len > self.max_extended_len {
            return Some(false);
        }
        message_id.map(|message_id| message_id == id::EXTENDED)
    }
}

impl Decoder for MessageCodec {
    type Item = Message;
    type Error = CodecError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Message>, CodecError> {
        let Some(prefix) = src.first_chunk::<4>() else {
            return Ok(None);
        };
        let len = u32::from_be_bytes(*prefix);
        match self.accepts(len, src.get(4).copied()) {
            Some(true) => {}
            Some(false) => {
                let extended = src.get(4) == Some(&id::EXTENDED);
                return Err(CodecError::TooLong {
                    len,
                    max: if extended {
                        self.max_len.max(self.max_extended_len)
                    } else {
                        self.max_len
                    },
                });
            }
            None => return Ok(None),
        }
        let frame_len = 4 + len as usize;
        if src.len() < frame_len {
            // Room for the rest of this frame and then some, so one read can bring in
            // several pipelined blocks.
            src.reserve((frame_len - src.len()).max(READ_AHEAD));
            return Ok(None);
        }
        src.advance(4);
        let payload = src.split_to(len as usize).freeze();
        Ok(Some(Message::decode(payload)?))
    }
}

impl Encoder<&Message> for MessageCodec {
    type Error = io::Error;

    fn encode(&mut self, message: &Message, dst: &mut BytesMut) -> io::Result<()> {
        dst.reserve(4 + message.payload_len());
        message.encode(dst);
        Ok(())
    }
}

impl Encoder<Message> for MessageCodec {
    type Error = io::Error;

    fn encode(&mut self, message: Message, dst: &mut BytesMut) -> io::Result<()> {
        self.encode(&message, dst)
    }
}

/// Writes one message with a vectored write of its header and data, without copying the
/// data. Does not flush.
pub async fn write_message<W>(writer: &mut W, message: &Message) -> io::Result<()>
where
    W: AsyncWrite + Unpin,
{
    let mut header = [0u8; MAX_HEADER_LEN];
    let header_len = {
        let mut cursor = &mut header[..];
        message.encode_header(&mut cursor);
        MAX_HEADER_LEN - cursor.len()
    };
    let data = message.trailing_data().map_or(&[][..], |data| &data[..]);
    let mut buf = (&header[..header_len]).chain(data);
    writer.write_all_buf(&mut buf).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::block::BlockRequest;
    use bytes::{BufMut, Bytes};
    use proptest::prelude::*;

    fn arb_bytes(max: usize) -> impl Strategy<Value = Bytes> {
        proptest::collection::vec(any::<u8>(), 0..max).prop_map(Bytes::from)
    }

    fn arb_request() -> impl Strategy<Value = BlockRequest> {
        (any::<u32>(), any::<u32>(), any::<u32>()).prop_map(|(i, b, l)| BlockRequest::new(i, b, l))
    }

    fn arb_message() -> impl Strategy<Value = Message> {
        let known_ids: &[u8] = &[
            0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0x0D, 0x0E, 0x0F, 0x10, 0x11, 20,
        ];
        prop_oneof![
            Just(Message::KeepAlive),
            Just(Message::Choke),
            Just(Message::Unchoke),
            Just(Message::Interested),
            Just(Message::NotInterested),
            any::<u32>().prop_map(|index| Message::Have { index }),
            arb_bytes(64).prop_map(Message::Bitfield),
            arb_request().prop_map(Message::Request),
            (
                any::<u32>(),
                any::<u32>(),
                arb_bytes(BLOCK_SIZE as usize + 1)
            )
                .prop_map(|(index, begin, data)| Message::Piece { index, begin, data }),
            arb_request().prop_map(Message::Cancel),
            any::<u16>().prop_map(Message::Port),
            any::<u32>().prop_map(|index| Message::Suggest { index }),
            Just(Message::HaveAll),
            Just(Message::HaveNone),
            arb_request().prop_map(Message::Reject),
            any::<u32>().prop_map(|index| Message::AllowedFast { index }),
            (any::<u8>(), arb_bytes(17 * 1024))
                .prop_map(|(id, payload)| Message::Extended { id, payload }),
            (
                any::<u8>().prop_filter("unknown id", move |id| !known_ids.contains(id)),
                arb_bytes(64)
            )
                .prop_map(|(id, payload)| Message::Unknown { id, payload }),
        ]
    }

    fn encode_all(messages: &[Message]) -> BytesMut {
        let mut buf = BytesMut::new();
        for message in messages {
            MessageCodec::new().encode(message, &mut buf).unwrap();
        }
        buf
    }

    fn decode_all(
        codec: &mut MessageCodec,
        buf: &mut BytesMut,
    ) -> Result<Vec<Message>, CodecError> {
        let mut out = Vec::new();
        while let Some(message) = codec.decode(buf)? {
            out.push(message);
        }
        Ok(out)
    }

    #[test]
    fn rejects_oversized_message_before_buffering_it() {
        let mut buf = BytesMut::new();
        buf.put_u32(DEFAULT_MAX_MESSAGE_LEN + 1);
        buf.put_u8(7);
        assert!(matches!(
            MessageCodec::new().decode(&mut buf),
            Err(CodecError::TooLong { .. })
        ));
        let mut buf = BytesMut::new();
        buf.put_u32(u32::MAX);
        assert!(MessageCodec::new().decode(&mut buf).is_err());
    }

    #[test]
    fn extended_messages_get_their_own_limit() {
        let metadata_piece = Message::Extended {
            id: 3,
            payload: Bytes::from(vec![b'x'; 16 * 1024 + 60]),
        };
        let mut buf = encode_all(std::slice::from_ref(&metadata_piece));
        assert_eq!(
            MessageCodec::new().decode(&mut buf).unwrap(),
            Some(metadata_piece)
        );

        // The same length is still too long for a `piece` message...
        let mut buf = BytesMut::new();
        buf.put_u32(16 * 1024 + 62);
        buf.put_u8(7);
        assert!(matches!(
            MessageCodec::new().decode(&mut buf),
            Err(CodecError::TooLong { .. })
        ));
        // ...and an extended message past its own limit is refused before it is buffered.
        let mut buf = BytesMut::new();
        buf.put_u32(DEFAULT_MAX_EXTENDED_LEN + 1);
        buf.put_u8(20);
        assert!(matches!(
            MessageCodec::new().decode(&mut buf),
            Err(CodecError::TooLong { len, max }) if len == DEFAULT_MAX_EXTENDED_LEN + 1 && max == DEFAULT_MAX_EXTENDED_LEN
        ));
        let mut buf = BytesMut::new();
        buf.put_u32(DEFAULT_MAX_EXTENDED_LEN + 1);
        assert!(MessageCodec::new().decode(&mut buf).is_err());
    }

    #[test]
    fn long_frame_waits_for_its_id_before_judging_it() {
        let mut buf = BytesMut::new();
        buf.put_u32(20_000);
        assert!(MessageCodec::new().decode(&mut buf).unwrap().is_none());
        buf.put_u8(20);
        assert!(MessageCodec::new().decode(&mut buf).unwrap().is_none());
        assert!(buf.capacity() >= 20_004);
    }

    #[test]
    fn extended_limit_can_be_lowered() {
        let codec = MessageCodec::new().with_max_extended_len(1000);
        assert_eq!(codec.max_extended_len(), 1000);
        // Up to the general limit, an extended message is still fine...
        let mut buf = encode_all(&[Message::Extended {
            id: 1,
            payload: Bytes::from(vec![0; 2000]),
        }]);
        assert!({ codec }.decode(&mut buf).unwrap().is_some());
        // ...past it, the extended limit is the one that counts.
        let mut buf = encode_all(&[Message::Extended {
            id: 1,
            payload: Bytes::from(vec![0; 20_000]),
        }]);
        assert!(matches!(
            { codec }.decode(&mut buf),
            Err(CodecError::TooLong { .. })
        ));
    }

    #[test]
    fn accepts_full_block() {
        let piece = Message::Piece {
            index: 1,
            begin: 0,
            data: Bytes::from(vec![7; BLOCK_SIZE as usize]),
        };
        let mut buf = encode_all(std::slice::from_ref(&piece));
        assert_eq!(MessageCodec::new().decode(&mut buf).unwrap(), Some(piece));
        assert!(buf.is_empty());
    }

    #[test]
    fn piece_count_raises_limit_for_bitfield() {
        assert_eq!(
            MessageCodec::for_piece_count(100).max_len(),
            DEFAULT_MAX_MESSAGE_LEN
        );
        assert_eq!(
            MessageCodec::for_piece_count(1 << 20).max_len(),
            1 + (1 << 17)
        );
    }

    #[test]
    fn piece_data_shares_the_read_buffer() {
        let mut buf = encode_all(&[Message::Piece {
            index: 0,
            begin: 0,
            data: Bytes::from_static(b"hello"),
        }]);
        let base = buf.as_ptr() as usize;
        let Some(Message::Piece { data, .. }) = MessageCodec::new().decode(&mut buf).unwrap()
        else {
            panic!("expected a piece");
        };
        assert_eq!(data.as_ptr() as usize, base + 4 + PIECE_HEADER_LEN);
    }

    #[tokio::test]
    async fn vectored_write_matches_encoder() {
        let messages = [
            Message::KeepAlive,
            Message::Request(BlockRequest::new(1, 2, 3)),
            Message::Piece {
                index: 9,
                begin: 16384,
                data: Bytes::from_static(b"payload"),
            },
            Message::Bitfield(Bytes::from_static(&[0xf0])),
            Message::Extended {
                id: 2,
                payload: Bytes::from_static(b"d1:ai1ee"),
            },
            Message::Reject(BlockRequest::new(4, 5, 6)),
            Message::HaveAll,
        ];
        let mut written = Vec::new();
        for message in &messages {
            write_message(&mut written, message).await.unwrap();
        }
        assert_eq!(written, encode_all(&messages).to_vec());
    }

    proptest! {
        #[test]
        fn decode_inverts_encode(messages in proptest::collection::vec(arb_message(), 0..8)) {
            let mut buf = encode_all(&messages);
            let mut codec = MessageCodec::with_max_len(u32::MAX);
            prop_assert_eq!(decode_all(&mut codec, &mut buf).unwrap(), messages);
            prop_assert!(buf.is_empty());
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256), max in 0u32..300) {
            let mut buf = BytesMut::from(&bytes[..]);
            let _ = decode_all(&mut MessageCodec::with_max_len(max), &mut buf);
        }

        #[test]
        fn split_stream_decodes_like_whole(messages in proptest::collection::vec(arb_message(), 1..6), cut in any::<prop::sample::Index>()) {
            let whole = encode_all(&messages);
            let cut = cut.index(whole.len() + 1);
            let mut codec = MessageCodec::with_max_len(u32::MAX);
            let mut buf = BytesMut::from(&whole[..cut]);
            let mut decoded = decode_all(&mut codec, &mut buf).unwrap();
            buf.extend_from_slice(&whole[cut..]);
            decoded.extend(decode_all(&mut codec, &mut buf).unwrap());
            prop_assert_eq!(decoded, messages);
        }

        #[test]
        fn byte_by_byte_stream_decodes_like_whole(messages in proptest::collection::vec(arb_message(), 1..4)) {
            let whole = encode_all(&messages);
            let mut codec = MessageCodec::with_max_len(u32::MAX);
            let mut buf = BytesMut::new();
            let mut decoded = Vec::new();
            for byte in whole.iter() {
                buf.put_u8(*byte);
                decoded.extend(decode_all(&mut codec, &mut buf).unwrap());
            }
            prop_assert_eq!(decoded, messages);
        }
    }
}
