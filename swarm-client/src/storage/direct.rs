//! Direct writes (`swarm get --disk-io auto|direct`): a piece span whose memory, file offset
//! and length are block-aligned goes to the disk without passing through the page cache
//! (Linux `O_DIRECT`). That saves copying every downloaded byte into the page cache — the
//! largest CPU cost of a download after hashing — and keeps a large download from evicting
//! everything else from memory. The price: each write waits for the device, so a slow or busy
//! disk slows the download (buffered writes absorb that in memory); in `auto` mode the disk
//! threads turn direct writes off when the disk falls behind (see `engine::disk`).
//!
//! Anything unaligned (the tail of a file, spans of multi-file pieces) and every file system
//! that refuses direct I/O (tmpfs) use ordinary buffered writes; the first refusal turns
//! direct writes off for the whole storage.

use std::fs::File;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use parking_lot::Mutex;

use super::HandleCache;
use crate::piece_buf::ALIGN;

/// Direct-I/O handles for the files of one storage.
#[derive(Debug)]
pub(super) struct DirectWrites {
    enabled: AtomicBool,
    handles: Mutex<HandleCache>,
}

impl DirectWrites {
    /// Direct writes through at most `max_open_files` extra handles.
    pub fn new(max_open_files: usize) -> Self {
        Self {
            enabled: AtomicBool::new(cfg!(target_os = "linux")),
            handles: Mutex::new(HandleCache::new(max_open_files.max(1))),
        }
    }

    /// Writes `data` at `offset` of file `index` (at `path`) directly if it is aligned and
    /// the file system takes it. `false`: nothing was written, use a buffered write.
    pub fn try_write(&self, index: usize, path: &Path, data: &[u8], offset: u64) -> bool {
        if !self.enabled.load(Ordering::Relaxed) || !is_aligned(data, offset) {
            return false;
        }
        let Some(file) = self.handle(index, path) else {
            return false;
        };
        match std::os::unix::fs::FileExt::write_all_at(&*file, data, offset) {
            Ok(()) => true,
            Err(e) => {
                // EINVAL: this file system wants another alignment or no direct I/O at all.
                // Anything else (a full disk) the buffered write will report.
                if e.raw_os_error() == Some(libc::EINVAL) {
                    self.disable(e);
                }
                false
            }
        }
    }

    fn handle(&self, index: usize, path: &Path) -> Option<Arc<File>> {
        let mut cache = self.handles.lock();
        if let Some(file) = cache.get(index) {
            return Some(file);
        }
        match open_direct(path) {
            Ok(file) => Some(cache.insert(index, file)),
            Err(e) => {
                drop(cache);
                self.disable(e);
                None
            }
        }
    }

    /// Are direct writes still on?
    pub fn is_enabled(&self) -> bool {
        self.enabled.load(Ordering::Relaxed)
    }

    /// Turns direct writes off for good: every write goes through the page cache from now on.
    pub fn disable(&self, why: impl std::fmt::Display) {
        if self.enabled.swap(false, Ordering::Relaxed) {
            tracing::debug!("direct writes off, using the page cache: {why}");
        }
    }
}

/// Direct I/O needs the memory address, the file offset and the length block-aligned.
fn is_aligned(data: &[u8], offset: u64) -> bool {
    !data.is_empty()
        && (data.as_ptr() as usize).is_multiple_of(ALIGN)
        && data.len().is_multiple_of(ALIGN)
        && offset.is_multiple_of(ALIGN as u64)
}

#[cfg(target_os = "linux")]
fn open_direct(path: &Path) -> std::io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_DIRECT)
        .open(path)
}

#[cfg(not(target_os = "linux"))]
fn open_direct(_path: &Path) -> std::io::Result<File> {
    Err(std::io::Error::from(std::io::ErrorKind::Unsupported))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::piece_buf::PieceBuf;

    #[test]
    fn only_aligned_spans_qualify() {
        let mut buf = PieceBuf::with_capacity(4 * ALIGN);
        buf.set_len(4 * ALIGN);
        assert!(is_aligned(&buf, 0));
        assert!(is_aligned(&buf, 8 * ALIGN as u64));
        assert!(!is_aligned(&buf, 100));
        assert!(!is_aligned(&buf[1..], 0));
        assert!(!is_aligned(&buf[..ALIGN + 1], 0));
        assert!(!is_aligned(&[], 0));
    }

    #[test]
    fn direct_write_lands_in_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, vec![0u8; 8 * ALIGN]).unwrap();
        let direct = DirectWrites::new(4);
        let mut buf = PieceBuf::with_capacity(2 * ALIGN);
        buf.set_len(2 * ALIGN);
        buf.fill(9);
        let written = direct.try_write(0, &path, &buf, 2 * ALIGN as u64);
        let data = std::fs::read(&path).unwrap();
        if written {
            assert!(data[2 * ALIGN..4 * ALIGN].iter().all(|b| *b == 9));
        }
        // Whether or not this file system takes direct I/O, nothing else was touched.
        assert!(data[..2 * ALIGN].iter().all(|b| *b == 0));
        assert!(data[4 * ALIGN..].iter().all(|b| *b == 0));
        assert!(!direct.try_write(0, &path, &buf[..ALIGN + 1], 0));
    }
}
