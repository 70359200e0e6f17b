//! A scripted BitTorrent peer (minimal BEP 3, std threads) for testing how our client copes
//! with peers that misbehave.
//!
//! It listens on a free loopback port, accepts any number of connections for one torrent,
//! answers the handshake, sends a bitfield with every piece, unchokes, and then, depending on
//! its [`Mode`], answers block requests with the real bytes ([`Mode::Honest`]), with wrong bytes
//! ([`Mode::Corrupt`]) or not at all ([`Mode::Stall`]). It counts what happens (connections,
//! closes, requests, blocks sent) so a test can assert on it. Point our client at it with
//! `--peer 127.0.0.1:PORT`. Everything stops (listener and connections) when it is dropped.

use crate::metafile::TestTorrent;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How the fake peer answers block requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Serves the real bytes from the payload file: a seeder independent of our client.
    Honest,
    /// Serves blocks of the right size with every byte wrong, so every piece fails its hash.
    Corrupt,
    /// Unchokes, then never answers a request (the connection stays open).
    Stall,
}

/// Largest block a peer may ask for; bigger requests close the connection.
const MAX_BLOCK: u32 = 128 * 1024;
/// Largest message accepted from the other side (a bitfield of a big torrent, or a piece).
const MAX_MESSAGE: u32 = 1024 * 1024 + 13;

/// Counters the test can read while the peer runs.
#[derive(Default, Debug)]
pub struct Stats {
    /// Connections that completed a handshake for our torrent.
    pub connections: AtomicU64,
    /// Handshakes rejected (wrong protocol or info-hash).
    pub bad_handshakes: AtomicU64,
    /// Connections closed by the other side (EOF or reset), after a good handshake.
    pub closed_by_remote: AtomicU64,
    /// `request` messages received.
    pub requests: AtomicU64,
    /// `piece` messages sent.
    pub blocks_sent: AtomicU64,
    /// `have` messages received.
    pub haves: AtomicU64,
    /// When each remote close happened.
    pub close_times: Mutex<Vec<Instant>>,
    /// When each accepted connection completed its handshake.
    pub connect_times: Mutex<Vec<Instant>>,
}

/// A running fake peer; stops when dropped.
pub struct FakePeer {
    port: u16,
    mode: Mode,
    stats: Arc<Stats>,
    stop: Arc<AtomicBool>,
    streams: Arc<Mutex<Vec<TcpStream>>>,
    accept_thread: Option<JoinHandle<()>>,
}

/// What a connection thread needs to serve the torrent.
struct Served {
    info_hash: [u8; 20],
    piece_length: u64,
    total_length: u64,
    piece_count: u32,
    payload: PathBuf,
    mode: Mode,
    block_delay: Duration,
    peer_id: [u8; 20],
}

impl FakePeer {
    /// Start a fake peer for `torrent` (whose payload file it reads) in `mode`.
    pub fn start(torrent: &TestTorrent, mode: Mode) -> FakePeer {
        FakePeer::start_throttled(torrent, mode, Duration::ZERO)
    }

    /// Like [`FakePeer::start`], but waits `block_delay` before sending each block, which
    /// makes an honest fake peer slow (so a download lasts long enough to observe bans).
    pub fn start_throttled(torrent: &TestTorrent, mode: Mode, block_delay: Duration) -> FakePeer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind fake peer");
        let port = listener.local_addr().expect("addr").port();
        listener
            .set_nonblocking(true)
            .expect("nonblocking listener");
        let mut peer_id = *b"-FP0001-000000000000";
        peer_id[8..14].copy_from_slice(format!("{port:06}").as_bytes());
        peer_id[14] = match mode {
            Mode::Honest => b'H',
            Mode::Corrupt => b'C',
            Mode::Stall => b'S',
        };
        let served = Arc::new(Served {
            info_hash: torrent.info_hash,
            piece_length: torrent.piece_length,
            total_length: torrent.total_length,
            piece_count: torrent.piece_count(),
            payload: torrent.payload.clone(),
            mode,
            block_delay,
            peer_id,
        });
        let stats = Arc::new(Stats::default());
        let stop = Arc::new(AtomicBool::new(false));
        let streams = Arc::new(Mutex::new(Vec::new()));
        let accept_thread = {
            let (stats, stop, streams) = (stats.clone(), stop.clone(), streams.clone());
            std::thread::spawn(move || accept_loop(listener, served, stats, stop, streams))
        };
        FakePeer {
            port,
            mode,
            stats,
            stop,
            streams,
            accept_thread: Some(accept_thread),
        }
    }

    /// The loopback port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `127.0.0.1:PORT`, ready for `--peer`.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Its mode.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// Live counters.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// Connections that completed a handshake so far.
    pub fn connections(&self) -> u64 {
        self.stats.connections.load(Ordering::SeqCst)
    }

    /// Connections the other side has closed so far.
    pub fn closed_by_remote(&self) -> u64 {
        self.stats.closed_by_remote.load(Ordering::SeqCst)
    }

    /// Connections currently open (handshake done, not closed by the other side).
    pub fn open_connections(&self) -> u64 {
        self.connections().saturating_sub(self.closed_by_remote())
    }

    /// Blocks (`piece` messages) sent so far.
    pub fn blocks_sent(&self) -> u64 {
        self.stats.blocks_sent.load(Ordering::SeqCst)
    }

    /// Requests received so far.
    pub fn requests(&self) -> u64 {
        self.stats.requests.load(Ordering::SeqCst)
    }

    /// One line summarising the counters, for test failure messages.
    pub fn summary(&self) -> String {
        format!(
            "fake peer {:?} on {}: {} connections, {} closed by remote, {} bad handshakes, {} requests, {} blocks sent, {} haves",
            self.mode,
            self.addr(),
            self.connections(),
            self.closed_by_remote(),
            self.stats.bad_handshakes.load(Ordering::SeqCst),
            self.requests(),
            self.blocks_sent(),
            self.stats.haves.load(Ordering::SeqCst),
        )
    }
}

impl Drop for FakePeer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Ok(streams) = self.streams.lock() {
            for s in streams.iter() {
                let _ = s.shutdown(Shutdown::Both);
            }
        }
        if let Some(t) = self.accept_thread.take() {
            let _ = t.join();
        }
    }
}

fn accept_loop(
    listener: TcpListener,
    served: Arc<Served>,
    stats: Arc<Stats>,
    stop: Arc<AtomicBool>,
    streams: Arc<Mutex<Vec<TcpStream>>>,
) {
    while !stop.load(Ordering::SeqCst) {
        match listener.accept() {
            Ok((stream, _)) => {
                let _ = stream.set_nonblocking(false);
                if let Ok(clone) = stream.try_clone()
                    && let Ok(mut list) = streams.lock()
                {
                    list.push(clone);
                }
                let (served, stats, stop) = (served.clone(), stats.clone(), stop.clone());
                std::thread::spawn(move || serve_connection(stream, &served, &stats, &stop));
            }
            Err(_) => std::thread::sleep(Duration::from_millis(10)),
        }
    }
}

fn serve_connection(mut stream: TcpStream, served: &Served, stats: &Stats, stop: &AtomicBool) {
    let _ = stream.set_nodelay(true);
    // A generous read timeout so an idle connection thread notices `stop` now and then.
    let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
    let mut hs = [0u8; 68];
    if read_exact_or_stop(&mut stream, &mut hs, stop).is_err() {
        return;
    }
    if hs[0] != 19 || &hs[1..20] != b"BitTorrent protocol" || hs[28..48] != served.info_hash {
        stats.bad_handshakes.fetch_add(1, Ordering::SeqCst);
        return;
    }
    stats.connections.fetch_add(1, Ordering::SeqCst);
    if let Ok(mut t) = stats.connect_times.lock() {
        t.push(Instant::now());
    }
    let result = run_session(&mut stream, served, stats, stop);
    if result.is_err() && !stop.load(Ordering::SeqCst) {
        stats.closed_by_remote.fetch_add(1, Ordering::SeqCst);
        if let Ok(mut t) = stats.close_times.lock() {
            t.push(Instant::now());
        }
    }
    let _ = stream.shutdown(Shutdown::Both);
}

/// Handshake reply, bitfield, unchoke, then answer messages until the connection ends.
/// Returns Err when the remote closed or misbehaved.
fn run_session(
    stream: &mut TcpStream,
    served: &Served,
    stats: &Stats,
    stop: &AtomicBool,
) -> std::io::Result<()> {
    let mut reply = Vec::with_capacity(68);
    reply.push(19);
    reply.extend_from_slice(b"BitTorrent protocol");
    reply.extend_from_slice(&[0u8; 8]);
    reply.extend_from_slice(&served.info_hash);
    reply.extend_from_slice(&served.peer_id);
    stream.write_all(&reply)?;

    let bitfield = full_bitfield(served.piece_count);
    let mut msg = Vec::with_capacity(5 + bitfield.len());
    msg.extend_from_slice(&(1 + bitfield.len() as u32).to_be_bytes());
    msg.push(5);
    msg.extend_from_slice(&bitfield);
    msg.extend_from_slice(&1u32.to_be_bytes());
    msg.push(1); // unchoke
    stream.write_all(&msg)?;

    let file = std::fs::File::open(&served.payload)?;
    let mut len_buf = [0u8; 4];
    let mut body = Vec::new();
    loop {
        read_exact_or_stop(stream, &mut len_buf, stop)?;
        let len = u32::from_be_bytes(len_buf);
        if len == 0 {
            continue; // keep-alive
        }
        if len > MAX_MESSAGE {
            return Err(std::io::Error::other("oversized message"));
        }
        body.resize(len as usize, 0);
        read_exact_or_stop(stream, &mut body, stop)?;
        match body[0] {
            4 if body.len() == 5 => {
                stats.haves.fetch_add(1, Ordering::SeqCst);
            }
            6 if body.len() == 13 => {
                stats.requests.fetch_add(1, Ordering::SeqCst);
                let index = u32::from_be_bytes([body[1], body[2], body[3], body[4]]);
                let begin = u32::from_be_bytes([body[5], body[6], body[7], body[8]]);
                let length = u32::from_be_bytes([body[9], body[10], body[11], body[12]]);
                if served.mode == Mode::Stall {
                    continue;
                }
                let block = read_block(&file, served, index, begin, length)?;
                if !served.block_delay.is_zero() {
                    std::thread::sleep(served.block_delay);
                }
                send_piece(stream, index, begin, &block)?;
                stats.blocks_sent.fetch_add(1, Ordering::SeqCst);
            }
            // choke, unchoke, interested, not interested, bitfield, piece, cancel, port,
            // extensions: nothing to do for a peer that only seeds.
            _ => {}
        }
    }
}

/// The requested block: real bytes, or (in [`Mode::Corrupt`]) every byte inverted.
fn read_block(
    file: &std::fs::File,
    served: &Served,
    index: u32,
    begin: u32,
    length: u32,
) -> std::io::Result<Vec<u8>> {
    let offset = u64::from(index) * served.piece_length + u64::from(begin);
    let end = offset + u64::from(length);
    let piece_end = (u64::from(index) + 1) * served.piece_length;
    if index >= served.piece_count
        || length == 0
        || length > MAX_BLOCK
        || end > piece_end
        || end > served.total_length
    {
        return Err(std::io::Error::other("bad request"));
    }
    let mut block = vec![0u8; length as usize];
    file.read_exact_at(&mut block, offset)?;
    if served.mode == Mode::Corrupt {
        for b in &mut block {
            *b = !*b;
        }
    }
    Ok(block)
}

fn send_piece(stream: &mut TcpStream, index: u32, begin: u32, block: &[u8]) -> std::io::Result<()> {
    let mut msg = Vec::with_capacity(13 + block.len());
    msg.extend_from_slice(&(9 + block.len() as u32).to_be_bytes());
    msg.push(7);
    msg.extend_from_slice(&index.to_be_bytes());
    msg.extend_from_slice(&begin.to_be_bytes());
    msg.extend_from_slice(block);
    stream.write_all(&msg)
}

/// A bitfield with every piece set and the spare bits of the last byte clear.
fn full_bitfield(pieces: u32) -> Vec<u8> {
    let mut bits = vec![0xFFu8; pieces.div_ceil(8) as usize];
    let spare = (bits.len() as u32) * 8 - pieces;
    if spare > 0
        && let Some(last) = bits.last_mut()
    {
        *last = 0xFFu8 << spare;
    }
    bits
}

/// `read_exact` that tolerates read timeouts (used to poll `stop`) and fails on EOF or stop.
fn read_exact_or_stop(
    stream: &mut TcpStream,
    buf: &mut [u8],
    stop: &AtomicBool,
) -> std::io::Result<()> {
    let mut filled = 0;
    while filled < buf.len() {
        if stop.load(Ordering::SeqCst) {
            return Err(std::io::Error::other("stopped"));
        }
        match stream.read(&mut buf[filled..]) {
            Ok(0) => return Err(std::io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => filled += n,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::full_bitfield;

    #[test]
    fn bitfield_spare_bits_are_clear() {
        assert_eq!(full_bitfield(8), vec![0xFF]);
        assert_eq!(full_bitfield(9), vec![0xFF, 0x80]);
        assert_eq!(full_bitfield(3), vec![0xE0]);
    }
}
