//! The errors a metainfo file can be rejected with: one variant per validation rule.

use std::fmt;

use thiserror::Error;

use crate::InfoHash;
use crate::bencode::BencodeError;

/// Why a metainfo file (or an info-hash string) was rejected.
///
/// Every validation rule has its own variant, and every message reads as one clear line.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MetainfoError {
    /// The input is bigger than [`crate::MAX_METAINFO_SIZE`].
    #[error("metainfo is {size} bytes, more than the {max}-byte limit")]
    TooLarge { size: usize, max: usize },
    /// The input is not well-formed, canonical bencode (truncated, trailing garbage, too deep…).
    #[error("metainfo is not valid bencode: {0}")]
    Bencode(#[from] BencodeError),
    /// The top-level value is not a dictionary.
    #[error("metainfo is not a bencoded dictionary")]
    NotADictionary,
    /// There is no `info` key at the top level.
    #[error("metainfo has no `info` dictionary")]
    MissingInfo,
    /// The `info` value is not a dictionary.
    #[error("the `info` value is not a dictionary")]
    InfoNotADictionary,
    /// A field has the wrong bencode type (e.g. a string where a number belongs).
    #[error("metainfo field has the wrong type: {0}")]
    WrongType(String),
    /// The info dictionary has no `name`.
    #[error("the info dictionary has no `name`")]
    MissingName,
    /// The `name` cannot be used as a file or directory name.
    #[error("invalid torrent name {name:?}: it {problem}")]
    InvalidName { name: String, problem: PathProblem },
    /// The info dictionary has no `piece length`.
    #[error("the info dictionary has no `piece length`")]
    MissingPieceLength,
    /// `piece length` is zero or negative.
    #[error("piece length {0} is not positive")]
    NonPositivePieceLength(i64),
    /// `piece length` is beyond [`crate::MAX_PIECE_LENGTH`].
    #[error("piece length {length} is more than the {max}-byte limit")]
    PieceLengthTooLarge { length: i64, max: u64 },
    /// The info dictionary has no `pieces`.
    #[error("the info dictionary has no `pieces`")]
    MissingPieces,
    /// `pieces` is not a whole number of 20-byte SHA-1 hashes.
    #[error("`pieces` is {0} bytes long, not a multiple of 20")]
    PiecesNotMultipleOf20(usize),
    /// The number of piece hashes does not match the total length.
    #[error(
        "`pieces` holds {actual} hashes, but {total_length} bytes in pieces of {piece_length} bytes need {expected}"
    )]
    PieceCountMismatch {
        actual: u64,
        expected: u64,
        total_length: u64,
        piece_length: u64,
    },
    /// Neither `length` (single file) nor `files` (multi-file) is present.
    #[error("the info dictionary has neither `length` nor `files`")]
    MissingLengthAndFiles,
    /// Both `length` and `files` are present.
    #[error("the info dictionary has both `length` and `files`")]
    BothLengthAndFiles,
    /// `files` is an empty list.
    #[error("`files` is an empty list")]
    NoFiles,
    /// More files than [`crate::MAX_FILES`].
    #[error("metainfo lists {count} files, more than the {max} allowed")]
    TooManyFiles { count: usize, max: usize },
    /// A file entry has no `length`.
    #[error("file #{index} has no `length`")]
    MissingFileLength { index: usize },
    /// A file entry has no `path`.
    #[error("file #{index} has no `path`")]
    MissingFilePath { index: usize },
    /// A file entry's `path` is an empty list.
    #[error("file #{index} has an empty `path` list")]
    EmptyFilePath { index: usize },
    /// A length is negative.
    #[error("file {path:?} has a negative length ({length})")]
    NegativeLength { path: String, length: i64 },
    /// The total length is beyond [`crate::MAX_TOTAL_LENGTH`].
    #[error("total length {total} is more than the {max}-byte limit")]
    TotalLengthTooLarge { total: u64, max: u64 },
    /// The torrent holds no data at all (total length 0).
    #[error("the torrent holds no data (total length is 0)")]
    NoData,
    /// A path component would not stay inside the target directory.
    #[error("file {path:?} has an invalid path component {component:?}: it {problem}")]
    InvalidPathComponent {
        path: String,
        component: String,
        problem: PathProblem,
    },
    /// Two files have the same path.
    #[error("two files have the same path {0:?}")]
    DuplicatePath(String),
    /// A file's path is also used as the directory of another file.
    #[error("{0:?} is both a file and the directory of another file")]
    FileIsAlsoDirectory(String),
    /// An info dictionary fetched for a magnet link does not hash to the link's info-hash.
    #[error("the info dictionary hashes to {actual}, not to the expected {expected}")]
    InfoHashMismatch {
        expected: InfoHash,
        actual: InfoHash,
    },
    /// A string given as an info-hash is not 40 hex digits.
    #[error("invalid info-hash {0:?}: expected 40 hexadecimal digits")]
    InvalidInfoHash(String),
}

/// What is wrong with a path component (a file or directory name from a metainfo file).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathProblem {
    /// The component is the empty string.
    Empty,
    /// The component is `.`.
    CurrentDir,
    /// The component is `..`.
    ParentDir,
    /// The component holds `/` or `\` (it would be absolute or span directories).
    Separator,
    /// The component holds a NUL byte.
    Nul,
    /// The component is a Windows drive prefix such as `C:`.
    DrivePrefix,
}

impl fmt::Display for PathProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PathProblem::Empty => "is empty",
            PathProblem::CurrentDir => "is `.`",
            PathProblem::ParentDir => "is `..`",
            PathProblem::Separator => "contains a path separator (`/` or `\\`)",
            PathProblem::Nul => "contains a NUL byte",
            PathProblem::DrivePrefix => "is a drive prefix",
        })
    }
}
