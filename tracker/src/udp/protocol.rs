//! BEP 15 datagram formats: parsing requests and writing replies. All integers are
//! big-endian. Parsing checks every length before reading.

use std::net::Ipv4Addr;

use crate::store::{Event, InfoHash};

/// The magic `protocol_id` of a connect request.
pub const PROTOCOL_ID: u64 = 0x0417_2710_1980;
/// Action codes.
pub const ACTION_CONNECT: u32 = 0;
pub const ACTION_ANNOUNCE: u32 = 1;
pub const ACTION_SCRAPE: u32 = 2;
pub const ACTION_ERROR: u32 = 3;
/// Size of an announce request (extensions may follow and are ignored).
pub const ANNOUNCE_LEN: usize = 98;
/// Most info-hashes in one scrape request (BEP 15: about 74 fit in a datagram).
pub const MAX_SCRAPE_HASHES: usize = 74;

/// A parsed request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    Connect {
        transaction_id: u32,
    },
    Announce(AnnounceRequest),
    Scrape {
        connection_id: u64,
        transaction_id: u32,
        info_hashes: Vec<InfoHash>,
    },
}

/// A BEP 15 announce.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnnounceRequest {
    pub connection_id: u64,
    pub transaction_id: u32,
    pub info_hash: InfoHash,
    pub peer_id: [u8; 20],
    pub downloaded: u64,
    pub left: u64,
    pub uploaded: u64,
    pub event: Event,
    /// The `ip` field (0 = use the source address).
    pub ip: Ipv4Addr,
    pub key: u32,
    /// `None` for -1 (the default).
    pub num_want: Option<u32>,
    pub port: u16,
}

/// Why a datagram was not understood. `transaction_id` is set when the datagram was long
/// enough to carry one, so an error reply can be sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub transaction_id: Option<u32>,
    pub message: &'static str,
}

/// Parse one datagram.
pub fn parse(packet: &[u8]) -> Result<Request, ParseError> {
    let (Some(connection_id), Some(action), Some(transaction_id)) =
        (be_u64(packet, 0), be_u32(packet, 8), be_u32(packet, 12))
    else {
        return Err(ParseError {
            transaction_id: None,
            message: "datagram shorter than 16 bytes",
        });
    };
    let error = |message| ParseError {
        transaction_id: Some(transaction_id),
        message,
    };
    match action {
        ACTION_CONNECT if connection_id == PROTOCOL_ID => Ok(Request::Connect { transaction_id }),
        ACTION_CONNECT => Err(error("bad protocol id")),
        ACTION_ANNOUNCE => parse_announce(packet, connection_id, transaction_id)
            .ok_or_else(|| error("malformed announce")),
        ACTION_SCRAPE => {
            let body = &packet[16..];
            if body.is_empty() || !body.len().is_multiple_of(20) {
                return Err(error("bad scrape length"));
            }
            if body.len() / 20 > MAX_SCRAPE_HASHES {
                return Err(error("too many info-hashes"));
            }
            let info_hashes = body
                .chunks_exact(20)
                .filter_map(|c| <[u8; 20]>::try_from(c).ok().map(InfoHash))
                .collect();
            Ok(Request::Scrape {
                connection_id,
                transaction_id,
                info_hashes,
            })
        }
        _ => Err(error("unknown action")),
    }
}

fn parse_announce(p: &[u8], connection_id: u64, transaction_id: u32) -> Option<Request> {
    if p.len() < ANNOUNCE_LEN {
        return None;
    }
    let event = match be_u32(p, 80)? {
        0 => Event::None,
        1 => Event::Completed,
        2 => Event::Started,
        3 => Event::Stopped,
        _ => return None,
    };
    let num_want = be_u32(p, 92)? as i32;
    Some(Request::Announce(AnnounceRequest {
        connection_id,
        transaction_id,
        info_hash: InfoHash(p.get(16..36)?.try_into().ok()?),
        peer_id: p.get(36..56)?.try_into().ok()?,
        downloaded: be_u64(p, 56)?,
        left: be_u64(p, 64)?,
        uploaded: be_u64(p, 72)?,
        event,
        ip: Ipv4Addr::from(be_u32(p, 84)?),
        key: be_u32(p, 88)?,
        num_want: u32::try_from(num_want).ok(),
        port: u16::from_be_bytes(p.get(96..98)?.try_into().ok()?),
    }))
}

fn be_u32(p: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(p.get(at..at + 4)?.try_into().ok()?))
}

fn be_u64(p: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_be_bytes(p.get(at..at + 8)?.try_into().ok()?))
}

/// Write a connect reply.
pub fn write_connect(out: &mut Vec<u8>, transaction_id: u32, connection_id: u64) {
    out.extend_from_slice(&ACTION_CONNECT.to_be_bytes());
    out.extend_from_slice(&transaction_id.to_be_bytes());
    out.extend_from_slice(&connection_id.to_be_bytes());
}

/// Write an announce reply; `peers` is compact (6-byte entries for IPv4 requests,
/// 18-byte entries for IPv6 requests).
pub fn write_announce(
    out: &mut Vec<u8>,
    transaction_id: u32,
    interval: u32,
    leechers: u32,
    seeders: u32,
    peers: &[u8],
) {
    out.extend_from_slice(&ACTION_ANNOUNCE.to_be_bytes());
    out.extend_from_slice(&transaction_id.to_be_bytes());
    out.extend_from_slice(&interval.to_be_bytes());
    out.extend_from_slice(&leechers.to_be_bytes());
    out.extend_from_slice(&seeders.to_be_bytes());
    out.extend_from_slice(peers);
}

/// Start a scrape reply; follow with [`write_scrape_entry`] per info-hash.
pub fn write_scrape_header(out: &mut Vec<u8>, transaction_id: u32) {
    out.extend_from_slice(&ACTION_SCRAPE.to_be_bytes());
    out.extend_from_slice(&transaction_id.to_be_bytes());
}

/// One torrent of a scrape reply: seeders, completed, leechers.
pub fn write_scrape_entry(out: &mut Vec<u8>, seeders: u32, completed: u32, leechers: u32) {
    out.extend_from_slice(&seeders.to_be_bytes());
    out.extend_from_slice(&completed.to_be_bytes());
    out.extend_from_slice(&leechers.to_be_bytes());
}

/// Write an error reply.
pub fn write_error(out: &mut Vec<u8>, transaction_id: u32, message: &str) {
    out.extend_from_slice(&ACTION_ERROR.to_be_bytes());
    out.extend_from_slice(&transaction_id.to_be_bytes());
    out.extend_from_slice(message.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_connect_and_rejects_short() {
        let mut p = PROTOCOL_ID.to_be_bytes().to_vec();
        p.extend_from_slice(&0u32.to_be_bytes());
        p.extend_from_slice(&7u32.to_be_bytes());
        assert_eq!(parse(&p), Ok(Request::Connect { transaction_id: 7 }));
        assert_eq!(parse(&p[..15]).unwrap_err().transaction_id, None);
        p[0] = 1;
        assert_eq!(parse(&p).unwrap_err().transaction_id, Some(7));
    }

    #[test]
    fn parses_announce_fields() {
        let mut p = vec![0u8; ANNOUNCE_LEN];
        p[8..12].copy_from_slice(&ACTION_ANNOUNCE.to_be_bytes());
        p[16..36].fill(0xab);
        p[64..72].copy_from_slice(&0u64.to_be_bytes());
        p[80..84].copy_from_slice(&2u32.to_be_bytes());
        p[92..96].copy_from_slice(&(-1i32).to_be_bytes());
        p[96..98].copy_from_slice(&6881u16.to_be_bytes());
        let Ok(Request::Announce(a)) = parse(&p) else {
            panic!("not an announce")
        };
        assert_eq!((a.event, a.num_want, a.port), (Event::Started, None, 6881));
        assert_eq!(a.info_hash, InfoHash([0xab; 20]));
        assert!(parse(&p[..97]).is_err());
        p[80..84].copy_from_slice(&9u32.to_be_bytes());
        assert!(parse(&p).is_err());
    }

    #[test]
    fn scrape_bounds() {
        let mut p = vec![0u8; 16];
        p[8..12].copy_from_slice(&ACTION_SCRAPE.to_be_bytes());
        assert!(parse(&p).is_err());
        p.extend_from_slice(&[1; 40]);
        assert!(
            matches!(parse(&p), Ok(Request::Scrape { ref info_hashes, .. }) if info_hashes.len() == 2)
        );
        p.extend_from_slice(&[1; 5]);
        assert!(parse(&p).is_err());
    }
}
