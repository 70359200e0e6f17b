//! UDP tracker announces (BEP 15): connect, then announce with the connection id.
//!
//! Each exchange is retried with a doubling timeout (BEP 15's `15 * 2^n` shortened for a
//! command-line client, see [`UdpConfig`]); transaction ids are random; a connection id is
//! reused for up to a minute. The socket is connected to the tracker's address, so nothing
//! else can answer. Replies from an IPv6 tracker carry 18-byte peers, IPv4 ones 6-byte.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use metainfo::tracker::udp::{self, ConnectRequest, Response};
use metainfo::tracker::{AnnounceReply, Event, Peer};
use tokio::net::UdpSocket;
use tokio::time::Instant;

use super::error::TrackerError;
use super::request::{AnnounceEvent, AnnounceRequest};

/// How long a tracker-issued connection id may be used (BEP 15: one minute).
const CONNECTION_ID_LIFETIME: Duration = Duration::from_secs(60);
/// Largest reply read; bigger datagrams are truncated by the OS and then rejected by length.
const MAX_DATAGRAM: usize = 64 * 1024;

/// Retry schedule for one UDP exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UdpConfig {
    /// Timeout of the first try; it doubles on every retry.
    pub initial_timeout: Duration,
    /// Number of tries before giving up.
    pub attempts: u32,
}

impl Default for UdpConfig {
    /// 2 s, 4 s, 8 s: an unresponsive tracker is given up on after 14 s.
    fn default() -> Self {
        Self {
            initial_timeout: Duration::from_secs(2),
            attempts: 3,
        }
    }
}

/// One UDP tracker with its cached connection id.
#[derive(Debug)]
pub struct UdpTracker {
    host: String,
    port: u16,
    config: UdpConfig,
    /// The URL's path and query, sent with each announce (BEP 41).
    url_data: Vec<u8>,
    socket: Option<UdpSocket>,
    connection: Option<(u64, Instant)>,
}

/// Longest path and query sent (BEP 41 URL data); a longer URL is refused as invalid.
const MAX_URL_DATA: usize = udp::MAX_URL_DATA;

/// Parses `udp://host:port[/path]` into host and port (the port is required).
pub fn parse_udp_url(url: &str) -> Result<(String, u16), TrackerError> {
    parse_udp_target(url).map(|(host, port, _)| (host, port))
}

/// Host, port and the path-and-query (BEP 41 URL data: private trackers put the passkey
/// there) of a `udp://` announce URL.
fn parse_udp_target(url: &str) -> Result<(String, u16, Vec<u8>), TrackerError> {
    let invalid = |reason: &str| TrackerError::InvalidUrl {
        url: url.to_owned(),
        reason: reason.to_owned(),
    };
    let parsed = reqwest::Url::parse(url).map_err(|e| invalid(&e.to_string()))?;
    let host = match parsed.host_str() {
        Some(host) if !host.is_empty() => host.trim_start_matches('[').trim_end_matches(']'),
        _ => return Err(invalid("no host")),
    };
    let port = parsed.port().ok_or_else(|| invalid("no port"))?;
    let mut url_data = parsed.path().to_owned();
    if let Some(query) = parsed.query() {
        url_data.push('?');
        url_data.push_str(query);
    }
    if url_data.len() > MAX_URL_DATA {
        return Err(invalid("path and query too long"));
    }
    Ok((host.to_owned(), port, url_data.into_bytes()))
}

impl UdpTracker {
    /// A tracker at `udp://host:port/...`.
    pub fn new(url: &str, config: UdpConfig) -> Result<Self, TrackerError> {
        let (host, port, url_data) = parse_udp_target(url)?;
        Ok(Self {
            host,
            port,
            url_data,
            config,
            socket: None,
            connection: None,
        })
    }

    /// Announces, connecting first when no fresh connection id is cached.
    pub async fn announce(
        &mut self,
        request: &AnnounceRequest,
    ) -> Result<AnnounceReply, TrackerError> {
        let socket = match self.socket.take() {
            Some(socket) => socket,
            None => open_socket(&self.host, self.port).await?,
        };
        let result = self.announce_on(&socket, request).await;
        self.socket = Some(socket);
        result
    }

    async fn announce_on(
        &mut self,
        socket: &UdpSocket,
        request: &AnnounceRequest,
    ) -> Result<AnnounceReply, TrackerError> {
        let ipv6 = socket.peer_addr()?.is_ipv6();
        let mut timeout = self.config.initial_timeout;
        for _ in 0..self.config.attempts {
            match self.try_once(socket, request, ipv6, timeout).await {
                Err(TrackerError::Timeout) => {
                    self.connection = None;
                    timeout = timeout.saturating_mul(2);
                }
                result => return result,
            }
        }
        Err(TrackerError::Timeout)
    }

    /// One connect (if needed) and announce, each allowed `timeout`.
    async fn try_once(
        &mut self,
        socket: &UdpSocket,
        request: &AnnounceRequest,
        ipv6: bool,
        timeout: Duration,
    ) -> Result<AnnounceReply, TrackerError> {
        let connection_id = match self.connection {
            Some((id, since)) if since.elapsed() < CONNECTION_ID_LIFETIME => id,
            _ => {
                let id = connect(socket, timeout).await?;
                self.connection = Some((id, Instant::now()));
                id
            }
        };
        let packet = announce_packet(connection_id, request, &self.url_data);
        announce(socket, packet, ipv6, timeout).await
    }
}

/// A UDP socket of the tracker's address family, connected to the tracker.
async fn open_socket(host: &str, port: u16) -> Result<UdpSocket, TrackerError> {
    let target = resolve(host, port).await?;
    let local: IpAddr = match target {
        SocketAddr::V4(_) => Ipv4Addr::UNSPECIFIED.into(),
        SocketAddr::V6(_) => Ipv6Addr::UNSPECIFIED.into(),
    };
    let socket = UdpSocket::bind((local, 0)).await?;
    socket.connect(target).await?;
    Ok(socket)
}

async fn resolve(host: &str, port: u16) -> Result<SocketAddr, TrackerError> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, port));
    }
    tokio::net::lookup_host((host, port))
        .await
        .map_err(|_| TrackerError::Resolve(host.to_owned()))?
        .next()
        .ok_or_else(|| TrackerError::Resolve(host.to_owned()))
}

/// Sends a connect request and returns the connection id.
async fn connect(socket: &UdpSocket, timeout: Duration) -> Result<u64, TrackerError> {
    let transaction_id = rand::random::<u32>();
    let mut packet = Vec::with_capacity(udp::CONNECT_REQUEST_LEN);
    ConnectRequest { transaction_id }.encode(&mut packet);
    match exchange(socket, &packet, transaction_id, false, timeout).await? {
        Response::Connect { connection_id, .. } => Ok(connection_id),
        _ => Err(TrackerError::BadUdpReply("unexpected action")),
    }
}

/// Sends an announce request and decodes the reply.
async fn announce(
    socket: &UdpSocket,
    (transaction_id, packet): (u32, Vec<u8>),
    ipv6: bool,
    timeout: Duration,
) -> Result<AnnounceReply, TrackerError> {
    match exchange(socket, &packet, transaction_id, ipv6, timeout).await? {
        Response::Announce(a) => Ok(AnnounceReply {
            interval: a.interval,
            incomplete: Some(a.leechers.into()),
            complete: Some(a.seeders.into()),
            peers: a.peers.into_iter().map(Peer::from).collect(),
            ..AnnounceReply::default()
        }),
        _ => Err(TrackerError::BadUdpReply("unexpected action")),
    }
}

/// A BEP 15 announce request with a fresh transaction id: 98 bytes, then `url_data` (the
/// URL's path and query, if any) as BEP 41 options, which trackers without BEP 41 ignore.
fn announce_packet(
    connection_id: u64,
    request: &AnnounceRequest,
    url_data: &[u8],
) -> (u32, Vec<u8>) {
    let transaction = rand::random::<u32>();
    (
        transaction,
        encode_announce(connection_id, transaction, request, url_data),
    )
}

fn encode_announce(
    connection_id: u64,
    transaction_id: u32,
    request: &AnnounceRequest,
    url_data: &[u8],
) -> Vec<u8> {
    let wire = udp::AnnounceRequest {
        connection_id,
        transaction_id,
        info_hash: request.info_hash,
        peer_id: request.peer_id,
        downloaded: request.downloaded,
        left: request.left,
        uploaded: request.uploaded,
        event: wire_event(request.event),
        ip: None, // the sender's
        key: request.key,
        num_want: Some(request.numwant),
        port: request.port,
        url_data: url_data.to_vec(),
    };
    let mut packet = Vec::new();
    // URL data is bounded by `parse_udp_target`, the only source of `url_data`.
    let _ = wire.encode(&mut packet);
    packet
}

fn wire_event(event: AnnounceEvent) -> Event {
    match event {
        AnnounceEvent::None => Event::None,
        AnnounceEvent::Started => Event::Started,
        AnnounceEvent::Completed => Event::Completed,
        AnnounceEvent::Stopped => Event::Stopped,
    }
}

/// Sends `packet` and waits up to `timeout` for the reply with our transaction id. Stray
/// datagrams (another transaction, or unreadable) are ignored; a BEP 15 error reply is the
/// tracker's refusal.
async fn exchange(
    socket: &UdpSocket,
    packet: &[u8],
    transaction_id: u32,
    ipv6: bool,
    timeout: Duration,
) -> Result<Response, TrackerError> {
    socket.send(packet).await?;
    let deadline = Instant::now() + timeout;
    let mut buf = vec![0u8; MAX_DATAGRAM];
    loop {
        let len = match tokio::time::timeout_at(deadline, socket.recv(&mut buf)).await {
            Err(_) => return Err(TrackerError::Timeout),
            Ok(result) => result?,
        };
        let datagram = &buf[..len];
        // Only a datagram carrying our transaction id is an answer (a forged or stray one
        // is skipped without reading the rest).
        if datagram.get(4..8) != Some(&transaction_id.to_be_bytes()[..]) {
            continue;
        }
        return match Response::decode(datagram, ipv6) {
            Ok(Response::Error { message, .. }) => Err(TrackerError::Failure(message)),
            Ok(response) => Ok(response),
            Err(udp::UdpError::TooShort { .. }) => Err(TrackerError::BadUdpReply("short reply")),
            Err(udp::UdpError::BadPeersLength { .. }) => {
                Err(TrackerError::BadUdpReply("peer list is not whole entries"))
            }
            Err(_) => Err(TrackerError::BadUdpReply("unexpected action")),
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tracker_client::request::AnnounceEvent;
    use crate::tracker_client::test_support::{UdpBehavior, UdpStub, sample_request};

    fn quick() -> UdpConfig {
        UdpConfig {
            initial_timeout: Duration::from_millis(200),
            attempts: 3,
        }
    }

    #[test]
    fn parses_urls() {
        assert_eq!(
            parse_udp_url("udp://t.example:6969/announce").unwrap(),
            ("t.example".into(), 6969)
        );
        assert_eq!(parse_udp_url("udp://[::1]:80").unwrap(), ("::1".into(), 80));
        assert!(matches!(
            parse_udp_url("udp://t.example/announce"),
            Err(TrackerError::InvalidUrl { .. })
        ));
    }

    #[test]
    fn announce_packet_layout() {
        let mut request = sample_request();
        request.event = AnnounceEvent::Started;
        let packet = encode_announce(7, 9, &request, b"");
        assert_eq!(packet.len(), 98);
        assert_eq!(&packet[..8], &7u64.to_be_bytes());
        assert_eq!(&packet[16..36], &[0x11; 20]);
        assert_eq!(&packet[56..64], &2u64.to_be_bytes()); // downloaded
        assert_eq!(&packet[80..84], &2u32.to_be_bytes()); // started
        assert_eq!(&packet[96..98], &6881u16.to_be_bytes());
    }

    #[test]
    fn url_path_and_query_follow_as_bep41_options() {
        let request = sample_request();
        let packet = encode_announce(7, 9, &request, b"/announce?passkey=abc");
        assert_eq!(packet[98], 2); // BEP 41 URL data
        assert_eq!(usize::from(packet[99]), 21);
        assert_eq!(&packet[100..121], b"/announce?passkey=abc");
        assert_eq!(packet[121..], [0]); // end of options
        // Longer than one option holds: split in 255-byte pieces.
        let long = vec![b'a'; 300];
        let packet = encode_announce(7, 9, &request, &long);
        assert_eq!((packet[98], packet[99]), (2, 255));
        assert_eq!((packet[98 + 257], packet[98 + 258]), (2, 45));
        assert_eq!(packet.len(), 98 + 2 + 255 + 2 + 45 + 1);
        // A bare path sends nothing extra.
        assert_eq!(encode_announce(7, 9, &request, b"/").len(), 98);
        assert_eq!(encode_announce(7, 9, &request, b"").len(), 98);
    }

    #[test]
    fn url_data_comes_from_path_and_query() {
        let (_, _, data) = parse_udp_target("udp://t.example:6969/announce?passkey=a%20b").unwrap();
        assert_eq!(data, b"/announce?passkey=a%20b");
        let (_, _, data) = parse_udp_target("udp://t.example:6969").unwrap();
        assert!(data.is_empty());
        let long = format!("udp://t.example:1/{}", "x".repeat(MAX_URL_DATA));
        assert!(matches!(
            parse_udp_target(&long),
            Err(TrackerError::InvalidUrl { .. })
        ));
    }

    #[tokio::test]
    async fn passkey_reaches_the_tracker() {
        let stub = UdpStub::start("127.0.0.1:0", UdpBehavior::default()).await;
        let url = format!("udp://{}/announce?passkey=s3cret", stub.addr());
        let mut tracker = UdpTracker::new(&url, quick()).unwrap();
        tracker.announce(&sample_request()).await.unwrap();
        assert_eq!(stub.seen().url_data, [b"/announce?passkey=s3cret".to_vec()]);
    }

    #[tokio::test]
    async fn connects_announces_and_reuses_the_connection_id() {
        let peers = vec![
            "127.0.0.1:7001".parse().unwrap(),
            "10.0.0.2:7002".parse().unwrap(),
        ];
        let stub = UdpStub::start(
            "127.0.0.1:0",
            UdpBehavior {
                interval: 120,
                peers: peers.clone(),
                ..UdpBehavior::default()
            },
        )
        .await;
        let mut tracker = UdpTracker::new(&stub.url(), quick()).unwrap();
        let reply = tracker.announce(&sample_request()).await.unwrap();
        assert_eq!(reply.interval, 120);
        assert_eq!((reply.complete, reply.incomplete), (Some(5), Some(2)));
        assert_eq!(
            reply.peers.iter().map(|p| p.addr).collect::<Vec<_>>(),
            peers
        );
        tracker.announce(&sample_request()).await.unwrap();
        assert_eq!(stub.seen().connects, 1);
        assert_eq!(stub.seen().events.len(), 2);
    }

    #[tokio::test]
    async fn ipv6_tracker_replies_with_18_byte_peers() {
        let Ok(probe) = std::net::UdpSocket::bind("[::1]:0") else {
            return; // no IPv6 loopback here
        };
        drop(probe);
        let peers = vec!["[::1]:7001".parse().unwrap()];
        let stub = UdpStub::start(
            "[::1]:0",
            UdpBehavior {
                interval: 60,
                peers: peers.clone(),
                ..UdpBehavior::default()
            },
        )
        .await;
        let mut tracker = UdpTracker::new(&stub.url(), quick()).unwrap();
        let reply = tracker.announce(&sample_request()).await.unwrap();
        assert_eq!(
            reply.peers.iter().map(|p| p.addr).collect::<Vec<_>>(),
            peers
        );
    }

    #[tokio::test]
    async fn retries_lost_packets() {
        let stub = UdpStub::start(
            "127.0.0.1:0",
            UdpBehavior {
                drop_first: 1,
                interval: 60,
                ..UdpBehavior::default()
            },
        )
        .await;
        let mut tracker = UdpTracker::new(&stub.url(), quick()).unwrap();
        tracker.announce(&sample_request()).await.unwrap();
        assert_eq!(stub.seen().packets, 3);
    }

    #[tokio::test]
    async fn error_action_is_a_failure_with_its_message() {
        let stub = UdpStub::start(
            "127.0.0.1:0",
            UdpBehavior {
                error: Some("torrent not registered".into()),
                ..UdpBehavior::default()
            },
        )
        .await;
        let mut tracker = UdpTracker::new(&stub.url(), quick()).unwrap();
        let error = tracker.announce(&sample_request()).await.unwrap_err();
        assert!(matches!(&error, TrackerError::Failure(m) if m == "torrent not registered"));
    }

    #[tokio::test]
    async fn silent_tracker_times_out_after_all_attempts() {
        let silent = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let url = format!("udp://{}/announce", silent.local_addr().unwrap());
        let config = UdpConfig {
            initial_timeout: Duration::from_millis(50),
            attempts: 3,
        };
        let started = std::time::Instant::now();
        let result = UdpTracker::new(&url, config)
            .unwrap()
            .announce(&sample_request())
            .await;
        assert!(matches!(result, Err(TrackerError::Timeout)));
        assert!(started.elapsed() >= Duration::from_millis(350));
        let mut buf = [0u8; 64];
        let mut connects = 0;
        while let Ok(Ok(_)) =
            tokio::time::timeout(Duration::from_millis(10), silent.recv_from(&mut buf)).await
        {
            connects += 1;
        }
        assert_eq!(connects, 3);
    }

    #[test]
    fn rejects_ragged_peer_lists() {
        let decode = |body: &[u8], ipv6| {
            let mut packet = 1u32.to_be_bytes().to_vec();
            packet.extend_from_slice(&[0; 4]);
            packet.extend_from_slice(body);
            Response::decode(&packet, ipv6)
        };
        let mut body = vec![0u8; 12];
        body.extend_from_slice(&[1, 2, 3]);
        assert!(decode(&body, false).is_err());
        assert!(decode(&[0; 11], false).is_err());
        assert!(matches!(decode(&[0; 12], true), Ok(Response::Announce(a)) if a.peers.is_empty()));
    }
}
