//! In-test trackers on loopback: an HTTP server returning canned bodies and a BEP 15 UDP
//! tracker stub. Both record what they receive.

use std::net::SocketAddr;
use std::sync::Arc;

use parking_lot::Mutex;

use metainfo::InfoHash;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, UdpSocket};
use tokio::task::JoinHandle;

use super::request::{AnnounceEvent, AnnounceRequest};

pub fn sample_request() -> AnnounceRequest {
    AnnounceRequest {
        info_hash: InfoHash([0x11; 20]),
        peer_id: *b"-SW0100-abcdefghijkl",
        port: 6881,
        uploaded: 1,
        downloaded: 2,
        left: 3,
        event: AnnounceEvent::None,
        numwant: 50,
        key: 0xbeef,
    }
}

/// A port on 127.0.0.1 nothing listens on (TCP and, very likely, UDP).
pub async fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap().port()
}

/// An HTTP server answering each request with the next canned body (the last repeats).
pub struct HttpStub {
    addr: SocketAddr,
    requests: Arc<Mutex<Vec<String>>>,
    task: JoinHandle<()>,
}

impl HttpStub {
    pub async fn start(bodies: Vec<Vec<u8>>) -> HttpStub {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = requests.clone();
        let task = tokio::spawn(async move {
            let mut served = 0usize;
            while let Ok((mut stream, _)) = listener.accept().await {
                let target = read_request_target(&mut stream).await;
                seen.lock().push(target);
                let body = &bodies[served.min(bodies.len() - 1)];
                served += 1;
                let head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = stream.write_all(head.as_bytes()).await;
                let _ = stream.write_all(body).await;
                let _ = stream.shutdown().await;
            }
        });
        HttpStub {
            addr,
            requests,
            task,
        }
    }

    pub fn url(&self, path_and_query: &str) -> String {
        format!("http://{}{}", self.addr, path_and_query)
    }

    /// The request targets (path and query) received so far.
    pub fn requests(&self) -> Vec<String> {
        self.requests.lock().clone()
    }
}

impl Drop for HttpStub {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn read_request_target(stream: &mut tokio::net::TcpStream) -> String {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 16 * 1024 {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    let line = String::from_utf8_lossy(&head)
        .lines()
        .next()
        .unwrap_or("")
        .to_owned();
    line.split(' ').nth(1).unwrap_or("").to_owned()
}

/// How the UDP stub behaves.
#[derive(Clone, Default)]
pub struct UdpBehavior {
    /// Ignore this many packets before answering.
    pub drop_first: usize,
    /// Answer announces with a BEP 15 error carrying this message.
    pub error: Option<String>,
    pub interval: u32,
    pub peers: Vec<SocketAddr>,
}

/// What the UDP stub has seen.
#[derive(Debug, Default, Clone)]
pub struct UdpSeen {
    pub packets: usize,
    pub connects: usize,
    /// The event code of each announce.
    pub events: Vec<u32>,
    /// The BEP 41 URL data of each announce (empty when none was sent).
    pub url_data: Vec<Vec<u8>>,
}

/// A BEP 15 tracker on loopback.
pub struct UdpStub {
    addr: SocketAddr,
    seen: Arc<Mutex<UdpSeen>>,
    task: JoinHandle<()>,
}

const CONNECTION_ID: u64 = 0x0123_4567_89ab_cdef;

impl UdpStub {
    pub async fn start(bind: &str, behavior: UdpBehavior) -> UdpStub {
        let socket = UdpSocket::bind(bind).await.unwrap();
        let addr = socket.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(UdpSeen::default()));
        let record = seen.clone();
        let task = tokio::spawn(async move {
            let mut buf = [0u8; 2048];
            while let Ok((len, from)) = socket.recv_from(&mut buf).await {
                let packet = &buf[..len];
                let count = {
                    let mut seen = record.lock();
                    seen.packets += 1;
                    seen.packets
                };
                if count <= behavior.drop_first || len < 16 {
                    continue;
                }
                let action = u32::from_be_bytes(packet[8..12].try_into().unwrap());
                let txid = &packet[12..16];
                let mut reply = Vec::new();
                if action == 0 {
                    record.lock().connects += 1;
                    reply.extend_from_slice(&0u32.to_be_bytes());
                    reply.extend_from_slice(txid);
                    reply.extend_from_slice(&CONNECTION_ID.to_be_bytes());
                } else if action == 1 && len >= 98 {
                    assert_eq!(
                        u64::from_be_bytes(packet[..8].try_into().unwrap()),
                        CONNECTION_ID
                    );
                    let event = u32::from_be_bytes(packet[80..84].try_into().unwrap());
                    let url_data = bep41_url_data(&packet[98..]);
                    let mut seen = record.lock();
                    seen.events.push(event);
                    seen.url_data.push(url_data);
                    drop(seen);
                    if let Some(message) = &behavior.error {
                        reply.extend_from_slice(&3u32.to_be_bytes());
                        reply.extend_from_slice(txid);
                        reply.extend_from_slice(message.as_bytes());
                    } else {
                        reply.extend_from_slice(&1u32.to_be_bytes());
                        reply.extend_from_slice(txid);
                        reply.extend_from_slice(&behavior.interval.to_be_bytes());
                        reply.extend_from_slice(&2u32.to_be_bytes());
                        reply.extend_from_slice(&5u32.to_be_bytes());
                        for peer in &behavior.peers {
                            metainfo::tracker::push_compact(&mut reply, *peer);
                        }
                    }
                } else {
                    continue;
                }
                let _ = socket.send_to(&reply, from).await;
            }
        });
        UdpStub { addr, seen, task }
    }

    pub fn url(&self) -> String {
        format!("udp://{}/announce", self.addr)
    }

    /// The stub's address as `HOST:PORT`.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn seen(&self) -> UdpSeen {
        self.seen.lock().clone()
    }
}

impl Drop for UdpStub {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The URL data in BEP 41 options (after the 98-byte announce), concatenated.
fn bep41_url_data(mut options: &[u8]) -> Vec<u8> {
    let mut data = Vec::new();
    while let [kind, rest @ ..] = options {
        match kind {
            0 => break,
            1 => options = rest,
            _ => {
                let [len, rest @ ..] = rest else { break };
                let len = usize::from(*len).min(rest.len());
                if *kind == 2 {
                    data.extend_from_slice(&rest[..len]);
                }
                options = &rest[len..];
            }
        }
    }
    data
}
