//! The metainfo file (`.meta`, a.k.a. `.torrent`): parsing and its top-level fields.

use crate::bencode::{self, BencodeError, Limits};
use crate::raw::{self, RawMetainfo, UrlList};
use crate::{Info, InfoHash, MetainfoError, validate, write};

/// Largest metainfo file accepted by [`Metainfo::from_bytes`]: 64 MiB.
pub const MAX_METAINFO_SIZE: usize = 64 << 20;

/// Deepest nesting of lists and dictionaries accepted in a metainfo file.
pub const MAX_DEPTH: usize = 64;

/// Most bencode values (strings, integers, lists, dictionaries) in a metainfo file.
pub const MAX_VALUES: usize = 2_000_000;

/// A parsed or created metainfo file.
///
/// `info` and `info_hash` describe the info dictionary's bytes, which are kept verbatim when
/// parsed (so files from other tools keep their info-hash and unknown keys) and are canonical
/// bencode when created. Change the other fields freely; to change `info`, build a new value
/// with [`Metainfo::new`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metainfo {
    /// SHA-1 of the info dictionary's bytes.
    pub info_hash: InfoHash,
    /// The validated info dictionary.
    pub info: Info,
    /// BEP 3 `announce` URL.
    pub announce: Option<String>,
    /// BEP 12 `announce-list` tiers (empty when absent).
    pub announce_list: Vec<Vec<String>>,
    /// Free-form `comment`.
    pub comment: Option<String>,
    /// `created by`: the program that made the file.
    pub created_by: Option<String>,
    /// `creation date`, in seconds since the Unix epoch.
    pub creation_date: Option<i64>,
    /// BEP 19 web seeds (`url-list`; empty when absent).
    pub url_list: Vec<String>,
    info_bytes: Vec<u8>,
}

impl Metainfo {
    /// A metainfo for `info` with no trackers or other optional fields; the info dictionary
    /// is encoded canonically and hashed.
    pub fn new(info: Info) -> Metainfo {
        let info_bytes = write::encode_info(&info);
        Metainfo {
            info_hash: InfoHash::of_info_bytes(&info_bytes),
            info,
            announce: None,
            announce_list: Vec::new(),
            comment: None,
            created_by: None,
            creation_date: None,
            url_list: Vec::new(),
            info_bytes,
        }
    }

    /// A metainfo for an info dictionary parsed from `info_bytes` (which hash to
    /// `info_hash`), with no trackers or other optional fields.
    pub(crate) fn with_info_bytes(
        info: Info,
        info_bytes: Vec<u8>,
        info_hash: InfoHash,
    ) -> Metainfo {
        Metainfo {
            info_hash,
            info,
            announce: None,
            announce_list: Vec::new(),
            comment: None,
            created_by: None,
            creation_date: None,
            url_list: Vec::new(),
            info_bytes,
        }
    }

    /// Parses and validates a metainfo file.
    ///
    /// The input is bounded ([`MAX_METAINFO_SIZE`], [`MAX_DEPTH`], [`MAX_VALUES`]) and checked
    /// to be canonical bencode before any typed decoding; the info-hash is the SHA-1 of the
    /// `info` value's bytes exactly as they appear in `input`.
    pub fn from_bytes(input: &[u8]) -> Result<Metainfo, MetainfoError> {
        if input.len() > MAX_METAINFO_SIZE {
            return Err(MetainfoError::TooLarge {
                size: input.len(),
                max: MAX_METAINFO_SIZE,
            });
        }
        let limits = Limits {
            max_depth: MAX_DEPTH,
            max_values: MAX_VALUES,
        };
        let entries = bencode::dict_entries(input, limits).map_err(|err| match err {
            BencodeError::NotADictionary => MetainfoError::NotADictionary,
            other => MetainfoError::Bencode(other),
        })?;
        let info_span = entries
            .iter()
            .find(|entry| entry.key == b"info")
            .map(|entry| entry.value.clone())
            .ok_or(MetainfoError::MissingInfo)?;
        let info_bytes = input.get(info_span).unwrap_or_default();
        if info_bytes.first() != Some(&b'd') {
            return Err(MetainfoError::InfoNotADictionary);
        }
        let raw: RawMetainfo = serde_bencode::from_bytes(input)
            .map_err(|err| MetainfoError::WrongType(err.to_string()))?;
        let info = validate::info_from_raw(raw.info)?;
        Ok(Metainfo {
            info_hash: InfoHash::of_info_bytes(info_bytes),
            info,
            announce: raw
                .announce
                .into_option()
                .map(raw::text)
                .filter(|s| !s.is_empty()),
            announce_list: raw
                .announce_list
                .into_option()
                .unwrap_or_default()
                .into_iter()
                .map(|tier| {
                    tier.into_iter()
                        .map(raw::text)
                        .filter(|s| !s.is_empty())
                        .collect()
                })
                .filter(|tier: &Vec<String>| !tier.is_empty())
                .collect(),
            comment: raw.comment.into_option().map(raw::text),
            created_by: raw.created_by.into_option().map(raw::text),
            creation_date: raw.creation_date.into_option(),
            url_list: match raw.url_list.into_option() {
                None => Vec::new(),
                Some(UrlList::One(url)) => vec![raw::text(url)],
                Some(UrlList::Many(urls)) => urls.into_iter().map(raw::text).collect(),
            }
            .into_iter()
            .filter(|url| !url.is_empty())
            .collect(),
            info_bytes: info_bytes.to_vec(),
        })
    }

    /// The info dictionary's bencoded bytes (verbatim when parsed, canonical when created).
    pub fn info_bytes(&self) -> &[u8] {
        &self.info_bytes
    }

    /// Tracker tiers to announce to: the BEP 12 `announce-list` when present, else
    /// `[[announce]]`, else nothing.
    pub fn trackers(&self) -> Vec<Vec<String>> {
        if !self.announce_list.is_empty() {
            self.announce_list.clone()
        } else {
            self.announce.iter().map(|url| vec![url.clone()]).collect()
        }
    }
}
