//! The info-hash: SHA-1 of the info dictionary's exact bytes, identifying a torrent.

use std::fmt;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use sha1::{Digest, Sha1};

use crate::MetainfoError;

/// Characters left as they are in URL query values: RFC 3986 "unreserved".
pub(crate) const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// A 20-byte SHA-1 info-hash. `Display` prints 40 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InfoHash(pub [u8; 20]);

impl InfoHash {
    /// The SHA-1 of `info_bytes`, which must be the info dictionary's bencoding as it stands.
    pub fn of_info_bytes(info_bytes: &[u8]) -> InfoHash {
        InfoHash(Sha1::digest(info_bytes).into())
    }

    /// Parses 40 hex digits (either case).
    pub fn from_hex(text: &str) -> Result<InfoHash, MetainfoError> {
        let mut bytes = [0u8; 20];
        hex::decode_to_slice(text, &mut bytes)
            .map_err(|_| MetainfoError::InvalidInfoHash(text.chars().take(64).collect()))?;
        Ok(InfoHash(bytes))
    }

    /// The raw 20 bytes.
    pub fn as_bytes(&self) -> &[u8; 20] {
        &self.0
    }

    /// The hash as 40 lowercase hex digits (same as `to_string()`).
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// The raw bytes percent-encoded for a tracker URL query: every byte that is not an
    /// unreserved character (`A-Z a-z 0-9 - . _ ~`) becomes `%XX`.
    pub fn url_encoded(&self) -> String {
        percent_encode_bytes(&self.0)
    }
}

/// Percent-encodes arbitrary bytes, keeping only unreserved characters.
pub(crate) fn percent_encode_bytes(bytes: &[u8]) -> String {
    percent_encoding::percent_encode(bytes, QUERY_VALUE).to_string()
}

/// Percent-encodes a string for a URL query value, keeping only unreserved characters.
pub(crate) fn percent_encode_str(text: &str) -> String {
    utf8_percent_encode(text, QUERY_VALUE).to_string()
}

impl fmt::Display for InfoHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for InfoHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "InfoHash({self})")
    }
}

impl std::str::FromStr for InfoHash {
    type Err = MetainfoError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        InfoHash::from_hex(text)
    }
}

impl From<[u8; 20]> for InfoHash {
    fn from(bytes: [u8; 20]) -> Self {
        InfoHash(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip() {
        let text = "0123456789abcdef0123456789abcdef01234567";
        let hash = InfoHash::from_hex(text).unwrap();
        assert_eq!(hash.to_string(), text);
        assert_eq!(InfoHash::from_hex(&text.to_uppercase()).unwrap(), hash);
        assert_eq!(format!("{hash:?}"), format!("InfoHash({text})"));
    }

    #[test]
    fn rejects_bad_hex() {
        for text in [
            "",
            "abc",
            "zz23456789abcdef0123456789abcdef01234567",
            &"a".repeat(42),
        ] {
            assert!(matches!(
                InfoHash::from_hex(text),
                Err(MetainfoError::InvalidInfoHash(_))
            ));
        }
    }

    #[test]
    fn url_encoding_keeps_only_unreserved() {
        let mut bytes = [0u8; 20];
        bytes[..8].copy_from_slice(b"aZ9-._~ ");
        bytes[8] = 0xff;
        bytes[9] = b'%';
        let encoded = InfoHash(bytes).url_encoded();
        assert!(encoded.starts_with("aZ9-._~%20%FF%25%00"), "{encoded}");
    }

    #[test]
    fn hash_of_bytes() {
        // SHA-1("abc")
        assert_eq!(
            InfoHash::of_info_bytes(b"abc").to_string(),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
    }
}
