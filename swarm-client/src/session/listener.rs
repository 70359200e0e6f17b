//! The session's listening socket: accepts connections, finishes each handshake on a task of
//! its own (routing it by info-hash, see [`Router`]), and hands the connection to the
//! session loop.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::mpsc;

use super::router::Router;
use crate::events::TorrentId;
use crate::wire::Handshake;
use crate::wire::dial::HANDSHAKE_TIMEOUT;
use crate::wire::handshake::respond_for;

/// The ports tried, in order, when none is given.
pub const DEFAULT_PORTS: std::ops::RangeInclusive<u16> = 6881..=6889;
/// Handshakes in progress at once; more connections wait to be accepted.
const MAX_PENDING_HANDSHAKES: usize = 256;

/// A handshaken incoming connection for one of our torrents.
pub struct Incoming {
    pub torrent: TorrentId,
    pub stream: TcpStream,
    pub addr: SocketAddr,
    pub theirs: Handshake,
}

/// Binds the listening socket: `port` exactly (0 = any free port), or when `None` the first
/// free port of [`DEFAULT_PORTS`] (any free port if all are taken).
pub fn bind(ip: IpAddr, port: Option<u16>) -> io::Result<TcpListener> {
    match port {
        Some(p) => bind_one(SocketAddr::new(ip, p)),
        None => {
            for p in DEFAULT_PORTS {
                if let Ok(l) = bind_one(SocketAddr::new(ip, p)) {
                    return Ok(l);
                }
            }
            bind_one(SocketAddr::new(ip, 0))
        }
    }
}

fn bind_one(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(128)
}

/// Accepts connections until the session goes away, handing each handshaken one on.
pub async fn run(listener: TcpListener, router: Arc<Router>, incoming: mpsc::Sender<Incoming>) {
    let permits = Arc::new(tokio::sync::Semaphore::new(MAX_PENDING_HANDSHAKES));
    loop {
        let Ok(permit) = permits.clone().acquire_owned().await else {
            return;
        };
        let (stream, addr) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                tracing::debug!("accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        if incoming.is_closed() {
            return;
        }
        let router = router.clone();
        let incoming = incoming.clone();
        tokio::spawn(async move {
            let _permit = permit;
            match handshake(stream, addr, &router).await {
                Ok(conn) => {
                    let _ = incoming.send(conn).await;
                }
                Err(e) => tracing::debug!(peer = %addr, "incoming handshake failed: {e}"),
            }
        });
    }
}

/// Reads the peer's handshake, routes it and answers for the torrent it names.
async fn handshake(
    mut stream: TcpStream,
    addr: SocketAddr,
    router: &Router,
) -> Result<Incoming, crate::wire::HandshakeError> {
    let (theirs, torrent) = respond_for(
        &mut stream,
        |info_hash| router.route(info_hash),
        HANDSHAKE_TIMEOUT,
    )
    .await?;
    Ok(Incoming {
        torrent,
        stream,
        addr,
        theirs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use metainfo::InfoHash;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    const OUR_ID: [u8; 20] = *b"-SW0100-ourselves000";

    async fn listening(router: Arc<Router>) -> (SocketAddr, mpsc::Receiver<Incoming>) {
        let listener = bind("127.0.0.1".parse().unwrap(), Some(0)).unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = mpsc::channel(8);
        tokio::spawn(run(listener, router, tx));
        (addr, rx)
    }

    /// Dials `addr` as a peer of `info_hash`; returns the handshake we got back, if any.
    async fn dial(addr: SocketAddr, info_hash: InfoHash) -> Option<Handshake> {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        let theirs = Handshake::new(info_hash, *b"-XX0001-somebodyelse");
        stream.write_all(&theirs.encode()).await.unwrap();
        let mut reply = [0u8; crate::wire::handshake::HANDSHAKE_LEN];
        match tokio::time::timeout(Duration::from_secs(5), stream.read_exact(&mut reply)).await {
            Ok(Ok(_)) => Handshake::decode(&reply).ok(),
            _ => None,
        }
    }

    #[tokio::test]
    async fn two_torrents_share_one_port_and_each_connection_reaches_its_own() {
        let router = Arc::new(Router::default());
        let (a, b) = (InfoHash([0xa; 20]), InfoHash([0xb; 20]));
        router.add(TorrentId(1), Handshake::new(a, OUR_ID));
        router.add(TorrentId(2), Handshake::new(b, OUR_ID));
        let (addr, mut rx) = listening(router).await;
        for (hash, torrent) in [(b, TorrentId(2)), (a, TorrentId(1))] {
            let reply = dial(addr, hash).await.expect("answered");
            assert_eq!(reply.info_hash, hash);
            let conn = rx.recv().await.unwrap();
            assert_eq!(conn.torrent, torrent);
            assert_eq!(conn.theirs.info_hash, hash);
        }
    }

    #[tokio::test]
    async fn an_unknown_info_hash_is_dropped_without_an_answer() {
        let router = Arc::new(Router::default());
        router.add(TorrentId(1), Handshake::new(InfoHash([0xa; 20]), OUR_ID));
        let (addr, mut rx) = listening(router.clone()).await;
        assert!(dial(addr, InfoHash([0xc; 20])).await.is_none());
        // A removed torrent is unknown too.
        router.remove(&InfoHash([0xa; 20]));
        assert!(dial(addr, InfoHash([0xa; 20])).await.is_none());
        assert!(rx.try_recv().is_err(), "nothing reached the session");
    }
}
