//! Validation of the info dictionary: every rule that turns raw fields into an [`Info`].
//!
//! Bounds (all documented on the constants): piece length at most [`MAX_PIECE_LENGTH`], at
//! most [`MAX_FILES`] files, total length at most [`MAX_TOTAL_LENGTH`]. Path components must
//! be usable as one file name that stays inside the target directory; see
//! [`check_component`]. All checks run in time linear in the input.

use std::collections::HashMap;

use crate::error::PathProblem;
use crate::raw::{self, Bytes, RawFile, RawInfo};
use crate::{FileEntry, Info, MetainfoError};

/// Largest accepted piece length: 256 MiB. Any positive length up to it parses, including
/// odd ones such as 3 KiB or lengths that are not powers of two.
pub const MAX_PIECE_LENGTH: u64 = 256 << 20;

/// Most files accepted in one metainfo: 65,536. Larger lists (even well-formed ones) are
/// rejected with [`MetainfoError::TooManyFiles`].
pub const MAX_FILES: usize = 65_536;

/// Largest accepted total payload: 1 PiB.
pub const MAX_TOTAL_LENGTH: u64 = 1 << 50;

/// Checks that `component` can be used as a single file or directory name that stays inside
/// the directory it is joined to: not empty, `.` or `..`, no `/`, `\` or NUL, and not a
/// Windows drive prefix like `C:`.
pub fn check_component(component: &str) -> Result<(), PathProblem> {
    let bytes = component.as_bytes();
    match component {
        "" => Err(PathProblem::Empty),
        "." => Err(PathProblem::CurrentDir),
        ".." => Err(PathProblem::ParentDir),
        _ if bytes.contains(&0) => Err(PathProblem::Nul),
        _ if bytes.iter().any(|&b| b == b'/' || b == b'\\') => Err(PathProblem::Separator),
        _ if bytes.len() == 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':' => {
            Err(PathProblem::DrivePrefix)
        }
        _ => Ok(()),
    }
}

/// Validates the raw info dictionary and builds the [`Info`].
pub(crate) fn info_from_raw(raw: RawInfo) -> Result<Info, MetainfoError> {
    let name = raw
        .name_utf8
        .or(raw.name)
        .map(raw::text)
        .ok_or(MetainfoError::MissingName)?;
    check_component(&name).map_err(|problem| MetainfoError::InvalidName {
        name: name.clone(),
        problem,
    })?;
    let piece_length = piece_length(raw.piece_length)?;
    let pieces = piece_hashes(raw.pieces)?;
    let (files, single_file) = match (raw.length, raw.files) {
        (Some(_), Some(_)) => return Err(MetainfoError::BothLengthAndFiles),
        (None, None) => return Err(MetainfoError::MissingLengthAndFiles),
        (Some(length), None) => {
            let length = file_length(length, &name)?;
            (
                vec![FileEntry {
                    path: vec![name.clone()],
                    length,
                    offset: 0,
                }],
                true,
            )
        }
        (None, Some(list)) => {
            let (files, padding) = file_list(&name, list)?;
            check_unique_paths(
                files
                    .iter()
                    .zip(&padding)
                    .filter(|(_, pad)| !**pad)
                    .map(|(f, _)| f),
            )?;
            (files, false)
        }
    };
    let total_length = files.last().map_or(0, |f| f.offset + f.length);
    check_piece_count(total_length, piece_length, pieces.len())?;
    Ok(Info {
        name,
        piece_length,
        pieces,
        // Like other clients, any non-zero value marks the torrent private.
        private: raw.private.is_some_and(|flag| flag != 0),
        files,
        single_file,
    })
}

fn piece_length(raw: Option<i64>) -> Result<u64, MetainfoError> {
    let length = raw.ok_or(MetainfoError::MissingPieceLength)?;
    let positive = u64::try_from(length)
        .ok()
        .filter(|&l| l > 0)
        .ok_or(MetainfoError::NonPositivePieceLength(length))?;
    if positive > MAX_PIECE_LENGTH {
        return Err(MetainfoError::PieceLengthTooLarge {
            length,
            max: MAX_PIECE_LENGTH,
        });
    }
    Ok(positive)
}

fn piece_hashes(raw: Option<Bytes>) -> Result<Vec<[u8; 20]>, MetainfoError> {
    let Bytes(bytes) = raw.ok_or(MetainfoError::MissingPieces)?;
    if bytes.len() % 20 != 0 {
        return Err(MetainfoError::PiecesNotMultipleOf20(bytes.len()));
    }
    Ok(bytes
        .chunks_exact(20)
        .map(|chunk| {
            let mut hash = [0u8; 20];
            hash.copy_from_slice(chunk);
            hash
        })
        .collect())
}

fn file_length(length: i64, path: &str) -> Result<u64, MetainfoError> {
    u64::try_from(length).map_err(|_| MetainfoError::NegativeLength {
        path: path.to_owned(),
        length,
    })
}

/// Validates a multi-file `files` list; paths get `name` as their first component. Also
/// returns which files are BEP 47 padding files.
fn file_list(name: &str, list: Vec<RawFile>) -> Result<(Vec<FileEntry>, Vec<bool>), MetainfoError> {
    if list.is_empty() {
        return Err(MetainfoError::NoFiles);
    }
    if list.len() > MAX_FILES {
        return Err(MetainfoError::TooManyFiles {
            count: list.len(),
            max: MAX_FILES,
        });
    }
    let mut files = Vec::with_capacity(list.len());
    let mut padding = Vec::with_capacity(list.len());
    let mut offset = 0u64;
    for (index, raw_file) in list.into_iter().enumerate() {
        let raw_path = raw_file
            .path_utf8
            .or(raw_file.path)
            .ok_or(MetainfoError::MissingFilePath { index })?;
        if raw_path.is_empty() {
            return Err(MetainfoError::EmptyFilePath { index });
        }
        let mut path = Vec::with_capacity(raw_path.len() + 1);
        path.push(name.to_owned());
        path.extend(raw_path.into_iter().map(raw::text));
        let display = path.join("/");
        for component in &path[1..] {
            check_component(component).map_err(|problem| MetainfoError::InvalidPathComponent {
                path: display.clone(),
                component: component.clone(),
                problem,
            })?;
        }
        let length = raw_file
            .length
            .ok_or(MetainfoError::MissingFileLength { index })?;
        let length = file_length(length, &display)?;
        let end = offset.saturating_add(length);
        if end > MAX_TOTAL_LENGTH {
            return Err(MetainfoError::TotalLengthTooLarge {
                total: end,
                max: MAX_TOTAL_LENGTH,
            });
        }
        padding.push(raw_file.attr.is_some_and(|attr| attr.0.contains(&b'p')));
        files.push(FileEntry {
            path,
            length,
            offset,
        });
        offset = end;
    }
    Ok((files, padding))
}

/// Checks that `pieces` holds exactly one hash per `piece_length` bytes (rounded up).
pub(crate) fn check_piece_count(
    total_length: u64,
    piece_length: u64,
    actual: usize,
) -> Result<(), MetainfoError> {
    if total_length > MAX_TOTAL_LENGTH {
        return Err(MetainfoError::TotalLengthTooLarge {
            total: total_length,
            max: MAX_TOTAL_LENGTH,
        });
    }
    if total_length == 0 {
        return Err(MetainfoError::NoData);
    }
    let expected = total_length.div_ceil(piece_length);
    if actual as u64 != expected {
        return Err(MetainfoError::PieceCountMismatch {
            actual: actual as u64,
            expected,
            total_length,
            piece_length,
        });
    }
    Ok(())
}

/// Rejects duplicate paths and a file that is also another file's directory, in one pass
/// over a tree of path components (linear in the number of components). BEP 47 padding
/// files are left out by the caller: other tools repeat them (`.pad/16384`), and clients do
/// not need to store them.
pub(crate) fn check_unique_paths<'a>(
    files: impl IntoIterator<Item = &'a FileEntry>,
) -> Result<(), MetainfoError> {
    // Node 0 is the root; each node is a file or a directory, children keyed by
    // (parent node, component).
    let mut is_file = vec![false];
    let mut children: HashMap<(usize, &str), usize> = HashMap::new();
    for file in files {
        let mut node = 0;
        for (depth, component) in file.path.iter().enumerate() {
            let last = depth + 1 == file.path.len();
            let next_id = is_file.len();
            match children.get(&(node, component.as_str())) {
                Some(&child) => {
                    if is_file[child] {
                        let path = file.path[..=depth].join("/");
                        return Err(if last {
                            MetainfoError::DuplicatePath(path)
                        } else {
                            MetainfoError::FileIsAlsoDirectory(path)
                        });
                    }
                    if last {
                        return Err(MetainfoError::FileIsAlsoDirectory(file.path.join("/")));
                    }
                    node = child;
                }
                None => {
                    children.insert((node, component.as_str()), next_id);
                    is_file.push(last);
                    node = next_id;
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn components() {
        assert_eq!(check_component("a.txt"), Ok(()));
        assert_eq!(check_component("..."), Ok(()));
        assert_eq!(check_component(".hidden"), Ok(()));
        assert_eq!(check_component("a:b"), Ok(()));
        assert_eq!(check_component(""), Err(PathProblem::Empty));
        assert_eq!(check_component("."), Err(PathProblem::CurrentDir));
        assert_eq!(check_component(".."), Err(PathProblem::ParentDir));
        assert_eq!(check_component("/etc"), Err(PathProblem::Separator));
        assert_eq!(check_component("a/b"), Err(PathProblem::Separator));
        assert_eq!(check_component("a\\b"), Err(PathProblem::Separator));
        assert_eq!(check_component("\\"), Err(PathProblem::Separator));
        assert_eq!(check_component("a\0b"), Err(PathProblem::Nul));
        assert_eq!(check_component("C:"), Err(PathProblem::DrivePrefix));
    }

    fn entry(path: &[&str]) -> FileEntry {
        FileEntry {
            path: path.iter().map(|s| s.to_string()).collect(),
            length: 1,
            offset: 0,
        }
    }

    #[test]
    fn unique_paths() {
        let ok = [
            entry(&["n", "a"]),
            entry(&["n", "b", "c"]),
            entry(&["n", "b", "d"]),
        ];
        assert_eq!(check_unique_paths(&ok), Ok(()));
        let dup = [
            entry(&["n", "a", "x"]),
            entry(&["n", "b"]),
            entry(&["n", "a", "x"]),
        ];
        assert_eq!(
            check_unique_paths(&dup),
            Err(MetainfoError::DuplicatePath("n/a/x".into()))
        );
        let file_then_dir = [entry(&["n", "a"]), entry(&["n", "a", "b"])];
        assert_eq!(
            check_unique_paths(&file_then_dir),
            Err(MetainfoError::FileIsAlsoDirectory("n/a".into()))
        );
        let dir_then_file = [entry(&["n", "a", "b"]), entry(&["n", "a"])];
        assert_eq!(
            check_unique_paths(&dir_then_file),
            Err(MetainfoError::FileIsAlsoDirectory("n/a".into()))
        );
    }

    #[test]
    fn piece_counts() {
        assert_eq!(check_piece_count(10, 4, 3), Ok(()));
        assert_eq!(check_piece_count(8, 4, 2), Ok(()));
        assert!(matches!(
            check_piece_count(8, 4, 3),
            Err(MetainfoError::PieceCountMismatch {
                actual: 3,
                expected: 2,
                ..
            })
        ));
        assert_eq!(check_piece_count(0, 4, 0), Err(MetainfoError::NoData));
    }
}
