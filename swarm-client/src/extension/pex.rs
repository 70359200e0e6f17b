//! BEP 11 `ut_pex` messages: the peers a peer connected to (`added`, with one flag byte
//! each in `added.f`) and dropped since its last message, IPv4 in compact 6-byte form and
//! IPv6 (`added6`, `added6.f`, `dropped6`) in 18-byte form.
//!
//! Decoding is bounded ([`MAX_PEX_LEN`], [`MAX_PEX_ENTRIES`] per list) and keeps every
//! well-formed address; [`PexMessage::retain_usable`] then removes those we must not dial
//! (our own, port 0, unspecified, multicast, local addresses from a remote peer).

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

use bytes::Bytes;
use metainfo::bencode::{self, BencodeError, Limits, Value, write_bytes};

/// Largest PEX payload decoded: 64 KiB (the codec's bound on extended messages).
pub const MAX_PEX_LEN: usize = 64 * 1024;

/// Most entries one list may hold; a message with more is refused. Real clients send at
/// most 50 (us) or 100 (libtorrent) added peers per message.
pub const MAX_PEX_ENTRIES: usize = 1000;

/// Most added peers we put in one message (as libtorrent sends at most 100, we keep half).
pub const MAX_ADDED_PER_MESSAGE: usize = 50;

/// Most dropped peers we put in one message.
pub const MAX_DROPPED_PER_MESSAGE: usize = 50;

const LIMITS: Limits = Limits {
    max_depth: 4,
    max_values: 256,
};

const V4_LEN: usize = 6;
const V6_LEN: usize = 18;

/// The `added.f` flag bits (BEP 11).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct PexFlags(pub u8);

impl PexFlags {
    /// The peer prefers encrypted connections.
    pub const ENCRYPTION: u8 = 0x01;
    /// The peer is a seed (or upload-only).
    pub const SEED: u8 = 0x02;
    /// The peer supports uTP.
    pub const UTP: u8 = 0x04;
    /// The peer supports the ut_holepunch extension.
    pub const HOLEPUNCH: u8 = 0x08;
    /// The peer accepted an outgoing connection (it is reachable).
    pub const REACHABLE: u8 = 0x10;

    /// Whether the seed flag is set.
    pub fn is_seed(self) -> bool {
        self.0 & Self::SEED != 0
    }
}

/// A peer as PEX tells of it: its listen address and flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PexPeer {
    pub addr: SocketAddr,
    pub flags: PexFlags,
}

/// One `ut_pex` message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PexMessage {
    pub added: Vec<PexPeer>,
    pub dropped: Vec<SocketAddr>,
}

/// Why a PEX message was refused; the peer broke the protocol.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PexError {
    #[error("PEX message is {len} bytes, more than the {max}-byte limit")]
    TooLarge { len: usize, max: usize },
    #[error("PEX message is not valid bencode: {0}")]
    Bencode(#[from] BencodeError),
    #[error("PEX message is a {0}, not a dictionary")]
    NotADictionary(&'static str),
    #[error("PEX key `{key}` is a {found}, expected a string")]
    WrongType {
        key: &'static str,
        found: &'static str,
    },
    #[error("PEX key `{key}` is {len} bytes, not a multiple of {entry}")]
    BadLength {
        key: &'static str,
        len: usize,
        entry: usize,
    },
    #[error("PEX key `{key}` lists {count} peers, more than {max}")]
    TooManyPeers {
        key: &'static str,
        count: usize,
        max: usize,
    },
}

impl PexMessage {
    /// Whether there is nothing to tell.
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.dropped.is_empty()
    }

    /// Decodes a payload (after the extended id). Missing keys are empty lists; flags that
    /// are missing or short read as no flags; unknown keys are ignored.
    pub fn decode(payload: &[u8]) -> Result<Self, PexError> {
        if payload.len() > MAX_PEX_LEN {
            return Err(PexError::TooLarge {
                len: payload.len(),
                max: MAX_PEX_LEN,
            });
        }
        let root = bencode::parse(payload, LIMITS)?;
        if !matches!(root, Value::Dict(_)) {
            return Err(PexError::NotADictionary(root.kind()));
        }
        let mut message = PexMessage::default();
        for (key, flags_key, entry) in
            [("added", "added.f", V4_LEN), ("added6", "added6.f", V6_LEN)]
        {
            let flags = string(&root, flags_key)?;
            for (i, addr) in addresses(&root, key, entry)?.enumerate() {
                let flags = PexFlags(flags.get(i).copied().unwrap_or(0));
                message.added.push(PexPeer { addr, flags });
            }
        }
        for (key, entry) in [("dropped", V4_LEN), ("dropped6", V6_LEN)] {
            message.dropped.extend(addresses(&root, key, entry)?);
        }
        Ok(message)
    }

    /// The payload (after the extended id): a dictionary with keys sorted, IPv4 and IPv6
    /// peers in their own lists; empty lists are written as empty strings (as libtorrent
    /// does), so every key is always present.
    pub fn encode(&self) -> Bytes {
        let mut lists: [Vec<u8>; 6] = Default::default();
        let [added, added_f, added6, added6_f, dropped, dropped6] = &mut lists;
        for peer in &self.added {
            match peer.addr {
                SocketAddr::V4(v4) => {
                    put_v4(added, v4);
                    added_f.push(peer.flags.0);
                }
                SocketAddr::V6(v6) => {
                    put_v6(added6, v6);
                    added6_f.push(peer.flags.0);
                }
            }
        }
        for addr in &self.dropped {
            match addr {
                SocketAddr::V4(v4) => put_v4(dropped, *v4),
                SocketAddr::V6(v6) => put_v6(dropped6, *v6),
            }
        }
        let keys: [&[u8]; 6] = [
            b"added",
            b"added.f",
            b"added6",
            b"added6.f",
            b"dropped",
            b"dropped6",
        ];
        let mut out = Vec::with_capacity(64 + lists.iter().map(Vec::len).sum::<usize>());
        out.push(b'd');
        for (key, list) in keys.iter().zip(&lists) {
            write_bytes(&mut out, key);
            write_bytes(&mut out, list);
        }
        out.push(b'e');
        Bytes::from(out)
    }

    /// Keeps only the added peers we may dial: not port 0, not unspecified, multicast or
    /// broadcast, not one of `ours` (our listen addresses as others see them), and a local
    /// address (loopback, private, link-local) only when `source`, the peer that sent the
    /// message, is itself local — a remote peer must not steer us to our own network.
    /// IPv4-mapped IPv6 addresses become IPv4, and an address listed twice is kept once.
    /// Returns how many were removed.
    pub fn retain_usable(&mut self, source: IpAddr, ours: &[SocketAddr]) -> usize {
        let before = self.added.len();
        for peer in &mut self.added {
            peer.addr = canonical(peer.addr);
        }
        let source_is_local = is_local(source.to_canonical());
        let mut seen = HashSet::with_capacity(self.added.len());
        self.added.retain(|peer| {
            let ip = peer.addr.ip();
            peer.addr.port() != 0
                && is_dialable(ip)
                && (source_is_local || !is_local(ip))
                && !ours.iter().any(|our| canonical(*our) == peer.addr)
                && seen.insert(peer.addr)
        });
        before - self.added.len()
    }
}

/// The string at `key`, empty when absent.
fn string<'a>(root: &Value<'a>, key: &'static str) -> Result<&'a [u8], PexError> {
    match root.get(key.as_bytes()) {
        None => Ok(&[]),
        Some(Value::Bytes(bytes)) => Ok(bytes),
        Some(other) => Err(PexError::WrongType {
            key,
            found: other.kind(),
        }),
    }
}

/// The compact addresses at `key`, each `entry` bytes long.
fn addresses<'a>(
    root: &Value<'a>,
    key: &'static str,
    entry: usize,
) -> Result<impl Iterator<Item = SocketAddr> + 'a, PexError> {
    let bytes = string(root, key)?;
    if bytes.len() % entry != 0 {
        return Err(PexError::BadLength {
            key,
            len: bytes.len(),
            entry,
        });
    }
    let count = bytes.len() / entry;
    if count > MAX_PEX_ENTRIES {
        return Err(PexError::TooManyPeers {
            key,
            count,
            max: MAX_PEX_ENTRIES,
        });
    }
    Ok(bytes.chunks_exact(entry).map(move |chunk| {
        let (ip, port) = chunk.split_at(entry - 2);
        let port = u16::from_be_bytes([port[0], port[1]]);
        let ip = match <[u8; 4]>::try_from(ip) {
            Ok(v4) => IpAddr::V4(Ipv4Addr::from(v4)),
            Err(_) => IpAddr::V6(Ipv6Addr::from(<[u8; 16]>::try_from(ip).unwrap_or_default())),
        };
        SocketAddr::new(ip, port)
    }))
}

fn put_v4(out: &mut Vec<u8>, addr: SocketAddrV4) {
    out.extend_from_slice(&addr.ip().octets());
    out.extend_from_slice(&addr.port().to_be_bytes());
}

fn put_v6(out: &mut Vec<u8>, addr: SocketAddrV6) {
    out.extend_from_slice(&addr.ip().octets());
    out.extend_from_slice(&addr.port().to_be_bytes());
}

/// IPv4-mapped IPv6 as plain IPv4; anything else as is.
fn canonical(addr: SocketAddr) -> SocketAddr {
    SocketAddr::new(addr.ip().to_canonical(), addr.port())
}

/// Not an address one can open a connection to.
fn is_dialable(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => !(v4.is_unspecified() || v4.is_multicast() || v4.is_broadcast()),
        IpAddr::V6(v6) => !(v6.is_unspecified() || v6.is_multicast()),
    }
}

/// Loopback, private (RFC 1918, unique local) or link-local.
fn is_local(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_loopback() || v4.is_private() || v4.is_link_local(),
        IpAddr::V6(v6) => v6.is_loopback() || v6.is_unique_local() || v6.is_unicast_link_local(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn peer(addr: &str, flags: u8) -> PexPeer {
        PexPeer {
            addr: addr.parse().unwrap(),
            flags: PexFlags(flags),
        }
    }

    #[test]
    fn encodes_both_families_with_sorted_keys() {
        let message = PexMessage {
            added: vec![peer("1.2.3.4:6881", PexFlags::SEED), peer("[::1]:80", 0)],
            dropped: vec!["5.6.7.8:258".parse().unwrap()],
        };
        let encoded = message.encode();
        let mut expected = b"d5:added6:\x01\x02\x03\x04\x1a\xe17:added.f1:\x026:added618:".to_vec();
        expected.extend_from_slice(&[0; 15]);
        expected.extend_from_slice(&[1, 0, 80]);
        expected
            .extend_from_slice(b"8:added6.f1:\x007:dropped6:\x05\x06\x07\x08\x01\x028:dropped60:e");
        assert_eq!(&encoded[..], &expected[..]);
        assert_eq!(PexMessage::decode(&encoded).unwrap(), message);
    }

    #[test]
    fn missing_keys_and_flags_read_as_empty() {
        assert_eq!(PexMessage::decode(b"de").unwrap(), PexMessage::default());
        let message = PexMessage::decode(
            b"d5:added12:\x01\x02\x03\x04\x00\x50\x05\x06\x07\x08\x00\x517:added.f1:\x02e",
        )
        .unwrap();
        assert_eq!(
            message.added,
            vec![peer("1.2.3.4:80", PexFlags::SEED), peer("5.6.7.8:81", 0)]
        );
    }

    #[test]
    fn rejects_malformed_messages() {
        assert_eq!(
            PexMessage::decode(b"le"),
            Err(PexError::NotADictionary("list"))
        );
        assert!(matches!(
            PexMessage::decode(b"d5:added"),
            Err(PexError::Bencode(_))
        ));
        assert_eq!(
            PexMessage::decode(b"d5:addedi1ee"),
            Err(PexError::WrongType {
                key: "added",
                found: "integer"
            })
        );
        assert_eq!(
            PexMessage::decode(b"d7:dropped5:12345e"),
            Err(PexError::BadLength {
                key: "dropped",
                len: 5,
                entry: 6
            })
        );
        assert_eq!(
            PexMessage::decode(b"d6:added66:123456e"),
            Err(PexError::BadLength {
                key: "added6",
                len: 6,
                entry: 18
            })
        );
    }

    #[test]
    fn rejects_thousands_of_peers() {
        let count = MAX_PEX_ENTRIES + 1;
        let mut payload = format!("d5:added{}:", count * 6).into_bytes();
        payload.extend(std::iter::repeat_n([1, 2, 3, 4, 0, 80], count).flatten());
        payload.push(b'e');
        assert_eq!(
            PexMessage::decode(&payload),
            Err(PexError::TooManyPeers {
                key: "added",
                count,
                max: MAX_PEX_ENTRIES
            })
        );
        let huge = vec![b'x'; MAX_PEX_LEN + 1];
        assert!(matches!(
            PexMessage::decode(&huge),
            Err(PexError::TooLarge { .. })
        ));
    }

    #[test]
    fn filters_our_address_port_zero_and_undialable_ones() {
        let mut message = PexMessage {
            added: vec![
                peer("8.8.8.8:6881", 0),
                peer("8.8.8.8:0", 0),
                peer("9.9.9.9:7000", 0), // ours
                peer("0.0.0.0:80", 0),
                peer("224.0.0.1:80", 0),
                peer("255.255.255.255:80", 0),
                peer("[::]:80", 0),
                peer("[ff02::1]:80", 0),
                peer("[::ffff:9.9.9.9]:7000", 0), // ours, IPv4-mapped
                peer("[2001:db8::1]:80", 0),
            ],
            dropped: vec![],
        };
        let removed = message.retain_usable(
            "8.8.4.4".parse().unwrap(),
            &["9.9.9.9:7000".parse().unwrap()],
        );
        assert_eq!(removed, 8);
        assert_eq!(
            message.added,
            vec![peer("8.8.8.8:6881", 0), peer("[2001:db8::1]:80", 0)]
        );
    }

    #[test]
    fn an_address_listed_twice_is_kept_once() {
        let mut message = PexMessage {
            added: vec![
                peer("8.8.8.8:6881", 0),
                peer("[::ffff:8.8.8.8]:6881", PexFlags::SEED),
                peer("8.8.8.8:6882", 0),
            ],
            dropped: vec![],
        };
        assert_eq!(message.retain_usable("1.1.1.1".parse().unwrap(), &[]), 1);
        assert_eq!(
            message.added,
            vec![peer("8.8.8.8:6881", 0), peer("8.8.8.8:6882", 0)]
        );
    }

    #[test]
    fn local_addresses_only_from_a_local_peer() {
        let local = PexMessage {
            added: vec![
                peer("127.0.0.1:6881", 0),
                peer("192.168.1.5:6881", 0),
                peer("10.1.2.3:6881", 0),
                peer("169.254.0.9:6881", 0),
                peer("[fe80::1]:6881", 0),
                peer("[fd00::1]:6881", 0),
                peer("[::1]:6881", 0),
            ],
            dropped: vec![],
        };
        let mut from_remote = local.clone();
        assert_eq!(
            from_remote.retain_usable("8.8.8.8".parse().unwrap(), &[]),
            7
        );
        let mut from_loopback = local.clone();
        assert_eq!(
            from_loopback.retain_usable("127.0.0.1".parse().unwrap(), &[]),
            0
        );
        assert_eq!(from_loopback, local);
    }

    fn arb_addr() -> impl Strategy<Value = SocketAddr> {
        prop_oneof![
            (any::<[u8; 4]>(), any::<u16>()).prop_map(|(ip, port)| SocketAddr::from((ip, port))),
            (any::<[u8; 16]>(), any::<u16>()).prop_map(|(ip, port)| SocketAddr::from((ip, port))),
        ]
    }

    proptest! {
        #[test]
        fn decode_inverts_encode(
            added in proptest::collection::vec((arb_addr(), any::<u8>()), 0..60),
            dropped in proptest::collection::vec(arb_addr(), 0..60),
        ) {
            let message = PexMessage {
                added: added.into_iter().map(|(addr, flags)| PexPeer { addr, flags: PexFlags(flags) }).collect(),
                dropped,
            };
            let decoded = PexMessage::decode(&message.encode()).unwrap();
            // Encoding groups IPv4 before IPv6; compare per family.
            let family = |v6: bool| move |p: &&PexPeer| p.addr.is_ipv6() == v6;
            for v6 in [false, true] {
                prop_assert!(decoded.added.iter().filter(family(v6)).eq(message.added.iter().filter(family(v6))));
            }
            prop_assert_eq!(decoded.dropped.len(), message.dropped.len());
        }

        #[test]
        fn arbitrary_payloads_never_panic(payload in proptest::collection::vec(any::<u8>(), 0..300)) {
            if let Ok(mut message) = PexMessage::decode(&payload) {
                message.retain_usable("1.1.1.1".parse().unwrap(), &[]);
                prop_assert!(message.added.iter().all(|p| p.addr.port() != 0));
            }
        }
    }
}
