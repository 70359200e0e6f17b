//! Magnet links (BEP 9): `magnet:?xt=urn:btih:<hash>&dn=<name>&tr=<tracker>&x.pe=<peer>`.
//!
//! [`Magnet::parse`] reads one, bounded ([`MAX_MAGNET_LEN`], [`MAX_MAGNET_LIST`]) and with a
//! typed [`MagnetError`] for each way it can be wrong; [`Magnet`]'s `Display` writes one,
//! and [`Metainfo::magnet`] is that of a metainfo file. Once the info dictionary has been
//! fetched from peers, [`Metainfo::from_magnet`] makes the full metainfo.

use std::fmt;

use percent_encoding::percent_decode_str;
use thiserror::Error;

use crate::bencode::{self, Limits};
use crate::info_hash::percent_encode_str;
use crate::raw::RawInfo;
use crate::{
    InfoHash, MAX_DEPTH, MAX_METAINFO_SIZE, MAX_VALUES, Metainfo, MetainfoError, validate,
};

/// Longest magnet link accepted: 64 KiB.
pub const MAX_MAGNET_LEN: usize = 64 * 1024;

/// Most trackers (`tr`) and most peers (`x.pe`) accepted in one magnet link, each.
pub const MAX_MAGNET_LIST: usize = 200;

/// Why a magnet link was rejected.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MagnetError {
    #[error("magnet link is {len} bytes, more than the {max}-byte limit")]
    TooLong { len: usize, max: usize },
    #[error("not a magnet link (it should start with `magnet:?`)")]
    NotAMagnet,
    #[error("magnet link has no BitTorrent info-hash (`xt=urn:btih:…`)")]
    MissingInfoHash,
    #[error("magnet link has an invalid info-hash {0:?}: expected 40 hex or 32 base32 digits")]
    BadInfoHash(String),
    #[error("magnet link has two different info-hashes ({first} and {second})")]
    ConflictingInfoHashes { first: InfoHash, second: InfoHash },
    #[error("magnet link parameter `{key}` is not valid UTF-8 once percent-decoded")]
    BadEncoding { key: String },
    #[error("magnet link peer {0:?} is not HOST:PORT with a port in 1-65535")]
    BadPeer(String),
    #[error("magnet link has more than {max} `{key}` parameters")]
    TooMany { key: &'static str, max: usize },
}

/// A parsed magnet link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Magnet {
    /// From `xt=urn:btih:`.
    pub info_hash: InfoHash,
    /// `dn`, the display name: for showing only. The files are named from the info
    /// dictionary, never from this.
    pub name: Option<String>,
    /// `tr`, in link order, each once.
    pub trackers: Vec<String>,
    /// `x.pe` peer addresses as `HOST:PORT` (`[v6]:PORT` for IPv6), in link order, each once.
    pub peers: Vec<String>,
}

impl Magnet {
    /// A magnet link for `info_hash` with nothing else.
    pub fn new(info_hash: InfoHash) -> Self {
        Self {
            info_hash,
            name: None,
            trackers: Vec::new(),
            peers: Vec::new(),
        }
    }

    /// Parses a magnet link. Parameters other than `xt`, `dn`, `tr` and `x.pe` (and their
    /// numbered forms such as `tr.1`) are ignored, as are `xt` values other than
    /// `urn:btih:` (such as BEP 52's `urn:btmh:`). Values are percent-decoded, `+` read as a
    /// space.
    pub fn parse(link: &str) -> Result<Magnet, MagnetError> {
        if link.len() > MAX_MAGNET_LEN {
            return Err(MagnetError::TooLong {
                len: link.len(),
                max: MAX_MAGNET_LEN,
            });
        }
        let query = strip_prefix_ignore_case(link, "magnet:?").ok_or(MagnetError::NotAMagnet)?;
        let query = query.split('#').next().unwrap_or_default();
        let mut info_hash = None;
        let mut magnet = Magnet::new(InfoHash([0; 20]));
        for pair in query.split('&').filter(|pair| !pair.is_empty()) {
            let (key, raw) = pair.split_once('=').unwrap_or((pair, ""));
            match base_key(key) {
                "xt" => {
                    let Some(hash) = parse_xt(&decode(key, raw)?)? else {
                        continue;
                    };
                    match info_hash {
                        Some(first) if first != hash => {
                            return Err(MagnetError::ConflictingInfoHashes {
                                first,
                                second: hash,
                            });
                        }
                        _ => info_hash = Some(hash),
                    }
                }
                "dn" => magnet.name = Some(decode_lossy(raw)),
                "tr" => push_unique(&mut magnet.trackers, decode(key, raw)?, "tr")?,
                "x.pe" => {
                    let peer = decode(key, raw)?;
                    check_peer(&peer)?;
                    push_unique(&mut magnet.peers, peer, "x.pe")?;
                }
                _ => {}
            }
        }
        magnet.info_hash = info_hash.ok_or(MagnetError::MissingInfoHash)?;
        Ok(magnet)
    }
}

impl std::str::FromStr for Magnet {
    type Err = MagnetError;

    fn from_str(link: &str) -> Result<Self, Self::Err> {
        Magnet::parse(link)
    }
}

impl fmt::Display for Magnet {
    /// `magnet:?xt=urn:btih:<40 hex>`, then `dn`, every `tr` and every `x.pe`, each
    /// percent-encoded.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "magnet:?xt=urn:btih:{}", self.info_hash)?;
        if let Some(name) = &self.name {
            write!(f, "&dn={}", percent_encode_str(name))?;
        }
        for tracker in &self.trackers {
            write!(f, "&tr={}", percent_encode_str(tracker))?;
        }
        for peer in &self.peers {
            write!(f, "&x.pe={}", percent_encode_str(peer))?;
        }
        Ok(())
    }
}

impl Metainfo {
    /// The magnet link: info-hash, percent-encoded name, and every tracker of every tier once,
    /// in tier order, each percent-encoded.
    pub fn magnet(&self) -> String {
        let mut magnet = Magnet::new(self.info_hash);
        magnet.name = Some(self.info.name.clone());
        for url in self.trackers().into_iter().flatten() {
            if !magnet.trackers.contains(&url) {
                magnet.trackers.push(url);
            }
        }
        magnet.to_string()
    }

    /// The full metainfo of a magnet link, once its info dictionary has been fetched:
    /// `info_bytes` must hash to the link's info-hash and pass the checks of
    /// [`Metainfo::from_bytes`]; they are kept verbatim, so the info-hash stays theirs. The
    /// link's trackers become `announce` (the first) and, when there are several, an
    /// `announce-list` with one tier each, in link order.
    pub fn from_magnet(magnet: &Magnet, info_bytes: &[u8]) -> Result<Metainfo, MetainfoError> {
        if info_bytes.len() > MAX_METAINFO_SIZE {
            return Err(MetainfoError::TooLarge {
                size: info_bytes.len(),
                max: MAX_METAINFO_SIZE,
            });
        }
        let limits = Limits {
            max_depth: MAX_DEPTH,
            max_values: MAX_VALUES,
        };
        bencode::validate(info_bytes, limits)?;
        if info_bytes.first() != Some(&b'd') {
            return Err(MetainfoError::InfoNotADictionary);
        }
        let actual = InfoHash::of_info_bytes(info_bytes);
        if actual != magnet.info_hash {
            return Err(MetainfoError::InfoHashMismatch {
                expected: magnet.info_hash,
                actual,
            });
        }
        let raw: RawInfo = serde_bencode::from_bytes(info_bytes)
            .map_err(|err| MetainfoError::WrongType(err.to_string()))?;
        let info = validate::info_from_raw(raw)?;
        let mut meta = Metainfo::with_info_bytes(info, info_bytes.to_vec(), actual);
        meta.announce = magnet.trackers.first().cloned();
        if magnet.trackers.len() > 1 {
            meta.announce_list = magnet.trackers.iter().map(|t| vec![t.clone()]).collect();
        }
        Ok(meta)
    }
}

/// `xt.1` → `xt`: BEP 9 allows numbered parameters when there are several.
fn base_key(key: &str) -> &str {
    match key.split_once('.') {
        Some((base, number))
            if !number.is_empty() && number.bytes().all(|b| b.is_ascii_digit()) =>
        {
            base
        }
        _ => key,
    }
}

/// The info-hash of an `xt` value, `None` for a kind of `xt` other than `urn:btih:`.
fn parse_xt(value: &str) -> Result<Option<InfoHash>, MagnetError> {
    let Some(hash) = strip_prefix_ignore_case(value, "urn:btih:") else {
        return Ok(None);
    };
    let bad = || MagnetError::BadInfoHash(hash.chars().take(64).collect());
    match hash.len() {
        40 => InfoHash::from_hex(hash).map(Some).map_err(|_| bad()),
        32 => base32_20(hash)
            .map(|bytes| Some(InfoHash(bytes)))
            .ok_or_else(bad),
        _ => Err(bad()),
    }
}

/// Decodes 32 RFC 4648 base32 digits (either case, no padding) into 20 bytes. Written out
/// rather than pulled in as a crate: one fixed size, no padding, a dozen lines.
fn base32_20(text: &str) -> Option<[u8; 20]> {
    let mut out = [0u8; 20];
    let mut acc: u64 = 0;
    let mut bits = 0;
    let mut at = 0;
    for c in text.bytes() {
        let value = match c.to_ascii_uppercase() {
            c @ b'A'..=b'Z' => c - b'A',
            c @ b'2'..=b'7' => c - b'2' + 26,
            _ => return None,
        };
        acc = (acc << 5) | u64::from(value);
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            *out.get_mut(at)? = (acc >> bits) as u8;
            at += 1;
        }
    }
    (at == 20).then_some(out)
}

/// Checks `HOST:PORT` (`[v6]:PORT` for IPv6) with a port in 1..=65535.
fn check_peer(peer: &str) -> Result<(), MagnetError> {
    let bad = || MagnetError::BadPeer(peer.chars().take(128).collect());
    let (host, port) = peer.rsplit_once(':').ok_or_else(bad)?;
    let port: u16 = port.parse().map_err(|_| bad())?;
    let host_ok = match host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        Some(v6) => v6.parse::<std::net::Ipv6Addr>().is_ok(),
        None => {
            !host.is_empty()
                && host
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-' || b == b'_')
        }
    };
    if port == 0 || !host_ok {
        return Err(bad());
    }
    Ok(())
}

fn push_unique(
    list: &mut Vec<String>,
    value: String,
    key: &'static str,
) -> Result<(), MagnetError> {
    if value.is_empty() || list.contains(&value) {
        return Ok(());
    }
    if list.len() == MAX_MAGNET_LIST {
        return Err(MagnetError::TooMany {
            key,
            max: MAX_MAGNET_LIST,
        });
    }
    list.push(value);
    Ok(())
}

/// Percent-decodes a query value (`+` is a space) that must be UTF-8.
fn decode(key: &str, raw: &str) -> Result<String, MagnetError> {
    let spaced = raw.replace('+', " ");
    percent_decode_str(&spaced)
        .decode_utf8()
        .map(|text| text.into_owned())
        .map_err(|_| MagnetError::BadEncoding {
            key: key.chars().take(32).collect(),
        })
}

/// Percent-decodes a query value (`+` is a space), replacing invalid UTF-8.
fn decode_lossy(raw: &str) -> String {
    let spaced = raw.replace('+', " ");
    percent_decode_str(&spaced).decode_utf8_lossy().into_owned()
}

fn strip_prefix_ignore_case<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &text[prefix.len()..])
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const HEX: &str = "c12fe1c06bba254a9dc9f519b335aa7c1367a88a";

    #[test]
    fn parses_hex_name_trackers_and_peers() {
        let link = format!(
            "magnet:?xt=urn:btih:{HEX}&dn=Some+File%20%C3%A9&tr=http%3A%2F%2Ft.example%3A8000%2Fannounce&tr=udp://u.example:6969&x.pe=127.0.0.1:6881&x.pe=[::1]:6882&x.pe=seed.example:7000"
        );
        let magnet = Magnet::parse(&link).unwrap();
        assert_eq!(magnet.info_hash.to_hex(), HEX);
        assert_eq!(magnet.name.as_deref(), Some("Some File é"));
        assert_eq!(
            magnet.trackers,
            ["http://t.example:8000/announce", "udp://u.example:6969"]
        );
        assert_eq!(
            magnet.peers,
            ["127.0.0.1:6881", "[::1]:6882", "seed.example:7000"]
        );
    }

    #[test]
    fn parses_base32_hashes_in_either_case() {
        // The same 20 bytes as HEX, in base32.
        let base32 = "YEX6DQDLXISUVHOJ6UM3GNNKPQJWPKEK";
        let upper = Magnet::parse(&format!("magnet:?xt=urn:btih:{base32}")).unwrap();
        assert_eq!(upper.info_hash.to_hex(), HEX);
        let lower =
            Magnet::parse(&format!("MAGNET:?xt=URN:BTIH:{}", base32.to_lowercase())).unwrap();
        assert_eq!(lower.info_hash, upper.info_hash);
    }

    #[test]
    fn rejects_a_link_without_xt() {
        assert_eq!(
            Magnet::parse("magnet:?dn=x&tr=http://t/a"),
            Err(MagnetError::MissingInfoHash)
        );
        assert_eq!(Magnet::parse("magnet:?"), Err(MagnetError::MissingInfoHash));
        // A v2-only link has no info-hash we can use.
        assert_eq!(
            Magnet::parse(
                "magnet:?xt=urn:btmh:1220caf1e1c30e81cb361b9ee167c4aa64228a7fa4fa9f6105232b28ad099f3a302e"
            ),
            Err(MagnetError::MissingInfoHash)
        );
    }

    #[test]
    fn rejects_bad_hashes() {
        for hash in [
            "",
            "abc",
            "zz2fe1c06bba254a9dc9f519b335aa7c1367a88a",
            "c12fe1c06bba254a9dc9f519b335aa7c1367a88a00",
            "YEX6DQDLXISUVHOJ6UM3GNNKPQJWPKE1", // '1' is not base32
            "YEX6DQDLXISUVHOJ6UM3GNNKPQJWPKE=",
        ] {
            assert!(
                matches!(
                    Magnet::parse(&format!("magnet:?xt=urn:btih:{hash}")),
                    Err(MagnetError::BadInfoHash(_))
                ),
                "{hash}"
            );
        }
    }

    #[test]
    fn two_xt_must_agree() {
        let other = "0000000000000000000000000000000000000000";
        assert!(matches!(
            Magnet::parse(&format!("magnet:?xt=urn:btih:{HEX}&xt=urn:btih:{other}")),
            Err(MagnetError::ConflictingInfoHashes { .. })
        ));
        assert!(matches!(
            Magnet::parse(&format!(
                "magnet:?xt.1=urn:btih:{HEX}&xt.2=urn:btih:{other}"
            )),
            Err(MagnetError::ConflictingInfoHashes { .. })
        ));
        // The same hash twice (hex and base32) is fine, and so is a v2 hash beside it.
        let magnet = Magnet::parse(&format!(
            "magnet:?xt=urn:btih:{HEX}&xt=urn:btih:YEX6DQDLXISUVHOJ6UM3GNNKPQJWPKEK&xt=urn:btmh:1220abcd"
        ))
        .unwrap();
        assert_eq!(magnet.info_hash.to_hex(), HEX);
    }

    #[test]
    fn rejects_other_schemes_and_oversized_links() {
        assert_eq!(Magnet::parse("http://x/"), Err(MagnetError::NotAMagnet));
        assert_eq!(Magnet::parse("magnet:"), Err(MagnetError::NotAMagnet));
        assert_eq!(Magnet::parse("mag"), Err(MagnetError::NotAMagnet));
        assert_eq!(
            Magnet::parse("magnet:\u{e9}?"),
            Err(MagnetError::NotAMagnet)
        );
        let long = format!(
            "magnet:?xt=urn:btih:{HEX}&dn={}",
            "a".repeat(MAX_MAGNET_LEN)
        );
        assert!(matches!(
            Magnet::parse(&long),
            Err(MagnetError::TooLong { .. })
        ));
    }

    #[test]
    fn rejects_bad_peers_and_encodings() {
        for peer in [
            "127.0.0.1",
            "127.0.0.1:0",
            "127.0.0.1:70000",
            ":80",
            "[::1:80",
            "a b:80",
            "[zz]:1",
        ] {
            assert!(
                matches!(
                    Magnet::parse(&format!("magnet:?xt=urn:btih:{HEX}&x.pe={peer}")),
                    Err(MagnetError::BadPeer(_))
                ),
                "{peer}"
            );
        }
        assert_eq!(
            Magnet::parse(&format!("magnet:?xt=urn:btih:{HEX}&tr=%FF")),
            Err(MagnetError::BadEncoding { key: "tr".into() })
        );
        // A name is only shown: invalid UTF-8 is replaced, not an error.
        let magnet = Magnet::parse(&format!("magnet:?xt=urn:btih:{HEX}&dn=%FFa")).unwrap();
        assert_eq!(magnet.name.as_deref(), Some("\u{fffd}a"));
    }

    #[test]
    fn bounds_the_number_of_trackers_and_skips_duplicates() {
        let mut link = format!("magnet:?xt=urn:btih:{HEX}&tr=http://a/&tr=http://a/&tr=");
        let magnet = Magnet::parse(&link).unwrap();
        assert_eq!(magnet.trackers, ["http://a/"]);
        for i in 0..MAX_MAGNET_LIST {
            link.push_str(&format!("&tr=http://t{i}/"));
        }
        assert_eq!(
            Magnet::parse(&link),
            Err(MagnetError::TooMany {
                key: "tr",
                max: MAX_MAGNET_LIST
            })
        );
    }

    #[test]
    fn unknown_parameters_and_fragments_are_ignored() {
        let magnet = Magnet::parse(&format!(
            "magnet:?xl=10&xt=urn:btih:{HEX}&ws=http://w/&&junk#frag"
        ))
        .unwrap();
        assert_eq!(magnet, Magnet::new(InfoHash::from_hex(HEX).unwrap()));
    }

    #[test]
    fn base32_decoder_matches_rfc4648() {
        // RFC 4648 test vector "foobar" is 10 bytes; ours is fixed at 20: use a known pair.
        let bytes = base32_20("AAAQEAYEAUDAOCAJBIFQYDIOB4IBCEQT").unwrap();
        let expected: Vec<u8> = (0..20).collect();
        assert_eq!(bytes.to_vec(), expected);
    }

    fn arb_text() -> impl Strategy<Value = String> {
        proptest::collection::vec(any::<char>(), 1..20).prop_map(|c| c.into_iter().collect())
    }

    fn arb_peer() -> impl Strategy<Value = String> {
        prop_oneof![
            (any::<[u8; 4]>(), 1u16..)
                .prop_map(|(ip, port)| std::net::SocketAddr::from((ip, port)).to_string()),
            (any::<[u8; 16]>(), 1u16..)
                .prop_map(|(ip, port)| std::net::SocketAddr::from((ip, port)).to_string()),
            ("[a-z][a-z0-9-]{0,10}(\\.[a-z]{2,5})?", 1u16..)
                .prop_map(|(host, port)| format!("{host}:{port}")),
        ]
    }

    proptest! {
        #[test]
        fn display_then_parse_is_identity(
            hash in any::<[u8; 20]>(),
            name in proptest::option::of(".*"),
            trackers in proptest::collection::vec(arb_text(), 0..5),
            peers in proptest::collection::vec(arb_peer(), 0..5),
        ) {
            let mut magnet = Magnet::new(InfoHash(hash));
            magnet.name = name;
            for tracker in trackers {
                push_unique(&mut magnet.trackers, tracker, "tr").unwrap();
            }
            for peer in peers {
                push_unique(&mut magnet.peers, peer, "x.pe").unwrap();
            }
            prop_assert_eq!(Magnet::parse(&magnet.to_string()).unwrap(), magnet);
        }

        #[test]
        fn arbitrary_links_never_panic(tail in ".{0,200}") {
            let _ = Magnet::parse(&format!("magnet:?{tail}"));
            let _ = Magnet::parse(&tail);
        }
    }
}
