//! The BEP 6 allowed-fast set: pieces a peer may request from us even while choked, derived
//! from its IPv4 address (masked to /24, so peers behind one NAT share a set) and the
//! info-hash, so that both sides compute the same set without telling each other.

use std::net::IpAddr;

use metainfo::InfoHash;
use sha1::{Digest, Sha1};

/// How many pieces we allow fast (BEP 6 suggests 10).
pub const ALLOWED_FAST_COUNT: usize = 10;

/// The first `count` pieces (fewer when the torrent has fewer) of the allowed-fast set of
/// the peer at `ip` for a torrent of `piece_count` pieces, in the order BEP 6 generates
/// them. BEP 6 defines the set for IPv4 only: an IPv6 peer (not IPv4-mapped) gets none.
pub fn allowed_fast_set(
    ip: IpAddr,
    info_hash: &InfoHash,
    piece_count: u32,
    count: usize,
) -> Vec<u32> {
    let IpAddr::V4(v4) = ip.to_canonical() else {
        return Vec::new();
    };
    let wanted = count.min(piece_count as usize);
    let mut set = Vec::with_capacity(wanted);
    let mut x = [0u8; 20];
    let masked = u32::from(v4) & 0xFFFF_FF00;
    let mut seed = Vec::with_capacity(24);
    seed.extend_from_slice(&masked.to_be_bytes());
    seed.extend_from_slice(info_hash.as_bytes());
    x.copy_from_slice(&Sha1::digest(&seed));
    while set.len() < wanted {
        for word in x.chunks_exact(4) {
            if set.len() == wanted {
                break;
            }
            let y = u32::from_be_bytes([word[0], word[1], word[2], word[3]]);
            let index = y % piece_count;
            if !set.contains(&index) {
                set.push(index);
            }
        }
        if set.len() < wanted {
            x = Sha1::digest(x).into();
        }
    }
    set
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn bep6_test_vectors() {
        let hash = InfoHash([0xaa; 20]);
        assert_eq!(
            allowed_fast_set(ip("80.4.4.200"), &hash, 1313, 7),
            [1059, 431, 808, 1217, 287, 376, 1188]
        );
        assert_eq!(
            allowed_fast_set(ip("80.4.4.200"), &hash, 1313, 9),
            [1059, 431, 808, 1217, 287, 376, 1188, 353, 508]
        );
    }

    #[test]
    fn same_slash_24_same_set() {
        let hash = InfoHash([0x11; 20]);
        assert_eq!(
            allowed_fast_set(ip("80.4.4.1"), &hash, 500, 10),
            allowed_fast_set(ip("80.4.4.254"), &hash, 500, 10)
        );
        assert_eq!(
            allowed_fast_set(ip("::ffff:80.4.4.1"), &hash, 500, 10),
            allowed_fast_set(ip("80.4.4.1"), &hash, 500, 10)
        );
    }

    #[test]
    fn small_torrents_get_every_piece_and_no_endless_loop() {
        let hash = InfoHash([0x22; 20]);
        let mut set = allowed_fast_set(ip("1.2.3.4"), &hash, 3, 10);
        set.sort_unstable();
        assert_eq!(set, [0, 1, 2]);
        assert!(allowed_fast_set(ip("1.2.3.4"), &hash, 0, 10).is_empty());
        assert_eq!(allowed_fast_set(ip("1.2.3.4"), &hash, 1, 10), [0]);
    }

    #[test]
    fn ipv6_peers_get_no_set() {
        assert!(allowed_fast_set(ip("2001:db8::1"), &InfoHash([0; 20]), 100, 10).is_empty());
    }
}
