//! The UDP receive loop. Several workers share one socket; each datagram is answered in
//! place. Replies to clients without a valid connection id are never larger than a
//! connect reply or a short error (no amplification); malformed datagrams too short to
//! carry a transaction id are dropped.

use std::net::{SocketAddr, UdpSocket as StdUdpSocket};
use std::sync::Arc;

use tokio::net::UdpSocket;

use super::connection_id::ConnectionIds;
use super::protocol::{self, AnnounceRequest, Request};
use crate::core::{Announce, RefuseReason, Tracker};
use crate::shutdown::Shutdown;
use crate::store::InfoHash;
use crate::sweeper::unix_now;

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
        let request = match protocol::parse(packet) {
            Ok(r) => r,
            Err(e) => {
                if let Some(tid) = e.transaction_id {
                    protocol::write_error(reply, tid, e.message);
                }
                return;
            }
        };
        let now = unix_now();
        match request {
            Request::Connect { transaction_id } => {
                protocol::write_connect(reply, transaction_id, self.ids.issue(from, now));
            }
            Request::Announce(a) => {
                if !self.ids.check(a.connection_id, from, now) {
                    return protocol::write_error(reply, a.transaction_id, "bad connection id");
                }
                self.announce(&a, from, reply).await;
            }
            Request::Scrape {
                connection_id,
                transaction_id,
                info_hashes,
            } => {
                if !self.ids.check(connection_id, from, now) {
                    return protocol::write_error(reply, transaction_id, "bad connection id");
                }
                self.scrape(transaction_id, &info_hashes, reply).await;
            }
        }
    }

    async fn announce(&self, a: &AnnounceRequest, from: SocketAddr, reply: &mut Vec<u8>) {
        if a.port == 0 {
            return protocol::write_error(reply, a.transaction_id, "bad port");
        }
        let source = from.ip().to_canonical();
        let ip = match (self.tracker.config.trust_ip_param, source) {
            (true, std::net::IpAddr::V4(_)) if !a.ip.is_unspecified() => a.ip.into(),
            _ => source,
        };
        let request = Announce {
            info_hash: a.info_hash,
            ip,
            port: a.port,
            peer_id: a.peer_id,
            seeder: a.left == 0,
            event: a.event,
            numwant: a.num_want,
            want_peer_ids: false,
        };
        match self.tracker.announce(&request).await {
            Ok(view) => {
                // The store returns peers of the announcer's family: 6-byte entries for
                // IPv4, 18-byte entries for IPv6.
                let peers = if ip.is_ipv4() {
                    &view.peers_v4
                } else {
                    &view.peers_v6
                };
                protocol::write_announce(
                    reply,
                    a.transaction_id,
                    self.tracker.config.interval,
                    view.incomplete,
                    view.complete,
                    peers,
                );
            }
            Err(RefuseReason::NotAllowed(_)) => {
                protocol::write_error(reply, a.transaction_id, "unknown torrent")
            }
            Err(RefuseReason::Store(_)) => {
                protocol::write_error(reply, a.transaction_id, "storage unavailable")
            }
        }
    }

    async fn scrape(&self, transaction_id: u32, hashes: &[InfoHash], reply: &mut Vec<u8>) {
        match self.tracker.scrape(hashes).await {
            Ok(stats) => {
                protocol::write_scrape_header(reply, transaction_id);
                for s in stats {
                    let clamp = |n: u64| u32::try_from(n).unwrap_or(u32::MAX);
                    protocol::write_scrape_entry(
                        reply,
                        clamp(s.complete),
                        clamp(s.downloaded),
                        clamp(s.incomplete),
                    );
                }
            }
            Err(_) => protocol::write_error(reply, transaction_id, "storage unavailable"),
        }
    }
}
