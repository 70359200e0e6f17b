//! Piece geometry: how a torrent's bytes are cut into pieces and laid out in its files.
//!
//! A torrent's payload is its files concatenated in order, cut into pieces of `piece length`
//! bytes (the last one short). [`PieceGeometry`] answers every question about that layout —
//! how many pieces, how long piece `i` is, which byte ranges of which files a piece (or a
//! block of one) covers, which pieces hold a file — so creation, verification, storage and the
//! picker all compute it the same way, in one place.

use std::ops::Range;

use thiserror::Error;

use crate::{Info, MAX_PIECE_LENGTH};

/// A contiguous run of bytes inside one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FileSpan {
    /// Index into the file list ([`Info::files`]).
    pub file_index: usize,
    /// Offset within that file.
    pub file_offset: u64,
    /// Number of bytes (never zero).
    pub len: u64,
}

/// Why [`PieceGeometry::from_lengths`] refused a layout.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum GeometryError {
    /// The piece length is zero or above [`MAX_PIECE_LENGTH`].
    #[error("piece length {0} is out of range (1 to {MAX_PIECE_LENGTH} bytes)")]
    PieceLength(u64),
    /// The files add up to more than `u64::MAX` bytes.
    #[error("the files' lengths add up to more than 2^64 bytes")]
    TotalOverflow,
    /// More pieces than a piece index (`u32`) can number.
    #[error("{total_length} bytes in pieces of {piece_length} bytes make more than 2^32 pieces")]
    TooManyPieces {
        total_length: u64,
        piece_length: u64,
    },
}

/// The piece layout of one torrent: piece count and lengths, and the piece ↔ file map.
///
/// Zero-length files hold no bytes, so they never appear in spans (storage creates them
/// separately) and hold no pieces. Cheap to query; building one copies two numbers per file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PieceGeometry {
    /// In `1..=MAX_PIECE_LENGTH`, so it fits a `u32`.
    piece_length: u32,
    piece_count: u32,
    total_length: u64,
    /// (offset in the torrent, length) of each file, in torrent order.
    files: Vec<(u64, u64)>,
}

impl PieceGeometry {
    /// The geometry of `info`. For a parsed or created `Info` the piece count equals the number
    /// of piece hashes. (A hand-built `Info` that breaks the parser's bounds is clamped.)
    pub fn new(info: &Info) -> PieceGeometry {
        let piece_length = u32::try_from(info.piece_length).unwrap_or(u32::MAX).max(1);
        let files: Vec<(u64, u64)> = info.files.iter().map(|f| (f.offset, f.length)).collect();
        let total_length = info.total_length();
        let piece_count =
            u32::try_from(total_length.div_ceil(u64::from(piece_length))).unwrap_or(u32::MAX);
        PieceGeometry {
            piece_length,
            piece_count,
            total_length,
            files,
        }
    }

    /// The geometry of files of `file_lengths` bytes, in order, cut into pieces of
    /// `piece_length` bytes: for code that has no [`Info`] (creation before hashing, a
    /// picker that knows only the total: pass one length).
    pub fn from_lengths(
        piece_length: u64,
        file_lengths: impl IntoIterator<Item = u64>,
    ) -> Result<PieceGeometry, GeometryError> {
        if piece_length == 0 || piece_length > MAX_PIECE_LENGTH {
            return Err(GeometryError::PieceLength(piece_length));
        }
        let mut files = Vec::new();
        let mut total_length: u64 = 0;
        for length in file_lengths {
            files.push((total_length, length));
            total_length = total_length
                .checked_add(length)
                .ok_or(GeometryError::TotalOverflow)?;
        }
        let piece_count = u32::try_from(total_length.div_ceil(piece_length)).map_err(|_| {
            GeometryError::TooManyPieces {
                total_length,
                piece_length,
            }
        })?;
        Ok(PieceGeometry {
            piece_length: u32::try_from(piece_length).unwrap_or(u32::MAX), // bounded above
            piece_count,
            total_length,
            files,
        })
    }

    /// Bytes per piece (all pieces but the last have exactly this many).
    pub fn piece_length(&self) -> u32 {
        self.piece_length
    }

    /// Number of pieces.
    pub fn piece_count(&self) -> u32 {
        self.piece_count
    }

    /// Total payload size in bytes.
    pub fn total_length(&self) -> u64 {
        self.total_length
    }

    /// Number of files (zero-length ones included).
    pub fn file_count(&self) -> usize {
        self.files.len()
    }

    /// Size in bytes of piece `piece`: [`Self::piece_length`], except that the last piece may
    /// be shorter. Zero for a piece past the end.
    pub fn piece_size(&self, piece: u32) -> u32 {
        self.piece_bytes(piece)
            .map_or(0, |range| (range.end - range.start) as u32) // at most piece_length
    }

    /// The torrent bytes of piece `piece` (offsets in the concatenated payload), if it exists.
    pub fn piece_bytes(&self, piece: u32) -> Option<Range<u64>> {
        if piece >= self.piece_count {
            return None;
        }
        let start = u64::from(piece) * u64::from(self.piece_length);
        Some(start..(start + u64::from(self.piece_length)).min(self.total_length))
    }

    /// The torrent bytes of file `file_index` (offsets in the concatenated payload), if it
    /// exists; empty for a zero-length file.
    pub fn file_bytes(&self, file_index: usize) -> Option<Range<u64>> {
        let &(offset, length) = self.files.get(file_index)?;
        Some(offset..offset + length)
    }

    /// All file spans of piece `piece`, in order (none for a piece past the end).
    pub fn piece_spans(&self, piece: u32) -> Vec<FileSpan> {
        self.piece_bytes(piece)
            .map(|range| self.byte_spans(range).collect())
            .unwrap_or_default()
    }

    /// The file spans holding bytes `begin..begin + len` of piece `piece` (a block), in
    /// order. The range is clipped to the piece's real size (the last piece may be short); a
    /// range outside the piece, or a piece past the end, gives no spans.
    pub fn block_spans(&self, piece: u32, begin: u32, len: u32) -> Vec<FileSpan> {
        match self.piece_bytes(piece) {
            Some(range) => {
                let start = range.start.saturating_add(u64::from(begin)).min(range.end);
                let end = start.saturating_add(u64::from(len)).min(range.end);
                self.byte_spans(start..end).collect()
            }
            None => Vec::new(),
        }
    }

    /// The former name of [`Self::block_spans`], kept while `swarm-client` moves over.
    pub fn spans(&self, piece: u32, begin: u32, len: u32) -> Vec<FileSpan> {
        self.block_spans(piece, begin, len)
    }

    /// The file spans covering torrent bytes `range` (clipped to the payload), in order,
    /// without allocating: for readers that walk a piece chunk by chunk.
    pub fn byte_spans(&self, range: Range<u64>) -> impl Iterator<Item = FileSpan> + '_ {
        let range = range.start.min(self.total_length)..range.end.min(self.total_length);
        // First file that ends after the range starts.
        let first = self
            .files
            .partition_point(|&(offset, length)| offset + length <= range.start);
        self.files
            .iter()
            .enumerate()
            .skip(first)
            .take_while(move |(_, (offset, _))| *offset < range.end)
            .map(move |(file_index, &(offset, length))| {
                let start = range.start.max(offset);
                let end = range.end.min(offset + length);
                FileSpan {
                    file_index,
                    file_offset: start - offset,
                    len: end.saturating_sub(start),
                }
            })
            // Zero-length files (and an empty range) hold no bytes.
            .filter(|span| span.len > 0)
    }

    /// The pieces holding any byte of file `file_index` (empty for a zero-length file or an
    /// index past the end).
    pub fn pieces_of_file(&self, file_index: usize) -> Range<u32> {
        let Some(&(offset, length)) = self.files.get(file_index) else {
            return 0..0;
        };
        let piece_length = u64::from(self.piece_length);
        let to_piece = |byte: u64| u32::try_from(byte / piece_length).unwrap_or(u32::MAX);
        if length == 0 {
            let piece = to_piece(offset).min(self.piece_count);
            return piece..piece;
        }
        to_piece(offset)..to_piece(offset + length - 1).saturating_add(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::FileEntry;
    use proptest::prelude::*;

    fn info(piece_length: u64, lengths: &[u64]) -> Info {
        let mut offset = 0;
        let files = lengths
            .iter()
            .enumerate()
            .map(|(i, &length)| {
                let file = FileEntry {
                    path: vec!["t".into(), format!("f{i}")],
                    length,
                    offset,
                };
                offset += length;
                file
            })
            .collect();
        Info {
            name: "t".into(),
            piece_length,
            pieces: vec![[0; 20]; offset.div_ceil(piece_length) as usize],
            private: false,
            files,
            single_file: false,
        }
    }

    fn span(file_index: usize, file_offset: u64, len: u64) -> FileSpan {
        FileSpan {
            file_index,
            file_offset,
            len,
        }
    }

    #[test]
    fn single_file_with_short_last_piece() {
        let map = PieceGeometry::new(&info(16, &[40]));
        assert_eq!(map.piece_spans(0), vec![span(0, 0, 16)]);
        assert_eq!(map.piece_spans(2), vec![span(0, 32, 8)]);
        assert_eq!(map.piece_spans(3), vec![]);
        assert_eq!(map.block_spans(2, 4, 100), vec![span(0, 36, 4)]);
        assert_eq!(map.block_spans(2, 8, 1), vec![]);
        assert_eq!(map.block_spans(2, 100, 1), vec![]);
        assert_eq!(map.pieces_of_file(0), 0..3);
    }

    #[test]
    fn zero_length_files_are_skipped() {
        // Files: empty, 10 bytes, empty, empty, 6 bytes, empty.
        let map = PieceGeometry::new(&info(8, &[0, 10, 0, 0, 6, 0]));
        assert_eq!(map.piece_spans(0), vec![span(1, 0, 8)]);
        assert_eq!(map.piece_spans(1), vec![span(1, 8, 2), span(4, 0, 6)]);
        assert_eq!(map.pieces_of_file(0), 0..0);
        assert_eq!(map.pieces_of_file(1), 0..2);
        assert_eq!(map.pieces_of_file(2), 1..1);
        assert_eq!(map.pieces_of_file(4), 1..2);
        assert_eq!(map.pieces_of_file(5), 2..2);
        assert_eq!(map.pieces_of_file(6), 0..0);
    }

    #[test]
    fn file_boundary_inside_a_block() {
        // 32 KiB pieces, files of 20,000 and 30,000 bytes: the boundary falls inside the
        // second 16 KiB block of piece 0.
        let map = PieceGeometry::new(&info(32 << 10, &[20_000, 30_000]));
        assert_eq!(map.block_spans(0, 0, 16 << 10), vec![span(0, 0, 16_384)]);
        assert_eq!(
            map.block_spans(0, 16 << 10, 16 << 10),
            vec![span(0, 16_384, 3_616), span(1, 0, 12_768)]
        );
        assert_eq!(
            map.block_spans(1, 0, 16 << 10),
            vec![span(1, 12_768, 16_384)]
        );
        assert_eq!(map.pieces_of_file(0), 0..1);
        assert_eq!(map.pieces_of_file(1), 0..2);
    }

    #[test]
    fn one_piece_holds_many_files() {
        let lengths = [1u64; 100];
        let map = PieceGeometry::new(&info(1 << 20, &lengths));
        let spans = map.piece_spans(0);
        assert_eq!(spans.len(), 100);
        for (i, s) in spans.iter().enumerate() {
            assert_eq!(*s, span(i, 0, 1));
        }
        assert_eq!(
            map.block_spans(0, 50, 3),
            vec![span(50, 0, 1), span(51, 0, 1), span(52, 0, 1)]
        );
        for file in 0..100 {
            assert_eq!(map.pieces_of_file(file), 0..1);
        }
    }

    /// Every request range of every piece, for every split of a small payload into files
    /// (including zero-length ones) and every small piece length, against a byte-by-byte
    /// reference.
    #[test]
    fn exhaustive_small_layouts() {
        let layouts: &[&[u64]] = &[
            &[7],
            &[0, 7],
            &[7, 0],
            &[1, 1, 1, 1, 1, 1, 1],
            &[3, 0, 0, 4],
            &[2, 5],
            &[6, 0, 1],
        ];
        for lengths in layouts {
            let total: u64 = lengths.iter().sum();
            // Owner file and offset of every byte.
            let owner: Vec<(usize, u64)> = lengths
                .iter()
                .enumerate()
                .flat_map(|(i, &len)| (0..len).map(move |off| (i, off)))
                .collect();
            for piece_length in 1..=8 {
                let info = info(piece_length, lengths);
                let map = PieceGeometry::new(&info);
                for piece in 0..=info.piece_count() {
                    // The reference: a full piece, or what is left of the payload.
                    let size =
                        piece_length.min(total.saturating_sub(u64::from(piece) * piece_length));
                    assert_eq!(u64::from(map.piece_size(piece)), size);
                    for begin in 0..=9u32 {
                        for len in 0..=9u32 {
                            let start = (u64::from(piece) * piece_length + u64::from(begin))
                                .min(u64::from(piece) * piece_length + size);
                            let end = (start + u64::from(len))
                                .min(u64::from(piece) * piece_length + size)
                                .min(total);
                            let expected: Vec<(usize, u64)> = owner
                                .get(start as usize..end as usize)
                                .unwrap_or_default()
                                .to_vec();
                            let got: Vec<(usize, u64)> = map
                                .block_spans(piece, begin, len)
                                .iter()
                                .flat_map(|s| {
                                    (0..s.len).map(move |k| (s.file_index, s.file_offset + k))
                                })
                                .collect();
                            assert_eq!(
                                got, expected,
                                "{lengths:?} pl={piece_length} p={piece} {begin}+{len}"
                            );
                        }
                    }
                }
            }
        }
    }

    proptest! {
        #[test]
        fn spans_cover_exactly_the_range_in_order(
            lengths in proptest::collection::vec(0u64..50, 1..12),
            piece_length in 1u64..40,
            piece_seed in any::<u32>(),
            begin in 0u32..45,
            len in 0u32..45,
        ) {
            let total: u64 = lengths.iter().sum();
            prop_assume!(total > 0);
            let info = info(piece_length, &lengths);
            let map = PieceGeometry::new(&info);
            let piece = piece_seed % info.piece_count();
            let piece_start = u64::from(piece) * piece_length;
            let piece_size = piece_length.min(total - piece_start);
            prop_assert_eq!(u64::from(map.piece_size(piece)), piece_size);
            let start = piece_start + u64::from(begin).min(piece_size);
            let end = (start + u64::from(len)).min(piece_start + piece_size);
            let spans = map.block_spans(piece, begin, len);
            let mut cursor = start;
            for s in &spans {
                prop_assert!(s.len > 0);
                let file = &info.files[s.file_index];
                prop_assert_eq!(file.offset + s.file_offset, cursor);
                prop_assert!(s.file_offset + s.len <= file.length);
                cursor += s.len;
            }
            prop_assert_eq!(cursor, end);
            // Whole pieces tile the torrent, and pieces_of_file agrees with piece_spans.
            let mut covered = 0;
            for p in 0..info.piece_count() {
                for s in map.piece_spans(p) {
                    prop_assert!(map.pieces_of_file(s.file_index).contains(&p));
                    covered += s.len;
                }
            }
            prop_assert_eq!(covered, total);
        }
    }
    proptest! {
        #[test]
        fn from_lengths_agrees_with_the_info_geometry(
            lengths in proptest::collection::vec(0u64..5_000, 0..12),
            piece_length in 1u64..3_000,
        ) {
            let from_info = PieceGeometry::new(&info(piece_length, &lengths));
            let from_lengths = PieceGeometry::from_lengths(piece_length, lengths.iter().copied());
            prop_assert_eq!(from_lengths, Ok(from_info));
        }
    }

    #[test]
    fn counts_and_lengths() {
        let map = PieceGeometry::from_lengths(16, [10, 0, 30]).unwrap();
        assert_eq!(map.piece_length(), 16);
        assert_eq!(map.piece_count(), 3);
        assert_eq!(map.total_length(), 40);
        assert_eq!(map.file_count(), 3);
        assert_eq!(
            [0, 1, 2, 3].map(|p| map.piece_size(p)),
            [16, 16, 8, 0],
            "the last piece is short; none past the end"
        );
        assert_eq!(map.piece_bytes(2), Some(32..40));
        assert_eq!(map.piece_bytes(3), None);
        assert_eq!(map.file_bytes(1), Some(10..10));
        assert_eq!(map.file_bytes(2), Some(10..40));
        assert_eq!(map.file_bytes(3), None);
    }

    #[test]
    fn an_exact_multiple_has_no_short_piece() {
        let map = PieceGeometry::from_lengths(16 << 10, [64 << 10]).unwrap();
        assert_eq!(map.piece_count(), 4);
        assert_eq!(map.piece_size(3), 16 << 10);
    }

    #[test]
    fn empty_ranges_and_ranges_past_the_end_have_no_spans() {
        let map = PieceGeometry::from_lengths(8, [5, 5]).unwrap();
        assert_eq!(map.byte_spans(5..5).count(), 0);
        assert_eq!(map.byte_spans(10..20).count(), 0);
        assert_eq!(
            map.byte_spans(7..20).collect::<Vec<_>>(),
            vec![span(1, 2, 3)]
        );
    }

    #[test]
    fn from_lengths_refuses_layouts_a_piece_index_cannot_number() {
        assert_eq!(
            PieceGeometry::from_lengths(0, [1]),
            Err(GeometryError::PieceLength(0))
        );
        assert_eq!(
            PieceGeometry::from_lengths(MAX_PIECE_LENGTH + 1, [1]),
            Err(GeometryError::PieceLength(MAX_PIECE_LENGTH + 1))
        );
        assert_eq!(
            PieceGeometry::from_lengths(1, [u64::MAX, 1]),
            Err(GeometryError::TotalOverflow)
        );
        assert!(matches!(
            PieceGeometry::from_lengths(1, [1 << 33]),
            Err(GeometryError::TooManyPieces { .. })
        ));
        let empty = PieceGeometry::from_lengths(16, []).unwrap();
        assert_eq!((empty.piece_count(), empty.total_length()), (0, 0));
        assert_eq!(empty.piece_spans(0), vec![]);
    }
}
