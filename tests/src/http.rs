//! A minimal HTTP/1.1 client for the end-to-end tests: one request per connection to
//! 127.0.0.1 (`Connection: close`), so a test sees exactly the status and body the server
//! sent, including bodies that are not UTF-8 (bencoded tracker replies, metainfo files).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// How long a reply may take before the request fails.
const READ_TIMEOUT: Duration = Duration::from_secs(20);

/// Send `method path` with `headers` (`"Name: value"`) and `body`; the reply's status and
/// body, or the I/O error (e.g. nothing listening yet).
pub fn try_request(
    port: u16,
    method: &str,
    path: &str,
    headers: &[&str],
    body: &[u8],
) -> std::io::Result<(u16, Vec<u8>)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(READ_TIMEOUT))?;
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for h in headers {
        head.push_str(h);
        head.push_str("\r\n");
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    stream.write_all(body)?;
    let mut reply = Vec::new();
    // A server may reset after replying to a refused upload: keep what arrived.
    let _ = stream.read_to_end(&mut reply);
    let status = String::from_utf8_lossy(&reply[..reply.len().min(16)])
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let at = reply
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(reply.len(), |i| i + 4);
    Ok((status, reply[at..].to_vec()))
}

/// [`try_request`] to a server that must be listening.
pub fn request(
    port: u16,
    method: &str,
    path: &str,
    headers: &[&str],
    body: &[u8],
) -> (u16, Vec<u8>) {
    try_request(port, method, path, headers, body)
        .unwrap_or_else(|e| panic!("{method} {path} on 127.0.0.1:{port}: {e}"))
}

/// `GET path`: status and body.
pub fn get(port: u16, path: &str) -> (u16, Vec<u8>) {
    request(port, "GET", path, &[], b"")
}
