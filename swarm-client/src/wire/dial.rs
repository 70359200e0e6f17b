//! Opening a connection to a peer, and the ways a connection fails whatever it is for: a
//! torrent's peer connection and a magnet link's metadata connection dial and handshake the
//! same way and report these failures alike (each adds its own protocol errors).

use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::TcpStream;

use super::{Handshake, HandshakeError, handshake};

/// Time allowed to open a TCP connection.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Time allowed for the handshake exchange, either way.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// A connection that failed or ended at the transport level.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error("connect: {0}")]
    Connect(std::io::Error),
    #[error("connect timed out")]
    ConnectTimeout,
    #[error(transparent)]
    Handshake(#[from] HandshakeError),
    #[error("connection: {0}")]
    Io(#[from] std::io::Error),
    #[error("peer closed the connection")]
    Eof,
    #[error("no message for {0:?}")]
    Idle(Duration),
}

/// Connect to `addr` and exchange handshakes (`ours` first), each step bounded in time.
pub async fn dial(addr: SocketAddr, ours: &Handshake) -> Result<(TcpStream, Handshake), LinkError> {
    let mut stream = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(addr))
        .await
        .map_err(|_| LinkError::ConnectTimeout)?
        .map_err(LinkError::Connect)?;
    let theirs = handshake::initiate(&mut stream, ours, HANDSHAKE_TIMEOUT).await?;
    Ok((stream, theirs))
}
