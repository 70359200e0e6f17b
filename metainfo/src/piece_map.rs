//! The piece ↔ file map: which byte ranges of which files a piece (or part of one) covers.

use std::ops::Range;

use crate::Info;

/// A contiguous run of bytes inside one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FileSpan {
    /// Index into [`Info::files`].
    pub file_index: usize,
    /// Offset within that file.
    pub file_offset: u64,
    /// Number of bytes (never zero).
    pub len: u64,
}

/// Maps pieces to file spans for one [`Info`]. Zero-length files hold no bytes, so they
/// never appear in spans (storage creates them separately).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PieceMap {
    piece_length: u64,
    piece_count: u32,
    total_length: u64,
    /// (offset in the torrent, length) of each file, in torrent order.
    files: Vec<(u64, u64)>,
}

impl PieceMap {
    /// Builds the map for `info`.
    pub fn new(info: &Info) -> PieceMap {
        PieceMap {
            piece_length: info.piece_length.max(1),
            piece_count: info.piece_count(),
            total_length: info.total_length(),
            files: info.files.iter().map(|f| (f.offset, f.length)).collect(),
        }
    }

    /// The file spans holding bytes `begin..begin + len` of piece `piece`, in order. The range
    /// is clipped to the piece's real size (the last piece may be short); a range outside the
    /// piece, or a piece past the end, gives no spans.
    pub fn spans(&self, piece: u32, begin: u32, len: u32) -> Vec<FileSpan> {
        match self.piece_range(piece) {
            Some(range) => {
                let start = range.start.saturating_add(u64::from(begin)).min(range.end);
                let end = start.saturating_add(u64::from(len)).min(range.end);
                self.spans_of_range(start..end)
            }
            None => Vec::new(),
        }
    }

    /// All file spans of piece `piece`, in order.
    pub fn piece_spans(&self, piece: u32) -> Vec<FileSpan> {
        self.piece_range(piece)
            .map(|range| self.spans_of_range(range))
            .unwrap_or_default()
    }

    /// The pieces holding any byte of file `file_index` (empty for a zero-length file or an
    /// index past the end).
    pub fn pieces_of_file(&self, file_index: usize) -> Range<u32> {
        let Some(&(offset, length)) = self.files.get(file_index) else {
            return 0..0;
        };
        let to_piece = |byte: u64| u32::try_from(byte / self.piece_length).unwrap_or(u32::MAX);
        if length == 0 {
            let piece = to_piece(offset).min(self.piece_count);
            return piece..piece;
        }
        to_piece(offset)..to_piece(offset + length - 1) + 1
    }

    /// Byte range of piece `piece` within the torrent, if it exists.
    fn piece_range(&self, piece: u32) -> Option<Range<u64>> {
        if piece >= self.piece_count {
            return None;
        }
        let start = u64::from(piece) * self.piece_length;
        Some(start..(start + self.piece_length).min(self.total_length))
    }

    /// File spans covering torrent bytes `range`.
    fn spans_of_range(&self, range: Range<u64>) -> Vec<FileSpan> {
        let mut spans = Vec::new();
        if range.is_empty() {
            return spans;
        }
        // First file that ends after the range starts.
        let first = self
            .files
            .partition_point(|&(offset, length)| offset + length <= range.start);
        for (file_index, &(offset, length)) in self.files.iter().enumerate().skip(first) {
            if offset >= range.end {
                break;
            }
            if length == 0 {
                continue;
            }
            let start = range.start.max(offset);
            let end = range.end.min(offset + length);
            spans.push(FileSpan {
                file_index,
                file_offset: start - offset,
                len: end - start,
            });
        }
        spans
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
        let map = PieceMap::new(&info(16, &[40]));
        assert_eq!(map.piece_spans(0), vec![span(0, 0, 16)]);
        assert_eq!(map.piece_spans(2), vec![span(0, 32, 8)]);
        assert_eq!(map.piece_spans(3), vec![]);
        assert_eq!(map.spans(2, 4, 100), vec![span(0, 36, 4)]);
        assert_eq!(map.spans(2, 8, 1), vec![]);
        assert_eq!(map.spans(2, 100, 1), vec![]);
        assert_eq!(map.pieces_of_file(0), 0..3);
    }

    #[test]
    fn zero_length_files_are_skipped() {
        // Files: empty, 10 bytes, empty, empty, 6 bytes, empty.
        let map = PieceMap::new(&info(8, &[0, 10, 0, 0, 6, 0]));
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
        let map = PieceMap::new(&info(32 << 10, &[20_000, 30_000]));
        assert_eq!(map.spans(0, 0, 16 << 10), vec![span(0, 0, 16_384)]);
        assert_eq!(
            map.spans(0, 16 << 10, 16 << 10),
            vec![span(0, 16_384, 3_616), span(1, 0, 12_768)]
        );
        assert_eq!(map.spans(1, 0, 16 << 10), vec![span(1, 12_768, 16_384)]);
        assert_eq!(map.pieces_of_file(0), 0..1);
        assert_eq!(map.pieces_of_file(1), 0..2);
    }

    #[test]
    fn one_piece_holds_many_files() {
        let lengths = [1u64; 100];
        let map = PieceMap::new(&info(1 << 20, &lengths));
        let spans = map.piece_spans(0);
        assert_eq!(spans.len(), 100);
        for (i, s) in spans.iter().enumerate() {
            assert_eq!(*s, span(i, 0, 1));
        }
        assert_eq!(
            map.spans(0, 50, 3),
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
                let map = PieceMap::new(&info);
                for piece in 0..=info.piece_count() {
                    let size = u64::from(info.piece_size(piece));
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
                                .spans(piece, begin, len)
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
            let map = PieceMap::new(&info);
            let piece = piece_seed % info.piece_count();
            let piece_start = u64::from(piece) * piece_length;
            let piece_size = u64::from(info.piece_size(piece));
            let start = piece_start + u64::from(begin).min(piece_size);
            let end = (start + u64::from(len)).min(piece_start + piece_size);
            let spans = map.spans(piece, begin, len);
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
}
