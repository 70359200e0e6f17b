//! The serde shapes of a metainfo file as bencoded, before validation.
//!
//! Strings are read as bytes and converted later, so that a non-UTF-8 comment does not make
//! the whole file unreadable. Top-level fields other than `info` are informational: a value
//! of the wrong type there is ignored rather than rejected, as other clients do.

use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_bytes::ByteBuf;

/// The top-level dictionary.
#[derive(Debug, Deserialize)]
pub(crate) struct RawMetainfo {
    #[serde(default)]
    pub announce: Lenient<ByteBuf>,
    #[serde(rename = "announce-list", default)]
    pub announce_list: Lenient<Vec<Vec<ByteBuf>>>,
    #[serde(default)]
    pub comment: Lenient<ByteBuf>,
    #[serde(rename = "created by", default)]
    pub created_by: Lenient<ByteBuf>,
    #[serde(rename = "creation date", default)]
    pub creation_date: Lenient<i64>,
    #[serde(rename = "url-list", default)]
    pub url_list: Lenient<UrlList>,
    pub info: RawInfo,
}

/// The info dictionary; every field optional so that a missing one gets its own error.
#[derive(Debug, Deserialize)]
pub(crate) struct RawInfo {
    pub name: Option<ByteBuf>,
    #[serde(rename = "name.utf-8")]
    pub name_utf8: Option<ByteBuf>,
    #[serde(rename = "piece length")]
    pub piece_length: Option<i64>,
    pub pieces: Option<ByteBuf>,
    pub private: Option<i64>,
    pub length: Option<i64>,
    pub files: Option<Vec<RawFile>>,
}

/// One entry of `files`.
#[derive(Debug, Deserialize)]
pub(crate) struct RawFile {
    pub length: Option<i64>,
    pub path: Option<Vec<ByteBuf>>,
    #[serde(rename = "path.utf-8")]
    pub path_utf8: Option<Vec<ByteBuf>>,
}

/// BEP 19 `url-list`: one URL or a list of them.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum UrlList {
    One(ByteBuf),
    Many(Vec<ByteBuf>),
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

/// Bytes as text, replacing invalid UTF-8 sequences.
pub(crate) fn text(bytes: ByteBuf) -> String {
    match String::from_utf8(bytes.into_vec()) {
        Ok(text) => text,
        Err(err) => String::from_utf8_lossy(err.as_bytes()).into_owned(),
    }
}
