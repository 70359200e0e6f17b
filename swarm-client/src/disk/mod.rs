//! The session's disk machinery, shared by all its torrents: the pool of piece buffers that
//! bounds download memory, and the threads that write verified pieces.

pub mod buffers;
pub mod writer;

pub use buffers::BufferPool;
pub use writer::{DiskIo, DiskThreads, TorrentDisk, Written};
