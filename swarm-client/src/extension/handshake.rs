//! The BEP 10 extended handshake: extended message 0, a bencoded dictionary each side sends
//! once after the BitTorrent handshake (and may send again to change its extension ids).
//!
//! `m` maps extension names to the ids the *sender* wants to receive them with; id 0 turns
//! an extension off. Unknown keys and unknown extensions are ignored, as BEP 10 asks; a
//! handshake that is not a dictionary, is too large, or has a known key of the wrong type is
//! a typed error.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use bytes::Bytes;
use metainfo::bencode::{self, BencodeError, Limits, Value, write_bytes, write_int};

use super::ExtensionIds;

/// Largest extended handshake we decode: 16 KiB, some fifty times a real one.
pub const MAX_HANDSHAKE_LEN: usize = 16 * 1024;

/// What we call ourselves in `v`.
pub const OUR_CLIENT: &str = concat!("swarm ", env!("CARGO_PKG_VERSION"));

/// Longest client name kept from a peer's `v` (in characters); the rest is cut.
const MAX_CLIENT_LEN: usize = 64;

/// Bounds on the bencode of a handshake: shallow, few values.
const LIMITS: Limits = Limits {
    max_depth: 8,
    max_values: 2048,
};

/// Why a peer's extended handshake was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HandshakeError {
    #[error("extended handshake is {len} bytes, more than the {max}-byte limit")]
    TooLarge { len: usize, max: usize },
    #[error("extended handshake is not valid bencode: {0}")]
    Bencode(#[from] BencodeError),
    #[error("extended handshake is a {0}, not a dictionary")]
    NotADictionary(&'static str),
    #[error("extended handshake key `{key}` is a {found}, expected {expected}")]
    WrongType {
        key: &'static str,
        found: &'static str,
        expected: &'static str,
    },
    #[error("extended handshake key `{key}` has an invalid value ({value})")]
    BadValue { key: &'static str, value: String },
}

/// An extended handshake, ours or a peer's.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExtendedHandshake {
    /// `m`: the ids the sender receives each extension with (`None`: not supported, or
    /// turned off with id 0).
    pub extensions: ExtensionIds,
    /// `v`: client name and version, for display (cut to 64 characters, lossy UTF-8).
    pub client: Option<String>,
    /// `reqq`: how many outstanding block requests the sender queues before dropping some.
    pub reqq: Option<u32>,
    /// `yourip`: the address the sender sees us at.
    pub yourip: Option<IpAddr>,
    /// `metadata_size` (BEP 9): the info dictionary's size in bytes, when the sender has it.
    /// Not bounded here; [`super::MetadataFetch::add_peer`] checks it.
    pub metadata_size: Option<u64>,
    /// `p`: the sender's TCP listen port (port 0 reads as `None`). Use it, not the
    /// connection's source port, to tell others about a peer that connected to us.
    pub listen_port: Option<u16>,
}

impl ExtendedHandshake {
    /// Our handshake: our extension ids ([`super::OUR_IDS`]), `v` = [`OUR_CLIENT`], and
    /// `reqq`. Set `metadata_size` when we have the info dictionary, `listen_port` when we
    /// listen, and `yourip` to the peer's address as we see it.
    pub fn ours(reqq: u32) -> Self {
        Self {
            extensions: super::OUR_IDS,
            client: Some(OUR_CLIENT.to_owned()),
            reqq: Some(reqq),
            ..Self::default()
        }
    }

    /// The bencoded dictionary (keys sorted), the payload of extended message 0.
    pub fn encode(&self) -> Bytes {
        let mut out = Vec::with_capacity(128);
        out.push(b'd');
        write_bytes(&mut out, b"m");
        self.extensions.encode(&mut out);
        if let Some(size) = self.metadata_size {
            write_bytes(&mut out, b"metadata_size");
            write_int(&mut out, i64::try_from(size).unwrap_or(i64::MAX));
        }
        if let Some(port) = self.listen_port {
            write_bytes(&mut out, b"p");
            write_int(&mut out, port.into());
        }
        if let Some(reqq) = self.reqq {
            write_bytes(&mut out, b"reqq");
            write_int(&mut out, reqq.into());
        }
        if let Some(client) = &self.client {
            write_bytes(&mut out, b"v");
            write_bytes(&mut out, client.as_bytes());
        }
        if let Some(ip) = self.yourip {
            write_bytes(&mut out, b"yourip");
            match ip {
                IpAddr::V4(v4) => write_bytes(&mut out, &v4.octets()),
                IpAddr::V6(v6) => write_bytes(&mut out, &v6.octets()),
            }
        }
        out.push(b'e');
        Bytes::from(out)
    }

    /// Decodes a peer's handshake, bounded by [`MAX_HANDSHAKE_LEN`].
    pub fn decode(payload: &[u8]) -> Result<Self, HandshakeError> {
        if payload.len() > MAX_HANDSHAKE_LEN {
            return Err(HandshakeError::TooLarge {
                len: payload.len(),
                max: MAX_HANDSHAKE_LEN,
            });
        }
        let root = bencode::parse(payload, LIMITS)?;
        if !matches!(root, Value::Dict(_)) {
            return Err(HandshakeError::NotADictionary(root.kind()));
        }
        Ok(Self {
            extensions: match root.get(b"m") {
                None => ExtensionIds::default(),
                Some(m) => ExtensionIds::decode(m)?,
            },
            client: root
                .get(b"v")
                .map(|v| bytes_of("v", v))
                .transpose()?
                .map(client_name),
            reqq: root
                .get(b"reqq")
                .map(|v| int_in("reqq", v, 1, u32::MAX.into()))
                .transpose()?
                .map(|n| n as u32),
            yourip: root.get(b"yourip").map(ip_of).transpose()?,
            metadata_size: root
                .get(b"metadata_size")
                .map(|v| int_in("metadata_size", v, 0, i64::MAX))
                .transpose()?
                .map(|n| n as u64),
            listen_port: root
                .get(b"p")
                .map(|v| int_in("p", v, 0, u16::MAX.into()))
                .transpose()?
                .and_then(|port| u16::try_from(port).ok())
                .filter(|port| *port != 0),
        })
    }
}

impl ExtensionIds {
    /// Writes the `m` dictionary (keys sorted; absent extensions left out).
    fn encode(&self, out: &mut Vec<u8>) {
        out.push(b'd');
        for (name, id) in [
            (super::UT_METADATA, self.ut_metadata),
            (super::UT_PEX, self.ut_pex),
        ] {
            if let Some(id) = id {
                write_bytes(out, name.as_bytes());
                write_int(out, id.into());
            }
        }
        out.push(b'e');
    }

    /// Reads `m`: each known extension's id, 0 meaning off; other entries are ignored.
    fn decode(m: &Value<'_>) -> Result<Self, HandshakeError> {
        if !matches!(m, Value::Dict(_)) {
            return Err(wrong_type("m", m, "a dictionary"));
        }
        let id = |name: &'static str| -> Result<Option<u8>, HandshakeError> {
            m.get(name.as_bytes())
                .map(|v| int_in(name, v, 0, u8::MAX.into()))
                .transpose()
                .map(|id| {
                    id.and_then(|id| u8::try_from(id).ok())
                        .filter(|id| *id != 0)
                })
        };
        Ok(Self {
            ut_metadata: id(super::UT_METADATA)?,
            ut_pex: id(super::UT_PEX)?,
        })
    }
}

fn wrong_type(key: &'static str, value: &Value<'_>, expected: &'static str) -> HandshakeError {
    HandshakeError::WrongType {
        key,
        found: value.kind(),
        expected,
    }
}

fn bytes_of<'a>(key: &'static str, value: &Value<'a>) -> Result<&'a [u8], HandshakeError> {
    match value {
        Value::Bytes(bytes) => Ok(bytes),
        other => Err(wrong_type(key, other, "a string")),
    }
}

/// An integer in `min..=max`.
fn int_in(key: &'static str, value: &Value<'_>, min: i64, max: i64) -> Result<i64, HandshakeError> {
    match value {
        Value::Int(n) if (min..=max).contains(n) => Ok(*n),
        Value::Int(n) => Err(HandshakeError::BadValue {
            key,
            value: n.to_string(),
        }),
        other => Err(wrong_type(key, other, "an integer")),
    }
}

/// `yourip`: 4 bytes (IPv4) or 16 bytes (IPv6).
fn ip_of(value: &Value<'_>) -> Result<IpAddr, HandshakeError> {
    let bytes = bytes_of("yourip", value)?;
    if let Ok(v4) = <[u8; 4]>::try_from(bytes) {
        Ok(IpAddr::V4(Ipv4Addr::from(v4)))
    } else if let Ok(v6) = <[u8; 16]>::try_from(bytes) {
        Ok(IpAddr::V6(Ipv6Addr::from(v6)))
    } else {
        Err(HandshakeError::BadValue {
            key: "yourip",
            value: format!("{} bytes", bytes.len()),
        })
    }
}

/// A peer's `v`, lossy UTF-8 without control characters, cut to [`MAX_CLIENT_LEN`].
fn client_name(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes)
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_CLIENT_LEN)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extension::OUR_IDS;

    #[test]
    fn ours_encodes_sorted_and_round_trips() {
        let mut ours = ExtendedHandshake::ours(500);
        ours.metadata_size = Some(31_337);
        ours.listen_port = Some(6881);
        ours.yourip = Some("10.0.0.7".parse().unwrap());
        let bytes = ours.encode();
        let expected = format!(
            "d1:md11:ut_metadatai{}e6:ut_pexi{}ee13:metadata_sizei31337e1:pi6881e4:reqqi500e1:v{}:{}6:yourip4:\x0a\x00\x00\x07e",
            OUR_IDS.ut_metadata.unwrap(),
            OUR_IDS.ut_pex.unwrap(),
            OUR_CLIENT.len(),
            OUR_CLIENT
        );
        assert_eq!(&bytes[..], expected.as_bytes());
        assert!(OUR_CLIENT.starts_with("swarm "));
        assert_eq!(ExtendedHandshake::decode(&bytes).unwrap(), ours);
    }

    #[test]
    fn minimal_handshake_leaves_out_what_we_lack() {
        let bytes = ExtendedHandshake::ours(250).encode();
        let text = String::from_utf8_lossy(&bytes);
        assert!(
            !text.contains("metadata_size") && !text.contains("1:p") && !text.contains("yourip")
        );
    }

    #[test]
    fn reads_a_libtorrent_style_handshake_and_ignores_unknown_keys() {
        let payload = b"d12:complete_agoi-1e1:md11:lt_donthavei7e10:share_modei8e11:upload_onlyi3e12:ut_holepunchi4e11:ut_metadatai2e6:ut_pexi1ee13:metadata_sizei5051e1:pi6881e4:reqqi500e11:upload_onlyi0e1:v18:libtorrent/2.0.8.06:yourip4:\x7f\x00\x00\x01e";
        let theirs = ExtendedHandshake::decode(payload).unwrap();
        assert_eq!(
            theirs.extensions,
            ExtensionIds {
                ut_metadata: Some(2),
                ut_pex: Some(1)
            }
        );
        assert_eq!(theirs.client.as_deref(), Some("libtorrent/2.0.8.0"));
        assert_eq!(theirs.metadata_size, Some(5051));
        assert_eq!(theirs.listen_port, Some(6881));
        assert_eq!(theirs.reqq, Some(500));
        assert_eq!(theirs.yourip, Some("127.0.0.1".parse().unwrap()));
    }

    #[test]
    fn id_zero_turns_an_extension_off() {
        let theirs = ExtendedHandshake::decode(b"d1:md11:ut_metadatai0e6:ut_pexi3eee").unwrap();
        assert_eq!(theirs.extensions.ut_metadata, None);
        assert_eq!(theirs.extensions.ut_pex, Some(3));
        assert_eq!(
            ExtendedHandshake::decode(b"de").unwrap(),
            ExtendedHandshake::default()
        );
    }

    #[test]
    fn port_zero_is_no_port() {
        let theirs = ExtendedHandshake::decode(b"d1:pi0ee").unwrap();
        assert_eq!(theirs.listen_port, None);
    }

    #[test]
    fn rejects_what_is_not_a_dictionary() {
        assert_eq!(
            ExtendedHandshake::decode(b"li1ee"),
            Err(HandshakeError::NotADictionary("list"))
        );
        assert!(matches!(
            ExtendedHandshake::decode(b"d1:m"),
            Err(HandshakeError::Bencode(_))
        ));
        assert!(matches!(
            ExtendedHandshake::decode(b""),
            Err(HandshakeError::Bencode(_))
        ));
        assert!(matches!(
            ExtendedHandshake::decode(b"dee"),
            Err(HandshakeError::Bencode(_))
        ));
    }

    #[test]
    fn rejects_a_huge_handshake_before_parsing_it() {
        let mut payload = b"d1:v".to_vec();
        let filler = vec![b'x'; MAX_HANDSHAKE_LEN];
        payload.extend_from_slice(format!("{}:", filler.len()).as_bytes());
        payload.extend_from_slice(&filler);
        payload.push(b'e');
        assert!(matches!(
            ExtendedHandshake::decode(&payload),
            Err(HandshakeError::TooLarge { .. })
        ));
    }

    #[test]
    fn rejects_known_keys_of_the_wrong_type_or_range() {
        for (payload, key) in [
            (&b"d1:mi1ee"[..], "m"),
            (b"d1:md11:ut_metadata1:xee", "ut_metadata"),
            (b"d1:md6:ut_pexi256eee", "ut_pex"),
            (b"d1:md6:ut_pexi-1eee", "ut_pex"),
            (b"d1:vi3ee", "v"),
            (b"d4:reqq3:abce", "reqq"),
            (b"d4:reqqi0ee", "reqq"),
            (b"d13:metadata_sizei-5ee", "metadata_size"),
            (b"d1:pi65536ee", "p"),
            (b"d6:yourip3:abce", "yourip"),
        ] {
            let error = ExtendedHandshake::decode(payload).unwrap_err();
            let named = match &error {
                HandshakeError::WrongType { key, .. } | HandshakeError::BadValue { key, .. } => {
                    *key
                }
                other => panic!("{other:?}"),
            };
            assert_eq!(named, key, "{}", String::from_utf8_lossy(payload));
        }
    }

    #[test]
    fn unknown_extensions_of_any_type_are_ignored() {
        let theirs =
            ExtendedHandshake::decode(b"d1:md6:lt_fooli1ee6:ut_pexi9ee3:zzzd1:ai1eee").unwrap();
        assert_eq!(theirs.extensions.ut_pex, Some(9));
    }

    #[test]
    fn client_name_is_cleaned_and_cut() {
        let long = format!("d1:v{}:{}e", 200, "a\u{7}".repeat(100));
        let theirs = ExtendedHandshake::decode(long.as_bytes()).unwrap();
        assert_eq!(theirs.client.unwrap(), "a".repeat(64));
        let theirs = ExtendedHandshake::decode(b"d1:v3:\xff\xfeAe").unwrap();
        assert_eq!(theirs.client.unwrap(), "\u{fffd}\u{fffd}A");
    }

    #[test]
    fn yourip_may_be_ipv6() {
        let ours = ExtendedHandshake {
            yourip: Some("::1".parse().unwrap()),
            ..ExtendedHandshake::default()
        };
        assert_eq!(ExtendedHandshake::decode(&ours.encode()).unwrap(), ours);
    }
}
