//! The serde shapes of a metainfo file as bencoded, before validation.
//!
//! Strings are read as bytes and converted later, so that a non-UTF-8 comment does not make
//! the whole file unreadable. Top-level fields other than `info` are informational: a value
//! of the wrong type there is ignored rather than rejected, as other clients do.

use serde::Deserialize;
use serde::de::IgnoredAny;
use std::fmt;

use serde::Deserializer;
use serde::de::Visitor;

/// The top-level dictionary.
#[derive(Debug, Deserialize)]
pub(crate) struct RawMetainfo {
    #[serde(default)]
    pub announce: Lenient<Bytes>,
    #[serde(rename = "announce-list", default)]
    pub announce_list: Lenient<Vec<Vec<Bytes>>>,
    #[serde(default)]
    pub comment: Lenient<Bytes>,
    #[serde(rename = "created by", default)]
    pub created_by: Lenient<Bytes>,
    #[serde(rename = "creation date", default)]
    pub creation_date: Lenient<i64>,
    #[serde(rename = "url-list", default)]
    pub url_list: Lenient<UrlList>,
    pub info: RawInfo,
}

/// The info dictionary; every field optional so that a missing one gets its own error.
#[derive(Debug, Deserialize)]
pub(crate) struct RawInfo {
    pub name: Option<Bytes>,
    #[serde(rename = "name.utf-8")]
    pub name_utf8: Option<Bytes>,
    #[serde(rename = "piece length")]
    pub piece_length: Option<i64>,
    pub pieces: Option<Bytes>,
    pub private: Option<i64>,
    pub length: Option<i64>,
    pub files: Option<Vec<RawFile>>,
}

/// One entry of `files`.
#[derive(Debug, Deserialize)]
pub(crate) struct RawFile {
    pub length: Option<i64>,
    pub path: Option<Vec<Bytes>>,
    #[serde(rename = "path.utf-8")]
    pub path_utf8: Option<Vec<Bytes>>,
    /// BEP 47 attributes; `p` marks a padding file.
    pub attr: Option<Bytes>,
}

/// BEP 19 `url-list`: one URL or a list of them.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum UrlList {
    One(Bytes),
    Many(Vec<Bytes>),
}

/// A value kept when it has the expected type, dropped otherwise.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum Lenient<T> {
    Valid(T),
    Invalid(IgnoredAny),
}

impl<T> Default for Lenient<T> {
    fn default() -> Self {
        Lenient::Invalid(IgnoredAny)
    }
}

impl<T> Lenient<T> {
    /// The value if it had the expected type.
    pub fn into_option(self) -> Option<T> {
        match self {
            Lenient::Valid(value) => Some(value),
            Lenient::Invalid(_) => None,
        }
    }
}

/// A bencode byte string. Unlike `serde_bytes::ByteBuf` it refuses a list of integers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Bytes(pub Vec<u8>);

impl<'de> Deserialize<'de> for Bytes {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct BytesVisitor;

        impl Visitor<'_> for BytesVisitor {
            type Value = Bytes;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a byte string")
            }

            fn visit_bytes<E: serde::de::Error>(self, bytes: &[u8]) -> Result<Bytes, E> {
                Ok(Bytes(bytes.to_vec()))
            }

            fn visit_byte_buf<E: serde::de::Error>(self, bytes: Vec<u8>) -> Result<Bytes, E> {
                Ok(Bytes(bytes))
            }

            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Bytes, E> {
                Ok(Bytes(text.as_bytes().to_vec()))
            }
        }

        deserializer.deserialize_byte_buf(BytesVisitor)
    }
}

/// Bytes as text, replacing invalid UTF-8 sequences.
pub(crate) fn text(bytes: Bytes) -> String {
    match String::from_utf8(bytes.0) {
        Ok(text) => text,
        Err(err) => String::from_utf8_lossy(err.as_bytes()).into_owned(),
    }
}
