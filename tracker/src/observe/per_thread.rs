//! Per-thread copies of the announce path's counts, summed when `/metrics` is read.
//!
//! Every announce bumps a counter and two latency histograms. Kept as one set of shared
//! atomics, each bump moves a cache line from the core that bumped it last: with two worker
//! threads that is several cross-core transfers per request, on the path the tracker is
//! measured by. Here each thread writes only its own copy (padded to a cache line of its
//! own), with a plain load and store instead of a locked add since nobody else writes it;
//! a reader sums the copies, which may be a moment stale — fine for metrics.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crossbeam_utils::CachePadded;
use prometheus_client::encoding::{EncodeMetric, MetricEncoder, NoLabelSet};
use prometheus_client::metrics::{MetricType, TypedMetric};
use thread_local::ThreadLocal;

/// One `T` per thread that touches it.
#[derive(Debug, Default)]
pub struct PerThread<T: Send + Default> {
    copies: ThreadLocal<CachePadded<T>>,
}

impl<T: Send + Sync + Default> PerThread<T> {
    /// This thread's copy (created on first use).
    pub fn local(&self) -> &T {
        self.copies.get_or_default()
    }

    /// Every thread's copy.
    pub fn all(&self) -> impl Iterator<Item = &T> {
        self.copies.iter().map(|padded| &**padded)
    }
}

/// Adds `n` to a count only the calling thread writes (see the module documentation).
pub fn bump(count: &AtomicU64, n: u64) {
    count.store(
        count.load(Ordering::Relaxed).wrapping_add(n),
        Ordering::Relaxed,
    );
}

/// A monotonic counter, exported as a Prometheus counter; clones share the count.
#[derive(Debug, Clone, Default)]
pub struct Counter {
    counts: Arc<PerThread<AtomicU64>>,
}

impl Counter {
    /// Adds one.
    pub fn inc(&self) {
        bump(self.counts.local(), 1);
    }

    /// The total over every thread.
    pub fn get(&self) -> u64 {
        self.counts
            .all()
            .map(|c| c.load(Ordering::Relaxed))
            .fold(0, u64::wrapping_add)
    }
}

impl TypedMetric for Counter {
    const TYPE: MetricType = MetricType::Counter;
}

impl EncodeMetric for Counter {
    fn encode(&self, mut encoder: MetricEncoder<'_>) -> Result<(), std::fmt::Error> {
        encoder.encode_counter::<NoLabelSet, _, u64>(&self.get(), None)
    }

    fn metric_type(&self) -> MetricType {
        Self::TYPE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_from_every_thread_add_up() {
        let counter = Counter::default();
        std::thread::scope(|s| {
            for _ in 0..4 {
                let counter = counter.clone();
                s.spawn(move || (0..1000).for_each(|_| counter.inc()));
            }
        });
        counter.inc();
        assert_eq!(counter.get(), 4001);
    }

    #[test]
    fn each_thread_writes_its_own_cache_line() {
        let copies = PerThread::<AtomicU64>::default();
        let here = copies.local() as *const AtomicU64 as usize;
        let there = std::thread::scope(|s| {
            s.spawn(|| copies.local() as *const AtomicU64 as usize)
                .join()
                .unwrap()
        });
        assert!(here.abs_diff(there) >= 64, "copies share a cache line");
    }
}
