//! BEP 15 replies: what a tracker writes, what a client reads.

use std::net::SocketAddr;

use super::error::UdpError;
use super::{
    ANNOUNCE_REPLY_HEADER_LEN, Action, CONNECT_REPLY_LEN, MAX_ERROR_MESSAGE, REPLY_HEADER_LEN,
    be_u32, be_u64,
};
use crate::tracker::text::{bounded_text, cut_at_char};
use crate::tracker::{
    COMPACT_V4_LEN, COMPACT_V6_LEN, ScrapeStats, decode_compact_v4, decode_compact_v6, push_compact,
};

/// Bytes of one torrent's counts in a scrape reply.
const SCRAPE_ENTRY_LEN: usize = 12;

/// An announce reply as a client reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnnounceResponse {
    pub transaction_id: u32,
    /// Seconds until the next announce.
    pub interval: u32,
    pub leechers: u32,
    pub seeders: u32,
    /// IPv4 peers from an IPv4 tracker, IPv6 peers from an IPv6 one (BEP 15).
    pub peers: Vec<SocketAddr>,
}

/// Any reply a client can receive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Response {
    Connect {
        transaction_id: u32,
        connection_id: u64,
    },
    Announce(AnnounceResponse),
    /// Counts in the order the hashes were asked for.
    Scrape {
        transaction_id: u32,
        stats: Vec<ScrapeStats>,
    },
    /// The tracker refused; `message` is at most [`MAX_ERROR_MESSAGE`] bytes of its text.
    Error {
        transaction_id: u32,
        message: String,
    },
}

impl Response {
    /// Read a tracker's datagram. `ipv6`: the tracker was reached over IPv6, so its announce
    /// replies carry 18-byte peers instead of 6-byte ones.
    pub fn decode(packet: &[u8], ipv6: bool) -> Result<Response, UdpError> {
        let short = |what, need| UdpError::TooShort {
            what,
            len: packet.len(),
            need,
        };
        let (Some(action), Some(transaction_id)) = (be_u32(packet, 0), be_u32(packet, 4)) else {
            return Err(short("reply", REPLY_HEADER_LEN));
        };
        let body = packet.get(REPLY_HEADER_LEN..).unwrap_or_default();
        match Action::from_code(action) {
            Some(Action::Connect) => {
                let connection_id =
                    be_u64(body, 0).ok_or(short("connect reply", CONNECT_REPLY_LEN))?;
                Ok(Response::Connect {
                    transaction_id,
                    connection_id,
                })
            }
            Some(Action::Announce) => {
                let head =
                    |at| be_u32(body, at).ok_or(short("announce reply", ANNOUNCE_REPLY_HEADER_LEN));
                let (interval, leechers, seeders) = (head(0)?, head(4)?, head(8)?);
                let peers = body.get(12..).unwrap_or_default();
                let (peers, entry) = if ipv6 {
                    (decode_compact_v6(peers), COMPACT_V6_LEN)
                } else {
                    (decode_compact_v4(peers), COMPACT_V4_LEN)
                };
                let peers = peers.map_err(|_| UdpError::BadPeersLength {
                    len: body.len() - 12,
                    entry,
                })?;
                Ok(Response::Announce(AnnounceResponse {
                    transaction_id,
                    interval,
                    leechers,
                    seeders,
                    peers,
                }))
            }
            Some(Action::Scrape) => {
                let (entries, rest) = body.as_chunks::<SCRAPE_ENTRY_LEN>();
                if !rest.is_empty() {
                    return Err(UdpError::BadScrapeReplyLength(body.len()));
                }
                let stats = entries
                    .iter()
                    .map(|e| {
                        let word = |at: usize| {
                            u64::from(u32::from_be_bytes([e[at], e[at + 1], e[at + 2], e[at + 3]]))
                        };
                        ScrapeStats {
                            complete: word(0),
                            downloaded: word(4),
                            incomplete: word(8),
                        }
                    })
                    .collect();
                Ok(Response::Scrape {
                    transaction_id,
                    stats,
                })
            }
            Some(Action::Error) => Ok(Response::Error {
                transaction_id,
                message: bounded_text(body),
            }),
            None => Err(UdpError::BadAction(action)),
        }
    }

    /// The transaction id the reply answers.
    pub fn transaction_id(&self) -> u32 {
        match self {
            Response::Connect { transaction_id, .. }
            | Response::Scrape { transaction_id, .. }
            | Response::Error { transaction_id, .. } => *transaction_id,
            Response::Announce(a) => a.transaction_id,
        }
    }

    /// Append the datagram to `out` (the writers below, for typed replies).
    pub fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Response::Connect {
                transaction_id,
                connection_id,
            } => write_connect_reply(out, *transaction_id, *connection_id),
            Response::Announce(a) => {
                let mut peers = Vec::with_capacity(a.peers.len() * COMPACT_V6_LEN);
                for &peer in &a.peers {
                    push_compact(&mut peers, peer);
                }
                write_announce_reply(
                    out,
                    a.transaction_id,
                    a.interval,
                    a.leechers,
                    a.seeders,
                    &peers,
                );
            }
            Response::Scrape {
                transaction_id,
                stats,
            } => write_scrape_reply(out, *transaction_id, stats),
            Response::Error {
                transaction_id,
                message,
            } => write_error_reply(out, *transaction_id, message),
        }
    }
}

fn write_header(out: &mut Vec<u8>, action: Action, transaction_id: u32) {
    out.extend_from_slice(&action.code().to_be_bytes());
    out.extend_from_slice(&transaction_id.to_be_bytes());
}

/// Append a connect reply.
pub fn write_connect_reply(out: &mut Vec<u8>, transaction_id: u32, connection_id: u64) {
    write_header(out, Action::Connect, transaction_id);
    out.extend_from_slice(&connection_id.to_be_bytes());
}

/// Append an announce reply; `peers` are compact (6-byte entries to an IPv4 client, 18-byte
/// entries to an IPv6 one).
pub fn write_announce_reply(
    out: &mut Vec<u8>,
    transaction_id: u32,
    interval: u32,
    leechers: u32,
    seeders: u32,
    peers: &[u8],
) {
    write_header(out, Action::Announce, transaction_id);
    out.extend_from_slice(&interval.to_be_bytes());
    out.extend_from_slice(&leechers.to_be_bytes());
    out.extend_from_slice(&seeders.to_be_bytes());
    out.extend_from_slice(peers);
}

/// Append a scrape reply: seeders, completed, leechers per torrent, each clamped to 32 bits.
pub fn write_scrape_reply(out: &mut Vec<u8>, transaction_id: u32, stats: &[ScrapeStats]) {
    write_header(out, Action::Scrape, transaction_id);
    let clamp = |n: u64| u32::try_from(n).unwrap_or(u32::MAX).to_be_bytes();
    for s in stats {
        out.extend_from_slice(&clamp(s.complete));
        out.extend_from_slice(&clamp(s.downloaded));
        out.extend_from_slice(&clamp(s.incomplete));
    }
}

/// Append an error reply carrying `message` (cut to [`MAX_ERROR_MESSAGE`] bytes).
pub fn write_error_reply(out: &mut Vec<u8>, transaction_id: u32, message: &str) {
    write_header(out, Action::Error, transaction_id);
    out.extend_from_slice(cut_at_char(message, MAX_ERROR_MESSAGE).as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(response: &Response, ipv6: bool) {
        let mut out = Vec::new();
        response.encode(&mut out);
        assert_eq!(Response::decode(&out, ipv6).as_ref(), Ok(response));
    }

    #[test]
    fn every_reply_round_trips() {
        round_trip(
            &Response::Connect {
                transaction_id: 1,
                connection_id: u64::MAX - 3,
            },
            false,
        );
        let announce = |peers: &[&str]| {
            Response::Announce(AnnounceResponse {
                transaction_id: 2,
                interval: 1800,
                leechers: 3,
                seeders: 4,
                peers: peers.iter().map(|p| p.parse().unwrap()).collect(),
            })
        };
        round_trip(&announce(&["10.0.0.1:6881", "127.0.0.1:1"]), false);
        round_trip(&announce(&["[2001:db8::1]:6881"]), true);
        round_trip(&announce(&[]), true);
        round_trip(
            &Response::Scrape {
                transaction_id: 5,
                stats: vec![
                    ScrapeStats {
                        complete: 1,
                        incomplete: 2,
                        downloaded: 3,
                    },
                    ScrapeStats::default(),
                ],
            },
            false,
        );
        round_trip(
            &Response::Error {
                transaction_id: 6,
                message: "unknown torrent".into(),
            },
            false,
        );
    }

    #[test]
    fn announce_reply_layout() {
        let mut out = Vec::new();
        write_announce_reply(&mut out, 9, 60, 2, 5, &[10, 0, 0, 1, 0x1a, 0xe1]);
        assert_eq!(out.len(), ANNOUNCE_REPLY_HEADER_LEN + 6);
        assert_eq!(&out[..4], &1u32.to_be_bytes());
        assert_eq!(&out[12..16], &2u32.to_be_bytes()); // leechers before seeders
    }

    #[test]
    fn ragged_and_short_replies_are_errors() {
        let mut out = Vec::new();
        write_announce_reply(&mut out, 1, 60, 0, 0, &[1, 2, 3]);
        assert_eq!(
            Response::decode(&out, false),
            Err(UdpError::BadPeersLength { len: 3, entry: 6 })
        );
        assert!(matches!(
            Response::decode(&out[..19], false),
            Err(UdpError::TooShort { .. })
        ));
        assert!(matches!(
            Response::decode(&[0; 7], false),
            Err(UdpError::TooShort { .. })
        ));
        assert!(Response::decode(&out[..20], true).is_ok());
        let mut connect = Vec::new();
        write_connect_reply(&mut connect, 1, 2);
        assert!(Response::decode(&connect[..15], false).is_err());
        let mut scrape = Vec::new();
        write_scrape_reply(&mut scrape, 1, &[ScrapeStats::default()]);
        scrape.pop();
        assert_eq!(
            Response::decode(&scrape, false),
            Err(UdpError::BadScrapeReplyLength(11))
        );
        assert_eq!(
            Response::decode(&[0, 0, 0, 9, 0, 0, 0, 0], false),
            Err(UdpError::BadAction(9))
        );
    }

    /// Found by fuzzing (`tracker_formats`): invalid UTF-8 became replacement characters of
    /// three bytes each, so a message read from a full-length error reply was up to three
    /// times the bound and came back shorter after being written and read again.
    #[test]
    fn an_error_reply_of_invalid_utf8_stays_within_the_bound_and_reads_back_the_same() {
        let mut packet = Vec::new();
        write_header(&mut packet, Action::Error, 1);
        packet.extend_from_slice(&[0xff; MAX_ERROR_MESSAGE + 10]);
        let response = Response::decode(&packet, false).expect("an error reply");
        let Response::Error { message, .. } = &response else {
            panic!("not an error reply: {response:?}")
        };
        assert!(
            message.len() <= MAX_ERROR_MESSAGE,
            "{} bytes",
            message.len()
        );
        assert!(message.chars().all(|c| c == char::REPLACEMENT_CHARACTER));
        round_trip(&response, false);
    }

    #[test]
    fn error_messages_are_bounded() {
        let mut out = Vec::new();
        write_error_reply(&mut out, 1, &"é".repeat(MAX_ERROR_MESSAGE));
        assert!(out.len() <= REPLY_HEADER_LEN + MAX_ERROR_MESSAGE);
        let Ok(Response::Error { message, .. }) = Response::decode(&out, false) else {
            panic!("not an error reply")
        };
        assert!(message.chars().all(|c| c == 'é'));
        let mut long = Vec::new();
        write_header(&mut long, Action::Error, 1);
        long.extend_from_slice(&[b'x'; 5000]);
        let Ok(Response::Error { message, .. }) = Response::decode(&long, false) else {
            panic!("not an error reply")
        };
        assert_eq!(message.len(), MAX_ERROR_MESSAGE);
    }
}
