//! SHA-1 of several independent messages at once, interleaved on one core: piece hashing for
//! `create` and, through [`sha1_many`], piece verification for the client.
//!
//! SHA-1 is a chain: each group of four rounds needs the result of the one before, so a core
//! hashing one message mostly waits for its SHA unit's latency. Hashing [`LANES`] pieces side
//! by side fills that wait with independent work. With the x86 SHA extensions (SHA-NI) this
//! roughly doubles what one core hashes per second; measured on an AMD EPYC core: 1.68 GB/s
//! for one message (the same as `openssl speed sha1` and the `sha1` crate), 3.1 GB/s for two,
//! 4.0 GB/s for four. On CPUs without SHA-NI each lane goes through the `sha1` crate's
//! compression function in turn, which is exactly as fast as hashing them one by one.
//!
//! Only the compression function is interleaved; padding and the final digest are done here
//! too ([`finish`]), and the results are checked against the `sha1` crate in the tests.

/// How many messages are hashed side by side.
pub const LANES: usize = 4;

/// Bytes in a SHA-1 block.
pub(crate) const BLOCK: usize = 64;

/// A SHA-1 chaining value (H0..H4).
pub(crate) type State = [u32; 5];

/// The chaining value every message starts from.
pub(crate) const INITIAL: State = [
    0x6745_2301,
    0xEFCD_AB89,
    0x98BA_DCFE,
    0x1032_5476,
    0xC3D2_E1F0,
];

/// The SHA-1 of each message. Messages with the same number of 64-byte blocks are hashed
/// [`LANES`] at a time side by side on this core (with SHA-NI about twice as fast per message
/// as one after the other; without it, the same speed). For verifying several pieces at once.
pub fn sha1_many(messages: &[&[u8]]) -> Vec<[u8; 20]> {
    let blocks_of = |i: &usize| messages.get(*i).map_or(0, |m| m.len() / BLOCK);
    let mut digests = vec![[0u8; 20]; messages.len()];
    let mut order: Vec<usize> = (0..messages.len()).collect();
    order.sort_by_key(blocks_of);
    for same_length in order.chunk_by(|a, b| blocks_of(a) == blocks_of(b)) {
        for lanes in same_length.chunks(LANES) {
            let split: Vec<(&[[u8; BLOCK]], &[u8])> = lanes
                .iter()
                .filter_map(|i| messages.get(*i))
                .map(|message| message.as_chunks::<BLOCK>())
                .collect();
            let blocks: Vec<&[[u8; BLOCK]]> = split.iter().map(|(blocks, _)| *blocks).collect();
            let mut states = vec![INITIAL; blocks.len()];
            compress(&mut states, &blocks);
            for ((i, state), (_, tail)) in lanes.iter().zip(states).zip(&split) {
                let length = messages.get(*i).map_or(0, |m| m.len() as u64);
                if let Some(digest) = digests.get_mut(*i) {
                    *digest = finish(state, tail, length);
                }
            }
        }
    }
    digests
}

/// Feeds `blocks[i]` into `states[i]` for each lane. Every lane gets the same number of
/// blocks; there are at most [`LANES`] lanes.
pub(crate) fn compress(states: &mut [State], blocks: &[&[[u8; BLOCK]]]) {
    debug_assert_eq!(states.len(), blocks.len());
    debug_assert!(blocks.iter().all(|lane| lane.len() == blocks[0].len()));
    #[cfg(target_arch = "x86_64")]
    {
        let done = match (&mut *states, blocks) {
            (&mut [ref mut a], &[x]) => shani::compress([a], [x]),
            (&mut [ref mut a, ref mut b], &[x, y]) => shani::compress([a, b], [x, y]),
            (&mut [ref mut a, ref mut b, ref mut c], &[x, y, z]) => {
                shani::compress([a, b, c], [x, y, z])
            }
            (&mut [ref mut a, ref mut b, ref mut c, ref mut d], &[x, y, z, w]) => {
                shani::compress([a, b, c, d], [x, y, z, w])
            }
            _ => false,
        };
        if done {
            return;
        }
    }
    one_by_one(states, blocks);
}

/// The portable path: each lane through the `sha1` crate's compression function.
fn one_by_one(states: &mut [State], blocks: &[&[[u8; BLOCK]]]) {
    for (state, lane) in states.iter_mut().zip(blocks) {
        sha1::block_api::compress(state, lane);
    }
}

/// The digest of a message whose full blocks are already in `state`: `tail` is what is left
/// (fewer than [`BLOCK`] bytes) and `length` the whole message's length in bytes.
pub(crate) fn finish(mut state: State, tail: &[u8], length: u64) -> [u8; 20] {
    debug_assert!(tail.len() < BLOCK);
    // The tail, a 1 bit, zeros, and the length in bits (big-endian) fill one or two blocks.
    let mut last = [[0u8; BLOCK]; 2];
    let flat = last.as_flattened_mut();
    flat[..tail.len()].copy_from_slice(tail);
    flat[tail.len()] = 0x80;
    let blocks = if tail.len() + 1 + 8 <= BLOCK { 1 } else { 2 };
    flat[blocks * BLOCK - 8..blocks * BLOCK].copy_from_slice(&length.wrapping_mul(8).to_be_bytes());
    sha1::block_api::compress(&mut state, &last[..blocks]);
    let mut digest = [0u8; 20];
    for (bytes, word) in digest.chunks_exact_mut(4).zip(state) {
        bytes.copy_from_slice(&word.to_be_bytes());
    }
    digest
}

/// The SHA-NI path: `N` lanes interleaved group of rounds by group of rounds.
#[cfg(target_arch = "x86_64")]
mod shani {
    use std::arch::x86_64::{
        __m128i, _mm_add_epi32, _mm_extract_epi32, _mm_loadu_si128, _mm_set_epi32, _mm_set_epi64x,
        _mm_setzero_si128, _mm_sha1msg1_epu32, _mm_sha1msg2_epu32, _mm_sha1nexte_epu32,
        _mm_sha1rnds4_epu32, _mm_shuffle_epi8, _mm_xor_si128,
    };

    use super::{BLOCK, State};

    /// Whether this CPU has the instructions [`compress`] uses (checked once, then cached by
    /// the standard library).
    pub(super) fn available() -> bool {
        std::arch::is_x86_feature_detected!("sha")
            && std::arch::is_x86_feature_detected!("sse2")
            && std::arch::is_x86_feature_detected!("ssse3")
            && std::arch::is_x86_feature_detected!("sse4.1")
    }

    /// Runs the lanes with the SHA instructions if this CPU has them; false (and nothing
    /// done) if it does not. Sound whoever calls it: the check is here, next to the `unsafe`.
    pub(super) fn compress<const N: usize>(
        states: [&mut State; N],
        blocks: [&[[u8; BLOCK]]; N],
    ) -> bool {
        if !available() {
            return false;
        }
        // SAFETY: `available()` just confirmed the CPU has every target feature
        // `compress_lanes` is compiled for.
        unsafe { compress_lanes(states, blocks) };
        true
    }

    /// Four message words of `block` (words `4q..4q+4`), in the order the SHA instructions
    /// want: big-endian words, first word in the highest lane.
    #[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
    fn load_words(block: &[u8; BLOCK], q: usize) -> __m128i {
        let bytes: &[u8; 16] = block[16 * q..16 * q + 16].try_into().unwrap_or(&[0; 16]); // always 16 bytes: q < 4
        // SAFETY: `bytes` is 16 readable bytes; the load has no alignment requirement.
        let words = unsafe { _mm_loadu_si128(bytes.as_ptr().cast()) };
        // Reverse all 16 bytes: each word becomes big-endian and word 0 moves to the top.
        let reverse = _mm_set_epi64x(0x0001_0203_0405_0607, 0x0809_0a0b_0c0d_0e0f);
        _mm_shuffle_epi8(words, reverse)
    }

    /// Runs the 80 rounds for every block of every lane. The lanes are independent; they
    /// are written one after the other inside each group of four rounds so the core can
    /// overlap one lane's latency with another's work.
    #[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
    #[allow(clippy::needless_range_loop)] // `index` and `lane` pick from several arrays at once
    fn compress_lanes<const N: usize>(states: [&mut State; N], blocks: [&[[u8; BLOCK]]; N]) {
        let mut abcd: [__m128i; N] = std::array::from_fn(|lane| {
            let s = &states[lane];
            _mm_set_epi32(s[0] as i32, s[1] as i32, s[2] as i32, s[3] as i32)
        });
        let mut e: [__m128i; N] =
            std::array::from_fn(|lane| _mm_set_epi32(states[lane][4] as i32, 0, 0, 0));
        let count = blocks.first().map_or(0, |lane| lane.len());
        for index in 0..count {
            let abcd_before = abcd;
            let e_before = e;
            // The last four message-schedule vectors of each lane, indexed by group % 4.
            let mut w = [[_mm_setzero_si128(); 4]; N];
            // One group of four rounds, `$g` in 0..20, for every lane.
            macro_rules! group {
                ($g:literal) => {
                    for lane in 0..N {
                        let words = if $g < 4 {
                            load_words(&blocks[lane][index], $g % 4)
                        } else {
                            // W[g] from W[g-4..g]: the SHA-1 message schedule, four words at once.
                            let x = _mm_sha1msg1_epu32(w[lane][$g % 4], w[lane][($g + 1) % 4]);
                            let x = _mm_xor_si128(x, w[lane][($g + 2) % 4]);
                            _mm_sha1msg2_epu32(x, w[lane][($g + 3) % 4])
                        };
                        w[lane][$g % 4] = words;
                        // E for this group: the initial E at first, then derived from A of
                        // the state four rounds back.
                        let e_plus_w = if $g == 0 {
                            _mm_add_epi32(e[lane], words)
                        } else {
                            _mm_sha1nexte_epu32(e[lane], words)
                        };
                        e[lane] = abcd[lane];
                        abcd[lane] = _mm_sha1rnds4_epu32::<{ $g / 5 }>(abcd[lane], e_plus_w);
                    }
                };
            }
            group!(0);
            group!(1);
            group!(2);
            group!(3);
            group!(4);
            group!(5);
            group!(6);
            group!(7);
            group!(8);
            group!(9);
            group!(10);
            group!(11);
            group!(12);
            group!(13);
            group!(14);
            group!(15);
            group!(16);
            group!(17);
            group!(18);
            group!(19);
            for lane in 0..N {
                e[lane] = _mm_sha1nexte_epu32(e[lane], e_before[lane]);
                abcd[lane] = _mm_add_epi32(abcd[lane], abcd_before[lane]);
            }
        }
        for (lane, state) in states.into_iter().enumerate() {
            *state = [
                _mm_extract_epi32::<3>(abcd[lane]) as u32,
                _mm_extract_epi32::<2>(abcd[lane]) as u32,
                _mm_extract_epi32::<1>(abcd[lane]) as u32,
                _mm_extract_epi32::<0>(abcd[lane]) as u32,
                _mm_extract_epi32::<3>(e[lane]) as u32,
            ];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha1::{Digest, Sha1};

    fn bytes(len: usize, seed: u8) -> Vec<u8> {
        (0..len)
            .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed) ^ (i >> 9) as u8)
            .collect()
    }

    /// Hashes equal-length messages with `compress` + `finish`.
    fn lanes_digest(messages: &[Vec<u8>]) -> Vec<[u8; 20]> {
        let mut states = vec![INITIAL; messages.len()];
        let split: Vec<(&[[u8; BLOCK]], &[u8])> = messages
            .iter()
            .map(|message| message.as_chunks::<BLOCK>())
            .collect();
        let blocks: Vec<&[[u8; BLOCK]]> = split.iter().map(|(blocks, _)| *blocks).collect();
        compress(&mut states, &blocks);
        states
            .into_iter()
            .zip(&split)
            .zip(messages)
            .map(|((state, (_, tail)), message)| finish(state, tail, message.len() as u64))
            .collect()
    }

    #[test]
    fn sha1_many_matches_the_sha1_crate_for_any_mix_of_lengths() {
        let lengths = [
            0, 64, 64, 1000, 16_384, 16_384, 16_384, 16_384, 16_384, 100, 64, 5,
        ];
        for count in 0..=lengths.len() {
            let messages: Vec<Vec<u8>> = lengths[..count]
                .iter()
                .enumerate()
                .map(|(i, len)| bytes(*len, i as u8))
                .collect();
            let views: Vec<&[u8]> = messages.iter().map(Vec::as_slice).collect();
            let expected: Vec<[u8; 20]> = messages
                .iter()
                .map(|message| Sha1::digest(message).into())
                .collect();
            assert_eq!(sha1_many(&views), expected, "{count} messages");
        }
    }

    #[test]
    fn every_lane_count_matches_the_sha1_crate() {
        for len in [0, 1, 55, 56, 63, 64, 65, 119, 120, 128, 1000, 16_384 + 17] {
            for lanes in 1..=LANES {
                let messages: Vec<Vec<u8>> =
                    (0..lanes).map(|lane| bytes(len, lane as u8 * 7)).collect();
                let expected: Vec<[u8; 20]> = messages
                    .iter()
                    .map(|message| Sha1::digest(message).into())
                    .collect();
                assert_eq!(
                    lanes_digest(&messages),
                    expected,
                    "len {len}, {lanes} lanes"
                );
            }
        }
    }

    #[test]
    fn the_portable_path_matches_too() {
        let messages: Vec<Vec<u8>> = (0..3).map(|lane| bytes(4096 + 5, lane)).collect();
        let mut states = vec![INITIAL; 3];
        let blocks: Vec<&[[u8; BLOCK]]> = messages
            .iter()
            .map(|message| message.as_chunks::<BLOCK>().0)
            .collect();
        one_by_one(&mut states, &blocks);
        for (state, message) in states.into_iter().zip(&messages) {
            let tail = message.as_chunks::<BLOCK>().1;
            let expected: [u8; 20] = Sha1::digest(message).into();
            assert_eq!(finish(state, tail, message.len() as u64), expected);
        }
    }

    #[test]
    fn a_known_digest() {
        let digest = finish(INITIAL, b"abc", 3);
        assert_eq!(
            hex::encode(digest),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
    }
}
