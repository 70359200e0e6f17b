//! The info dictionary's content: name, piece length, piece hashes, files.

use std::path::PathBuf;

use crate::PieceGeometry;

/// What the info dictionary describes: the payload's name, pieces and files.
///
/// Built only through parsing ([`crate::Metainfo::from_bytes`]) or creation
/// ([`crate::create::create`]), which validate it; the invariants below then hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Info {
    /// The suggested file name (single-file) or top directory name (multi-file); a valid
    /// path component.
    pub name: String,
    /// Bytes per piece (the last piece may be shorter); in `1..=MAX_PIECE_LENGTH`.
    pub piece_length: u64,
    /// SHA-1 of each piece, in order.
    pub pieces: Vec<[u8; 20]>,
    /// BEP 27 private flag: peers come from the tracker only.
    pub private: bool,
    /// The files, in torrent order; a single-file torrent has exactly one.
    pub files: Vec<FileEntry>,
    /// True when the info dictionary has `length` rather than `files`.
    pub single_file: bool,
}

/// One file of the payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileEntry {
    /// Validated path components relative to the directory the torrent is saved into.
    /// The first component is always the torrent's `name`: a single-file torrent's only file
    /// is `[name]`, a multi-file torrent's files are `[name, c1, c2, ...]` where `c1, c2, ...`
    /// is the BEP 3 `path` list. No component is empty, `.`, `..`, or holds `/`, `\` or NUL.
    pub path: Vec<String>,
    /// Length in bytes.
    pub length: u64,
    /// Where the file starts within the torrent's concatenated bytes.
    pub offset: u64,
}

impl FileEntry {
    /// The path to save this file at, relative to the target directory: `name` for a
    /// single-file torrent, `name/c1/c2/...` for a multi-file one. Since every component is
    /// validated, it never escapes the target directory.
    pub fn relative_path(&self) -> PathBuf {
        self.path.iter().collect()
    }

    /// The path as text with `/` separators (for messages and JSON).
    pub fn display_path(&self) -> String {
        self.path.join("/")
    }
}

impl Info {
    /// Total payload size in bytes.
    pub fn total_length(&self) -> u64 {
        self.files.last().map_or(0, |f| f.offset + f.length)
    }

    /// Number of pieces.
    pub fn piece_count(&self) -> u32 {
        // Validation bounds the count far below u32::MAX.
        u32::try_from(self.pieces.len()).unwrap_or(u32::MAX)
    }

    /// How the payload is cut into pieces and laid out in the files (piece sizes, piece ↔
    /// file spans). Builds a [`PieceGeometry`]: keep it rather than call this per piece.
    pub fn geometry(&self) -> PieceGeometry {
        PieceGeometry::new(self)
    }

    /// The expected SHA-1 of piece `index`.
    pub fn piece_hash(&self, index: u32) -> Option<&[u8; 20]> {
        self.pieces.get(usize::try_from(index).ok()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn two_files() -> Info {
        Info {
            name: "dir".into(),
            piece_length: 4,
            pieces: vec![[0; 20], [1; 20], [2; 20]],
            private: false,
            files: vec![
                FileEntry {
                    path: vec!["dir".into(), "a".into()],
                    length: 5,
                    offset: 0,
                },
                FileEntry {
                    path: vec!["dir".into(), "b".into(), "c".into()],
                    length: 5,
                    offset: 5,
                },
            ],
            single_file: false,
        }
    }

    #[test]
    fn sizes() {
        let info = two_files();
        assert_eq!(info.total_length(), 10);
        assert_eq!(info.piece_count(), 3);
        let geometry = info.geometry();
        assert_eq!(geometry.piece_count(), 3);
        assert_eq!(geometry.piece_size(0), 4);
        assert_eq!(geometry.piece_size(2), 2);
        assert_eq!(geometry.piece_size(3), 0);
        assert_eq!(info.piece_hash(1), Some(&[1; 20]));
        assert_eq!(info.piece_hash(3), None);
    }

    #[test]
    fn relative_paths() {
        let info = two_files();
        assert_eq!(info.files[1].relative_path(), PathBuf::from("dir/b/c"));
        assert_eq!(info.files[1].display_path(), "dir/b/c");
    }
}
