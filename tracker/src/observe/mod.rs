//! What the tracker tells its operator: Prometheus metrics ([`metrics`]), request rates over
//! the last minute ([`rates`]) and the access log's line format ([`access_log`]).

pub mod access_log;
pub mod metrics;
pub mod rates;
