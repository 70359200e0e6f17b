//! Helpers for the tracker's protocol tests: an in-process tracker on loopback ports
//! chosen by the OS, a raw HTTP/1.1 client that sees the exact bytes on the wire, and
//! BEP 15 datagram builders.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use clap::Parser;
use tracker::app;
use tracker::config::Config;
use tracker::core::Tracker;
use tracker::shutdown::{Shutdown, Trigger};

/// Generous timeout for every socket operation in the tests.
pub const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// A tracker running in this process on its own runtime thread; shut down on drop.
pub struct TestTracker {
    /// The catalog's directory when the test gave none (removed on drop).
    _data: Option<tempfile::TempDir>,
    pub http: SocketAddr,
    pub udp: Option<SocketAddr>,
    pub state: Arc<Tracker>,
    trigger: Option<Trigger>,
    thread: Option<JoinHandle<()>>,
}

impl TestTracker {
    /// Start with `--listen 127.0.0.1:0 --udp 127.0.0.1:0` plus `args`.
    pub fn start(args: &[&str]) -> TestTracker {
        let mut all = vec!["tracker", "--listen", "127.0.0.1:0", "--udp", "127.0.0.1:0"];
        all.extend_from_slice(args);
        TestTracker::start_exact(&all)
    }

    /// Start with exactly these arguments (`argv[0]` included).
    pub fn start_exact(args: &[&str]) -> TestTracker {
        let mut args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        // Each tracker gets its own catalog file unless the test names one.
        let data = (!args.iter().any(|a| a == "--data-dir")).then(|| {
            let dir = tempfile::tempdir().expect("temp dir");
            args.push("--data-dir".into());
            args.push(dir.path().display().to_string());
            dir
        });
        let config = Config::try_parse_from(&args).expect("test tracker arguments");
        let (tx, rx) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async move {
                let (trigger, shutdown) = Shutdown::new();
                let running = app::start(config, shutdown).await.expect("tracker starts");
                let _ = tx.send((
                    running.http.clone(),
                    running.udp.clone(),
                    running.tracker.clone(),
                    trigger,
                ));
                running.wait().await;
            });
        });
        let (http, udp, state, trigger) = rx.recv_timeout(IO_TIMEOUT).expect("tracker started");
        TestTracker {
            _data: data,
            http: http[0],
            udp: udp.first().copied(),
            state,
            trigger: Some(trigger),
            thread: Some(thread),
        }
    }

    /// GET `path_and_query` on a fresh connection (closed by us after the reply).
    pub fn get(&self, path_and_query: &str) -> HttpResponse {
        let mut conn = HttpConn::open(self.http);
        conn.get(path_and_query, &[])
    }

    /// Announce with percent-encoded `hash` from `port`, plus `extra` query text; returns the body.
    pub fn announce(&self, hash: &[u8; 20], port: u16, extra: &str) -> Vec<u8> {
        let response = self.get(&announce_path(hash, port, extra));
        assert_eq!(response.status, 200);
        response.body
    }
}

impl Drop for TestTracker {
    fn drop(&mut self) {
        if let Some(trigger) = self.trigger.take() {
            trigger.fire();
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// `/announce?...` for `hash` with a peer id derived from `port`.
pub fn announce_path(hash: &[u8; 20], port: u16, extra: &str) -> String {
    format!(
        "/announce?info_hash={}&peer_id={}&port={port}&uploaded=0&downloaded=0{extra}",
        url_bytes(hash),
        url_bytes(&peer_id(port))
    )
}

/// A 20-byte peer id unique per port.
pub fn peer_id(port: u16) -> [u8; 20] {
    let mut id = *b"-TT0001-000000000000";
    id[18..].copy_from_slice(&port.to_be_bytes());
    id
}

/// Percent-encode every byte.
pub fn url_bytes(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("%{b:02X}")).collect()
}

/// One HTTP response as read off the wire.
#[derive(Debug)]
pub struct HttpResponse {
    pub status: u16,
    /// Header lines, lowercased names, as `name: value`.
    pub headers: Vec<String>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        let prefix = format!("{name}: ");
        self.headers.iter().find_map(|h| h.strip_prefix(&prefix))
    }
}

/// A raw keep-alive HTTP/1.1 connection.
pub struct HttpConn {
    pub reader: BufReader<TcpStream>,
}

impl HttpConn {
    pub fn open(addr: SocketAddr) -> HttpConn {
        let stream = TcpStream::connect(addr).expect("connect to tracker");
        stream.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
        stream.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
        HttpConn {
            reader: BufReader::new(stream),
        }
    }

    /// Send raw bytes.
    pub fn send(&mut self, bytes: &[u8]) {
        self.reader.get_mut().write_all(bytes).expect("send");
    }

    /// Send a GET with extra header lines and read the reply.
    pub fn get(&mut self, path: &str, headers: &[&str]) -> HttpResponse {
        let mut request = format!("GET {path} HTTP/1.1\r\nHost: tracker\r\n");
        for h in headers {
            request.push_str(h);
            request.push_str("\r\n");
        }
        request.push_str("\r\n");
        self.send(request.as_bytes());
        self.read_response().expect("a response")
    }

    /// Read one response (status line, headers, Content-Length body); None at EOF.
    pub fn read_response(&mut self) -> Option<HttpResponse> {
        let mut status_line = String::new();
        if self.reader.read_line(&mut status_line).ok()? == 0 {
            return None;
        }
        let status = status_line.split(' ').nth(1)?.parse().ok()?;
        let mut headers = Vec::new();
        loop {
            let mut line = String::new();
            self.reader.read_line(&mut line).ok()?;
            let line = line.trim_end().to_string();
            if line.is_empty() {
                break;
            }
            let (name, value) = line.split_once(':')?;
            headers.push(format!("{}: {}", name.to_ascii_lowercase(), value.trim()));
        }
        let len: usize = headers
            .iter()
            .find_map(|h| h.strip_prefix("content-length: "))
            .map_or(0, |v| v.parse().unwrap_or(0));
        let mut body = vec![0; len];
        self.reader.read_exact(&mut body).ok()?;
        Some(HttpResponse {
            status,
            headers,
            body,
        })
    }

    /// Has the server closed the connection (EOF with no further bytes)? Returns the
    /// number of extra bytes seen before EOF, or None if the connection stayed open.
    pub fn bytes_until_close(&mut self, wait: Duration) -> Option<usize> {
        self.reader.get_ref().set_read_timeout(Some(wait)).unwrap();
        let mut rest = Vec::new();
        match self.reader.read_to_end(&mut rest) {
            Ok(_) => Some(rest.len()),
            Err(_) => None,
        }
    }
}

/// A UDP client socket bound to the loopback address of `tracker`'s family.
pub fn udp_client(tracker: SocketAddr) -> UdpSocket {
    let local = if tracker.is_ipv4() {
        "127.0.0.1:0"
    } else {
        "[::1]:0"
    };
    let socket = UdpSocket::bind(local).expect("bind udp");
    socket
        .set_read_timeout(Some(Duration::from_secs(3)))
        .unwrap();
    socket.connect(tracker).unwrap();
    socket
}

/// Send `packet`, return the reply (None on timeout).
pub fn udp_exchange(socket: &UdpSocket, packet: &[u8]) -> Option<Vec<u8>> {
    socket.send(packet).expect("udp send");
    let mut buf = [0u8; 4096];
    let n = socket.recv(&mut buf).ok()?;
    Some(buf[..n].to_vec())
}

pub fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes(b[at..at + 4].try_into().unwrap())
}

/// A BEP 15 connect request.
pub fn udp_connect_packet(transaction: u32) -> Vec<u8> {
    let mut p = 0x0417_2710_1980u64.to_be_bytes().to_vec();
    p.extend_from_slice(&0u32.to_be_bytes());
    p.extend_from_slice(&transaction.to_be_bytes());
    p
}

/// Connect and return the connection id.
pub fn udp_connection_id(socket: &UdpSocket) -> u64 {
    let reply = udp_exchange(socket, &udp_connect_packet(77)).expect("connect reply");
    assert_eq!(reply.len(), 16);
    assert_eq!((be32(&reply, 0), be32(&reply, 4)), (0, 77));
    u64::from_be_bytes(reply[8..16].try_into().unwrap())
}

/// A BEP 15 announce request.
pub fn udp_announce_packet(
    connection_id: u64,
    transaction: u32,
    hash: &[u8; 20],
    left: u64,
    event: u32,
    numwant: i32,
    port: u16,
) -> Vec<u8> {
    let mut p = connection_id.to_be_bytes().to_vec();
    p.extend_from_slice(&1u32.to_be_bytes());
    p.extend_from_slice(&transaction.to_be_bytes());
    p.extend_from_slice(hash);
    p.extend_from_slice(&peer_id(port));
    p.extend_from_slice(&0u64.to_be_bytes());
    p.extend_from_slice(&left.to_be_bytes());
    p.extend_from_slice(&0u64.to_be_bytes());
    p.extend_from_slice(&event.to_be_bytes());
    p.extend_from_slice(&0u32.to_be_bytes());
    p.extend_from_slice(&0u32.to_be_bytes());
    p.extend_from_slice(&numwant.to_be_bytes());
    p.extend_from_slice(&port.to_be_bytes());
    p
}
