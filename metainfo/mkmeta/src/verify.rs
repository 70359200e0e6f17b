//! `mkmeta --verify FILE.meta PATH`: re-hash the data at PATH and say which pieces and
//! files do not match. Pieces are checked by [`metainfo::verify`]: in parallel, each read
//! with positional reads into a reused buffer, so memory stays at four pieces per core.

use std::collections::BTreeMap;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use anyhow::Result;
use indicatif::ProgressBar;
use metainfo::verify::{self, PieceReader};
use metainfo::{FileEntry, Info, PieceGeometry};

use crate::{progress, show};

/// What is wrong with one file of the metainfo before any hashing.
enum FileProblem {
    Missing(String),
    WrongSize { found: u64 },
}

/// One file of the metainfo, opened for reading when it could be.
struct DataFile {
    handle: Option<File>,
    problem: Option<FileProblem>,
    /// A BEP 47 padding file that is not on disk: its bytes are zeros.
    zeros: bool,
}

/// Verify the data at `data` against the metainfo at `meta_path`; returns whether all is good.
pub fn run(meta_path: &Path, data: &Path) -> Result<bool> {
    let meta = show::load(meta_path)?;
    let info = &meta.info;
    if !data.exists() {
        anyhow::bail!("{} does not exist", data.display());
    }
    let files: Vec<DataFile> = info
        .files
        .iter()
        .map(|entry| {
            let file = open_file(&data_path(data, info, entry), entry.length);
            if file.handle.is_none() && is_padding(info, entry) {
                DataFile {
                    handle: None,
                    problem: None,
                    zeros: true,
                }
            } else {
                file
            }
        })
        .collect();

    let bar = progress::bytes_bar(info.total_length(), "verifying");
    let bad_pieces = check_pieces(info, &files, &bar);
    bar.finish_and_clear();

    let report = Report::new(info, &files, &bad_pieces);
    crate::print_out(&report.render(info))?;
    let nothing_found = files.iter().all(|f| f.handle.is_none());
    let nested = data.join(&info.name);
    if nothing_found && !info.single_file && nested.is_dir() {
        eprintln!(
            "mkmeta: hint: PATH is the torrent's top directory itself; did you mean {}?",
            nested.display()
        );
    }
    Ok(report.is_clean())
}

/// Where the data of `entry` lives under the user's PATH, which is what was given to
/// mkmeta: the file itself (or `PATH/name` when PATH is a directory) for single-file
/// metainfo; for multi-file metainfo the top directory, so `PATH/c1/c2/...` (the entry's
/// path without its leading `name`).
fn data_path(root: &Path, info: &Info, entry: &FileEntry) -> PathBuf {
    if info.single_file {
        if root.is_dir() {
            root.join(&info.name)
        } else {
            root.to_path_buf()
        }
    } else {
        entry
            .path
            .iter()
            .skip(1)
            .fold(root.to_path_buf(), |p, c| p.join(c))
    }
}

/// BEP 47 padding files (named `.pad/<length>` by libtorrent's hybrid torrents) hold zeros
/// and are usually not written to disk.
fn is_padding(info: &Info, entry: &FileEntry) -> bool {
    !info.single_file && entry.path.len() == 3 && entry.path.get(1).is_some_and(|c| c == ".pad")
}

fn open_file(path: &Path, expected_len: u64) -> DataFile {
    match File::open(path).and_then(|f| f.metadata().map(|m| (f, m))) {
        Err(e) => DataFile {
            handle: None,
            problem: Some(FileProblem::Missing(e.kind().to_string())),
            zeros: false,
        },
        Ok((_, m)) if !m.is_file() => DataFile {
            handle: None,
            problem: Some(FileProblem::Missing("not a regular file".to_string())),
            zeros: false,
        },
        Ok((f, m)) => DataFile {
            handle: Some(f),
            problem: (m.len() != expected_len).then_some(FileProblem::WrongSize { found: m.len() }),
            zeros: false,
        },
    }
}

/// Hash every piece in parallel ([`metainfo::verify`]); returns the indices of those that
/// do not match or cannot be read, sorted.
fn check_pieces(info: &Info, files: &[DataFile], bar: &ProgressBar) -> Vec<u32> {
    let reader = DataReader {
        geometry: info.geometry(),
        files,
    };
    let results = verify::verify_all(&reader, &info.pieces, |piece, _| {
        bar.inc(u64::from(reader.geometry.piece_size(piece)));
    });
    (0u32..)
        .zip(results)
        .filter(|(_, check)| !check.is_good())
        .map(|(piece, _)| piece)
        .collect()
}

/// The torrent's files under the user's PATH, read piece by piece with positional reads
/// across file boundaries (missing padding files read as zeros).
struct DataReader<'a> {
    geometry: PieceGeometry,
    files: &'a [DataFile],
}

/// Part of the piece is in a file that is missing or too short.
struct Unreadable;

impl PieceReader for DataReader<'_> {
    type Error = Unreadable;

    fn read_piece(&self, piece: u32, buf: &mut Vec<u8>) -> Result<(), Unreadable> {
        let range = self.geometry.piece_bytes(piece).ok_or(Unreadable)?;
        let len = usize::try_from(range.end - range.start).map_err(|_| Unreadable)?;
        // Every byte is overwritten below: resizing only zeroes what the buffer grows by.
        buf.truncate(len);
        buf.resize(len, 0);
        let mut rest = buf.as_mut_slice();
        for span in self.geometry.byte_spans(range) {
            let file = self.files.get(span.file_index).ok_or(Unreadable)?;
            let span_len = usize::try_from(span.len)
                .unwrap_or(usize::MAX)
                .min(rest.len());
            let (slice, tail) = std::mem::take(&mut rest).split_at_mut(span_len);
            rest = tail;
            match &file.handle {
                Some(handle) if handle.read_exact_at(slice, span.file_offset).is_ok() => {}
                None if file.zeros => slice.fill(0),
                _ => return Err(Unreadable),
            }
        }
        Ok(())
    }
}

/// The outcome of a verification, per piece and per file.
struct Report {
    piece_count: u32,
    bad_pieces: Vec<u32>,
    /// File index → the bad pieces it shares bytes with (present, right-size files only).
    damaged_files: BTreeMap<usize, Vec<u32>>,
    missing: Vec<(usize, String)>,
    wrong_size: Vec<(usize, u64)>,
}

impl Report {
    fn new(info: &Info, files: &[DataFile], bad_pieces: &[u32]) -> Report {
        let map = info.geometry();
        let mut damaged_files: BTreeMap<usize, Vec<u32>> = BTreeMap::new();
        for &piece in bad_pieces {
            for span in map.piece_spans(piece) {
                // Missing and wrong-size files are listed as such, not again here.
                let present = files
                    .get(span.file_index)
                    .is_some_and(|f| f.handle.is_some() && f.problem.is_none());
                if !present {
                    continue;
                }
                let pieces = damaged_files.entry(span.file_index).or_default();
                if pieces.last() != Some(&piece) {
                    pieces.push(piece);
                }
            }
        }
        let mut missing = Vec::new();
        let mut wrong_size = Vec::new();
        for (index, file) in files.iter().enumerate() {
            match &file.problem {
                Some(FileProblem::Missing(why)) => missing.push((index, why.clone())),
                Some(FileProblem::WrongSize { found }) => wrong_size.push((index, *found)),
                None => {}
            }
        }
        Report {
            piece_count: info.piece_count(),
            bad_pieces: bad_pieces.to_vec(),
            damaged_files,
            missing,
            wrong_size,
        }
    }

    fn is_clean(&self) -> bool {
        self.bad_pieces.is_empty() && self.missing.is_empty() && self.wrong_size.is_empty()
    }

    fn render(&self, info: &Info) -> String {
        let name = |index: usize| {
            info.files
                .get(index)
                .map(|f| f.relative_path().display().to_string())
                .unwrap_or_default()
        };
        let mut out = String::new();
        if self.is_clean() {
            out.push_str(&format!(
                "OK: all {} pieces match ({} bytes in {} file(s))\n",
                self.piece_count,
                info.total_length(),
                info.files.len()
            ));
            return out;
        }
        if !self.bad_pieces.is_empty() {
            out.push_str(&format!(
                "bad pieces ({} of {}): {}\n",
                self.bad_pieces.len(),
                self.piece_count,
                ranges(&self.bad_pieces)
            ));
        }
        for (index, why) in &self.missing {
            out.push_str(&format!("missing file: {} ({why})\n", name(*index)));
        }
        for (index, found) in &self.wrong_size {
            let expected = info.files.get(*index).map(|f| f.length).unwrap_or(0);
            out.push_str(&format!(
                "wrong size: {}: expected {expected} bytes, found {found}\n",
                name(*index)
            ));
        }
        for (index, pieces) in &self.damaged_files {
            out.push_str(&format!(
                "bad file: {} (in bad piece{} {})\n",
                name(*index),
                if pieces.len() == 1 { "" } else { "s" },
                ranges(pieces)
            ));
        }
        out.push_str(&format!(
            "FAILED: {} bad piece(s), {} missing file(s), {} file(s) of the wrong size, {} bad file(s)\n",
            self.bad_pieces.len(),
            self.missing.len(),
            self.wrong_size.len(),
            self.damaged_files.len()
        ));
        out
    }
}

/// Sorted indices written compactly: `1, 3-7, 12`.
fn ranges(sorted: &[u32]) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut iter = sorted.iter().copied().peekable();
    while let Some(start) = iter.next() {
        let mut end = start;
        while iter.peek() == Some(&(end + 1)) {
            end += 1;
            iter.next();
        }
        parts.push(if start == end {
            start.to_string()
        } else {
            format!("{start}-{end}")
        });
    }
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    use super::ranges;

    #[test]
    fn ranges_are_compact() {
        assert_eq!(ranges(&[]), "");
        assert_eq!(ranges(&[4]), "4");
        assert_eq!(ranges(&[1, 3, 4, 5, 7, 12, 13]), "1, 3-5, 7, 12-13");
    }
}
