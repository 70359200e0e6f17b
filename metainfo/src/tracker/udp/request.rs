//! BEP 15 requests: what a client sends, what a tracker reads.

use std::net::Ipv4Addr;

use super::error::{RequestError, UdpError};
use super::{
    ANNOUNCE_REQUEST_LEN, Action, MAX_SCRAPE_HASHES, MAX_URL_DATA, PROTOCOL_ID, REQUEST_HEADER_LEN,
    be_u32, be_u64, option,
};
use crate::InfoHash;
use crate::tracker::Event;

/// Asks the tracker for a connection id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectRequest {
    pub transaction_id: u32,
}

/// An announce (98 bytes, then BEP 41 options).
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
    /// The `ip` field; `None` when 0 (use the datagram's source address).
    pub ip: Option<Ipv4Addr>,
    pub key: u32,
    /// `None` when negative (-1: the tracker's default).
    pub num_want: Option<u32>,
    pub port: u16,
    /// BEP 41 URL data: the announce URL's path and query (empty when none was sent).
    pub url_data: Vec<u8>,
}

/// Counts for up to [`MAX_SCRAPE_HASHES`] torrents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScrapeRequest {
    pub connection_id: u64,
    pub transaction_id: u32,
    pub info_hashes: Vec<InfoHash>,
}

/// Any request a tracker can receive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    Connect(ConnectRequest),
    Announce(AnnounceRequest),
    Scrape(ScrapeRequest),
}

impl Request {
    /// Read one datagram sent to a tracker.
    pub fn decode(packet: &[u8]) -> Result<Request, RequestError> {
        let (Some(connection_id), Some(action), Some(transaction_id)) =
            (be_u64(packet, 0), be_u32(packet, 8), be_u32(packet, 12))
        else {
            return Err(RequestError {
                transaction_id: None,
                error: UdpError::TooShort {
                    what: "request",
                    len: packet.len(),
                    need: REQUEST_HEADER_LEN,
                },
            });
        };
        let with_id = |error| RequestError {
            transaction_id: Some(transaction_id),
            error,
        };
        let body = packet.get(REQUEST_HEADER_LEN..).unwrap_or_default();
        match Action::from_code(action) {
            Some(Action::Connect) if connection_id == PROTOCOL_ID => {
                Ok(Request::Connect(ConnectRequest { transaction_id }))
            }
            Some(Action::Connect) => Err(with_id(UdpError::BadProtocolId)),
            Some(Action::Announce) => decode_announce(packet, connection_id, transaction_id)
                .map(Request::Announce)
                .map_err(with_id),
            Some(Action::Scrape) => decode_scrape_hashes(body)
                .map(|info_hashes| {
                    Request::Scrape(ScrapeRequest {
                        connection_id,
                        transaction_id,
                        info_hashes,
                    })
                })
                .map_err(with_id),
            _ => Err(with_id(UdpError::BadAction(action))),
        }
    }
}

impl ConnectRequest {
    /// Append the 16-byte request to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&PROTOCOL_ID.to_be_bytes());
        out.extend_from_slice(&Action::Connect.code().to_be_bytes());
        out.extend_from_slice(&self.transaction_id.to_be_bytes());
    }
}

impl AnnounceRequest {
    /// Append the request to `out`: 98 bytes, then the URL data (if any, and not just `/`) as
    /// BEP 41 options in 255-byte pieces, which trackers without BEP 41 ignore. URL data
    /// longer than [`MAX_URL_DATA`] is refused.
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<(), UdpError> {
        if self.url_data.len() > MAX_URL_DATA {
            return Err(UdpError::UrlDataTooLong);
        }
        out.reserve(ANNOUNCE_REQUEST_LEN + self.url_data.len() + self.url_data.len() / 255 + 3);
        out.extend_from_slice(&self.connection_id.to_be_bytes());
        out.extend_from_slice(&Action::Announce.code().to_be_bytes());
        out.extend_from_slice(&self.transaction_id.to_be_bytes());
        out.extend_from_slice(self.info_hash.as_bytes());
        out.extend_from_slice(&self.peer_id);
        out.extend_from_slice(&self.downloaded.to_be_bytes());
        out.extend_from_slice(&self.left.to_be_bytes());
        out.extend_from_slice(&self.uploaded.to_be_bytes());
        out.extend_from_slice(&self.event.udp_code().to_be_bytes());
        let ip = self.ip.map_or(0, u32::from);
        out.extend_from_slice(&ip.to_be_bytes());
        out.extend_from_slice(&self.key.to_be_bytes());
        let num_want = self
            .num_want
            .map_or(-1, |n| i32::try_from(n).unwrap_or(i32::MAX));
        out.extend_from_slice(&num_want.to_be_bytes());
        out.extend_from_slice(&self.port.to_be_bytes());
        if !self.url_data.is_empty() && self.url_data != b"/" {
            for chunk in self.url_data.chunks(255) {
                out.push(option::URL_DATA);
                out.push(chunk.len() as u8);
                out.extend_from_slice(chunk);
            }
            out.push(option::END);
        }
        Ok(())
    }
}

impl ScrapeRequest {
    /// Append the request to `out` (at most [`MAX_SCRAPE_HASHES`] hashes).
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<(), UdpError> {
        if self.info_hashes.is_empty() {
            return Err(UdpError::BadScrapeLength(0));
        }
        if self.info_hashes.len() > MAX_SCRAPE_HASHES {
            return Err(UdpError::TooManyHashes(self.info_hashes.len()));
        }
        out.extend_from_slice(&self.connection_id.to_be_bytes());
        out.extend_from_slice(&Action::Scrape.code().to_be_bytes());
        out.extend_from_slice(&self.transaction_id.to_be_bytes());
        for hash in &self.info_hashes {
            out.extend_from_slice(hash.as_bytes());
        }
        Ok(())
    }
}

fn decode_announce(
    p: &[u8],
    connection_id: u64,
    transaction_id: u32,
) -> Result<AnnounceRequest, UdpError> {
    let short = UdpError::TooShort {
        what: "announce request",
        len: p.len(),
        need: ANNOUNCE_REQUEST_LEN,
    };
    let (Some(fixed), options) = (p.get(..ANNOUNCE_REQUEST_LEN), p.get(ANNOUNCE_REQUEST_LEN..))
    else {
        return Err(short);
    };
    let field = |at| be_u64(fixed, at).ok_or(short.clone());
    let word = |at| be_u32(fixed, at).ok_or(short.clone());
    let bytes20 = |at: usize| -> Result<[u8; 20], UdpError> {
        fixed
            .get(at..at + 20)
            .and_then(|s| s.try_into().ok())
            .ok_or(short.clone())
    };
    let event_code = word(80)?;
    let event = Event::from_udp_code(event_code).ok_or(UdpError::BadEvent(event_code))?;
    let ip = Ipv4Addr::from(word(84)?);
    Ok(AnnounceRequest {
        connection_id,
        transaction_id,
        info_hash: InfoHash(bytes20(16)?),
        peer_id: bytes20(36)?,
        downloaded: field(56)?,
        left: field(64)?,
        uploaded: field(72)?,
        event,
        ip: (!ip.is_unspecified()).then_some(ip),
        key: word(88)?,
        num_want: u32::try_from(word(92)? as i32).ok(),
        port: u16::from_be_bytes([fixed[96], fixed[97]]),
        url_data: decode_url_data(options.unwrap_or_default())?,
    })
}

/// The BEP 41 URL data among the options after an announce's fixed part. Options end at an
/// END option or the end of the datagram; NOP is one byte; every other option has a length
/// byte and is skipped unless it is URL data.
fn decode_url_data(mut options: &[u8]) -> Result<Vec<u8>, UdpError> {
    let mut url_data = Vec::new();
    while let Some((&kind, rest)) = options.split_first() {
        match kind {
            option::END => break,
            option::NOP => options = rest,
            _ => {
                let (&len, rest) = rest.split_first().ok_or(UdpError::TruncatedOption)?;
                let value = rest
                    .get(..usize::from(len))
                    .ok_or(UdpError::TruncatedOption)?;
                if kind == option::URL_DATA {
                    if url_data.len() + value.len() > MAX_URL_DATA {
                        return Err(UdpError::UrlDataTooLong);
                    }
                    url_data.extend_from_slice(value);
                }
                options = &rest[usize::from(len)..];
            }
        }
    }
    Ok(url_data)
}

fn decode_scrape_hashes(body: &[u8]) -> Result<Vec<InfoHash>, UdpError> {
    if body.is_empty() || !body.len().is_multiple_of(20) {
        return Err(UdpError::BadScrapeLength(body.len()));
    }
    if body.len() / 20 > MAX_SCRAPE_HASHES {
        return Err(UdpError::TooManyHashes(body.len() / 20));
    }
    let (hashes, _) = body.as_chunks::<20>();
    Ok(hashes.iter().map(|h| InfoHash(*h)).collect())
}

#[cfg(test)]
mod tests {
    use super::super::CONNECT_REQUEST_LEN;
    use super::*;

    fn announce() -> AnnounceRequest {
        AnnounceRequest {
            connection_id: 7,
            transaction_id: 9,
            info_hash: InfoHash([0x11; 20]),
            peer_id: [0x22; 20],
            downloaded: 2,
            left: 3,
            uploaded: 4,
            event: Event::Started,
            ip: None,
            key: 5,
            num_want: Some(50),
            port: 6881,
            url_data: Vec::new(),
        }
    }

    fn encoded(request: &AnnounceRequest) -> Vec<u8> {
        let mut out = Vec::new();
        request.encode(&mut out).unwrap();
        out
    }

    #[test]
    fn announce_layout_and_round_trip() {
        let request = announce();
        let packet = encoded(&request);
        assert_eq!(packet.len(), ANNOUNCE_REQUEST_LEN);
        assert_eq!(&packet[..8], &7u64.to_be_bytes());
        assert_eq!(&packet[16..36], &[0x11; 20]);
        assert_eq!(&packet[56..64], &2u64.to_be_bytes());
        assert_eq!(&packet[80..84], &2u32.to_be_bytes());
        assert_eq!(&packet[96..98], &6881u16.to_be_bytes());
        assert_eq!(Request::decode(&packet), Ok(Request::Announce(request)));
    }

    #[test]
    fn negative_num_want_is_the_default_and_zero_ip_is_none() {
        let mut request = announce();
        request.num_want = None;
        let packet = encoded(&request);
        assert_eq!(&packet[92..96], &(-1i32).to_be_bytes());
        let Ok(Request::Announce(back)) = Request::decode(&packet) else {
            panic!("not an announce")
        };
        assert_eq!((back.num_want, back.ip), (None, None));
    }

    #[test]
    fn url_data_goes_in_255_byte_options_and_comes_back() {
        let mut request = announce();
        request.url_data = b"/announce?passkey=abc".to_vec();
        let packet = encoded(&request);
        assert_eq!((packet[98], packet[99]), (option::URL_DATA, 21));
        assert_eq!(packet[121..], [option::END]);
        assert_eq!(
            Request::decode(&packet),
            Ok(Request::Announce(request.clone()))
        );
        request.url_data = vec![b'a'; 300];
        let packet = encoded(&request);
        assert_eq!((packet[98 + 257], packet[98 + 258]), (option::URL_DATA, 45));
        assert_eq!(packet.len(), 98 + 2 + 255 + 2 + 45 + 1);
        assert_eq!(
            Request::decode(&packet),
            Ok(Request::Announce(request.clone()))
        );
        request.url_data = b"/".to_vec();
        assert_eq!(encoded(&request).len(), ANNOUNCE_REQUEST_LEN);
        request.url_data = vec![b'x'; MAX_URL_DATA + 1];
        assert_eq!(
            request.encode(&mut Vec::new()),
            Err(UdpError::UrlDataTooLong)
        );
    }

    #[test]
    fn options_nop_unknown_truncated_and_oversized() {
        let mut packet = encoded(&announce());
        packet.extend_from_slice(&[option::NOP, 9, 2, 0xaa, 0xbb, option::URL_DATA, 1, b'/']);
        let Ok(Request::Announce(a)) = Request::decode(&packet) else {
            panic!("not an announce")
        };
        assert_eq!(a.url_data, b"/");
        packet.extend_from_slice(&[option::URL_DATA, 200, b'x']);
        let error = Request::decode(&packet).unwrap_err();
        assert_eq!(
            (error.transaction_id, error.error),
            (Some(9), UdpError::TruncatedOption)
        );
        let mut packet = encoded(&announce());
        for _ in 0..5 {
            packet.extend_from_slice(&[option::URL_DATA, 255]);
            packet.extend_from_slice(&[b'y'; 255]);
        }
        assert_eq!(
            Request::decode(&packet).unwrap_err().error,
            UdpError::UrlDataTooLong
        );
    }

    #[test]
    fn connect_needs_the_protocol_id_and_short_datagrams_have_no_transaction() {
        let mut p = Vec::new();
        ConnectRequest { transaction_id: 7 }.encode(&mut p);
        assert_eq!(p.len(), CONNECT_REQUEST_LEN);
        assert_eq!(
            Request::decode(&p),
            Ok(Request::Connect(ConnectRequest { transaction_id: 7 }))
        );
        assert_eq!(Request::decode(&p[..15]).unwrap_err().transaction_id, None);
        p[0] = 1;
        let error = Request::decode(&p).unwrap_err();
        assert_eq!(
            (error.transaction_id, error.error),
            (Some(7), UdpError::BadProtocolId)
        );
    }

    #[test]
    fn announce_errors() {
        let packet = encoded(&announce());
        assert!(matches!(
            Request::decode(&packet[..97]).unwrap_err().error,
            UdpError::TooShort { need: 98, .. }
        ));
        let mut bad = packet.clone();
        bad[80..84].copy_from_slice(&9u32.to_be_bytes());
        assert_eq!(
            Request::decode(&bad).unwrap_err().error,
            UdpError::BadEvent(9)
        );
        bad[8..12].copy_from_slice(&3u32.to_be_bytes());
        assert_eq!(
            Request::decode(&bad).unwrap_err().error,
            UdpError::BadAction(3)
        );
    }

    #[test]
    fn scrape_bounds_and_round_trip() {
        let request = ScrapeRequest {
            connection_id: 1,
            transaction_id: 2,
            info_hashes: vec![InfoHash([1; 20]), InfoHash([2; 20])],
        };
        let mut p = Vec::new();
        request.encode(&mut p).unwrap();
        assert_eq!(Request::decode(&p), Ok(Request::Scrape(request)));
        assert_eq!(
            Request::decode(&p[..16]).unwrap_err().error,
            UdpError::BadScrapeLength(0)
        );
        p.extend_from_slice(&[1; 5]);
        assert_eq!(
            Request::decode(&p).unwrap_err().error,
            UdpError::BadScrapeLength(45)
        );
        let mut many = p[..16].to_vec();
        many.extend_from_slice(&[0; 20 * (MAX_SCRAPE_HASHES + 1)]);
        assert_eq!(
            Request::decode(&many).unwrap_err().error,
            UdpError::TooManyHashes(MAX_SCRAPE_HASHES + 1)
        );
    }
}
