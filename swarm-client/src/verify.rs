//! SHA-1 of pieces and blocks. The callers run it off the async runtime (the rayon pool):
//! hashing a piece takes about half a millisecond per MiB, which on a tokio worker would stall
//! every connection on that thread.

use sha1::{Digest, Sha1};

/// How many pieces are worth hashing side by side (see [`sha1_many`]).
pub const HASH_LANES: usize = 4;

/// The SHA-1 of `data`.
pub fn sha1(data: &[u8]) -> [u8; 20] {
    Sha1::digest(data).into()
}

/// The SHA-1 of each message, several side by side on this core ([`metainfo::sha1_many`]).
pub fn sha1_many(messages: &[&[u8]]) -> Vec<[u8; 20]> {
    metainfo::sha1_many(messages)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_digests() {
        // SHA-1("abc") from FIPS 180.
        let expected = hex::decode("a9993e364706816aba3e25717850c26c9cd0d89d").unwrap();
        assert_eq!(sha1(b"abc").as_slice(), expected.as_slice());
        let digests = sha1_many(&[b"abc", b"abd", b"abc"]);
        assert_eq!(digests[0].as_slice(), expected.as_slice());
        assert_eq!(digests[1], sha1(b"abd"));
        assert_eq!(digests[2], digests[0]);
    }
}
