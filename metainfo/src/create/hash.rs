//! Hashing the pieces of new metainfo in parallel.
//!
//! The pieces are cut into tasks of about [`TASK_BYTES`] each (at least [`LANES`] pieces);
//! rayon runs the tasks on every core. A task hashes its pieces [`LANES`] at a time, side by
//! side on one core ([`sha1_lanes`]), which is about twice as fast as one after the other.
//! Each lane reads its piece with positional reads into its own [`LANE_CHUNK`] buffer (the
//! lanes' buffers together stay in the core's cache while SHA-1 reads them back), across file
//! boundaries. Memory stays at `LANES * LANE_CHUNK` bytes per worker however large the input;
//! no data is handed between threads.

use std::fs::File;
use std::io;
use std::ops::Range;

use rayon::prelude::*;

use super::CreateError;
use super::walk::InputFile;
use crate::PieceGeometry;
use crate::sha1_lanes::{self, BLOCK, LANES, State};

/// Bytes of pieces per parallel task (at least [`LANES`] pieces).
pub(crate) const TASK_BYTES: u64 = 8 << 20;

/// Bytes per read of one lane: whole SHA-1 blocks.
pub(crate) const LANE_CHUNK: usize = 32 << 10;

const _: () = assert!(LANE_CHUNK.is_multiple_of(BLOCK));

/// How many files a task keeps open at once.
const OPEN_FILES: usize = 8;

/// The SHA-1 of every piece of `geometry`, whose files are `files` (in the same order).
/// `progress` gets the number of bytes hashed as the work goes.
pub(crate) fn hash_pieces(
    files: &[InputFile],
    geometry: &PieceGeometry,
    progress: &(impl Fn(u64) + Sync),
) -> Result<Vec<[u8; 20]>, CreateError> {
    let piece_count = geometry.piece_count();
    let pieces_per_task = u32::try_from(TASK_BYTES / u64::from(geometry.piece_length()))
        .unwrap_or(u32::MAX)
        .max(LANES as u32);
    let task_count = piece_count.div_ceil(pieces_per_task);
    let hashes: Vec<Vec<[u8; 20]>> = (0..task_count)
        .into_par_iter()
        .map_init(
            || vec![0u8; LANES * LANE_CHUNK], // the lanes' buffers, reused from task to task
            |buffers, task| {
                let first = task * pieces_per_task;
                let last = first.saturating_add(pieces_per_task).min(piece_count);
                hash_range(geometry, files, first..last, buffers, progress)
            },
        )
        .collect::<Result<_, _>>()?;
    Ok(hashes.into_iter().flatten().collect())
}

/// Hashes pieces `pieces`, [`LANES`] at a time, with `buffers` (`LANES * LANE_CHUNK` bytes)
/// for the lanes' reads.
fn hash_range(
    geometry: &PieceGeometry,
    files: &[InputFile],
    pieces: Range<u32>,
    buffers: &mut [u8],
    progress: &(impl Fn(u64) + Sync),
) -> Result<Vec<[u8; 20]>, CreateError> {
    let mut reader = Reader {
        geometry,
        files,
        open: Vec::with_capacity(OPEN_FILES),
    };
    let mut digests = Vec::with_capacity(pieces.len());
    let mut first = pieces.start;
    while first < pieces.end {
        let last = first.saturating_add(LANES as u32).min(pieces.end);
        let lanes = buffers
            .chunks_exact_mut(LANE_CHUNK)
            .zip(first..last)
            .filter_map(|(buffer, piece)| Some(Lane::new(buffer, geometry.piece_bytes(piece)?)))
            .collect();
        digests.extend(hash_side_by_side(lanes, &mut reader, progress)?);
        first = last;
    }
    Ok(digests)
}

/// One piece being hashed: its SHA-1 state and the bytes read but not hashed yet.
struct Lane<'b> {
    state: State,
    /// Payload bytes of the piece.
    bytes: Range<u64>,
    /// Payload offset of the next byte to read.
    next: u64,
    buffer: &'b mut [u8],
    /// `buffer[pending]` is read and not hashed yet.
    pending: Range<usize>,
}

impl<'b> Lane<'b> {
    fn new(buffer: &'b mut [u8], bytes: Range<u64>) -> Lane<'b> {
        Lane {
            state: sha1_lanes::INITIAL,
            next: bytes.start,
            bytes,
            buffer,
            pending: 0..0,
        }
    }

    /// The whole blocks read and not hashed yet.
    fn blocks(&self) -> &[[u8; BLOCK]] {
        self.buffer[self.pending.clone()].as_chunks::<BLOCK>().0
    }

    /// Reads the next chunk of the piece once everything read so far is hashed. Chunks are
    /// whole blocks except the piece's last, so only the end of a piece leaves a tail.
    fn refill(&mut self, reader: &mut Reader) -> Result<(), CreateError> {
        if self.pending.is_empty() && self.next < self.bytes.end {
            let len = (self.bytes.end - self.next).min(self.buffer.len() as u64) as usize;
            reader.read(self.next, &mut self.buffer[..len])?;
            self.next += len as u64;
            self.pending = 0..len;
        }
        Ok(())
    }

    /// The piece's digest, once all of it is read and its whole blocks are hashed.
    fn finish(self) -> [u8; 20] {
        let tail = &self.buffer[self.pending];
        sha1_lanes::finish(self.state, tail, self.bytes.end - self.bytes.start)
    }
}

/// Hashes up to [`LANES`] pieces side by side: each round refills the lanes that ran dry and
/// hashes as many blocks as every lane with blocks has, all lanes at once.
fn hash_side_by_side(
    mut lanes: Vec<Lane>,
    reader: &mut Reader,
    progress: &(impl Fn(u64) + Sync),
) -> Result<Vec<[u8; 20]>, CreateError> {
    loop {
        for lane in &mut lanes {
            lane.refill(reader)?;
        }
        let Some(count) = lanes
            .iter()
            .map(|lane| lane.blocks().len())
            .filter(|&blocks| blocks > 0)
            .min()
        else {
            break; // every lane is down to its tail
        };
        // The lanes that have blocks, packed at the front.
        let mut busy = [0; LANES];
        let mut states = [sha1_lanes::INITIAL; LANES];
        let mut blocks: [&[[u8; BLOCK]]; LANES] = [&[]; LANES];
        let mut used = 0;
        for (index, lane) in lanes.iter().enumerate() {
            if !lane.blocks().is_empty() {
                busy[used] = index;
                states[used] = lane.state;
                blocks[used] = &lane.blocks()[..count];
                used += 1;
            }
        }
        sha1_lanes::compress(&mut states[..used], &blocks[..used]);
        for (&index, state) in busy[..used].iter().zip(states) {
            lanes[index].state = state;
            lanes[index].pending.start += count * BLOCK;
        }
        let hashed = (used * count * BLOCK) as u64;
        progress(hashed);
    }
    let tails: usize = lanes.iter().map(|lane| lane.pending.len()).sum();
    if tails > 0 {
        progress(tails as u64);
    }
    Ok(lanes.into_iter().map(Lane::finish).collect())
}

/// Positional reads of payload bytes, keeping the last few files open.
struct Reader<'a> {
    geometry: &'a PieceGeometry,
    files: &'a [InputFile],
    /// Open files by index, least recently opened first.
    open: Vec<(usize, File)>,
}

impl Reader<'_> {
    /// Fills `buffer` with the payload bytes from `offset` on, across files.
    fn read(&mut self, offset: u64, buffer: &mut [u8]) -> Result<(), CreateError> {
        let end = offset + buffer.len() as u64;
        let mut rest = buffer;
        for span in self.geometry.byte_spans(offset..end) {
            let Some(file) = self.files.get(span.file_index) else {
                break; // the geometry was built from these files: never happens
            };
            let (chunk, tail) = std::mem::take(&mut rest).split_at_mut(span.len as usize);
            rest = tail;
            let handle = self.handle(span.file_index)?;
            read_exact_at(handle, chunk, span.file_offset).map_err(|e| {
                if e.kind() == io::ErrorKind::UnexpectedEof {
                    CreateError::FileChanged(file.fs_path.clone())
                } else {
                    CreateError::io(&file.fs_path, e)
                }
            })?;
        }
        debug_assert!(rest.is_empty(), "read past the payload");
        Ok(())
    }

    /// File `index`, opened if it is not open yet.
    fn handle(&mut self, index: usize) -> Result<&File, CreateError> {
        let position = match self.open.iter().position(|(open, _)| *open == index) {
            Some(position) => position,
            None => {
                let path = &self.files[index].fs_path;
                let handle = File::open(path).map_err(|e| CreateError::io(path, e))?;
                if self.open.len() == OPEN_FILES {
                    self.open.remove(0);
                }
                self.open.push((index, handle));
                self.open.len() - 1
            }
        };
        Ok(&self.open[position].1)
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use sha1::{Digest, Sha1};

    /// Writes files of the given lengths and hashes them as one payload.
    fn hash_files(lengths: &[usize], piece_length: u64) -> (Vec<[u8; 20]>, Vec<u8>, u64) {
        let dir = tempfile::tempdir().unwrap();
        let mut payload = Vec::new();
        let mut files = Vec::new();
        for (index, &length) in lengths.iter().enumerate() {
            let bytes: Vec<u8> = (0..length)
                .map(|i| (i as u8).wrapping_mul(13) ^ (index as u8) ^ (i >> 8) as u8)
                .collect();
            let fs_path = dir.path().join(format!("f{index}"));
            std::fs::write(&fs_path, &bytes).unwrap();
            payload.extend_from_slice(&bytes);
            files.push(InputFile {
                fs_path,
                components: vec![format!("f{index}")],
                length: length as u64,
            });
        }
        let reported = std::sync::atomic::AtomicU64::new(0);
        let geometry =
            PieceGeometry::from_lengths(piece_length, files.iter().map(|f| f.length)).unwrap();
        let pieces = hash_pieces(&files, &geometry, &|bytes| {
            reported.fetch_add(bytes, std::sync::atomic::Ordering::Relaxed);
        })
        .unwrap();
        (pieces, payload, reported.into_inner())
    }

    fn reference(payload: &[u8], piece_length: u64) -> Vec<[u8; 20]> {
        payload
            .chunks(piece_length as usize)
            .map(|piece| Sha1::digest(piece).into())
            .collect()
    }

    #[test]
    fn lanes_of_unequal_pieces_and_chunk_sized_reads() {
        // Pieces longer than a lane's buffer, not a multiple of it, a short last piece, and a
        // piece count that is not a multiple of the lane count.
        let piece = (LANE_CHUNK * 2 + 100) as u64;
        let lengths = [piece as usize * 5 + 7, 0, 3, LANE_CHUNK, 1];
        let (pieces, payload, reported) = hash_files(&lengths, piece);
        assert_eq!(pieces, reference(&payload, piece));
        assert_eq!(reported, payload.len() as u64);
    }

    #[test]
    fn a_file_that_shrank_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let fs_path = dir.path().join("f");
        std::fs::write(&fs_path, [1u8; 1000]).unwrap();
        let files = [InputFile {
            fs_path,
            components: Vec::new(),
            length: 5000,
        }];
        let geometry = PieceGeometry::from_lengths(1024, [5000]).unwrap();
        let result = hash_pieces(&files, &geometry, &|_| {});
        assert!(matches!(result, Err(CreateError::FileChanged(_))));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]
        #[test]
        fn any_layout_matches_hashing_the_concatenation(
            lengths in proptest::collection::vec(
                prop_oneof![Just(0usize), 1usize..200, 60usize..70, 1usize..40_000],
                1..12,
            ),
            piece_length in prop_oneof![1u64..200, Just(64u64), Just(16_384), 1000u64..70_000],
        ) {
            prop_assume!(lengths.iter().sum::<usize>() > 0);
            let (pieces, payload, reported) = hash_files(&lengths, piece_length);
            prop_assert_eq!(pieces, reference(&payload, piece_length));
            prop_assert_eq!(reported, payload.len() as u64);
        }
    }
}
