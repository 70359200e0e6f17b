//! The fluid-model lower bound on the time to give every leecher a file of F bits, from
//! seeders with total upload u_s to N leechers with uploads u_i and downloads d_i:
//!
//! T_min = max( F / u_s,  F / min d_i,  N·F / (u_s + Σ u_i) )
//!
//! (the seeders must send every bit at least once; the slowest downlink must take the whole
//! file; all N copies must be uploaded by someone). An unlimited rate makes its term 0.

use serde::Serialize;

use crate::units::Rate;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Bound {
    /// Seconds.
    pub t_min: f64,
    /// F / u_s.
    pub seeder_term: f64,
    /// F / min d_i.
    pub download_term: f64,
    /// N·F / (u_s + Σ u_i).
    pub aggregate_term: f64,
    /// Which term is the largest: "F/u_s", "F/min d_i" or "N·F/(u_s+Σu_i)".
    pub dominant: &'static str,
}

/// The bound for `file_bytes` bytes, seeder uploads `seeds` and leecher (upload, download)
/// pairs `leechers`; `None` is an unlimited rate.
pub fn t_min(
    file_bytes: u64,
    seeds: &[Option<Rate>],
    leechers: &[(Option<Rate>, Option<Rate>)],
) -> Bound {
    let f = file_bytes as f64 * 8.0;
    let n = leechers.len() as f64;
    let u_s = total(seeds.iter().copied());
    let seeder_term = u_s.map_or(0.0, |u| f / u);
    let min_down = leechers
        .iter()
        .filter_map(|(_, d)| *d)
        .map(Rate::bits_per_sec)
        .fold(f64::INFINITY, f64::min);
    let download_term = if min_down.is_finite() {
        f / min_down
    } else {
        0.0
    };
    let total_up = u_s.and_then(|us| total(leechers.iter().map(|(u, _)| *u)).map(|ul| us + ul));
    let aggregate_term = total_up.map_or(0.0, |total| n * f / total);
    let terms = [
        (seeder_term, "F/u_s"),
        (download_term, "F/min d_i"),
        (aggregate_term, "N·F/(u_s+Σu_i)"),
    ];
    let (t_min, dominant) = terms
        .into_iter()
        .fold((0.0, "none"), |best, t| if t.0 > best.0 { t } else { best });
    Bound {
        t_min,
        seeder_term,
        download_term,
        aggregate_term,
        dominant,
    }
}

/// The sum of `rates` in bits/s; `None` if any is unlimited.
fn total(mut rates: impl Iterator<Item = Option<Rate>>) -> Option<f64> {
    rates.try_fold(0.0, |acc, r| r.map(|r| acc + r.bits_per_sec()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mbit(m: u64) -> Option<Rate> {
        Some(Rate(m * 1_000_000))
    }

    #[test]
    fn the_flash_crowd_is_bound_by_the_aggregate_upload() {
        // 64 MiB, seeder 20 Mbit/s, 20 leechers 10 up / 50 down.
        let b = t_min(64 << 20, &[mbit(20)], &vec![(mbit(10), mbit(50)); 20]);
        let f = (64u64 << 20) as f64 * 8.0;
        assert!((b.seeder_term - f / 20e6).abs() < 1e-9);
        assert!((b.download_term - f / 50e6).abs() < 1e-9);
        assert!((b.aggregate_term - 20.0 * f / 220e6).abs() < 1e-9);
        assert_eq!(b.dominant, "N·F/(u_s+Σu_i)");
        assert!((b.t_min - 48.8).abs() < 0.1, "{}", b.t_min);
    }

    #[test]
    fn a_thin_seeder_dominates() {
        let b = t_min(64 << 20, &[mbit(4)], &vec![(mbit(10), mbit(50)); 20]);
        assert_eq!(b.dominant, "F/u_s");
        assert!((b.t_min - 134.2).abs() < 0.1, "{}", b.t_min);
    }

    #[test]
    fn unlimited_rates_drop_their_terms() {
        let b = t_min(1 << 20, &[None], &[(None, mbit(8))]);
        assert_eq!((b.seeder_term, b.aggregate_term), (0.0, 0.0));
        assert!((b.t_min - 8.0 * 1048576.0 / 8e6).abs() < 1e-9);
        let none = t_min(1 << 20, &[None], &[(None, None)]);
        assert_eq!((none.t_min, none.dominant), (0.0, "none"));
    }
}
