//! BEP 9 `ut_metadata` messages: ask for, send, or refuse one 16 KiB piece of a torrent's
//! info dictionary.
//!
//! Each message is a bencoded dictionary (`msg_type`, `piece`, and `total_size` for `data`);
//! a `data` message's raw piece follows the dictionary in the same payload.

use bytes::Bytes;
use metainfo::bencode::{self, BencodeError, Limits, Value, write_bytes, write_int};

/// Size of every metadata piece but the last: 16 KiB.
pub const METADATA_PIECE_LEN: usize = 16 * 1024;

/// Bounds on a message's dictionary: a handful of keys, no nesting to speak of.
const LIMITS: Limits = Limits {
    max_depth: 4,
    max_values: 64,
};

/// Longest dictionary before a `data` message's piece: real ones are ~50 bytes.
const MAX_DICT_LEN: usize = 1024;

const REQUEST: i64 = 0;
const DATA: i64 = 1;
const REJECT: i64 = 2;

/// One `ut_metadata` message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MetadataMessage {
    /// Please send piece `piece`.
    Request { piece: u32 },
    /// Piece `piece` of an info dictionary of `total_size` bytes. `data` shares the read
    /// buffer (no copy).
    Data {
        piece: u32,
        total_size: Option<u64>,
        data: Bytes,
    },
    /// The sender will not send piece `piece` (it has no metadata, or is busy).
    Reject { piece: u32 },
}

/// Why a `ut_metadata` message was refused; the peer broke the protocol.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MetadataError {
    #[error("ut_metadata message is not valid bencode: {0}")]
    Bencode(#[from] BencodeError),
    #[error("ut_metadata message is a {0}, not a dictionary")]
    NotADictionary(&'static str),
    #[error("ut_metadata message has no `{0}`")]
    Missing(&'static str),
    #[error("ut_metadata message key `{key}` is a {found}, expected an integer")]
    WrongType {
        key: &'static str,
        found: &'static str,
    },
    #[error("ut_metadata message key `{key}` is out of range ({value})")]
    BadValue { key: &'static str, value: i64 },
    #[error("ut_metadata {kind} message has {len} bytes after its dictionary")]
    TrailingData { kind: &'static str, len: usize },
    #[error("ut_metadata piece is {len} bytes, more than {max}")]
    PieceTooLong { len: usize, max: usize },
}

impl MetadataMessage {
    /// Decodes a payload (after the extended id). `Ok(None)` is a message type we don't
    /// know, which BEP 9 says to ignore.
    pub fn decode(payload: &Bytes) -> Result<Option<Self>, MetadataError> {
        let head = &payload[..payload.len().min(MAX_DICT_LEN)];
        let (dict, dict_len) = bencode::parse_prefix(head, LIMITS)?;
        if !matches!(dict, Value::Dict(_)) {
            return Err(MetadataError::NotADictionary(dict.kind()));
        }
        let piece =
            int_in(&dict, "piece", u32::MAX.into())?.ok_or(MetadataError::Missing("piece"))? as u32;
        let rest = payload.len() - dict_len;
        let no_rest = |kind| {
            if rest == 0 {
                Ok(())
            } else {
                Err(MetadataError::TrailingData { kind, len: rest })
            }
        };
        let message =
            match int_in(&dict, "msg_type", i64::MAX)?.ok_or(MetadataError::Missing("msg_type"))? {
                REQUEST => {
                    no_rest("request")?;
                    MetadataMessage::Request { piece }
                }
                REJECT => {
                    no_rest("reject")?;
                    MetadataMessage::Reject { piece }
                }
                DATA => {
                    if rest > METADATA_PIECE_LEN {
                        return Err(MetadataError::PieceTooLong {
                            len: rest,
                            max: METADATA_PIECE_LEN,
                        });
                    }
                    MetadataMessage::Data {
                        piece,
                        total_size: int_in(&dict, "total_size", i64::MAX)?.map(|n| n as u64),
                        data: payload.slice(dict_len..),
                    }
                }
                _ => return Ok(None),
            };
        Ok(Some(message))
    }

    /// The payload (after the extended id): the dictionary, then a `data` message's piece.
    pub fn encode(&self) -> Bytes {
        let (msg_type, piece, total_size, data) = match self {
            MetadataMessage::Request { piece } => (REQUEST, *piece, None, None),
            MetadataMessage::Reject { piece } => (REJECT, *piece, None, None),
            MetadataMessage::Data {
                piece,
                total_size,
                data,
            } => (DATA, *piece, *total_size, Some(data)),
        };
        let mut out = Vec::with_capacity(64 + data.map_or(0, Bytes::len));
        out.push(b'd');
        write_bytes(&mut out, b"msg_type");
        write_int(&mut out, msg_type);
        write_bytes(&mut out, b"piece");
        write_int(&mut out, piece.into());
        if let Some(total) = total_size {
            write_bytes(&mut out, b"total_size");
            write_int(&mut out, i64::try_from(total).unwrap_or(i64::MAX));
        }
        out.push(b'e');
        if let Some(data) = data {
            out.extend_from_slice(data);
        }
        Bytes::from(out)
    }
}

/// The integer at `key`, if present, required to be in `0..=max`.
fn int_in(dict: &Value<'_>, key: &'static str, max: i64) -> Result<Option<i64>, MetadataError> {
    match dict.get(key.as_bytes()) {
        None => Ok(None),
        Some(Value::Int(n)) if (0..=max).contains(n) => Ok(Some(*n)),
        Some(Value::Int(n)) => Err(MetadataError::BadValue { key, value: *n }),
        Some(other) => Err(MetadataError::WrongType {
            key,
            found: other.kind(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn decode(payload: &[u8]) -> Result<Option<MetadataMessage>, MetadataError> {
        MetadataMessage::decode(&Bytes::copy_from_slice(payload))
    }

    #[test]
    fn bep9_examples() {
        assert_eq!(
            decode(b"d8:msg_typei0e5:piecei0ee").unwrap(),
            Some(MetadataMessage::Request { piece: 0 })
        );
        assert_eq!(
            decode(b"d8:msg_typei1e5:piecei0e10:total_sizei34256eexxxxxxxx").unwrap(),
            Some(MetadataMessage::Data {
                piece: 0,
                total_size: Some(34256),
                data: Bytes::from_static(b"xxxxxxxx")
            })
        );
        assert_eq!(
            decode(b"d8:msg_typei2e5:piecei0ee").unwrap(),
            Some(MetadataMessage::Reject { piece: 0 })
        );
    }

    #[test]
    fn encodes_sorted_dictionaries() {
        assert_eq!(
            &MetadataMessage::Request { piece: 3 }.encode()[..],
            b"d8:msg_typei0e5:piecei3ee"
        );
        assert_eq!(
            &MetadataMessage::Data {
                piece: 1,
                total_size: Some(16385),
                data: Bytes::from_static(b"z")
            }
            .encode()[..],
            b"d8:msg_typei1e5:piecei1e10:total_sizei16385eez"
        );
    }

    #[test]
    fn data_shares_the_payload_buffer() {
        let payload = Bytes::from_static(b"d8:msg_typei1e5:piecei0eeabc");
        let Some(MetadataMessage::Data { data, .. }) = MetadataMessage::decode(&payload).unwrap()
        else {
            panic!("expected data");
        };
        assert_eq!(data.as_ptr(), payload[payload.len() - 3..].as_ptr());
    }

    #[test]
    fn unknown_message_types_are_ignored() {
        assert_eq!(decode(b"d8:msg_typei7e5:piecei0ee").unwrap(), None);
    }

    #[test]
    fn extra_keys_are_tolerated() {
        // libtorrent adds total_size to requests and rejects when it has the metadata.
        assert_eq!(
            decode(b"d8:msg_typei2e5:piecei4e10:total_sizei9ee").unwrap(),
            Some(MetadataMessage::Reject { piece: 4 })
        );
    }

    #[test]
    fn rejects_malformed_messages() {
        for (payload, expected) in [
            (&b"li1ee"[..], MetadataError::NotADictionary("list")),
            (b"d5:piecei0ee", MetadataError::Missing("msg_type")),
            (b"d8:msg_typei0ee", MetadataError::Missing("piece")),
            (
                b"d8:msg_typei0e5:piece1:0e",
                MetadataError::WrongType {
                    key: "piece",
                    found: "string",
                },
            ),
            (
                b"d8:msg_typei0e5:piecei-1ee",
                MetadataError::BadValue {
                    key: "piece",
                    value: -1,
                },
            ),
            (
                b"d8:msg_typei0e5:piecei4294967296ee",
                MetadataError::BadValue {
                    key: "piece",
                    value: 1 << 32,
                },
            ),
            (
                b"d8:msg_typei0e5:piecei0eeXY",
                MetadataError::TrailingData {
                    kind: "request",
                    len: 2,
                },
            ),
            (
                b"d8:msg_typei1e5:piecei0e10:total_sizei-3ee",
                MetadataError::BadValue {
                    key: "total_size",
                    value: -3,
                },
            ),
        ] {
            assert_eq!(
                decode(payload),
                Err(expected),
                "{}",
                String::from_utf8_lossy(payload)
            );
        }
        assert!(matches!(decode(b""), Err(MetadataError::Bencode(_))));
        assert!(matches!(
            decode(b"d8:msg_ty"),
            Err(MetadataError::Bencode(_))
        ));
    }

    #[test]
    fn rejects_an_oversized_piece() {
        let mut payload = b"d8:msg_typei1e5:piecei0ee".to_vec();
        payload.resize(payload.len() + METADATA_PIECE_LEN, 0);
        assert!(decode(&payload).unwrap().is_some());
        payload.push(0);
        assert!(matches!(
            decode(&payload),
            Err(MetadataError::PieceTooLong { .. })
        ));
    }

    #[test]
    fn rejects_a_dictionary_that_does_not_end_early() {
        // A dictionary longer than the bound cannot hide a huge string in front of the data.
        let mut payload = b"d1:x2000:".to_vec();
        payload.resize(payload.len() + 2000, b'a');
        payload.extend_from_slice(b"8:msg_typei1e5:piecei0ee");
        assert!(matches!(decode(&payload), Err(MetadataError::Bencode(_))));
    }

    fn arb_message() -> impl Strategy<Value = MetadataMessage> {
        prop_oneof![
            any::<u32>().prop_map(|piece| MetadataMessage::Request { piece }),
            any::<u32>().prop_map(|piece| MetadataMessage::Reject { piece }),
            (
                any::<u32>(),
                proptest::option::of(0..i64::MAX as u64),
                proptest::collection::vec(any::<u8>(), 0..METADATA_PIECE_LEN + 1)
            )
                .prop_map(|(piece, total_size, data)| MetadataMessage::Data {
                    piece,
                    total_size,
                    data: Bytes::from(data)
                }),
        ]
    }

    proptest! {
        #[test]
        fn decode_inverts_encode(message in arb_message()) {
            prop_assert_eq!(MetadataMessage::decode(&message.encode()).unwrap(), Some(message));
        }

        #[test]
        fn arbitrary_payloads_never_panic(payload in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = decode(&payload);
        }
    }
}
