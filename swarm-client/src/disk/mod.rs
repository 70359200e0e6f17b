//! The session's disk machinery, shared by all its torrents: the pool of piece buffers that
//! bounds download memory, the threads that write verified pieces, and the read cache that
//! serves uploads.

pub mod buffers;
pub mod read_cache;
pub mod writer;

pub use buffers::BufferPool;
pub use read_cache::ReadCache;
pub use writer::{DiskIo, DiskThreads, TorrentDisk, Written};
