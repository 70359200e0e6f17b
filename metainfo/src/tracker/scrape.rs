//! The scrape reply (BEP 48): `files` maps each 20-byte info-hash to its swarm counts.

use super::ReplyError;
use super::announce::parse_reply;
use super::text::bounded_text;
use crate::bencode::{Value, write_bytes, write_int};

/// Counts for one torrent in a scrape reply.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ScrapeStats {
    /// Seeders.
    pub complete: u64,
    /// Leechers.
    pub incomplete: u64,
    /// Completed downloads the tracker has seen (`completed` events).
    pub downloaded: u64,
}

/// A scrape reply: per-torrent counts, keyed by raw 20-byte info-hash, sorted by hash.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScrapeReply {
    pub files: Vec<([u8; 20], ScrapeStats)>,
}

impl ScrapeReply {
    /// Decode a scrape reply body (at most [`MAX_REPLY_LEN`](super::MAX_REPLY_LEN) bytes).
    /// Missing counts are 0; a `failure reason` becomes [`ReplyError::Failure`].
    pub fn decode(body: &[u8]) -> Result<ScrapeReply, ReplyError> {
        let root = parse_reply(body)?;
        if let Some(reason) = root.get(b"failure reason") {
            let text = match reason {
                Value::Bytes(b) => bounded_text(b),
                _ => String::from("(failure reason is not a string)"),
            };
            return Err(ReplyError::Failure(text));
        }
        let entries = match root.get(b"files") {
            Some(Value::Dict(entries)) => entries.as_slice(),
            Some(other) => {
                return Err(ReplyError::WrongType {
                    field: "files",
                    expected: "dictionary",
                    found: other.kind(),
                });
            }
            None => &[],
        };
        let mut files = Vec::with_capacity(entries.len());
        for (key, stats) in entries {
            let hash =
                <[u8; 20]>::try_from(*key).map_err(|_| ReplyError::BadInfoHash(key.len()))?;
            files.push((hash, decode_stats(stats)?));
        }
        files.sort_by_key(|(hash, _)| *hash);
        files.dedup_by_key(|(hash, _)| *hash);
        Ok(ScrapeReply { files })
    }

    /// Encode this reply (entries are written sorted by info-hash, duplicates once).
    pub fn encode(&self) -> Vec<u8> {
        let mut files = self.files.clone();
        let mut out = Vec::with_capacity(16 + files.len() * 80);
        write_scrape(&mut out, &mut files);
        out
    }

    /// The counts for `info_hash`, if the reply has them.
    pub fn get(&self, info_hash: &[u8; 20]) -> Option<ScrapeStats> {
        self.files
            .iter()
            .find(|(hash, _)| hash == info_hash)
            .map(|(_, stats)| *stats)
    }
}

/// Append a scrape reply for `files` to `out`. Sorts `files` by info-hash in place (bencode
/// dictionaries need sorted keys) and writes a repeated hash once.
pub fn write_scrape(out: &mut Vec<u8>, files: &mut [([u8; 20], ScrapeStats)]) {
    files.sort_unstable_by_key(|(hash, _)| *hash);
    out.push(b'd');
    write_bytes(out, b"files");
    out.push(b'd');
    let mut previous: Option<[u8; 20]> = None;
    for (hash, stats) in files.iter() {
        if previous == Some(*hash) {
            continue;
        }
        previous = Some(*hash);
        write_bytes(out, hash);
        out.push(b'd');
        write_bytes(out, b"complete");
        write_int(out, saturate(stats.complete));
        write_bytes(out, b"downloaded");
        write_int(out, saturate(stats.downloaded));
        write_bytes(out, b"incomplete");
        write_int(out, saturate(stats.incomplete));
        out.push(b'e');
    }
    out.push(b'e');
    out.push(b'e');
}

fn saturate(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn decode_stats(value: &Value<'_>) -> Result<ScrapeStats, ReplyError> {
    if !matches!(value, Value::Dict(_)) {
        return Err(ReplyError::WrongType {
            field: "files",
            expected: "dictionary of dictionaries",
            found: value.kind(),
        });
    }
    let count = |key: &[u8], field: &'static str| match value.get(key) {
        None => Ok(0),
        Some(Value::Int(n)) => {
            u64::try_from(*n).map_err(|_| ReplyError::OutOfRange { field, value: *n })
        }
        Some(other) => Err(ReplyError::WrongType {
            field,
            expected: "integer",
            found: other.kind(),
        }),
    };
    Ok(ScrapeStats {
        complete: count(b"complete", "complete")?,
        incomplete: count(b"incomplete", "incomplete")?,
        downloaded: count(b"downloaded", "downloaded")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_sorted() {
        let stats = ScrapeStats {
            complete: 1,
            incomplete: 2,
            downloaded: 3,
        };
        let reply = ScrapeReply {
            files: vec![([9; 20], stats), ([1; 20], ScrapeStats::default())],
        };
        let bytes = reply.encode();
        let decoded = ScrapeReply::decode(&bytes).unwrap();
        assert_eq!(decoded.files[0].0, [1; 20]);
        assert_eq!(decoded.get(&[9; 20]), Some(stats));
    }

    #[test]
    fn empty_and_errors() {
        let mut out = Vec::new();
        write_scrape(&mut out, &mut []);
        assert_eq!(out, b"d5:filesdee");
        assert!(ScrapeReply::decode(&out).unwrap().files.is_empty());
        assert!(matches!(
            ScrapeReply::decode(b"d5:filesd3:abcdeee"),
            Err(ReplyError::BadInfoHash(3))
        ));
        assert!(matches!(
            ScrapeReply::decode(b"d14:failure reason2:noe"),
            Err(ReplyError::Failure(_))
        ));
    }
}
