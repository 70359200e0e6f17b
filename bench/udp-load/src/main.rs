//! Bounded load generator for BitTorrent trackers, used by `bench/tracker.sh`.
//!
//! * `bench TARGET HASHES SECONDS THREADS WINDOW` — BEP 15 (UDP) announces (and 5 % scrapes)
//!   to random torrents from random peers for SECONDS; each thread keeps WINDOW requests in
//!   flight. Prints requests/s and latency percentiles.
//! * `fill TARGET HASHES PEERS` — announce PEERS distinct peers to every torrent over UDP,
//!   each exactly once (lost datagrams are re-sent). Peer `j` sends from its own loopback
//!   source address 127.1.x.y (all of 127.0.0.0/8 is loopback on Linux).
//! * `fill-http TARGET HASHES PEERS CONNECTIONS` — the same over HTTP (`GET /announce`),
//!   for trackers without UDP; peers differ by peer id and port.
//! * `http-rate TARGET HASHES SECONDS CONNECTIONS RATE` — open-loop HTTP latency: the same
//!   announce/scrape mix as bench/tracker/announce.lua, sent at a fixed total RATE
//!   (requests/s) over CONNECTIONS keep-alive connections (one thread each, re-opened when
//!   the tracker closes them). Each connection sends on a fixed schedule, staggered across
//!   connections, and a request's latency counts from when it was due, not from when it
//!   could be sent (no coordinated omission: a stalled server is charged for the requests
//!   that queued up behind the stall). Prints achieved requests/s and percentiles.
//!
//! HASHES is a file of 40-hex-digit info-hashes, one a line. TARGET must be a loopback
//! address: this tool never sends anywhere else. Every loop is bounded in count and time.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream, UdpSocket};
use std::process::ExitCode;
use std::time::{Duration, Instant};

const PROTOCOL_ID: u64 = 0x0417_2710_1980;
const ACTION_CONNECT: u32 = 0;
const ACTION_ANNOUNCE: u32 = 1;
const ACTION_SCRAPE: u32 = 2;
const ACTION_ERROR: u32 = 3;
const EVENT_STARTED: u32 = 2;
/// A connection id is good for two minutes at most trackers; renew well before.
const CONNECTION_ID_RENEWAL: Duration = Duration::from_secs(30);
/// A request without a reply after this long counts as lost (and, when filling, is re-sent).
const LOST_AFTER: Duration = Duration::from_secs(1);
/// Hard upper bound on any run, whatever the arguments say.
const MAX_RUN: Duration = Duration::from_secs(600);

type Hash = [u8; 20];

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("bench") if args.len() == 6 => bench(&args[1..]),
        Some("fill") if args.len() == 4 => fill_udp(&args[1..]),
        Some("fill-http") if args.len() == 5 => fill_http(&args[1..]),
        Some("http-rate") if args.len() == 6 => http_rate(&args[1..]),
        _ => Err(
            "usage: udp-load bench TARGET HASHES SECONDS THREADS WINDOW\n       \
                  udp-load fill TARGET HASHES PEERS\n       \
                  udp-load fill-http TARGET HASHES PEERS CONNECTIONS\n       \
                  udp-load http-rate TARGET HASHES SECONDS CONNECTIONS RATE"
                .to_string(),
        ),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("udp-load: {e}");
            ExitCode::FAILURE
        }
    }
}

fn parse<T: std::str::FromStr>(s: &str, what: &str) -> Result<T, String> {
    s.parse().map_err(|_| format!("bad {what}: {s:?}"))
}

/// A loopback target only.
fn target(s: &str) -> Result<SocketAddr, String> {
    let addr: SocketAddr = parse(s, "target address")?;
    if !addr.ip().is_loopback() {
        return Err(format!("{addr} is not a loopback address"));
    }
    Ok(addr)
}

fn read_hashes(path: &str) -> Result<Vec<Hash>, String> {
    let file = std::fs::File::open(path).map_err(|e| format!("{path}: {e}"))?;
    let mut out = Vec::new();
    for line in BufReader::new(file).lines() {
        let line = line.map_err(|e| format!("{path}: {e}"))?;
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let mut hash = [0u8; 20];
        if line.len() != 40 {
            return Err(format!("{path}: not a 40-digit hex info-hash: {line:?}"));
        }
        for (i, byte) in hash.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&line[2 * i..2 * i + 2], 16)
                .map_err(|_| format!("{path}: bad hex: {line:?}"))?;
        }
        out.push(hash);
    }
    if out.is_empty() {
        return Err(format!("{path}: no info-hashes"));
    }
    Ok(out)
}

/// xorshift64*: fast and good enough to pick torrents and peers.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn be_u32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// Obtain a connection id on a connected socket (a few tries).
fn udp_connect(sock: &UdpSocket, txid: u32) -> Result<u64, String> {
    let mut req = Vec::with_capacity(16);
    req.extend_from_slice(&PROTOCOL_ID.to_be_bytes());
    req.extend_from_slice(&ACTION_CONNECT.to_be_bytes());
    req.extend_from_slice(&txid.to_be_bytes());
    let mut buf = [0u8; 2048];
    for _ in 0..20 {
        sock.send(&req).map_err(|e| format!("send connect: {e}"))?;
        let deadline = Instant::now() + Duration::from_millis(500);
        while Instant::now() < deadline {
            let Ok(n) = sock.recv(&mut buf) else { break };
            let reply = &buf[..n];
            if n >= 16 && be_u32(reply, 0) == Some(ACTION_CONNECT) && be_u32(reply, 4) == Some(txid)
            {
                let id: [u8; 8] = reply[8..16].try_into().map_err(|_| "short reply")?;
                return Ok(u64::from_be_bytes(id));
            }
        }
    }
    Err("no reply to connect".to_string())
}

struct Announce<'a> {
    hash: &'a Hash,
    peer_id: [u8; 20],
    left: u64,
    event: u32,
    numwant: i32,
    port: u16,
}

fn announce_packet(conn: u64, txid: u32, a: &Announce) -> Vec<u8> {
    let mut p = Vec::with_capacity(98);
    p.extend_from_slice(&conn.to_be_bytes());
    p.extend_from_slice(&ACTION_ANNOUNCE.to_be_bytes());
    p.extend_from_slice(&txid.to_be_bytes());
    p.extend_from_slice(a.hash);
    p.extend_from_slice(&a.peer_id);
    p.extend_from_slice(&0u64.to_be_bytes()); // downloaded
    p.extend_from_slice(&a.left.to_be_bytes());
    p.extend_from_slice(&0u64.to_be_bytes()); // uploaded
    p.extend_from_slice(&a.event.to_be_bytes());
    p.extend_from_slice(&0u32.to_be_bytes()); // ip: use the source address
    p.extend_from_slice(&txid.to_be_bytes()); // key
    p.extend_from_slice(&a.numwant.to_be_bytes());
    p.extend_from_slice(&a.port.to_be_bytes());
    p
}

fn scrape_packet(conn: u64, txid: u32, hashes: &[&Hash]) -> Vec<u8> {
    let mut p = Vec::with_capacity(16 + 20 * hashes.len());
    p.extend_from_slice(&conn.to_be_bytes());
    p.extend_from_slice(&ACTION_SCRAPE.to_be_bytes());
    p.extend_from_slice(&txid.to_be_bytes());
    for h in hashes {
        p.extend_from_slice(*h);
    }
    p
}

#[derive(Default)]
struct BenchStats {
    ok: u64,
    errors: u64,
    lost: u64,
    latencies_us: Vec<u32>,
}

fn bench(args: &[String]) -> Result<(), String> {
    let target = target(&args[0])?;
    let hashes = read_hashes(&args[1])?;
    let seconds: u64 = parse(&args[2], "seconds")?;
    let threads: usize = parse(&args[3], "threads")?;
    let window: usize = parse(&args[4], "window")?;
    let run = Duration::from_secs(seconds).min(MAX_RUN);
    let start = Instant::now();
    let stats: Vec<Result<BenchStats, String>> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads.max(1))
            .map(|t| {
                let hashes = &hashes;
                s.spawn(move || bench_thread(target, hashes, run, window.max(1), t as u64))
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().unwrap_or_else(|_| Err("thread panicked".into())))
            .collect()
    });
    let elapsed = start.elapsed().as_secs_f64();
    let mut total = BenchStats::default();
    for s in stats {
        let s = s?;
        total.ok += s.ok;
        total.errors += s.errors;
        total.lost += s.lost;
        total.latencies_us.extend(s.latencies_us);
    }
    total.latencies_us.sort_unstable();
    let pct = |p: f64| percentile_ms(&total.latencies_us, p);
    println!(
        "requests/s {:.0}  p50 {:.3} ms  p99 {:.3} ms  replies {}  errors {}  lost {}",
        total.ok as f64 / elapsed,
        pct(0.50),
        pct(0.99),
        total.ok,
        total.errors,
        total.lost
    );
    Ok(())
}

fn bench_thread(
    target: SocketAddr,
    hashes: &[Hash],
    run: Duration,
    window: usize,
    seed: u64,
) -> Result<BenchStats, String> {
    let sock = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).map_err(|e| e.to_string())?;
    sock.connect(target).map_err(|e| e.to_string())?;
    sock.set_read_timeout(Some(Duration::from_millis(100)))
        .map_err(|e| e.to_string())?;
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ (seed + 1).wrapping_mul(0xD1B5_4A32_D192_ED03));
    let mut conn = udp_connect(&sock, rng.next() as u32)?;
    let mut conn_at = Instant::now();
    let mut stats = BenchStats::default();
    let mut pending: HashMap<u32, Instant> = HashMap::with_capacity(window * 2);
    let mut buf = [0u8; 2048];
    let deadline = Instant::now() + run;
    while Instant::now() < deadline {
        if conn_at.elapsed() > CONNECTION_ID_RENEWAL && pending.is_empty() {
            conn = udp_connect(&sock, rng.next() as u32)?;
            conn_at = Instant::now();
        }
        while pending.len() < window {
            let txid = rng.next() as u32;
            let packet = if rng.below(100) < 5 {
                let picked: Vec<&Hash> = (0..3).map(|_| &hashes[rng.below(hashes.len())]).collect();
                scrape_packet(conn, txid, &picked)
            } else {
                let mut peer_id = [0u8; 20];
                peer_id[..8].copy_from_slice(b"-BN0001-");
                peer_id[8..16].copy_from_slice(&rng.next().to_be_bytes());
                let announce = Announce {
                    hash: &hashes[rng.below(hashes.len())],
                    peer_id,
                    left: if rng.below(4) == 0 { 0 } else { 1 << 20 },
                    event: 0,
                    numwant: 50,
                    port: 10_000 + rng.below(50_000) as u16,
                };
                announce_packet(conn, txid, &announce)
            };
            if sock.send(&packet).is_err() {
                break;
            }
            pending.insert(txid, Instant::now());
        }
        match sock.recv(&mut buf) {
            Ok(n) => {
                let reply = &buf[..n];
                if let (Some(action), Some(txid)) = (be_u32(reply, 0), be_u32(reply, 4))
                    && let Some(sent) = pending.remove(&txid)
                {
                    if action == ACTION_ERROR {
                        stats.errors += 1;
                    } else {
                        stats.ok += 1;
                        let us = sent.elapsed().as_micros().min(u32::MAX as u128) as u32;
                        stats.latencies_us.push(us);
                    }
                }
            }
            Err(_) => {
                let before = pending.len();
                pending.retain(|_, sent| sent.elapsed() < LOST_AFTER);
                stats.lost += (before - pending.len()) as u64;
            }
        }
    }
    Ok(stats)
}

/// The loopback source address of filler peer `j`: 127.1.x.y, y never 0 or 255.
fn peer_source(j: usize) -> Ipv4Addr {
    Ipv4Addr::new(127, 1, (j / 250) as u8, (j % 250) as u8 + 1)
}

fn peer_id_for(torrent: usize, j: usize) -> [u8; 20] {
    let mut id = [0u8; 20];
    id[..8].copy_from_slice(b"-FL0001-");
    id[8..16].copy_from_slice(&(torrent as u64).to_be_bytes());
    id[16..20].copy_from_slice(&(j as u32).to_be_bytes());
    id
}

fn fill_udp(args: &[String]) -> Result<(), String> {
    let target = target(&args[0])?;
    let hashes = read_hashes(&args[1])?;
    let peers: usize = parse(&args[2], "peers per torrent")?;
    if peers == 0 || peers > 60_000 {
        return Err("peers per torrent must be 1..=60000".into());
    }
    let start = Instant::now();
    let results: Vec<Result<u64, String>> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..peers)
            .map(|j| {
                let hashes = &hashes;
                s.spawn(move || fill_udp_peer(target, hashes, j))
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().unwrap_or_else(|_| Err("thread panicked".into())))
            .collect()
    });
    let mut acked = 0;
    for r in results {
        acked += r?;
    }
    println!(
        "loaded {acked} peers over {} torrents in {:.1} s (UDP)",
        hashes.len(),
        start.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Announce peer `j` of every torrent, from its own source address; returns the replies.
fn fill_udp_peer(target: SocketAddr, hashes: &[Hash], j: usize) -> Result<u64, String> {
    const WINDOW: usize = 8;
    let sock = UdpSocket::bind((peer_source(j), 0)).map_err(|e| format!("bind: {e}"))?;
    sock.connect(target).map_err(|e| e.to_string())?;
    sock.set_read_timeout(Some(Duration::from_millis(200)))
        .map_err(|e| e.to_string())?;
    let mut conn = udp_connect(&sock, j as u32)?;
    let mut conn_at = Instant::now();
    let packet_for = |conn: u64, torrent: usize| {
        let announce = Announce {
            hash: &hashes[torrent],
            peer_id: peer_id_for(torrent, j),
            left: if j.is_multiple_of(4) { 0 } else { 1 << 20 },
            event: EVENT_STARTED,
            numwant: 0,
            port: 6881 + (j % 1000) as u16,
        };
        // The transaction id is the torrent index: replies are matched to their request.
        announce_packet(conn, torrent as u32, &announce)
    };
    let mut next = 0usize;
    let mut acked = 0u64;
    let mut pending: HashMap<u32, Instant> = HashMap::new();
    let mut buf = [0u8; 2048];
    let deadline = Instant::now() + MAX_RUN;
    while acked < hashes.len() as u64 {
        if Instant::now() > deadline {
            return Err(format!("peer {j}: gave up after {MAX_RUN:?}"));
        }
        if conn_at.elapsed() > CONNECTION_ID_RENEWAL {
            conn = udp_connect(&sock, j as u32)?;
            conn_at = Instant::now();
        }
        while pending.len() < WINDOW && next < hashes.len() {
            let _ = sock.send(&packet_for(conn, next));
            pending.insert(next as u32, Instant::now());
            next += 1;
        }
        match sock.recv(&mut buf) {
            Ok(n) => {
                let reply = &buf[..n];
                if be_u32(reply, 0) == Some(ACTION_ERROR) {
                    let msg = String::from_utf8_lossy(reply.get(8..).unwrap_or_default());
                    return Err(format!("tracker error: {msg}"));
                }
                if let Some(txid) = be_u32(reply, 4)
                    && pending.remove(&txid).is_some()
                {
                    acked += 1;
                }
            }
            Err(_) => {
                // Re-send what went unanswered (a re-announce does not add a peer).
                let stale: Vec<u32> = pending
                    .iter()
                    .filter(|(_, sent)| sent.elapsed() > LOST_AFTER)
                    .map(|(t, _)| *t)
                    .collect();
                for torrent in stale {
                    let _ = sock.send(&packet_for(conn, torrent as usize));
                    pending.insert(torrent, Instant::now());
                }
            }
        }
    }
    Ok(acked)
}

fn percent_encode(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 3);
    for b in bytes {
        if b.is_ascii_alphanumeric() || b"-._~".contains(b) {
            s.push(*b as char);
        } else {
            s.push_str(&format!("%{b:02X}"));
        }
    }
    s
}

fn fill_http(args: &[String]) -> Result<(), String> {
    let target = target(&args[0])?;
    let hashes = read_hashes(&args[1])?;
    let peers: usize = parse(&args[2], "peers per torrent")?;
    let connections: usize = parse(&args[3], "connections")?;
    if peers == 0 || peers > 60_000 {
        return Err("peers per torrent must be 1..=60000".into());
    }
    let connections = connections.clamp(1, 256);
    let start = Instant::now();
    let results: Vec<Result<u64, String>> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..connections)
            .map(|c| {
                let hashes = &hashes;
                s.spawn(move || fill_http_connection(target, hashes, peers, c, connections))
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().unwrap_or_else(|_| Err("thread panicked".into())))
            .collect()
    });
    let mut acked = 0;
    for r in results {
        acked += r?;
    }
    println!(
        "loaded {acked} peers over {} torrents in {:.1} s (HTTP)",
        hashes.len(),
        start.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Announce every peer of the torrents `c, c + stride, ...` over one keep-alive connection,
/// [`HTTP_PIPELINE`] requests in flight (re-opened, and the unanswered re-sent, when the
/// tracker closes it).
fn fill_http_connection(
    target: SocketAddr,
    hashes: &[Hash],
    peers: usize,
    c: usize,
    stride: usize,
) -> Result<u64, String> {
    let requests: Vec<String> = (c..hashes.len())
        .step_by(stride)
        .flat_map(|torrent| (0..peers).map(move |j| (torrent, j)))
        .map(|(torrent, j)| {
            format!(
                "GET /announce?info_hash={}&peer_id={}&port={}&uploaded=0&downloaded=0\
                 &left={}&event=started&numwant=0&compact=1 HTTP/1.1\r\nHost: {target}\r\n\r\n",
                percent_encode(&hashes[torrent]),
                percent_encode(&peer_id_for(torrent, j)),
                1024 + j,
                if j.is_multiple_of(4) { 0 } else { 1 << 20 },
            )
        })
        .collect();
    let mut stream: Option<BufReader<TcpStream>> = None;
    let mut done = 0usize;
    let mut failures = 0;
    let deadline = Instant::now() + MAX_RUN;
    while done < requests.len() {
        if Instant::now() > deadline {
            return Err(format!("gave up after {MAX_RUN:?}"));
        }
        if stream.is_none() {
            let s = TcpStream::connect_timeout(&target, Duration::from_secs(5))
                .map_err(|e| format!("connect: {e}"))?;
            s.set_read_timeout(Some(Duration::from_secs(10)))
                .map_err(|e| e.to_string())?;
            let _ = s.set_nodelay(true);
            stream = Some(BufReader::new(s));
        }
        let Some(conn) = stream.as_mut() else {
            continue;
        };
        let batch = &requests[done..(done + HTTP_PIPELINE).min(requests.len())];
        let mut keep_alive = conn.get_mut().write_all(batch.concat().as_bytes()).is_ok();
        let mut answered = 0;
        while keep_alive && answered < batch.len() {
            match read_http_reply(conn) {
                Ok(open) => {
                    answered += 1;
                    keep_alive = open;
                }
                Err(_) => keep_alive = false,
            }
        }
        done += answered;
        if answered == 0 {
            failures += 1;
            if failures > 5 {
                return Err("the tracker answers no announce".to_string());
            }
        }
        if !keep_alive {
            stream = None;
        }
    }
    Ok(done as u64)
}

/// Requests written at once on one connection when filling over HTTP. 1: aquatic_http
/// answers only the first of pipelined requests until more bytes arrive.
const HTTP_PIPELINE: usize = 1;

/// Read one reply; returns whether the connection stays open.
fn read_http_reply(conn: &mut BufReader<TcpStream>) -> std::io::Result<bool> {
    let mut status = String::new();
    if conn.read_line(&mut status)? == 0 {
        return Err(std::io::ErrorKind::UnexpectedEof.into());
    }
    let mut length: Option<usize> = None;
    // HTTP/1.0 closes after the reply unless it says otherwise.
    let mut close = status.starts_with("HTTP/1.0");
    loop {
        let mut line = String::new();
        if conn.read_line(&mut line)? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let lower = line.to_ascii_lowercase();
        if let Some(v) = lower.strip_prefix("content-length:") {
            length = v.trim().parse().ok();
        } else if lower.starts_with("connection:") && lower.contains("close") {
            close = true;
        } else if lower.starts_with("connection:") && lower.contains("keep-alive") {
            close = false;
        }
    }
    match length {
        Some(n) => {
            let mut body = vec![0u8; n.min(1 << 20)];
            conn.read_exact(&mut body)?;
            Ok(!close)
        }
        None => {
            let mut sink = Vec::new();
            conn.read_to_end(&mut sink)?;
            Ok(false)
        }
    }
}

/// Most connections `http-rate` opens (one thread each).
const MAX_RATE_CONNECTIONS: usize = 1024;
/// A reply slower than this counts as an error (and the connection is re-opened).
const HTTP_REPLY_TIMEOUT: Duration = Duration::from_secs(5);

/// What one `http-rate` connection saw.
#[derive(Default)]
struct RateStats {
    ok: u64,
    errors: u64,
    latencies_us: Vec<u32>,
}

fn http_rate(args: &[String]) -> Result<(), String> {
    let target = target(&args[0])?;
    let hashes: Vec<String> = read_hashes(&args[1])?
        .iter()
        .map(|h| h.iter().map(|b| format!("%{b:02X}")).collect())
        .collect();
    let seconds: u64 = parse(&args[2], "seconds")?;
    let connections: usize = parse(&args[3], "connections")?;
    let rate: f64 = parse(&args[4], "rate")?;
    if !(1..=MAX_RATE_CONNECTIONS).contains(&connections) {
        return Err(format!("connections must be 1..={MAX_RATE_CONNECTIONS}"));
    }
    if !(1.0..=1e6).contains(&rate) {
        return Err("rate must be 1..=1000000 requests/s".into());
    }
    let run = Duration::from_secs(seconds).min(MAX_RUN);
    // Each connection sends every `period`; connection c starts c/connections of a period in.
    let period = Duration::from_secs_f64(connections as f64 / rate);
    let start = Instant::now() + Duration::from_millis(200);
    let results: Vec<Result<RateStats, String>> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..connections)
            .map(|c| {
                let hashes = &hashes;
                let first = start + period.mul_f64(c as f64 / connections as f64);
                std::thread::Builder::new()
                    .stack_size(256 * 1024)
                    .spawn_scoped(s, move || {
                        rate_connection(target, hashes, first, period, start + run, c as u64)
                    })
                    .map_err(|e| format!("cannot start a thread: {e}"))
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w?.join().unwrap_or_else(|_| Err("thread panicked".into())))
            .collect()
    });
    let mut total = RateStats::default();
    for r in results {
        let r = r?;
        total.ok += r.ok;
        total.errors += r.errors;
        total.latencies_us.extend(r.latencies_us);
    }
    total.latencies_us.sort_unstable();
    let pct = |p: f64| percentile_ms(&total.latencies_us, p);
    println!(
        "requests/s {:.0}  offered {rate:.0}  p50 {:.3} ms  p90 {:.3} ms  p99 {:.3} ms  \
         p99.9 {:.3} ms  max {:.3} ms  replies {}  errors {}",
        total.ok as f64 / run.as_secs_f64(),
        pct(0.50),
        pct(0.90),
        pct(0.99),
        pct(0.999),
        pct(1.0),
        total.ok,
        total.errors
    );
    Ok(())
}

/// One connection of `http-rate`: a request every `period` from `first` until `end`, each
/// timed from when it was due.
fn rate_connection(
    target: SocketAddr,
    hashes: &[String],
    first: Instant,
    period: Duration,
    end: Instant,
    seed: u64,
) -> Result<RateStats, String> {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ (seed + 1).wrapping_mul(0xD1B5_4A32_D192_ED03));
    let mut stats = RateStats::default();
    let mut stream: Option<BufReader<TcpStream>> = None;
    let mut due = first;
    while due < end {
        let now = Instant::now();
        if due > now {
            std::thread::sleep(due - now);
        }
        let request = mix_request(&mut rng, hashes, target);
        // A kept-alive connection the tracker has closed meanwhile fails at once: retry
        // once on a fresh one (the time spent still counts).
        let mut outcome = Err(());
        for _ in 0..2 {
            let fresh = stream.is_none();
            match exchange(&mut stream, target, &request) {
                Ok(()) => {
                    outcome = Ok(());
                    break;
                }
                Err(()) if fresh => break,
                Err(()) => {}
            }
        }
        match outcome {
            Ok(()) => {
                stats.ok += 1;
                let latency = due.elapsed().as_micros().min(u128::from(u32::MAX)) as u32;
                stats.latencies_us.push(latency);
            }
            Err(()) => stats.errors += 1,
        }
        due += period;
    }
    Ok(stats)
}

/// Send `request` and read its reply, opening a connection if there is none; the
/// connection is dropped when it fails or the tracker closes it.
fn exchange(
    stream: &mut Option<BufReader<TcpStream>>,
    target: SocketAddr,
    request: &[u8],
) -> Result<(), ()> {
    if stream.is_none() {
        let s = TcpStream::connect_timeout(&target, HTTP_REPLY_TIMEOUT).map_err(|_| ())?;
        s.set_read_timeout(Some(HTTP_REPLY_TIMEOUT))
            .map_err(|_| ())?;
        let _ = s.set_nodelay(true);
        *stream = Some(BufReader::new(s));
    }
    let Some(conn) = stream.as_mut() else {
        return Err(());
    };
    let result = conn
        .get_mut()
        .write_all(request)
        .and_then(|()| read_http_reply(conn));
    match result {
        Ok(true) => Ok(()),
        Ok(false) => {
            *stream = None;
            Ok(())
        }
        Err(_) => {
            *stream = None;
            Err(())
        }
    }
}

/// One request of the bench/tracker/announce.lua mix: 5 % scrapes of three torrents, else an
/// announce to a random torrent from a random peer (binary peer id, random port, a quarter
/// seeders), compact, numwant 50.
fn mix_request(rng: &mut Rng, hashes: &[String], target: SocketAddr) -> Vec<u8> {
    let scrape = rng.below(100) < 5;
    let mut pick = || hashes[rng.below(hashes.len())].as_str();
    let path = if scrape {
        format!(
            "/scrape?info_hash={}&info_hash={}&info_hash={}",
            pick(),
            pick(),
            pick()
        )
    } else {
        let hash = pick();
        let mut peer_id = *b"-RL0001-000000000000";
        for byte in &mut peer_id[8..] {
            *byte = rng.below(256) as u8;
        }
        let left = if rng.below(4) == 0 { 0 } else { 1 << 20 };
        format!(
            "/announce?info_hash={hash}&peer_id={}&port={}&uploaded=0&downloaded=0&left={left}\
             &compact=1&numwant=50",
            percent_encode(&peer_id),
            10_000 + rng.below(50_001)
        )
    };
    format!("GET {path} HTTP/1.1\r\nHost: {target}\r\n\r\n").into_bytes()
}

/// The `p` quantile (0..1) of sorted latencies in microseconds, in milliseconds (0 if none).
fn percentile_ms(sorted_us: &[u32], p: f64) -> f64 {
    let Some(last) = sorted_us.len().checked_sub(1) else {
        return 0.0;
    };
    let i = ((sorted_us.len() as f64 * p) as usize).min(last);
    sorted_us.get(i).map_or(0.0, |us| f64::from(*us) / 1000.0)
}
