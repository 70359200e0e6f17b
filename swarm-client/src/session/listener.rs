//! The listening socket for incoming peer connections.

use std::io;
use std::net::{IpAddr, SocketAddr};

use tokio::net::{TcpListener, TcpSocket};
use tokio::sync::mpsc;

use super::shared::Event;

/// The ports tried, in order, when none is given.
pub const DEFAULT_PORTS: std::ops::RangeInclusive<u16> = 6881..=6889;

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

/// Accepts connections forever, handing each to the session loop.
pub(crate) async fn run(listener: TcpListener, events: mpsc::UnboundedSender<Event>) {
    loop {
        match listener.accept().await {
            Ok((stream, addr)) => {
                if events.send(Event::Incoming(stream, addr)).is_err() {
                    return;
                }
            }
            Err(e) => {
                tracing::debug!("accept failed: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
        }
    }
}
