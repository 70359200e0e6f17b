//! The UDP receive loop. Several workers share one socket; each datagram is answered in
//! place. Replies to clients without a valid connection id are never larger than a
//! connect reply or a short error (no amplification); malformed datagrams too short to
//! carry a transaction id are dropped.

use std::net::{SocketAddr, UdpSocket as StdUdpSocket};
use std::sync::Arc;

use metainfo::tracker::udp::{
    AnnounceRequest, Request, ScrapeRequest, UdpError, write_announce_reply, write_connect_reply,
    write_error_reply, write_scrape_reply,
};
use tokio::net::UdpSocket;

use super::connection_id::ConnectionIds;
use super::protocol::announce_input;
use crate::access::passkeys;
use crate::core::{RefuseReason, Tracker};
use crate::domain::unix_now;
use crate::observe::metrics::Protocol;
use crate::shutdown::Shutdown;

/// Largest datagram read; anything longer is truncated and then fails to parse.
const MAX_DATAGRAM: usize = 2048;

/// Serve BEP 15 on `socket` with `workers` concurrent tasks until `shutdown`.
pub async fn serve(
    socket: StdUdpSocket,
    tracker: Arc<Tracker>,
    ids: Arc<ConnectionIds>,
    workers: usize,
    shutdown: Shutdown,
) -> std::io::Result<()> {
    socket.set_nonblocking(true)?;
    let socket = Arc::new(UdpSocket::from_std(socket)?);
    let mut tasks = Vec::new();
    for _ in 0..workers.max(1) {
        let worker = Worker {
            socket: socket.clone(),
            tracker: tracker.clone(),
            ids: ids.clone(),
        };
        tasks.push(tokio::spawn(worker.run(shutdown.clone())));
    }
    for task in tasks {
        let _ = task.await;
    }
    Ok(())
}

struct Worker {
    socket: Arc<UdpSocket>,
    tracker: Arc<Tracker>,
    ids: Arc<ConnectionIds>,
}

impl Worker {
    async fn run(self, mut shutdown: Shutdown) {
        let mut buf = vec![0u8; MAX_DATAGRAM];
        let mut reply = Vec::with_capacity(MAX_DATAGRAM);
        loop {
            let (len, from) = tokio::select! {
                received = self.socket.recv_from(&mut buf) => match received {
                    Ok(r) => r,
                    Err(e) => {
                        // E.g. ICMP port unreachable reported for an earlier reply.
                        tracing::trace!("udp receive: {e}");
                        continue;
                    }
                },
                _ = shutdown.wait() => return,
            };
            reply.clear();
            self.handle(&buf[..len], from, &mut reply).await;
            if !reply.is_empty()
                && let Err(e) = self.socket.send_to(&reply, from).await
            {
                tracing::trace!(%from, "udp send: {e}");
            }
        }
    }

    /// Fill `reply` with the answer to `packet` (left empty to stay silent).
    async fn handle(&self, packet: &[u8], from: SocketAddr, reply: &mut Vec<u8>) {
        let request = match Request::decode(packet) {
            Ok(r) => r,
            Err(e) => {
                if let Some(tid) = e.transaction_id {
                    self.tracker.count_bad_request(Protocol::Udp, false);
                    write_error_reply(reply, tid, short_reason(&e.error));
                }
                return;
            }
        };
        let now = unix_now();
        match request {
            Request::Connect(c) => {
                write_connect_reply(reply, c.transaction_id, self.ids.issue(from, now));
            }
            Request::Announce(a) => {
                if !self.ids.check(a.connection_id, from, now) {
                    return write_error_reply(reply, a.transaction_id, "bad connection id");
                }
                self.announce(&a, from, reply).await;
            }
            Request::Scrape(s) => {
                if !self.ids.check(s.connection_id, from, now) {
                    return write_error_reply(reply, s.transaction_id, "bad connection id");
                }
                self.scrape(&s, from, reply).await;
            }
        }
    }

    async fn announce(&self, a: &AnnounceRequest, from: SocketAddr, reply: &mut Vec<u8>) {
        let input = announce_input(a, from);
        // Private trackers: the passkey comes in the BEP 41 URL data (`/announce/<key>`).
        let passkey = match self.tracker.passkeys {
            Some(_) => {
                passkeys::from_path(std::str::from_utf8(&a.url_data).unwrap_or(""), "announce")
            }
            None => None,
        };
        match self.tracker.announce(Protocol::Udp, &input, passkey).await {
            Ok(view) => {
                // The store returns peers of the announcer's family, which the announce policy
                // keeps equal to the source's: 6-byte entries for IPv4, 18-byte for IPv6.
                let peers = if from.ip().to_canonical().is_ipv4() {
                    &view.peers_v4
                } else {
                    &view.peers_v6
                };
                write_announce_reply(
                    reply,
                    a.transaction_id,
                    self.tracker.config.interval,
                    view.incomplete,
                    view.complete,
                    peers,
                );
            }
            Err(e) => write_error_reply(reply, a.transaction_id, &udp_reason(&e)),
        }
    }

    /// Scrapes carry no URL data, so a private tracker refuses them over UDP.
    async fn scrape(&self, s: &ScrapeRequest, from: SocketAddr, reply: &mut Vec<u8>) {
        let source = from.ip().to_canonical();
        match self
            .tracker
            .scrape(Protocol::Udp, source, &s.info_hashes, None)
            .await
        {
            Ok(stats) => write_scrape_reply(reply, s.transaction_id, &stats),
            Err(e) => write_error_reply(reply, s.transaction_id, &udp_reason(&e)),
        }
    }
}

/// The error text for a datagram that did not parse: a few words, so the reply is never much
/// larger than the request (no amplification).
fn short_reason(e: &UdpError) -> &'static str {
    match e {
        UdpError::BadProtocolId => "bad protocol id",
        UdpError::BadAction(_) => "unknown action",
        UdpError::BadEvent(_) => "bad event",
        UdpError::BadScrapeLength(_) => "bad scrape length",
        UdpError::TooManyHashes(_) => "too many hashes",
        UdpError::TruncatedOption | UdpError::UrlDataTooLong => "bad options",
        _ => "malformed request",
    }
}

/// The error text of a refusal: short, since a datagram is small.
fn udp_reason(e: &RefuseReason) -> String {
    match e {
        RefuseReason::NotAllowed(_) | RefuseReason::NotInCatalog(_) => "unknown torrent".into(),
        RefuseReason::Store(_) => "storage unavailable".into(),
        other => other.to_string(),
    }
}
