//! Compact peer encoding (BEP 23 for IPv4, BEP 7 for IPv6): the address bytes in network
//! order followed by the port, big-endian. 6 bytes per IPv4 peer, 18 per IPv6 peer.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

use super::ReplyError;

/// Bytes of one compact IPv4 peer.
pub const COMPACT_V4_LEN: usize = 6;
/// Bytes of one compact IPv6 peer.
pub const COMPACT_V6_LEN: usize = 18;

/// The 6-byte compact form of an IPv4 peer.
pub fn compact_v4(addr: SocketAddrV4) -> [u8; COMPACT_V4_LEN] {
    let mut out = [0u8; COMPACT_V4_LEN];
    out[..4].copy_from_slice(&addr.ip().octets());
    out[4..].copy_from_slice(&addr.port().to_be_bytes());
    out
}

/// The 18-byte compact form of an IPv6 peer.
pub fn compact_v6(addr: SocketAddrV6) -> [u8; COMPACT_V6_LEN] {
    let mut out = [0u8; COMPACT_V6_LEN];
    out[..16].copy_from_slice(&addr.ip().octets());
    out[16..].copy_from_slice(&addr.port().to_be_bytes());
    out
}

/// Append the compact form of `addr` (6 bytes for IPv4, 18 for IPv6) to `out`.
pub fn push_compact(out: &mut Vec<u8>, addr: SocketAddr) {
    match addr {
        SocketAddr::V4(a) => out.extend_from_slice(&compact_v4(a)),
        SocketAddr::V6(a) => out.extend_from_slice(&compact_v6(a)),
    }
}

/// Decode one 6-byte compact IPv4 peer.
pub fn decode_v4(chunk: &[u8; COMPACT_V4_LEN]) -> SocketAddrV4 {
    let ip = Ipv4Addr::new(chunk[0], chunk[1], chunk[2], chunk[3]);
    SocketAddrV4::new(ip, u16::from_be_bytes([chunk[4], chunk[5]]))
}

/// Decode one 18-byte compact IPv6 peer.
pub fn decode_v6(chunk: &[u8; COMPACT_V6_LEN]) -> SocketAddrV6 {
    let mut ip = [0u8; 16];
    ip.copy_from_slice(&chunk[..16]);
    SocketAddrV6::new(
        Ipv6Addr::from(ip),
        u16::from_be_bytes([chunk[16], chunk[17]]),
        0,
        0,
    )
}

/// Decode a string of compact IPv4 peers; its length must be a multiple of 6.
pub fn decode_compact_v4(bytes: &[u8]) -> Result<Vec<SocketAddr>, ReplyError> {
    let (chunks, rest) = bytes.as_chunks::<COMPACT_V4_LEN>();
    if !rest.is_empty() {
        return Err(ReplyError::BadCompactLength {
            field: "peers",
            len: bytes.len(),
            entry: COMPACT_V4_LEN,
        });
    }
    Ok(chunks
        .iter()
        .map(|c| SocketAddr::V4(decode_v4(c)))
        .collect())
}

/// Decode a string of compact IPv6 peers; its length must be a multiple of 18.
pub fn decode_compact_v6(bytes: &[u8]) -> Result<Vec<SocketAddr>, ReplyError> {
    let (chunks, rest) = bytes.as_chunks::<COMPACT_V6_LEN>();
    if !rest.is_empty() {
        return Err(ReplyError::BadCompactLength {
            field: "peers6",
            len: bytes.len(),
            entry: COMPACT_V6_LEN,
        });
    }
    Ok(chunks
        .iter()
        .map(|c| SocketAddr::V6(decode_v6(c)))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_both_families() {
        let v4: SocketAddr = "10.1.2.3:6881".parse().unwrap();
        let v6: SocketAddr = "[2001:db8::1]:51413".parse().unwrap();
        let mut four = Vec::new();
        push_compact(&mut four, v4);
        assert_eq!(four, [10, 1, 2, 3, 0x1a, 0xe1]);
        let mut six = Vec::new();
        push_compact(&mut six, v6);
        assert_eq!(six.len(), COMPACT_V6_LEN);
        assert_eq!(decode_compact_v4(&four).unwrap(), vec![v4]);
        assert_eq!(decode_compact_v6(&six).unwrap(), vec![v6]);
    }

    #[test]
    fn rejects_partial_entries() {
        assert!(decode_compact_v4(&[1, 2, 3, 4, 5]).is_err());
        assert!(decode_compact_v6(&[0; 17]).is_err());
        assert!(decode_compact_v4(&[]).unwrap().is_empty());
    }
}
