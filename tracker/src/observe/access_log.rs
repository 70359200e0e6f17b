//! The access log: one `info` line per web request (method, path with any passkey
//! redacted, status, duration, client), one `debug` line per announce or scrape (the hot
//! path: off unless `RUST_LOG=tracker=debug`).

use std::net::IpAddr;
use std::time::Duration;

use crate::access::passkeys::redact;

/// Log a web request.
pub fn web(method: &str, path: &str, status: u16, took: Duration, client: IpAddr) {
    tracing::info!(
        target: "tracker::access",
        method,
        path = %redact(path),
        status,
        ms = took.as_secs_f64() * 1000.0,
        %client,
        "request"
    );
}

/// Log an announce or scrape (at debug).
pub fn tracker_request(what: &'static str, path: &str, status: &'static str, client: IpAddr) {
    tracing::debug!(
        target: "tracker::access",
        what,
        path = %redact(path),
        status,
        %client,
        "tracker request"
    );
}
