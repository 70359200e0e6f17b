//! The observer: a silent BitTorrent peer on the tracker's host that connects to every peer
//! of the swarm, says it has nothing and wants nothing, and listens to their `bitfield` and
//! `have` messages. That tells, the same way for every client, which verified pieces each
//! peer holds at each moment: piece availability over time, and when each leecher is done.
//!
//! It costs the peers a handful of bytes per piece and never an upload slot's worth of data
//! (it is never interested). A peer that drops the connection is retried every half second
//! (after a churn kill, that is the restarted process).

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::Context;

use crate::netns;

/// Longest message accepted (a bitfield of 2^20 pieces, or a 16 KiB block with headroom).
const MAX_MESSAGE: usize = 1 << 18;
/// How often an idle connection gets a keep-alive.
const KEEPALIVE: Duration = Duration::from_secs(60);

/// What the observer knows of one peer.
#[derive(Debug, Clone)]
pub struct PeerView {
    pub connected: bool,
    /// Pieces it announced (as of the current connection, or the last one).
    pub have: Vec<bool>,
    pub count: u32,
    /// When it was first seen holding every piece.
    pub complete_at: Option<Instant>,
    /// Connections made (1 + reconnects).
    pub connections: u32,
}

/// Shared state: one view per watched peer, in the order given to [`Observer::start`].
pub struct Views {
    pub peers: Vec<PeerView>,
}

pub struct Observer {
    views: Arc<parking_lot::Mutex<Views>>,
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

impl Observer {
    /// Starts watching `peers` from namespace `ns` for the torrent `info_hash` of `pieces`
    /// pieces.
    pub fn start(
        ns: &str,
        peers: &[SocketAddr],
        info_hash: [u8; 20],
        pieces: u32,
    ) -> anyhow::Result<Observer> {
        let views = Arc::new(parking_lot::Mutex::new(Views {
            peers: peers
                .iter()
                .map(|_| PeerView {
                    connected: false,
                    have: vec![false; pieces as usize],
                    count: 0,
                    complete_at: None,
                    connections: 0,
                })
                .collect(),
        }));
        let stop = Arc::new(AtomicBool::new(false));
        let mut threads = Vec::new();
        for (i, &addr) in peers.iter().enumerate() {
            let (ns, views, stop) = (ns.to_string(), views.clone(), stop.clone());
            let t = std::thread::Builder::new()
                .name(format!("observe-{addr}"))
                .spawn(move || {
                    if let Err(e) = netns::enter(&ns) {
                        tracing::error!("observer: {e:#}");
                        return;
                    }
                    watch(i, addr, info_hash, &views, &stop);
                })
                .context("cannot start an observer thread")?;
            threads.push(t);
        }
        Ok(Observer {
            views,
            stop,
            threads,
        })
    }

    /// Runs `f` on the current views.
    pub fn with<T>(&self, f: impl FnOnce(&Views) -> T) -> T {
        f(&self.views.lock())
    }

    pub fn stop(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

impl Drop for Observer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// Connects to one peer again and again until told to stop.
fn watch(
    index: usize,
    addr: SocketAddr,
    info_hash: [u8; 20],
    views: &parking_lot::Mutex<Views>,
    stop: &AtomicBool,
) {
    let peer_id = observer_peer_id(index);
    while !stop.load(Ordering::Relaxed) {
        if let Ok(conn) = TcpStream::connect_timeout(&addr, Duration::from_millis(500)) {
            let result = session(conn, index, info_hash, peer_id, views, stop);
            if let Err(e) = result {
                tracing::debug!("observer: {addr}: {e}");
            }
            views.lock().peers[index].connected = false;
        }
        sleep_unless(stop, Duration::from_millis(500));
    }
}

fn sleep_unless(stop: &AtomicBool, d: Duration) {
    let end = Instant::now() + d;
    while !stop.load(Ordering::Relaxed) && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn observer_peer_id(index: usize) -> [u8; 20] {
    let mut id = *b"-LB0001-000000000000";
    let tail = format!("{:012}", (std::process::id() as usize) * 1000 + index);
    id[8..].copy_from_slice(&tail.as_bytes()[tail.len() - 12..]);
    id
}

/// One connection: handshake, then messages until it closes or we stop.
fn session(
    mut conn: TcpStream,
    index: usize,
    info_hash: [u8; 20],
    peer_id: [u8; 20],
    views: &parking_lot::Mutex<Views>,
    stop: &AtomicBool,
) -> std::io::Result<()> {
    conn.set_read_timeout(Some(Duration::from_millis(500)))?;
    conn.set_nodelay(true)?;
    conn.write_all(&handshake(&info_hash, &peer_id))?;
    let mut reply = [0u8; 68];
    read_full(&mut conn, &mut reply, stop)?;
    if reply[0] != 19 || &reply[1..20] != b"BitTorrent protocol" || reply[28..48] != info_hash {
        return Err(std::io::Error::new(ErrorKind::InvalidData, "bad handshake"));
    }
    {
        let mut v = views.lock();
        let p = &mut v.peers[index];
        p.connected = true;
        p.connections += 1;
        p.have.iter_mut().for_each(|h| *h = false);
        p.count = 0;
    }
    let mut last_sent = Instant::now();
    let mut len_buf = [0u8; 4];
    let mut body = Vec::new();
    loop {
        if stop.load(Ordering::Relaxed) {
            return Ok(());
        }
        if last_sent.elapsed() >= KEEPALIVE {
            conn.write_all(&[0, 0, 0, 0])?;
            last_sent = Instant::now();
        }
        match read_some(&mut conn, &mut len_buf, stop)? {
            Progress::TimedOut => continue,
            Progress::Done => {}
        }
        let len = u32::from_be_bytes(len_buf) as usize;
        if len == 0 {
            continue;
        }
        if len > MAX_MESSAGE {
            return Err(std::io::Error::new(
                ErrorKind::InvalidData,
                "message too long",
            ));
        }
        body.resize(len, 0);
        read_full(&mut conn, &mut body, stop)?;
        apply(&body, &mut views.lock().peers[index]);
    }
}

enum Progress {
    Done,
    TimedOut,
}

/// Reads exactly `buf.len()` bytes, or reports a timeout if none arrived at all.
fn read_some(conn: &mut TcpStream, buf: &mut [u8], stop: &AtomicBool) -> std::io::Result<Progress> {
    match conn.read(&mut buf[..1]) {
        Ok(0) => Err(ErrorKind::UnexpectedEof.into()),
        Ok(_) => {
            read_full(conn, &mut buf[1..], stop)?;
            Ok(Progress::Done)
        }
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
            Ok(Progress::TimedOut)
        }
        Err(e) => Err(e),
    }
}

fn read_full(conn: &mut TcpStream, mut buf: &mut [u8], stop: &AtomicBool) -> std::io::Result<()> {
    while !buf.is_empty() {
        if stop.load(Ordering::Relaxed) {
            return Err(ErrorKind::Interrupted.into());
        }
        match conn.read(buf) {
            Ok(0) => return Err(ErrorKind::UnexpectedEof.into()),
            Ok(n) => buf = &mut buf[n..],
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// The BitTorrent handshake with no extension bits.
pub fn handshake(info_hash: &[u8; 20], peer_id: &[u8; 20]) -> [u8; 68] {
    let mut h = [0u8; 68];
    h[0] = 19;
    h[1..20].copy_from_slice(b"BitTorrent protocol");
    h[28..48].copy_from_slice(info_hash);
    h[48..68].copy_from_slice(peer_id);
    h
}

/// Applies one message (id and payload) to a peer's view: `have` (4) and `bitfield` (5);
/// others are ignored. Indices out of range are ignored.
pub fn apply(msg: &[u8], view: &mut PeerView) {
    let pieces = view.have.len();
    match msg.first() {
        Some(4) if msg.len() == 5 => {
            let i = u32::from_be_bytes([msg[1], msg[2], msg[3], msg[4]]) as usize;
            if i < pieces && !view.have[i] {
                view.have[i] = true;
                view.count += 1;
            }
        }
        Some(5) => {
            for (byte_index, byte) in msg[1..].iter().enumerate() {
                for bit in 0..8 {
                    let i = byte_index * 8 + bit;
                    if i < pieces && byte & (0x80 >> bit) != 0 && !view.have[i] {
                        view.have[i] = true;
                        view.count += 1;
                    }
                }
            }
        }
        _ => {}
    }
    if view.count as usize == pieces && view.complete_at.is_none() {
        view.complete_at = Some(Instant::now());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(pieces: usize) -> PeerView {
        PeerView {
            connected: true,
            have: vec![false; pieces],
            count: 0,
            complete_at: None,
            connections: 1,
        }
    }

    #[test]
    fn a_bitfield_then_haves_complete_the_view() {
        let mut v = view(10);
        apply(&[5, 0b1010_0000, 0b0100_0000], &mut v);
        assert_eq!(v.count, 3);
        assert!(v.have[0] && v.have[2] && v.have[9]);
        for i in [1u32, 3, 4, 5, 6, 7, 8] {
            let mut m = vec![4];
            m.extend_from_slice(&i.to_be_bytes());
            apply(&m, &mut v);
        }
        assert_eq!(v.count, 10);
        assert!(v.complete_at.is_some());
    }

    #[test]
    fn repeated_and_out_of_range_haves_change_nothing() {
        let mut v = view(4);
        for i in [1u32, 1, 4, 1_000_000] {
            let mut m = vec![4];
            m.extend_from_slice(&i.to_be_bytes());
            apply(&m, &mut v);
        }
        assert_eq!(v.count, 1);
        apply(&[5, 0xff, 0xff], &mut v);
        assert_eq!(v.count, 4, "spare bits past the last piece are ignored");
        apply(&[4, 0, 0], &mut v);
        apply(&[], &mut v);
    }

    #[test]
    fn the_handshake_has_no_extension_bits() {
        let h = handshake(&[7; 20], &observer_peer_id(3));
        assert_eq!(h[0], 19);
        assert_eq!(&h[20..28], &[0; 8]);
        assert_eq!(&h[28..48], &[7; 20]);
        assert!(h[48..56].starts_with(b"-LB0001-"));
    }
}
