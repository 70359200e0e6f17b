//! The announce reply: decode (client side) and encode (tracker side).

use std::net::{IpAddr, SocketAddr};

use super::ReplyError;
use super::compact::{decode_compact_v4, decode_compact_v6, push_compact};
use super::text::bounded_text;
use crate::bencode::{self, Limits, Value, write_bytes, write_int};

/// Largest announce or scrape reply body the decoders accept (4 MiB).
pub const MAX_REPLY_LEN: usize = 4 << 20;

/// Deepest nesting of lists/dictionaries accepted in a reply (the top level is depth 1).
const MAX_REPLY_DEPTH: usize = 16;

/// Bounds for reading replies: the size bound [`MAX_REPLY_LEN`] already bounds the value count
/// (every value takes at least two bytes), so only the depth is tighter than the input's.
const REPLY_LIMITS: Limits = Limits {
    max_depth: MAX_REPLY_DEPTH,
    max_values: MAX_REPLY_LEN,
};

/// One peer from an announce reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Peer {
    /// Where to connect.
    pub addr: SocketAddr,
    /// The peer id, when the tracker sent a dictionary peer list that had one.
    pub peer_id: Option<[u8; 20]>,
}

impl From<SocketAddr> for Peer {
    fn from(addr: SocketAddr) -> Peer {
        Peer {
            addr,
            peer_id: None,
        }
    }
}

/// A successful announce reply.
///
/// A reply carrying `failure reason` is not an `AnnounceReply`: [`AnnounceReply::decode`]
/// returns it as [`ReplyError::Failure`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AnnounceReply {
    /// Seconds the client should wait before the next regular announce.
    pub interval: u32,
    /// Seconds the client must wait at least between announces, if the tracker says.
    pub min_interval: Option<u32>,
    /// Number of seeders, if the tracker says.
    pub complete: Option<u64>,
    /// Number of leechers, if the tracker says.
    pub incomplete: Option<u64>,
    /// Opaque id the client sends back as `trackerid` on later announces.
    pub tracker_id: Option<Vec<u8>>,
    /// A non-fatal message from the tracker.
    pub warning_message: Option<String>,
    /// Peers from `peers` (compact or dictionary list) followed by those from `peers6`.
    /// Dictionary entries whose `ip` is a host name rather than an address are skipped.
    pub peers: Vec<Peer>,
}

/// How [`AnnounceReply::encode`] writes the peer list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeerFormat {
    /// BEP 23 compact strings: IPv4 peers in `peers`, IPv6 peers in `peers6`.
    Compact,
    /// BEP 3 list of dictionaries (`ip`, `peer id`, `port`), all families in `peers`.
    Dict,
    /// Dictionary list without `peer id` (the client sent `no_peer_id=1`).
    DictNoPeerId,
}

/// The reply fields other than the peer list, borrowed, for the tracker's fast path.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReplyHead<'a> {
    pub interval: u32,
    pub min_interval: Option<u32>,
    pub complete: Option<u64>,
    pub incomplete: Option<u64>,
    pub tracker_id: Option<&'a [u8]>,
    pub warning_message: Option<&'a str>,
}

/// The peer list as written on the wire.
enum PeersBody<'a> {
    Compact { v4: &'a [u8], v6: &'a [u8] },
    Dict { peers: &'a [Peer], peer_ids: bool },
}

impl AnnounceReply {
    /// Decode a tracker's announce reply body.
    ///
    /// Accepts compact (`peers` string) and dictionary-list peers plus `peers6`; bodies over
    /// [`MAX_REPLY_LEN`] are refused. A `failure reason` becomes [`ReplyError::Failure`].
    pub fn decode(body: &[u8]) -> Result<AnnounceReply, ReplyError> {
        let root = parse_reply(body)?;
        if let Some(reason) = root.get(b"failure reason") {
            return Err(ReplyError::Failure(message(reason, "failure reason")?));
        }
        let interval = match root.get(b"interval") {
            Some(v) => uint(v, "interval", u32::MAX.into())? as u32,
            None => return Err(ReplyError::MissingField("interval")),
        };
        let optional = |key: &[u8], field: &'static str, max: u64| {
            root.get(key).map(|v| uint(v, field, max)).transpose()
        };
        let min_interval = optional(b"min interval", "min interval", u32::MAX.into())?;
        let mut peers = match root.get(b"peers") {
            None => Vec::new(),
            Some(Value::Bytes(b)) => decode_compact_v4(b)?.into_iter().map(Peer::from).collect(),
            Some(Value::List(items)) => dict_peers(items)?,
            Some(other) => return Err(wrong_type("peers", "string or list", other)),
        };
        match root.get(b"peers6") {
            None => {}
            Some(Value::Bytes(b)) => {
                peers.extend(decode_compact_v6(b)?.into_iter().map(Peer::from))
            }
            Some(other) => return Err(wrong_type("peers6", "string", other)),
        }
        Ok(AnnounceReply {
            interval,
            min_interval: min_interval.map(|v| v as u32),
            complete: optional(b"complete", "complete", u64::MAX)?,
            incomplete: optional(b"incomplete", "incomplete", u64::MAX)?,
            tracker_id: match root.get(b"tracker id") {
                None => None,
                Some(Value::Bytes(b)) => Some(b.to_vec()),
                Some(other) => return Err(wrong_type("tracker id", "string", other)),
            },
            warning_message: root
                .get(b"warning message")
                .map(|v| message(v, "warning message"))
                .transpose()?,
            peers,
        })
    }

    /// Encode this reply with the peer list in `format`.
    pub fn encode(&self, format: PeerFormat) -> Vec<u8> {
        let head = ReplyHead {
            interval: self.interval,
            min_interval: self.min_interval,
            complete: self.complete,
            incomplete: self.incomplete,
            tracker_id: self.tracker_id.as_deref(),
            warning_message: self.warning_message.as_deref(),
        };
        let mut out = Vec::with_capacity(128 + self.peers.len() * 24);
        match format {
            PeerFormat::Compact => {
                let (mut v4, mut v6) = (Vec::new(), Vec::new());
                for peer in &self.peers {
                    match peer.addr {
                        SocketAddr::V4(_) => push_compact(&mut v4, peer.addr),
                        SocketAddr::V6(_) => push_compact(&mut v6, peer.addr),
                    }
                }
                write_reply(&mut out, &head, PeersBody::Compact { v4: &v4, v6: &v6 });
            }
            PeerFormat::Dict | PeerFormat::DictNoPeerId => {
                let body = PeersBody::Dict {
                    peers: &self.peers,
                    peer_ids: format == PeerFormat::Dict,
                };
                write_reply(&mut out, &head, body);
            }
        }
        out
    }
}

/// Append a compact announce reply to `out`: `peers_v4` is a string of 6-byte compact IPv4
/// peers, `peers_v6` of 18-byte IPv6 peers (written as `peers6` only when non-empty).
/// `peers` is always present, possibly empty. Nothing follows the bencoded dictionary.
pub fn write_compact_announce(
    out: &mut Vec<u8>,
    head: &ReplyHead<'_>,
    peers_v4: &[u8],
    peers_v6: &[u8],
) {
    write_reply(
        out,
        head,
        PeersBody::Compact {
            v4: peers_v4,
            v6: peers_v6,
        },
    );
}

/// Append a failure reply (`d14:failure reason<len>:<reason>e`) to `out`.
pub fn write_failure(out: &mut Vec<u8>, reason: &str) {
    out.push(b'd');
    write_bytes(out, b"failure reason");
    write_bytes(out, reason.as_bytes());
    out.push(b'e');
}

/// A failure reply body saying `reason`.
pub fn encode_failure(reason: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(reason.len() + 24);
    write_failure(&mut out, reason);
    out
}

/// Reads a reply body (announce or scrape) with the shared bencode reader: at most
/// [`MAX_REPLY_LEN`] bytes, nesting at most [`MAX_REPLY_DEPTH`], canonical bencode; trailing
/// ASCII whitespace (a newline some trackers append) is ignored. The top level must be a
/// dictionary.
pub(super) fn parse_reply(body: &[u8]) -> Result<Value<'_>, ReplyError> {
    if body.len() > MAX_REPLY_LEN {
        return Err(ReplyError::TooLarge {
            len: body.len(),
            max: MAX_REPLY_LEN,
        });
    }
    let root = bencode::parse(body.trim_ascii_end(), REPLY_LIMITS)
        .map_err(|err| ReplyError::bencode(&err))?;
    if !matches!(root, Value::Dict(_)) {
        return Err(ReplyError::NotADict(root.kind()));
    }
    Ok(root)
}

/// The single writer of the announce reply format. Keys are written in sorted order.
fn write_reply(out: &mut Vec<u8>, head: &ReplyHead<'_>, peers: PeersBody<'_>) {
    // The keys are written already encoded (`<len>:<key>`): every announce reply is built
    // here, and the keys never change.
    out.push(b'd');
    if let Some(complete) = head.complete {
        out.extend_from_slice(b"8:complete");
        write_int(out, saturate(complete));
    }
    if let Some(incomplete) = head.incomplete {
        out.extend_from_slice(b"10:incomplete");
        write_int(out, saturate(incomplete));
    }
    out.extend_from_slice(b"8:interval");
    write_int(out, head.interval.into());
    if let Some(min) = head.min_interval {
        out.extend_from_slice(b"12:min interval");
        write_int(out, min.into());
    }
    out.extend_from_slice(b"5:peers");
    match peers {
        PeersBody::Compact { v4, v6 } => {
            write_bytes(out, v4);
            if !v6.is_empty() {
                write_bytes(out, b"peers6");
                write_bytes(out, v6);
            }
        }
        PeersBody::Dict { peers, peer_ids } => {
            out.push(b'l');
            for peer in peers {
                out.push(b'd');
                write_bytes(out, b"ip");
                write_bytes(out, peer.addr.ip().to_string().as_bytes());
                if let (true, Some(id)) = (peer_ids, peer.peer_id) {
                    write_bytes(out, b"peer id");
                    write_bytes(out, &id);
                }
                write_bytes(out, b"port");
                write_int(out, peer.addr.port().into());
                out.push(b'e');
            }
            out.push(b'e');
        }
    }
    if let Some(id) = head.tracker_id {
        write_bytes(out, b"tracker id");
        write_bytes(out, id);
    }
    if let Some(warning) = head.warning_message {
        write_bytes(out, b"warning message");
        write_bytes(out, warning.as_bytes());
    }
    out.push(b'e');
}

fn saturate(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Peers from a BEP 3 dictionary list.
fn dict_peers(items: &[Value<'_>]) -> Result<Vec<Peer>, ReplyError> {
    let mut peers = Vec::with_capacity(items.len());
    for item in items {
        if !matches!(item, Value::Dict(_)) {
            return Err(wrong_type("peers", "list of dictionaries", item));
        }
        let ip = match item.get(b"ip") {
            Some(Value::Bytes(b)) => *b,
            Some(other) => return Err(wrong_type("ip", "string", other)),
            None => return Err(ReplyError::MissingField("ip")),
        };
        let port = match item.get(b"port") {
            Some(v) => uint(v, "port", u16::MAX.into())? as u16,
            None => return Err(ReplyError::MissingField("port")),
        };
        let peer_id = match item.get(b"peer id") {
            Some(Value::Bytes(b)) => <[u8; 20]>::try_from(*b).ok(),
            _ => None,
        };
        // Host names are legal in BEP 3 but would need a DNS lookup; skip them.
        let Some(ip) = std::str::from_utf8(ip)
            .ok()
            .and_then(|s| s.parse::<IpAddr>().ok())
        else {
            continue;
        };
        peers.push(Peer {
            addr: SocketAddr::new(ip, port),
            peer_id,
        });
    }
    Ok(peers)
}

fn uint(value: &Value<'_>, field: &'static str, max: u64) -> Result<u64, ReplyError> {
    match *value {
        Value::Int(n) => u64::try_from(n)
            .ok()
            .filter(|&n| n <= max)
            .ok_or(ReplyError::OutOfRange { field, value: n }),
        ref other => Err(wrong_type(field, "integer", other)),
    }
}

fn message(value: &Value<'_>, field: &'static str) -> Result<String, ReplyError> {
    match value {
        Value::Bytes(b) => Ok(bounded_text(b)),
        other => Err(wrong_type(field, "string", other)),
    }
}

fn wrong_type(field: &'static str, expected: &'static str, found: &Value<'_>) -> ReplyError {
    ReplyError::WrongType {
        field,
        expected,
        found: found.kind(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> AnnounceReply {
        AnnounceReply {
            interval: 1800,
            min_interval: Some(60),
            complete: Some(3),
            incomplete: Some(4),
            tracker_id: Some(b"abc".to_vec()),
            warning_message: Some("careful".into()),
            peers: vec![
                Peer::from("1.2.3.4:5".parse::<SocketAddr>().unwrap()),
                Peer::from("[::1]:6".parse::<SocketAddr>().unwrap()),
            ],
        }
    }

    #[test]
    fn compact_round_trip() {
        let reply = sample();
        let bytes = reply.encode(PeerFormat::Compact);
        assert_eq!(AnnounceReply::decode(&bytes).unwrap(), reply);
    }

    #[test]
    fn dict_round_trip_keeps_peer_ids() {
        let mut reply = sample();
        reply.peers[0].peer_id = Some([7; 20]);
        let bytes = reply.encode(PeerFormat::Dict);
        assert_eq!(AnnounceReply::decode(&bytes).unwrap(), reply);
        let bytes = reply.encode(PeerFormat::DictNoPeerId);
        assert_eq!(
            AnnounceReply::decode(&bytes).unwrap().peers[0].peer_id,
            None
        );
    }

    #[test]
    fn fast_path_matches_exact_bytes() {
        let head = ReplyHead {
            interval: 1800,
            min_interval: Some(60),
            complete: Some(1),
            incomplete: Some(0),
            ..ReplyHead::default()
        };
        let mut out = Vec::new();
        write_compact_announce(&mut out, &head, &[1, 2, 3, 4, 0, 80], &[]);
        assert_eq!(
            out,
            b"d8:completei1e10:incompletei0e8:intervali1800e12:min intervali60e5:peers6:\x01\x02\x03\x04\x00\x50e"
        );
        let mut empty = Vec::new();
        write_compact_announce(&mut empty, &ReplyHead::default(), &[], &[]);
        assert_eq!(empty, b"d8:intervali0e5:peers0:e");
    }

    #[test]
    fn failure_is_an_error() {
        let body = encode_failure("unknown torrent");
        assert_eq!(body, b"d14:failure reason15:unknown torrente");
        assert_eq!(
            AnnounceReply::decode(&body),
            Err(ReplyError::Failure("unknown torrent".into()))
        );
    }

    #[test]
    fn typed_errors() {
        assert!(matches!(
            AnnounceReply::decode(b"le"),
            Err(ReplyError::NotADict("list"))
        ));
        assert!(matches!(
            AnnounceReply::decode(b"d5:peers0:e"),
            Err(ReplyError::MissingField("interval"))
        ));
        assert!(matches!(
            AnnounceReply::decode(b"d8:intervali-1e5:peers0:e"),
            Err(ReplyError::OutOfRange { .. })
        ));
        assert!(matches!(
            AnnounceReply::decode(b"d8:intervali1e5:peers5:abcdee"),
            Err(ReplyError::BadCompactLength { .. })
        ));
        assert!(matches!(
            AnnounceReply::decode(b"d8:intervali1e5:peersi3ee"),
            Err(ReplyError::WrongType { .. })
        ));
        let huge = vec![b' '; MAX_REPLY_LEN + 1];
        assert!(matches!(
            AnnounceReply::decode(&huge),
            Err(ReplyError::TooLarge { .. })
        ));
    }

    #[test]
    fn reader_bounds_and_errors() {
        let ok = [
            &b"d8:intervali5e1:x"[..],
            &[b'l'; MAX_REPLY_DEPTH - 1],
            &[b'e'; MAX_REPLY_DEPTH - 1],
            b"e",
        ]
        .concat();
        assert_eq!(AnnounceReply::decode(&ok).unwrap().interval, 5);
        let deep = [
            &b"d8:intervali5e1:x"[..],
            &[b'l'; MAX_REPLY_DEPTH],
            &[b'e'; MAX_REPLY_DEPTH],
            b"e",
        ]
        .concat();
        assert_eq!(
            AnnounceReply::decode(&deep),
            Err(ReplyError::Bencode {
                offset: 17 + MAX_REPLY_DEPTH - 1,
                what: "nesting too deep"
            })
        );
        let huge = [vec![b'l'; 1_000_000], vec![b'e'; 1_000_000]].concat();
        assert!(matches!(
            AnnounceReply::decode(&huge),
            Err(ReplyError::Bencode { .. })
        ));
        assert_eq!(
            AnnounceReply::decode(b"d8:intervali5e5:peers0:e\r\n").unwrap(),
            AnnounceReply {
                interval: 5,
                ..AnnounceReply::default()
            }
        );
        assert_eq!(
            AnnounceReply::decode(b"d8:intervali5e5:peers0:ejunk"),
            Err(ReplyError::Bencode {
                offset: 24,
                what: "data after the end of the value"
            })
        );
        for bad in [
            &b""[..],
            b"d8:intervali5e",
            b"d8:intervali05ee",
            b"d8:intervali99999999999999999999ee",
            b"d5:peers5:abce",
            b"di1ei2ee",
            b"x",
        ] {
            assert!(
                matches!(AnnounceReply::decode(bad), Err(ReplyError::Bencode { .. })),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn skips_host_name_peers() {
        let body = b"d8:intervali5e5:peersld2:ip11:example.com4:porti1eed2:ip3:::14:porti2eeee";
        let reply = AnnounceReply::decode(body).unwrap();
        assert_eq!(
            reply.peers,
            vec![Peer::from("[::1]:2".parse::<SocketAddr>().unwrap())]
        );
    }
}
