//! The set of pieces a peer has, in the BEP 3 `bitfield` layout.
//!
//! Bit `i` of the field is the high-order bit first: piece 0 is the `0x80` bit of byte 0.
//! A field received from a peer must be exactly `ceil(piece_count / 8)` bytes long and
//! its spare trailing bits must be clear; anything else is a protocol violation.

use bytes::Bytes;

/// Why a bitfield or a piece index was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BitfieldError {
    /// The wire bitfield has the wrong number of bytes for the torrent's piece count.
    #[error("bitfield is {actual} bytes long, expected {expected} for {piece_count} pieces")]
    WrongLength {
        actual: usize,
        expected: usize,
        piece_count: u32,
    },
    /// One of the padding bits after the last piece is set.
    #[error("bitfield has spare bits set after the last piece")]
    SpareBitsSet,
    /// A piece index at or past the piece count.
    #[error("piece index {index} out of range (torrent has {piece_count} pieces)")]
    IndexOutOfRange { index: u32, piece_count: u32 },
}

/// A fixed-size set of piece indexes `0..piece_count`.
#[derive(Clone, PartialEq, Eq)]
pub struct Bitfield {
    bytes: Vec<u8>,
    piece_count: u32,
    ones: u32,
}

impl std::fmt::Debug for Bitfield {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Bitfield({}/{})", self.ones, self.piece_count)
    }
}

/// Number of bytes a bitfield for `piece_count` pieces occupies on the wire.
pub fn wire_len(piece_count: u32) -> usize {
    (piece_count as usize).div_ceil(8)
}

impl Bitfield {
    /// An empty field (no pieces) for a torrent of `piece_count` pieces.
    pub fn new(piece_count: u32) -> Self {
        Self {
            bytes: vec![0; wire_len(piece_count)],
            piece_count,
            ones: 0,
        }
    }

    /// A full field (every piece) for a torrent of `piece_count` pieces.
    pub fn full(piece_count: u32) -> Self {
        let mut field = Self {
            bytes: vec![0xff; wire_len(piece_count)],
            piece_count,
            ones: piece_count,
        };
        field.clear_spare_bits();
        field
    }

    /// Parses a field received from a peer, validating its length and spare bits.
    pub fn from_wire(bytes: &[u8], piece_count: u32) -> Result<Self, BitfieldError> {
        let expected = wire_len(piece_count);
        if bytes.len() != expected {
            return Err(BitfieldError::WrongLength {
                actual: bytes.len(),
                expected,
                piece_count,
            });
        }
        let field = Self {
            bytes: bytes.to_vec(),
            piece_count,
            ones: bytes.iter().map(|b| b.count_ones()).sum(),
        };
        if field.spare_bits() != 0 {
            return Err(BitfieldError::SpareBitsSet);
        }
        Ok(field)
    }

    /// The number of pieces this field describes.
    pub fn piece_count(&self) -> u32 {
        self.piece_count
    }

    /// Whether piece `index` is present; out-of-range indexes are never present.
    pub fn get(&self, index: u32) -> bool {
        match self.locate(index) {
            Some((byte, mask)) => self.bytes[byte] & mask != 0,
            None => false,
        }
    }

    /// Marks piece `index` present. Returns whether it was newly set.
    pub fn set(&mut self, index: u32) -> Result<bool, BitfieldError> {
        let (byte, mask) = self.locate_checked(index)?;
        let was_clear = self.bytes[byte] & mask == 0;
        if was_clear {
            self.bytes[byte] |= mask;
            self.ones += 1;
        }
        Ok(was_clear)
    }

    /// Marks piece `index` absent. Returns whether it was previously set.
    pub fn clear(&mut self, index: u32) -> Result<bool, BitfieldError> {
        let (byte, mask) = self.locate_checked(index)?;
        let was_set = self.bytes[byte] & mask != 0;
        if was_set {
            self.bytes[byte] &= !mask;
            self.ones -= 1;
        }
        Ok(was_set)
    }

    /// How many pieces are present.
    pub fn count(&self) -> u32 {
        self.ones
    }

    /// Whether every piece is present.
    pub fn is_complete(&self) -> bool {
        self.ones == self.piece_count
    }

    /// Whether no piece is present.
    pub fn is_empty(&self) -> bool {
        self.ones == 0
    }

    /// Iterates the indexes of present pieces in ascending order.
    pub fn iter_ones(&self) -> impl Iterator<Item = u32> + '_ {
        self.bytes
            .iter()
            .enumerate()
            .filter(|(_, byte)| **byte != 0)
            .flat_map(|(i, &byte)| {
                (0..8u32)
                    .filter(move |bit| byte & (0x80 >> bit) != 0)
                    .map(move |bit| i as u32 * 8 + bit)
            })
    }

    /// The wire representation (for a `bitfield` message).
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The wire representation as an owned buffer.
    pub fn to_bytes(&self) -> Bytes {
        Bytes::copy_from_slice(&self.bytes)
    }

    fn locate(&self, index: u32) -> Option<(usize, u8)> {
        (index < self.piece_count).then(|| ((index / 8) as usize, 0x80u8 >> (index % 8)))
    }

    fn locate_checked(&self, index: u32) -> Result<(usize, u8), BitfieldError> {
        self.locate(index).ok_or(BitfieldError::IndexOutOfRange {
            index,
            piece_count: self.piece_count,
        })
    }

    /// The mask of padding bits in the last byte (0 when the count is a multiple of 8).
    fn spare_mask(&self) -> u8 {
        match self.piece_count % 8 {
            0 => 0,
            used => 0xff >> used,
        }
    }

    fn spare_bits(&self) -> u8 {
        self.bytes.last().map_or(0, |last| last & self.spare_mask())
    }

    fn clear_spare_bits(&mut self) {
        let mask = self.spare_mask();
        if let Some(last) = self.bytes.last_mut() {
            *last &= !mask;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn wire_lengths() {
        assert_eq!(wire_len(0), 0);
        assert_eq!(wire_len(1), 1);
        assert_eq!(wire_len(8), 1);
        assert_eq!(wire_len(9), 2);
    }

    #[test]
    fn high_bit_is_piece_zero() {
        let field = Bitfield::from_wire(&[0x80, 0x40], 10).unwrap();
        assert!(field.get(0));
        assert!(field.get(9));
        assert!(!field.get(1));
        assert_eq!(field.count(), 2);
        assert_eq!(field.iter_ones().collect::<Vec<_>>(), vec![0, 9]);
    }

    #[test]
    fn rejects_wrong_length() {
        assert_eq!(
            Bitfield::from_wire(&[0, 0], 8),
            Err(BitfieldError::WrongLength {
                actual: 2,
                expected: 1,
                piece_count: 8
            })
        );
        assert!(Bitfield::from_wire(&[], 1).is_err());
    }

    #[test]
    fn rejects_spare_bits() {
        assert_eq!(
            Bitfield::from_wire(&[0x00, 0x20], 10),
            Err(BitfieldError::SpareBitsSet)
        );
        assert!(Bitfield::from_wire(&[0xff, 0xc0], 10).is_ok());
        assert!(Bitfield::from_wire(&[0xff], 8).is_ok());
    }

    #[test]
    fn full_has_no_spare_bits() {
        let field = Bitfield::full(10);
        assert_eq!(field.as_bytes(), &[0xff, 0xc0]);
        assert!(field.is_complete());
        assert!(Bitfield::full(0).is_complete());
    }

    #[test]
    fn set_and_clear() {
        let mut field = Bitfield::new(3);
        assert_eq!(field.set(2), Ok(true));
        assert_eq!(field.set(2), Ok(false));
        assert_eq!(field.count(), 1);
        assert!(matches!(
            field.set(3),
            Err(BitfieldError::IndexOutOfRange { index: 3, .. })
        ));
        assert_eq!(field.clear(2), Ok(true));
        assert_eq!(field.clear(2), Ok(false));
        assert!(field.is_empty());
        assert!(!field.get(u32::MAX));
    }

    proptest! {
        #[test]
        fn from_wire_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..40), count in 0u32..400) {
            if let Ok(field) = Bitfield::from_wire(&bytes, count) {
                prop_assert_eq!(field.as_bytes(), &bytes[..]);
                prop_assert_eq!(field.iter_ones().count() as u32, field.count());
                prop_assert!(field.iter_ones().all(|i| i < count));
            }
        }

        #[test]
        fn set_pieces_round_trip(count in 1u32..300, picks in proptest::collection::vec(any::<u32>(), 0..50)) {
            let mut field = Bitfield::new(count);
            let mut expected: Vec<u32> = picks.iter().map(|p| p % count).collect();
            for &index in &expected {
                field.set(index).unwrap();
            }
            expected.sort_unstable();
            expected.dedup();
            prop_assert_eq!(field.iter_ones().collect::<Vec<_>>(), expected);
            let parsed = Bitfield::from_wire(field.as_bytes(), count).unwrap();
            prop_assert_eq!(parsed, field);
        }
    }
}
