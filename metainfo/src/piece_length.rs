//! The automatic piece length for newly created metainfo.

/// Smallest automatic piece length: 16 KiB (one BitTorrent block).
pub const MIN_AUTO_PIECE_LENGTH: u64 = 16 << 10;

/// Largest automatic piece length: 16 MiB.
pub const MAX_AUTO_PIECE_LENGTH: u64 = 16 << 20;

/// Piece count the automatic rule stays at or below (it stays above half of it).
pub const TARGET_MAX_PIECES: u64 = 2_000;

/// The piece length used when none is given: the smallest power of two that makes at most
/// 2,000 pieces, clamped to [16 KiB, 16 MiB]. Between 16 KiB × 1,000 (≈ 16 MB) and
/// 16 MiB × 2,000 (≈ 33 GB) of data this gives 1,001–2,000 pieces; smaller inputs get
/// 16 KiB pieces (fewer of them) and larger ones 16 MiB pieces (more of them).
pub fn auto_piece_length(total_len: u64) -> u64 {
    let wanted = total_len.div_ceil(TARGET_MAX_PIECES).max(1);
    wanted
        .checked_next_power_of_two()
        .unwrap_or(MAX_AUTO_PIECE_LENGTH)
        .clamp(MIN_AUTO_PIECE_LENGTH, MAX_AUTO_PIECE_LENGTH)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KIB: u64 = 1 << 10;
    const MIB: u64 = 1 << 20;
    const GIB: u64 = 1 << 30;

    #[test]
    fn clamps_small_and_huge_inputs() {
        assert_eq!(auto_piece_length(0), 16 * KIB);
        assert_eq!(auto_piece_length(1), 16 * KIB);
        assert_eq!(auto_piece_length(10 * MIB), 16 * KIB);
        assert_eq!(auto_piece_length(100 * GIB), 16 * MIB);
        assert_eq!(auto_piece_length(u64::MAX), 16 * MIB);
    }

    #[test]
    fn known_sizes() {
        assert_eq!(auto_piece_length(GIB), MIB); // 1,024 pieces
        assert_eq!(auto_piece_length(4 * GIB), 4 * MIB); // 1,024 pieces
        assert_eq!(auto_piece_length(700 * MIB), 512 * KIB); // 1,400 pieces
    }

    #[test]
    fn keeps_piece_count_between_1000_and_2000_in_range() {
        let mut total = 16 * KIB * 1_000 + 1;
        while total <= 16 * MIB * 2_000 {
            let length = auto_piece_length(total);
            assert!(length.is_power_of_two());
            let count = total.div_ceil(length);
            assert!(
                (1_000..=2_000).contains(&count),
                "{total} -> {length} ({count} pieces)"
            );
            total = total * 9 / 8 + 12_345;
        }
    }
}
