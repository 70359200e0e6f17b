//! What the tracker tells its operator: Prometheus metrics ([`metrics`], with latencies in
//! [`histogram`], counted per thread in [`per_thread`]), request rates over
//! the last minute ([`rates`]) and the access log's line format ([`access_log`]).

pub mod access_log;
pub mod histogram;
pub mod metrics;
pub mod per_thread;
pub mod rates;
