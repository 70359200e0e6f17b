//! Hashing the pieces of new metainfo in parallel.
//!
//! The pieces are cut into tasks of about [`TASK_BYTES`] each; rayon runs the tasks on every
//! core. A task opens the files its byte range touches and reads them with positional reads
//! into a [`CHUNK_BYTES`] buffer small enough to stay in the core's cache while SHA-1 reads it
//! back. Memory stays at one chunk buffer per worker however large the input; each worker
//! reads its own contiguous range sequentially, with no hand-off between threads.

use std::fs::File;
use std::io;

use rayon::prelude::*;
use sha1::{Digest, Sha1};

use super::CreateError;
use super::walk::InputFile;

/// Bytes of pieces per parallel task (at least one piece).
pub(crate) const TASK_BYTES: u64 = 8 << 20;

/// Bytes per read.
pub(crate) const CHUNK_BYTES: usize = 256 << 10;

/// The SHA-1 of every piece of the concatenation of `files`, in order. `progress` gets the
/// number of bytes hashed after each read.
pub(crate) fn hash_pieces(
    files: &[InputFile],
    piece_length: u64,
    progress: &(impl Fn(u64) + Sync),
) -> Result<Vec<[u8; 20]>, CreateError> {
    let layout = Layout::new(files, piece_length);
    let pieces_per_task = (TASK_BYTES / piece_length).max(1);
    let task_count = layout.piece_count.div_ceil(pieces_per_task);
    let hashes: Vec<Vec<[u8; 20]>> = (0..task_count)
        .into_par_iter()
        .map(|task| {
            let first = task * pieces_per_task;
            let last = (first + pieces_per_task).min(layout.piece_count);
            layout.hash_range(files, first..last, progress)
        })
        .collect::<Result<_, _>>()?;
    Ok(hashes.into_iter().flatten().collect())
}

/// Where each file sits in the concatenated payload.
struct Layout {
    piece_length: u64,
    piece_count: u64,
    total_length: u64,
    /// Start offset of each file.
    offsets: Vec<u64>,
}

impl Layout {
    fn new(files: &[InputFile], piece_length: u64) -> Layout {
        let mut offsets = Vec::with_capacity(files.len());
        let mut total_length = 0;
        for file in files {
            offsets.push(total_length);
            total_length += file.length;
        }
        Layout {
            piece_length,
            piece_count: total_length.div_ceil(piece_length),
            total_length,
            offsets,
        }
    }

    /// Hashes pieces `pieces`, reading the files that hold their bytes.
    fn hash_range(
        &self,
        files: &[InputFile],
        pieces: std::ops::Range<u64>,
        progress: &(impl Fn(u64) + Sync),
    ) -> Result<Vec<[u8; 20]>, CreateError> {
        let start = pieces.start * self.piece_length;
        let end = (pieces.end * self.piece_length).min(self.total_length);
        let mut hasher = PieceHasher::new(self.piece_length, start, self.total_length);
        let mut buffer = vec![0u8; CHUNK_BYTES];
        let first_file = self
            .offsets
            .partition_point(|&offset| offset <= start)
            .saturating_sub(1);
        for (file, &offset) in files.iter().zip(&self.offsets).skip(first_file) {
            if offset >= end {
                break;
            }
            let from = start.max(offset) - offset;
            let to = end.min(offset + file.length).saturating_sub(offset);
            if from >= to {
                continue;
            }
            let handle =
                File::open(&file.fs_path).map_err(|e| CreateError::io(&file.fs_path, e))?;
            let mut position = from;
            while position < to {
                let len = (to - position).min(CHUNK_BYTES as u64) as usize;
                let chunk = &mut buffer[..len];
                read_exact_at(&handle, chunk, position).map_err(|e| {
                    if e.kind() == io::ErrorKind::UnexpectedEof {
                        CreateError::FileChanged(file.fs_path.clone())
                    } else {
                        CreateError::io(&file.fs_path, e)
                    }
                })?;
                hasher.update(chunk);
                progress(len as u64);
                position += len as u64;
            }
        }
        Ok(hasher.finish())
    }
}

/// Feeds bytes into SHA-1, cutting at piece boundaries.
struct PieceHasher {
    sha: Sha1,
    piece_length: u64,
    /// Bytes still missing from the current piece.
    left_in_piece: u64,
    /// Payload position of the next byte.
    position: u64,
    total_length: u64,
    done: Vec<[u8; 20]>,
}

impl PieceHasher {
    fn new(piece_length: u64, start: u64, total_length: u64) -> PieceHasher {
        PieceHasher {
            sha: Sha1::new(),
            piece_length,
            left_in_piece: piece_length.min(total_length - start),
            position: start,
            total_length,
            done: Vec::new(),
        }
    }

    fn update(&mut self, mut data: &[u8]) {
        while !data.is_empty() {
            let take = (self.left_in_piece.min(data.len() as u64)) as usize;
            if take == 0 {
                break; // past the end of the payload: nothing more to hash
            }
            let (head, rest) = data.split_at(take);
            self.sha.update(head);
            self.left_in_piece -= take as u64;
            self.position += take as u64;
            data = rest;
            if self.left_in_piece == 0 {
                self.done.push(self.sha.finalize_reset().into());
                self.left_in_piece = self.piece_length.min(self.total_length - self.position);
            }
        }
    }

    fn finish(self) -> Vec<[u8; 20]> {
        self.done
    }
}

#[cfg(unix)]
fn read_exact_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buf, offset)
}

#[cfg(windows)]
fn read_exact_at(file: &File, mut buf: &mut [u8], mut offset: u64) -> io::Result<()> {
    use std::os::windows::fs::FileExt;
    while !buf.is_empty() {
        match file.seek_read(buf, offset)? {
            0 => return Err(io::ErrorKind::UnexpectedEof.into()),
            n => {
                buf = &mut buf[n..];
                offset += n as u64;
            }
        }
    }
    Ok(())
}
