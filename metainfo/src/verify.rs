//! Checking pieces against their SHA-1 hashes: one routine for every caller.
//!
//! - [`verify_batch`]: pieces already in memory (a client's engine checking pieces it
//!   assembled from the network), hashed side by side on the calling thread.
//! - [`verify_pieces`] and [`verify_all`]: pieces read through a [`PieceReader`] the caller
//!   implements (the files of a torrent for `mkmeta --verify`, a client's storage for its
//!   resume recheck), in parallel on the rayon pool.
//!
//! Both hash [`LANES`] pieces side by side on one core ([`crate::sha1_many`]), which with the
//! x86 SHA extensions is about twice as fast per piece as one after the other.

use rayon::prelude::*;

pub use crate::sha1_lanes::LANES;
use crate::sha1_many;

/// Whether each in-memory piece `(index, bytes)` hashes to `hashes[index]`, in the order
/// given. An index without a hash is not good. Runs on the calling thread; for a client's
/// engine, which hands it up to [`LANES`] pieces at a time from a rayon job.
pub fn verify_batch(hashes: &[[u8; 20]], pieces: &[(u32, &[u8])]) -> Vec<bool> {
    let messages: Vec<&[u8]> = pieces.iter().map(|(_, bytes)| *bytes).collect();
    pieces
        .iter()
        .zip(sha1_many(&messages))
        .map(|((index, _), digest)| expected(hashes, *index) == Some(&digest))
        .collect()
}

/// Reads whole pieces for [`verify_pieces`]: implemented by whoever knows where the bytes are.
///
/// Called from several rayon worker threads at once, hence `Sync`. To stop a long check early
/// (a torrent removed, the program shutting down), make `read_piece` fail at once: the pieces
/// left are then reported unreadable without being read.
pub trait PieceReader: Sync {
    /// Why a piece could not be read (a missing file, an I/O error…).
    type Error: Send;

    /// Replaces the contents of `buf` with the bytes of piece `index` (its full size: the last
    /// piece is short). `buf` is reused from piece to piece; keep its capacity.
    fn read_piece(&self, index: u32, buf: &mut Vec<u8>) -> Result<(), Self::Error>;
}

/// What checking one piece found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PieceCheck<E> {
    /// The bytes hash to the expected SHA-1.
    Good,
    /// The bytes were read and do not match (or the piece has no expected hash).
    Bad,
    /// The bytes could not be read; the reader's error says why.
    Unreadable(E),
}

impl<E> PieceCheck<E> {
    /// Is the piece there and right?
    pub fn is_good(&self) -> bool {
        matches!(self, PieceCheck::Good)
    }
}

/// Checks every piece (`0..hashes.len()`): the result for piece `i` is at index `i`.
/// See [`verify_pieces`].
pub fn verify_all<R: PieceReader + ?Sized>(
    reader: &R,
    hashes: &[[u8; 20]],
    progress: impl Fn(u32, &PieceCheck<R::Error>) + Sync,
) -> Vec<PieceCheck<R::Error>> {
    let count = u32::try_from(hashes.len()).unwrap_or(u32::MAX);
    let pieces: Vec<u32> = (0..count).collect();
    verify_pieces(reader, hashes, &pieces, progress)
}

/// Checks `pieces` against `hashes` (indexed by piece), reading each through `reader`; the
/// result for `pieces[k]` is at index `k`.
///
/// Runs on the rayon pool: each task reads up to [`LANES`] consecutive entries of `pieces`
/// into its own buffers, reused from task to task, and hashes them side by side; so memory
/// stays at `LANES` pieces per worker thread however many pieces there are. `progress` is
/// called once per piece, from the worker threads, as soon as its result is known.
pub fn verify_pieces<R: PieceReader + ?Sized>(
    reader: &R,
    hashes: &[[u8; 20]],
    pieces: &[u32],
    progress: impl Fn(u32, &PieceCheck<R::Error>) + Sync,
) -> Vec<PieceCheck<R::Error>> {
    let groups: Vec<Vec<PieceCheck<R::Error>>> = pieces
        .par_chunks(LANES)
        .map_init(Vec::new, |buffers, group| {
            let checked = check_group(reader, hashes, group, buffers);
            for (piece, check) in group.iter().zip(&checked) {
                progress(*piece, check);
            }
            checked
        })
        .collect();
    groups.into_iter().flatten().collect()
}

/// Reads `group` (at most [`LANES`] pieces) into `buffers` and hashes what was read side by
/// side.
fn check_group<R: PieceReader + ?Sized>(
    reader: &R,
    hashes: &[[u8; 20]],
    group: &[u32],
    buffers: &mut Vec<Vec<u8>>,
) -> Vec<PieceCheck<R::Error>> {
    if buffers.len() < group.len() {
        buffers.resize_with(group.len(), Vec::new);
    }
    // `None`: read into its buffer, to be hashed.
    let mut checks: Vec<Option<PieceCheck<R::Error>>> = group
        .iter()
        .zip(buffers.iter_mut())
        .map(|(&piece, buffer)| {
            if expected(hashes, piece).is_none() {
                return Some(PieceCheck::Bad);
            }
            reader
                .read_piece(piece, buffer)
                .err()
                .map(PieceCheck::Unreadable)
        })
        .collect();
    let messages: Vec<&[u8]> = buffers
        .iter()
        .zip(&checks)
        .filter(|(_, check)| check.is_none())
        .map(|(buffer, _)| buffer.as_slice())
        .collect();
    let mut digests = sha1_many(&messages).into_iter();
    for (piece, check) in group.iter().zip(checks.iter_mut()) {
        if check.is_none() {
            let good = digests.next().as_ref() == expected(hashes, *piece);
            *check = Some(if good {
                PieceCheck::Good
            } else {
                PieceCheck::Bad
            });
        }
    }
    checks
        .into_iter()
        .map(|check| check.unwrap_or(PieceCheck::Bad)) // every entry was settled above
        .collect()
}

fn expected(hashes: &[[u8; 20]], piece: u32) -> Option<&[u8; 20]> {
    hashes.get(usize::try_from(piece).ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use sha1::{Digest, Sha1};
    use std::collections::BTreeSet;
    use std::sync::Mutex;

    fn sha1(bytes: &[u8]) -> [u8; 20] {
        Sha1::digest(bytes).into()
    }

    /// Pieces in memory; the listed ones fail to read.
    struct Memory {
        pieces: Vec<Vec<u8>>,
        unreadable: BTreeSet<u32>,
    }

    impl PieceReader for Memory {
        type Error = String;

        fn read_piece(&self, index: u32, buf: &mut Vec<u8>) -> Result<(), String> {
            if self.unreadable.contains(&index) {
                return Err(format!("piece {index} is gone"));
            }
            let piece = self.pieces.get(index as usize).ok_or("no such piece")?;
            buf.clear();
            buf.extend_from_slice(piece);
            Ok(())
        }
    }

    fn payload(len: usize, seed: u8) -> Vec<u8> {
        (0..len)
            .map(|i| (i as u8).wrapping_mul(29).wrapping_add(seed) ^ (i >> 7) as u8)
            .collect()
    }

    /// `total` bytes cut into pieces of `piece_length`, and their hashes.
    fn torrent(total: usize, piece_length: usize) -> (Vec<Vec<u8>>, Vec<[u8; 20]>) {
        let pieces: Vec<Vec<u8>> = payload(total, 3)
            .chunks(piece_length)
            .map(<[u8]>::to_vec)
            .collect();
        let hashes = pieces.iter().map(|p| sha1(p)).collect();
        (pieces, hashes)
    }

    #[test]
    fn a_batch_in_memory_tells_good_from_bad_pieces() {
        let (pieces, hashes) = torrent(10_000, 1_024);
        let mut damaged = pieces[3].clone();
        damaged[100] ^= 1;
        let batch: Vec<(u32, &[u8])> = vec![
            (0, &pieces[0]),
            (3, &damaged),
            (9, &pieces[9]),  // the short last piece
            (2, &pieces[3]),  // right bytes, wrong index
            (10, &pieces[0]), // no such piece
            (1, &pieces[1]),
        ];
        assert_eq!(
            verify_batch(&hashes, &batch),
            [true, false, true, false, false, true]
        );
        assert_eq!(verify_batch(&hashes, &[]), Vec::<bool>::new());
    }

    #[test]
    fn every_piece_is_reported_once_with_its_result() {
        let (mut pieces, hashes) = torrent(50_000, 4_096);
        pieces[2][0] ^= 0xff;
        pieces[12].pop(); // the short last piece, shorter still
        let reader = Memory {
            pieces,
            unreadable: BTreeSet::from([5, 6]),
        };
        let seen = Mutex::new(Vec::new());
        let results = verify_all(&reader, &hashes, |piece, check| {
            seen.lock().unwrap().push((piece, check.clone()));
        });
        assert_eq!(results.len(), 13);
        for (piece, check) in results.iter().enumerate() {
            let want = match piece {
                2 | 12 => PieceCheck::Bad,
                5 | 6 => PieceCheck::Unreadable(format!("piece {piece} is gone")),
                _ => PieceCheck::Good,
            };
            assert_eq!(*check, want, "piece {piece}");
        }
        let mut seen = seen.into_inner().unwrap();
        seen.sort_by_key(|(piece, _)| *piece);
        let in_order: Vec<(u32, PieceCheck<String>)> = results
            .into_iter()
            .enumerate()
            .map(|(i, c)| (i as u32, c))
            .collect();
        assert_eq!(seen, in_order);
    }

    #[test]
    fn a_subset_is_checked_in_the_order_given() {
        let (pieces, hashes) = torrent(20_000, 1_000);
        let reader = Memory {
            pieces,
            unreadable: BTreeSet::new(),
        };
        let results = verify_pieces(&reader, &hashes, &[19, 0, 7, 7, 25], |_, _| {});
        assert_eq!(
            results,
            [
                PieceCheck::Good,
                PieceCheck::Good,
                PieceCheck::Good,
                PieceCheck::Good,
                PieceCheck::Bad // past the last piece: no hash to match
            ]
        );
        assert!(verify_pieces(&reader, &hashes, &[], |_, _| {}).is_empty());
    }

    #[test]
    fn pieces_past_the_hashes_are_bad_without_being_read() {
        let reader = Memory {
            pieces: vec![],
            unreadable: BTreeSet::from([0]),
        };
        assert_eq!(
            verify_pieces(&reader, &[], &[0], |_, _| {}),
            [PieceCheck::Bad]
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn results_match_hashing_each_piece_alone(
            total in 1usize..40_000,
            piece_length in prop_oneof![1usize..100, 64usize..65, 1_000usize..20_000],
            damage in proptest::collection::vec(any::<u32>(), 0..6),
            unreadable in proptest::collection::vec(any::<u32>(), 0..3),
        ) {
            let (mut pieces, hashes) = torrent(total, piece_length);
            let count = pieces.len() as u32;
            let damaged: BTreeSet<u32> = damage.iter().map(|d| d % count).collect();
            for &piece in &damaged {
                let bytes = &mut pieces[piece as usize];
                let at = bytes.len() / 2;
                bytes[at] ^= 0x40;
            }
            let unreadable: BTreeSet<u32> = unreadable.iter().map(|u| u % count).collect();
            let reader = Memory { pieces: pieces.clone(), unreadable: unreadable.clone() };
            let results = verify_all(&reader, &hashes, |_, _| {});
            prop_assert_eq!(results.len(), pieces.len());
            for (piece, check) in results.iter().enumerate() {
                let piece = piece as u32;
                let want = if unreadable.contains(&piece) {
                    PieceCheck::Unreadable(format!("piece {piece} is gone"))
                } else if damaged.contains(&piece) {
                    PieceCheck::Bad
                } else {
                    PieceCheck::Good
                };
                prop_assert_eq!(check, &want);
            }
            // The in-memory batch agrees, for any batch of the readable pieces.
            let batch: Vec<(u32, &[u8])> = (0..count)
                .filter(|p| !unreadable.contains(p))
                .map(|p| (p, pieces[p as usize].as_slice()))
                .collect();
            let good = verify_batch(&hashes, &batch);
            for ((piece, _), good) in batch.iter().zip(good) {
                prop_assert_eq!(good, !damaged.contains(piece));
            }
        }
    }
}
