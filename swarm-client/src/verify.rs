//! SHA-1 piece verification, kept off the async runtime.
//!
//! Hashing a piece takes about a millisecond per MiB; done on a tokio worker it would stall
//! every connection on that thread. The async functions here hash on the rayon pool (sized to
//! the CPU count, so hashing never oversubscribes the machine) and wake the caller when done.

use std::sync::Arc;

use sha1::{Digest, Sha1};

use crate::storage::{Storage, StorageError};

/// The SHA-1 of `data`.
pub fn sha1(data: &[u8]) -> [u8; 20] {
    Sha1::digest(data).into()
}

/// How many pieces are worth hashing side by side (see [`sha1_many`]).
pub const HASH_LANES: usize = 4;

/// The SHA-1 of each message, several side by side on this core ([`metainfo::sha1_many`]).
pub fn sha1_many(messages: &[&[u8]]) -> Vec<[u8; 20]> {
    metainfo::sha1_many(messages)
}

/// True if the SHA-1 of `data` is `expected`.
pub fn hash_matches(data: &[u8], expected: &[u8; 20]) -> bool {
    sha1(data) == *expected
}

/// Runs `job` on the rayon pool and returns its result; `None` if the job panicked.
pub async fn on_rayon<T, F>(job: F) -> Option<T>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let (tx, rx) = tokio::sync::oneshot::channel();
    rayon::spawn(move || {
        // The receiver may be gone (the caller was cancelled); nothing to do then.
        let _ = tx.send(job());
    });
    rx.await.ok()
}

/// Checks a piece's SHA-1 on the rayon pool. `data` is anything holding bytes
/// (`bytes::Bytes`, `Vec<u8>`, `Arc<[u8]>`), so the caller can keep a cheap clone to write.
pub async fn verify_piece_async<D>(data: D, expected: [u8; 20]) -> bool
where
    D: AsRef<[u8]> + Send + 'static,
{
    on_rayon(move || hash_matches(data.as_ref(), &expected))
        .await
        .unwrap_or(false)
}

/// Checks a piece's SHA-1 and, if it matches, writes it to storage, all off the runtime.
/// Returns `Ok(false)` for a piece that failed verification (nothing written).
pub async fn verify_and_write_async<D>(
    storage: Arc<Storage>,
    piece: u32,
    data: D,
    expected: [u8; 20],
) -> Result<bool, StorageError>
where
    D: AsRef<[u8]> + Send + 'static,
{
    let job = move || {
        if !hash_matches(data.as_ref(), &expected) {
            return Ok(false);
        }
        storage.write_piece(piece, data.as_ref()).map(|()| true)
    };
    on_rayon(job).await.unwrap_or(Ok(false))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_digest() {
        // SHA-1("abc") from FIPS 180.
        let expected = hex::decode("a9993e364706816aba3e25717850c26c9cd0d89d").unwrap();
        assert_eq!(sha1(b"abc").as_slice(), expected.as_slice());
        let expected: [u8; 20] = expected.try_into().unwrap();
        assert!(hash_matches(b"abc", &expected));
        assert!(!hash_matches(b"abd", &expected));
    }

    #[tokio::test]
    async fn async_verification_matches_sync() {
        let data = bytes::Bytes::from(vec![7u8; 1 << 20]);
        let good = sha1(&data);
        assert!(verify_piece_async(data.clone(), good).await);
        let mut bad = good;
        bad[0] ^= 1;
        assert!(!verify_piece_async(data.to_vec(), bad).await);
    }
}
