//! Errors from decoding tracker replies.

use crate::bencode::BencodeError;

/// Why a tracker reply could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplyError {
    /// The tracker refused the request and said why (`failure reason`).
    #[error("tracker refused: {0}")]
    Failure(String),
    /// The reply is larger than the decoder accepts.
    #[error("tracker reply is {len} bytes, more than the {max} accepted")]
    TooLarge { len: usize, max: usize },
    /// The body is not valid bencode.
    #[error("tracker reply is not valid bencode at byte {offset}: {what}")]
    Bencode { offset: usize, what: &'static str },
    /// The top-level value is not a dictionary.
    #[error("tracker reply is a {0}, not a dictionary")]
    NotADict(&'static str),
    /// A required field is absent.
    #[error("tracker reply has no `{0}`")]
    MissingField(&'static str),
    /// A field has the wrong bencode type.
    #[error("tracker reply field `{field}` is a {found}, expected a {expected}")]
    WrongType {
        field: &'static str,
        expected: &'static str,
        found: &'static str,
    },
    /// An integer field is negative or too large.
    #[error("tracker reply field `{field}` has out-of-range value {value}")]
    OutOfRange { field: &'static str, value: i64 },
    /// A compact peer string whose length is not a multiple of the entry size.
    #[error("tracker reply field `{field}` is {len} bytes, not a multiple of {entry}")]
    BadCompactLength {
        field: &'static str,
        len: usize,
        entry: usize,
    },
    /// A scrape reply key that is not a 20-byte info-hash.
    #[error("scrape reply has a {0}-byte key in `files`, expected a 20-byte info-hash")]
    BadInfoHash(usize),
}

impl ReplyError {
    /// A bencode error from the shared reader, as [`ReplyError::Bencode`].
    pub(super) fn bencode(error: &BencodeError) -> ReplyError {
        ReplyError::Bencode {
            offset: error.offset().unwrap_or(0),
            what: error.reason(),
        }
    }
}
