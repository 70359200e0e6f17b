//! Parsing the raw announce and scrape query strings into typed requests.
//!
//! `info_hash` and `peer_id` are arbitrary bytes percent-encoded, so the query is split and
//! percent-decoded as bytes here rather than through a UTF-8 form decoder. Every problem is
//! a [`QueryError`] whose message becomes the reply's `failure reason`.

use std::net::IpAddr;

use crate::domain::{Event, InfoHash};

/// Longest query string accepted (a 100-hash scrape takes about 6,200 bytes).
pub const MAX_QUERY_LEN: usize = 8 * 1024;

/// Why a query was refused; the message is sent as the `failure reason`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    #[error("request query is longer than {MAX_QUERY_LEN} bytes")]
    TooLong,
    #[error("missing parameter `{0}`")]
    Missing(&'static str),
    #[error("`{param}` must be 20 bytes, got {len}")]
    BadLength { param: &'static str, len: usize },
    #[error("`{0}` has a malformed percent-encoding")]
    BadPercent(&'static str),
    #[error("`{0}` is not a non-negative number")]
    NotANumber(&'static str),
    #[error("`port` must be 1 to 65535")]
    BadPort,
    #[error("`event` must be started, stopped, completed or empty")]
    BadEvent,
    #[error("`ip` is not an IP address")]
    BadIp,
    #[error("two different `info_hash` values in one announce")]
    TwoInfoHashes,
    #[error("more than {0} info_hash values in one scrape")]
    TooManyHashes(usize),
}

/// A parsed `/announce` query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnnounceQuery {
    pub info_hash: InfoHash,
    pub peer_id: [u8; 20],
    pub port: u16,
    pub uploaded: u64,
    pub downloaded: u64,
    /// Bytes the client still needs; `None` when absent (treated as a leecher).
    pub left: Option<u64>,
    pub event: Event,
    pub numwant: Option<u32>,
    /// BEP 23 compact reply (the default; `compact=0` asks for a dictionary list).
    pub compact: bool,
    pub no_peer_id: bool,
    /// The `ip` parameter, if present and valid.
    pub ip: Option<IpAddr>,
}

/// Parse an announce query string (without the `?`).
pub fn parse_announce(query: &[u8]) -> Result<AnnounceQuery, QueryError> {
    if query.len() > MAX_QUERY_LEN {
        return Err(QueryError::TooLong);
    }
    let mut info_hash = None;
    let mut peer_id = None;
    let mut port = None;
    let mut q = AnnounceQuery {
        info_hash: InfoHash([0; 20]),
        peer_id: [0; 20],
        port: 0,
        uploaded: 0,
        downloaded: 0,
        left: None,
        event: Event::None,
        numwant: None,
        compact: true,
        no_peer_id: false,
        ip: None,
    };
    for (key, value) in pairs(query) {
        match key {
            b"info_hash" => {
                let hash = InfoHash(decode_20(value, "info_hash")?);
                if info_hash.is_some_and(|first| first != hash) {
                    return Err(QueryError::TwoInfoHashes);
                }
                info_hash = Some(hash);
            }
            b"peer_id" => peer_id = Some(decode_20(value, "peer_id")?),
            b"port" => port = Some(number(value, "port")?),
            b"uploaded" => q.uploaded = number(value, "uploaded")?,
            b"downloaded" => q.downloaded = number(value, "downloaded")?,
            b"left" => q.left = Some(number(value, "left")?),
            b"event" => q.event = event(value)?,
            b"numwant" => q.numwant = numwant(value)?,
            b"compact" => q.compact = value != b"0",
            b"no_peer_id" => q.no_peer_id = value != b"0",
            b"ip" => q.ip = Some(ip(value)?),
            _ => {}
        }
    }
    q.info_hash = info_hash.ok_or(QueryError::Missing("info_hash"))?;
    q.peer_id = peer_id.ok_or(QueryError::Missing("peer_id"))?;
    let port = port.ok_or(QueryError::Missing("port"))?;
    q.port = u16::try_from(port)
        .ok()
        .filter(|&p| p != 0)
        .ok_or(QueryError::BadPort)?;
    Ok(q)
}

/// Parse a scrape query: every `info_hash` value, at most `max` of them (none = full scrape).
pub fn parse_scrape(query: &[u8], max: usize) -> Result<Vec<InfoHash>, QueryError> {
    if query.len() > MAX_QUERY_LEN {
        return Err(QueryError::TooLong);
    }
    let mut hashes = Vec::new();
    for (key, value) in pairs(query) {
        if key == b"info_hash" {
            if hashes.len() == max {
                return Err(QueryError::TooManyHashes(max));
            }
            hashes.push(InfoHash(decode_20(value, "info_hash")?));
        }
    }
    Ok(hashes)
}

/// `key=value` pairs split on `&` (empty pieces skipped; a bare `key` has an empty value).
///
/// An announce query is ~250 bytes, most of them the two escaped 20-byte values, and
/// splitting it byte by byte was a tenth of an HTTP announce's instructions: the end of a
/// value is found with `memchr` (SIMD); keys, a few bytes each, are still scanned byte by
/// byte (a `memchr` call costs more than that).
fn pairs(query: &[u8]) -> impl Iterator<Item = (&[u8], &[u8])> {
    Pairs { rest: query }
}

/// The non-empty pieces of a query between `&`s, each split at its first `=`.
struct Pairs<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for Pairs<'a> {
    type Item = (&'a [u8], &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            // Keys are short: scanned byte by byte. Values can be long: `memchr`.
            let key_len = self
                .rest
                .iter()
                .position(|&b| b == b'=' || b == b'&')
                .unwrap_or(self.rest.len());
            let (key, after) = self.rest.split_at(key_len);
            let Some((&sep, after)) = after.split_first() else {
                self.rest = &[];
                return (!key.is_empty()).then_some((key, &[]));
            };
            if sep == b'=' {
                let (value, rest) = split_once(after, b'&');
                self.rest = rest;
                return Some((key, value));
            }
            self.rest = after;
            if !key.is_empty() {
                return Some((key, &[]));
            }
        }
    }
}

/// `bytes` before and after the first `sep`; all of it and nothing when there is none.
fn split_once(bytes: &[u8], sep: u8) -> (&[u8], &[u8]) {
    match memchr::memchr(sep, bytes) {
        Some(i) => {
            let (head, tail) = bytes.split_at(i);
            (head, tail.get(1..).unwrap_or_default())
        }
        None => (bytes, &[]),
    }
}

/// Percent-decode a value that must come to exactly 20 bytes.
///
/// Every announce decodes two of these (`info_hash`, `peer_id`), usually 60 bytes each, so
/// this is the announce path's hottest loop: twenty steps of one slice pattern, one table
/// lookup per hex digit; only a value that fails takes the slower loop that says why.
fn decode_20(value: &[u8], param: &'static str) -> Result<[u8; 20], QueryError> {
    match decode_exactly_20(value) {
        Some(out) => Ok(out),
        None => decode_20_or_say_why(value, param),
    }
}

/// The fast path of [`decode_20`]: exactly twenty output bytes, one slice pattern each, and
/// `None` for anything wrong (the slow path then says what).
fn decode_exactly_20(value: &[u8]) -> Option<[u8; 20]> {
    let mut out = [0u8; 20];
    let mut rest = value;
    for slot in &mut out {
        (*slot, rest) = match rest {
            [b'%', hi, lo, tail @ ..] => (hex_pair(*hi, *lo)?, tail),
            [b'%', ..] | [] => return None,
            [byte, tail @ ..] => (*byte, tail),
        };
    }
    rest.is_empty().then_some(out)
}

/// Percent-decodes `value`, which must come to 20 bytes, naming what is wrong otherwise.
fn decode_20_or_say_why(value: &[u8], param: &'static str) -> Result<[u8; 20], QueryError> {
    let mut out = [0u8; 20];
    let mut len = 0;
    let mut rest = value;
    while let Some((&first, tail)) = rest.split_first() {
        let byte = if first == b'%' {
            let [hi, lo, tail @ ..] = tail else {
                return Err(QueryError::BadPercent(param));
            };
            rest = tail;
            hex_pair(*hi, *lo).ok_or(QueryError::BadPercent(param))?
        } else {
            rest = tail;
            first
        };
        if let Some(slot) = out.get_mut(len) {
            *slot = byte;
        }
        len += 1;
    }
    if len != out.len() {
        return Err(QueryError::BadLength { param, len });
    }
    Ok(out)
}

/// Value of each byte as a hex digit; `NOT_HEX` for anything else.
const HEX_VALUE: [u8; 256] = {
    let mut table = [NOT_HEX; 256];
    let mut i = 0;
    while i < 10 {
        table[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        table[b'a' as usize + i] = 10 + i as u8;
        table[b'A' as usize + i] = 10 + i as u8;
        i += 1;
    }
    table
};
const NOT_HEX: u8 = 0xFF;

/// The byte written as two hex digits, `None` if either is not one.
fn hex_pair(hi: u8, lo: u8) -> Option<u8> {
    let (hi, lo) = (HEX_VALUE[usize::from(hi)], HEX_VALUE[usize::from(lo)]);
    ((hi | lo) < 16).then_some(hi << 4 | lo)
}

/// A non-negative decimal number (at most 20 digits, fitting in u64).
fn number(value: &[u8], param: &'static str) -> Result<u64, QueryError> {
    if value.is_empty() || value.len() > 20 {
        return Err(QueryError::NotANumber(param));
    }
    value.iter().try_fold(0u64, |acc, &b| {
        if !b.is_ascii_digit() {
            return Err(QueryError::NotANumber(param));
        }
        acc.checked_mul(10)
            .and_then(|v| v.checked_add(u64::from(b - b'0')))
            .ok_or(QueryError::NotANumber(param))
    })
}

/// `numwant`: a number, or a negative one (some clients send -1) meaning "the default".
fn numwant(value: &[u8]) -> Result<Option<u32>, QueryError> {
    if let Some(rest) = value.strip_prefix(b"-") {
        number(rest, "numwant")?;
        return Ok(None);
    }
    Ok(Some(
        number(value, "numwant")?.min(u64::from(u32::MAX)) as u32
    ))
}

fn event(value: &[u8]) -> Result<Event, QueryError> {
    Event::from_http_name(value).ok_or(QueryError::BadEvent)
}

/// The `ip` parameter: an IPv4 or IPv6 address (percent-encoding allowed, e.g. `%3A`).
fn ip(value: &[u8]) -> Result<IpAddr, QueryError> {
    if value.len() > 3 * 45 {
        return Err(QueryError::BadIp);
    }
    let decoded: Vec<u8> = percent_encoding::percent_decode(value).collect();
    std::str::from_utf8(&decoded)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or(QueryError::BadIp)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HASH: &str = "%124Vx%9A%BC%DE%F1%23Eg%89%AB%CD%EF%124Vx%9A";

    fn announce(extra: &str) -> Result<AnnounceQuery, QueryError> {
        parse_announce(
            format!("info_hash={HASH}&peer_id=-XX0001-abcdefghijkl&port=6881{extra}").as_bytes(),
        )
    }

    #[test]
    fn parses_binary_hash_and_defaults() {
        let q = announce("&left=0&event=started&numwant=5").unwrap();
        assert_eq!(q.info_hash.0[..4], [0x12, b'4', b'V', b'x']);
        assert_eq!(q.peer_id, *b"-XX0001-abcdefghijkl");
        assert_eq!(
            (q.port, q.event, q.numwant, q.compact),
            (6881, Event::Started, Some(5), true)
        );
        assert_eq!(q.left, Some(0));
        let q = announce("&compact=0&no_peer_id=1&numwant=-1").unwrap();
        assert!(!q.compact && q.no_peer_id && q.numwant.is_none() && q.left != Some(0));
    }

    #[test]
    fn every_error_has_a_reason() {
        assert_eq!(
            parse_announce(b"port=1&left=2"),
            Err(QueryError::Missing("info_hash"))
        );
        assert!(matches!(
            parse_announce(b"info_hash=short&peer_id=-XX0001-abcdefghijkl&port=1"),
            Err(QueryError::BadLength {
                param: "info_hash",
                len: 5
            })
        ));
        assert_eq!(announce("&port=0").unwrap_err(), QueryError::BadPort);
        assert_eq!(announce("&port=70000").unwrap_err(), QueryError::BadPort);
        assert_eq!(
            announce("&left=abc").unwrap_err(),
            QueryError::NotANumber("left")
        );
        assert_eq!(announce("&event=bogus").unwrap_err(), QueryError::BadEvent);
        assert_eq!(announce("&ip=notanip").unwrap_err(), QueryError::BadIp);
        assert_eq!(
            announce("&ip=%3A%3A1").unwrap().ip,
            Some("::1".parse().unwrap())
        );
        let bad_pct = format!("info_hash=%ZZ{}", &HASH[3..]);
        assert_eq!(
            parse_announce(bad_pct.as_bytes()),
            Err(QueryError::BadPercent("info_hash"))
        );
        assert_eq!(
            parse_announce(&vec![b'a'; MAX_QUERY_LEN + 1]),
            Err(QueryError::TooLong)
        );
    }

    #[test]
    fn scrape_many() {
        let q = (0..50)
            .map(|_| format!("info_hash={HASH}"))
            .collect::<Vec<_>>()
            .join("&");
        assert_eq!(parse_scrape(q.as_bytes(), 100).unwrap().len(), 50);
        assert_eq!(
            parse_scrape(q.as_bytes(), 10),
            Err(QueryError::TooManyHashes(10))
        );
        assert!(parse_scrape(b"", 10).unwrap().is_empty());
    }

    /// The plain reading of a percent-encoded value, to check the fast decoder against.
    fn reference_decode(value: &[u8]) -> Option<Vec<u8>> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < value.len() {
            if value[i] == b'%' {
                let digits = std::str::from_utf8(value.get(i + 1..i + 3)?).ok()?;
                if !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return None;
                }
                out.push(u8::from_str_radix(digits, 16).ok()?);
                i += 3;
            } else {
                out.push(value[i]);
                i += 1;
            }
        }
        Some(out)
    }

    proptest::proptest! {
        #[test]
        fn decode_20_agrees_with_the_plain_reading(
            value in proptest::collection::vec(
                proptest::prop_oneof![
                    proptest::sample::select(b"%0123456789abcdefABCDEFgG+&=".to_vec()),
                    proptest::num::u8::ANY,
                ],
                0..70,
            )
        ) {
            let expected = match reference_decode(&value) {
                None => Err(QueryError::BadPercent("info_hash")),
                Some(bytes) => <[u8; 20]>::try_from(bytes.as_slice()).map_err(|_| {
                    QueryError::BadLength { param: "info_hash", len: bytes.len() }
                }),
            };
            proptest::prop_assert_eq!(decode_20(&value, "info_hash"), expected);
        }

        #[test]
        fn any_20_bytes_survive_percent_encoding(bytes in proptest::array::uniform20(proptest::num::u8::ANY), upper in proptest::bool::ANY) {
            let encoded: String = bytes
                .iter()
                .map(|b| if upper { format!("%{b:02X}") } else { format!("%{b:02x}") })
                .collect();
            proptest::prop_assert_eq!(decode_20(encoded.as_bytes(), "peer_id"), Ok(bytes));
        }

        #[test]
        fn pairs_agree_with_a_plain_split(
            query in proptest::collection::vec(
                proptest::sample::select(b"ab=&%1".to_vec()),
                0..40,
            )
        ) {
            let expected: Vec<(&[u8], &[u8])> = query
                .split(|&b| b == b'&')
                .filter(|p| !p.is_empty())
                .map(|pair| match pair.iter().position(|&b| b == b'=') {
                    Some(i) => (&pair[..i], &pair[i + 1..]),
                    None => (pair, &b""[..]),
                })
                .collect();
            proptest::prop_assert_eq!(pairs(&query).collect::<Vec<_>>(), expected);
        }
    }
}
