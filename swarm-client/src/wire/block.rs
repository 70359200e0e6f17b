//! Block requests (`request` / `cancel` payloads) and the limits a peer's request must respect.

/// The block size everyone requests, and the largest request we serve: 16 KiB.
pub const BLOCK_SIZE: u32 = 16 * 1024;

/// A block of a piece: `length` bytes starting at offset `begin` of piece `index`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BlockRequest {
    pub index: u32,
    pub begin: u32,
    pub length: u32,
}

/// Why a peer's block request was refused (the peer should be dropped).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    #[error("request for {length} bytes exceeds the {max}-byte block limit")]
    TooLong { length: u32, max: u32 },
    #[error("request for zero bytes")]
    Empty,
    #[error("request for piece {index}, torrent has {piece_count} pieces")]
    PieceOutOfRange { index: u32, piece_count: u32 },
    #[error("request for bytes {begin}..{end} of piece {index}, which is {piece_size} bytes long")]
    PastPieceEnd {
        index: u32,
        begin: u32,
        end: u64,
        piece_size: u32,
    },
}

impl BlockRequest {
    /// A request for `length` bytes at `begin` in piece `index`.
    pub fn new(index: u32, begin: u32, length: u32) -> Self {
        Self {
            index,
            begin,
            length,
        }
    }

    /// Offset one past the block's last byte within the piece (never overflows).
    pub fn end(&self) -> u64 {
        u64::from(self.begin) + u64::from(self.length)
    }

    /// Checks a request received from a peer against the torrent's geometry:
    /// `0 < length <= BLOCK_SIZE`, `index < piece_count`, `begin + length <= piece_size(index)`.
    pub fn validate(
        &self,
        piece_count: u32,
        piece_size: impl FnOnce(u32) -> u32,
    ) -> Result<(), RequestError> {
        if self.length > BLOCK_SIZE {
            return Err(RequestError::TooLong {
                length: self.length,
                max: BLOCK_SIZE,
            });
        }
        if self.length == 0 {
            return Err(RequestError::Empty);
        }
        if self.index >= piece_count {
            return Err(RequestError::PieceOutOfRange {
                index: self.index,
                piece_count,
            });
        }
        let size = piece_size(self.index);
        if self.end() > u64::from(size) {
            return Err(RequestError::PastPieceEnd {
                index: self.index,
                begin: self.begin,
                end: self.end(),
                piece_size: size,
            });
        }
        Ok(())
    }

    /// Splits piece `index` of `piece_size` bytes into consecutive requests of at most
    /// [`BLOCK_SIZE`] bytes (the last may be shorter).
    pub fn blocks_of_piece(index: u32, piece_size: u32) -> impl Iterator<Item = BlockRequest> {
        (0..piece_size.div_ceil(BLOCK_SIZE)).map(move |block| {
            let begin = block * BLOCK_SIZE;
            BlockRequest::new(index, begin, BLOCK_SIZE.min(piece_size - begin))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sizes(index: u32) -> u32 {
        if index == 2 { 1000 } else { 65536 }
    }

    #[test]
    fn accepts_full_and_short_blocks() {
        assert_eq!(
            BlockRequest::new(0, 0, BLOCK_SIZE).validate(3, sizes),
            Ok(())
        );
        assert_eq!(
            BlockRequest::new(1, 49152, BLOCK_SIZE).validate(3, sizes),
            Ok(())
        );
        assert_eq!(BlockRequest::new(2, 0, 1000).validate(3, sizes), Ok(()));
    }

    #[test]
    fn rejects_bad_requests() {
        assert!(matches!(
            BlockRequest::new(0, 0, BLOCK_SIZE + 1).validate(3, sizes),
            Err(RequestError::TooLong { .. })
        ));
        assert_eq!(
            BlockRequest::new(0, 0, 0).validate(3, sizes),
            Err(RequestError::Empty)
        );
        assert!(matches!(
            BlockRequest::new(3, 0, 10).validate(3, sizes),
            Err(RequestError::PieceOutOfRange { .. })
        ));
        assert!(matches!(
            BlockRequest::new(2, 999, 2).validate(3, sizes),
            Err(RequestError::PastPieceEnd { .. })
        ));
        assert!(matches!(
            BlockRequest::new(0, u32::MAX, BLOCK_SIZE).validate(3, sizes),
            Err(RequestError::PastPieceEnd { .. })
        ));
    }

    #[test]
    fn splits_pieces_into_blocks() {
        let blocks: Vec<_> = BlockRequest::blocks_of_piece(7, 40000).collect();
        assert_eq!(
            blocks,
            vec![
                BlockRequest::new(7, 0, 16384),
                BlockRequest::new(7, 16384, 16384),
                BlockRequest::new(7, 32768, 7232),
            ]
        );
        assert_eq!(BlockRequest::blocks_of_piece(0, 0).count(), 0);
    }
}
