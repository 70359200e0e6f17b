//! Buffers for whole pieces, aligned so the disk can take them without a copy (direct I/O
//! needs the memory, the file offset and the length aligned to the device's block size).

use std::fmt;
use std::ops::{Deref, DerefMut};

/// Alignment of a piece buffer's first byte: a page, which covers every block size in use.
pub const ALIGN: usize = 4096;

/// A byte buffer of up to a fixed capacity whose first byte is [`ALIGN`]-aligned. It never
/// reallocates, so it can be reused for piece after piece.
#[derive(Default)]
pub struct PieceBuf {
    /// Backing memory, `ALIGN` bytes longer than the capacity so an aligned start exists.
    memory: Vec<u8>,
    /// Offset of the aligned start in `memory`.
    start: usize,
    len: usize,
}

impl PieceBuf {
    /// An empty buffer that can hold up to `capacity` bytes (zeroed at first).
    pub fn with_capacity(capacity: usize) -> Self {
        let memory = vec![0u8; capacity + ALIGN];
        let start = memory.as_ptr().align_offset(ALIGN).min(ALIGN);
        Self {
            memory,
            start,
            len: 0,
        }
    }

    /// How many bytes the buffer can hold.
    pub fn capacity(&self) -> usize {
        self.memory.len().saturating_sub(self.start)
    }

    /// Sets the length (at most the capacity). The bytes are whatever the buffer held
    /// before (zeros for a fresh one): the caller overwrites them.
    pub fn set_len(&mut self, len: usize) {
        self.len = len.min(self.capacity());
    }
}

impl Deref for PieceBuf {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        self.memory
            .get(self.start..self.start + self.len)
            .unwrap_or_default()
    }
}

impl DerefMut for PieceBuf {
    fn deref_mut(&mut self) -> &mut [u8] {
        let range = self.start..self.start + self.len;
        self.memory.get_mut(range).unwrap_or_default()
    }
}

impl AsRef<[u8]> for PieceBuf {
    fn as_ref(&self) -> &[u8] {
        self
    }
}

impl PartialEq for PieceBuf {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl Eq for PieceBuf {}

impl fmt::Debug for PieceBuf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PieceBuf({} bytes)", self.len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aligned_with_room_for_the_capacity() {
        for capacity in [1, 100, 16 * 1024, (1 << 20) + 17] {
            let mut buf = PieceBuf::with_capacity(capacity);
            assert!(buf.capacity() >= capacity);
            buf.set_len(capacity);
            assert_eq!(buf.len(), capacity);
            assert_eq!(buf.as_ptr() as usize % ALIGN, 0);
            buf.fill(7);
            assert!(buf.iter().all(|b| *b == 7));
        }
    }

    #[test]
    fn length_is_capped_and_empty_is_empty() {
        let mut buf = PieceBuf::with_capacity(10);
        buf.set_len(usize::MAX);
        assert_eq!(buf.len(), buf.capacity());
        let mut empty = PieceBuf::default();
        empty.set_len(5);
        assert!(empty.is_empty());
        assert_eq!(empty.capacity(), 0);
    }
}
