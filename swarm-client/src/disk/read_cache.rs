//! The session's read cache for uploads: recently served stretches of pieces, kept as shared
//! `Bytes`, so a stretch read once from disk serves every peer that asks for its blocks, each
//! block a slice of it (no copy). Bounded by bytes, least recently used first out.
//!
//! The unit is a chunk of a piece (at most [`CHUNK`]): peers ask for a piece's blocks in
//! order, so reading a chunk at a time turns 16 KiB reads into large sequential ones without
//! reading a whole 16 MiB piece for one block.

use bytes::Bytes;
use lru::LruCache;
use parking_lot::Mutex;

use crate::events::TorrentId;
use crate::storage::{Storage, StorageError};
use crate::wire::BlockRequest;

/// Longest stretch read and cached at once.
pub const CHUNK: u32 = 1024 * 1024;
/// Default memory for cached chunks.
pub const DEFAULT_BUDGET: usize = 32 * 1024 * 1024;

type Key = (TorrentId, u32, u32);

/// Recently read chunks of every torrent of a session.
pub struct ReadCache {
    budget: usize,
    inner: Mutex<Inner>,
}

struct Inner {
    chunks: LruCache<Key, Bytes>,
    bytes: usize,
}

impl ReadCache {
    /// A cache holding at most `budget` bytes of chunks.
    pub fn new(budget: usize) -> Self {
        Self {
            budget,
            inner: Mutex::new(Inner {
                chunks: LruCache::unbounded(),
                bytes: 0,
            }),
        }
    }

    /// The block `request` of `torrent`, from the cache or read (with its chunk) from
    /// `storage`. Blocking (reads the disk on a miss).
    pub fn read_block(
        &self,
        torrent: TorrentId,
        storage: &Storage,
        request: BlockRequest,
    ) -> Result<Bytes, StorageError> {
        let piece_size = storage.piece_size(request.index)?;
        let chunk_len = CHUNK.min(piece_size).max(1);
        let chunk = request.begin / chunk_len;
        let chunk_begin = chunk * chunk_len;
        let this_chunk_len = chunk_len.min(piece_size.saturating_sub(chunk_begin));
        let offset = (request.begin - chunk_begin) as usize;
        let end = offset + request.length as usize;
        if end > this_chunk_len as usize {
            // Straddles two chunks (an odd request): read it alone.
            return storage.read_block(request.index, request.begin, request.length);
        }
        let key = (torrent, request.index, chunk);
        if let Some(bytes) = self.inner.lock().chunks.get(&key) {
            return Ok(bytes.slice(offset..end));
        }
        let bytes = storage.read_block(request.index, chunk_begin, this_chunk_len)?;
        let block = bytes.slice(offset..end);
        self.insert(key, bytes);
        Ok(block)
    }

    /// Drops the chunks of a torrent that left.
    pub fn forget(&self, torrent: TorrentId) {
        let mut inner = self.inner.lock();
        let keys: Vec<Key> = inner
            .chunks
            .iter()
            .filter(|((t, _, _), _)| *t == torrent)
            .map(|(k, _)| *k)
            .collect();
        for key in keys {
            if let Some(bytes) = inner.chunks.pop(&key) {
                inner.bytes -= bytes.len();
            }
        }
    }

    /// Bytes cached now.
    pub fn cached(&self) -> usize {
        self.inner.lock().bytes
    }

    fn insert(&self, key: Key, bytes: Bytes) {
        if bytes.len() > self.budget {
            return;
        }
        let mut inner = self.inner.lock();
        if let Some(old) = inner.chunks.put(key, bytes.clone()) {
            inner.bytes -= old.len();
        }
        inner.bytes += bytes.len();
        while inner.bytes > self.budget {
            match inner.chunks.pop_lru() {
                Some((_, old)) => inner.bytes -= old.len(),
                None => break,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::test_support::{payload, single_file_info, write_files};

    const PIECE: u64 = 4 * 1024 * 1024;

    fn storage(dir: &std::path::Path, len: usize) -> (Storage, Vec<u8>) {
        let data = payload(len, 9);
        let info = single_file_info("f", PIECE, &data);
        write_files(dir, &info, &data);
        (Storage::open_read_only(dir, &info).unwrap(), data)
    }

    #[test]
    fn blocks_are_slices_of_one_chunk_read() {
        let dir = tempfile::tempdir().unwrap();
        let (storage, data) = storage(dir.path(), 2 * PIECE as usize + 5000);
        let cache = ReadCache::new(DEFAULT_BUDGET);
        let t = TorrentId(1);
        let a = cache
            .read_block(t, &storage, BlockRequest::new(1, 16384, 16384))
            .unwrap();
        let b = cache
            .read_block(t, &storage, BlockRequest::new(1, 32768, 16384))
            .unwrap();
        let start = PIECE as usize;
        assert_eq!(&a[..], &data[start + 16384..start + 32768]);
        assert_eq!(&b[..], &data[start + 32768..start + 49152]);
        assert_eq!(
            cache.cached(),
            CHUNK as usize,
            "one chunk read for both blocks"
        );
        // The short last piece is one short chunk.
        let last = cache
            .read_block(t, &storage, BlockRequest::new(2, 0, 5000))
            .unwrap();
        assert_eq!(&last[..], &data[2 * start..]);
        // An odd request across two chunks is read on its own.
        let odd = BlockRequest::new(0, CHUNK - 100, 16384);
        let block = cache.read_block(t, &storage, odd).unwrap();
        assert_eq!(
            &block[..],
            &data[CHUNK as usize - 100..CHUNK as usize - 100 + 16384]
        );
        cache.forget(t);
        assert_eq!(cache.cached(), 0);
    }

    #[test]
    fn the_budget_evicts_the_least_recently_used() {
        let dir = tempfile::tempdir().unwrap();
        let (storage, _) = storage(dir.path(), 2 * PIECE as usize);
        let cache = ReadCache::new(2 * CHUNK as usize);
        let t = TorrentId(1);
        for chunk in 0..4 {
            cache
                .read_block(t, &storage, BlockRequest::new(0, chunk * CHUNK, 16384))
                .unwrap();
        }
        assert_eq!(cache.cached(), 2 * CHUNK as usize);
    }
}
