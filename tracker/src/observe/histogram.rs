//! A latency histogram for the announce path that records without locks or shared writes.
//!
//! `prometheus-client`'s own `Histogram` takes a mutex on every `observe`; on the announce
//! path that is a lock every worker thread contends for on each request, and
//! `bench/tracker.sh` showed it. This one has fixed exponential buckets (25 µs to about
//! 0.8 s, then +Inf), counted per thread ([`PerThread`]), so recording never waits and never
//! pulls a cache line from another core; the count is the sum of the buckets, taken when
//! `/metrics` is rendered.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use prometheus_client::encoding::{EncodeMetric, MetricEncoder, NoLabelSet};
use prometheus_client::metrics::{MetricType, TypedMetric};

use super::per_thread::{PerThread, bump};

/// Finite buckets: upper bounds 25 µs × 2^i for i in 0..16.
const FINITE: usize = 16;
const FIRST_BOUND_NANOS: u64 = 25_000;

/// A cumulative latency histogram; clones share the counts.
#[derive(Debug, Clone, Default)]
pub struct LatencyHistogram {
    inner: Arc<PerThread<Counts>>,
}

#[derive(Debug, Default)]
struct Counts {
    /// Observations per bucket (not cumulative); the last one is +Inf.
    buckets: [AtomicU64; FINITE + 1],
    sum_nanos: AtomicU64,
}

/// The bucket an observation of `nanos` belongs to: the first whose bound is not below it.
fn bucket_of(nanos: u64) -> usize {
    if nanos <= FIRST_BOUND_NANOS {
        return 0;
    }
    // The smallest i with nanos <= 25 µs × 2^i: ceil(log2(ceil(nanos / 25 µs))).
    let units = nanos.div_ceil(FIRST_BOUND_NANOS);
    let i = (u64::BITS - (units - 1).leading_zeros()) as usize;
    i.min(FINITE)
}

fn bound_seconds(i: usize) -> f64 {
    (FIRST_BOUND_NANOS << i) as f64 / 1e9
}

impl LatencyHistogram {
    /// Records one observation.
    pub fn observe(&self, took: Duration) {
        let nanos = u64::try_from(took.as_nanos()).unwrap_or(u64::MAX);
        let counts = self.inner.local();
        bump(&counts.buckets[bucket_of(nanos)], 1);
        bump(&counts.sum_nanos, nanos);
    }

    /// Observations so far.
    pub fn count(&self) -> u64 {
        (0..=FINITE).map(|i| self.bucket(i)).sum()
    }

    /// Observations in bucket `i`, over every thread.
    fn bucket(&self, i: usize) -> u64 {
        self.inner
            .all()
            .map(|c| c.buckets[i].load(Ordering::Relaxed))
            .sum()
    }

    /// The sum of every observation, in nanoseconds.
    fn sum_nanos(&self) -> u64 {
        self.inner
            .all()
            .map(|c| c.sum_nanos.load(Ordering::Relaxed))
            .fold(0, u64::wrapping_add)
    }
}

impl TypedMetric for LatencyHistogram {
    const TYPE: MetricType = MetricType::Histogram;
}

impl EncodeMetric for LatencyHistogram {
    fn encode(&self, mut encoder: MetricEncoder<'_>) -> Result<(), std::fmt::Error> {
        let buckets: Vec<(f64, u64)> = (0..=FINITE)
            .map(|i| {
                let bound = if i < FINITE {
                    bound_seconds(i)
                } else {
                    f64::INFINITY
                };
                (bound, self.bucket(i))
            })
            .collect();
        let count = buckets.iter().map(|(_, n)| n).sum();
        let sum = self.sum_nanos() as f64 / 1e9;
        encoder.encode_histogram::<NoLabelSet>(sum, count, &buckets, None)
    }

    fn metric_type(&self) -> MetricType {
        Self::TYPE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_are_inclusive_and_overflow_lands_in_inf() {
        assert_eq!(bucket_of(0), 0);
        assert_eq!(bucket_of(25_000), 0);
        assert_eq!(bucket_of(25_001), 1);
        assert_eq!(bucket_of(50_000), 1);
        assert_eq!(bucket_of(25_000 << 15), 15);
        assert_eq!(bucket_of((25_000 << 15) + 1), FINITE);
        assert_eq!(bucket_of(u64::MAX), FINITE);
    }

    /// The bit arithmetic must pick what walking the bounds would.
    #[test]
    fn bucket_of_agrees_with_walking_the_bounds() {
        let walk = |nanos: u64| {
            (0..FINITE)
                .find(|&i| nanos <= FIRST_BOUND_NANOS << i)
                .unwrap_or(FINITE)
        };
        for i in 0..=FINITE as u32 + 1 {
            let bound = FIRST_BOUND_NANOS << i;
            for nanos in [bound - 1, bound, bound + 1, bound + bound / 3] {
                assert_eq!(bucket_of(nanos), walk(nanos), "{nanos} ns");
            }
        }
        for nanos in (0..5_000_000).step_by(997) {
            assert_eq!(bucket_of(nanos), walk(nanos), "{nanos} ns");
        }
    }

    #[test]
    fn counts_and_sums_what_it_observed() {
        let h = LatencyHistogram::default();
        h.observe(Duration::from_micros(30));
        h.observe(Duration::from_secs(5));
        assert_eq!(h.count(), 2);
        assert_eq!(h.sum_nanos(), 5_000_030_000, "sum in nanoseconds");
    }
}
