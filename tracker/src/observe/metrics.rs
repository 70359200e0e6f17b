//! Prometheus metrics (the `prometheus-client` crate), all named `tracker_…`; each is
//! documented in the README. The counters and histograms an announce touches are created
//! once at start and kept as handles, and each thread counts into its own copy of them
//! ([`super::per_thread`]: no lock, no cache line shared between cores); gauges of the
//! swarm and catalog sizes are set when `/metrics` is rendered.

use std::time::Duration;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use super::histogram::LatencyHistogram;
use super::per_thread::Counter;

/// The transport a BitTorrent request came over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Http,
    Udp,
}

/// How an announce or scrape ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Answered with peers or counts.
    Ok,
    /// Answered with a failure reason (bad request, unknown torrent or passkey, rate limit).
    Refused,
    /// The swarm store failed.
    Error,
}

/// Why a request got a failure reason; the `reason` label of `tracker_failures_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    BadRequest,
    UnknownTorrent,
    UnknownPasskey,
    RateLimited,
    StoreUnavailable,
}

impl Failure {
    const ALL: [Failure; 5] = [
        Failure::BadRequest,
        Failure::UnknownTorrent,
        Failure::UnknownPasskey,
        Failure::RateLimited,
        Failure::StoreUnavailable,
    ];

    fn label(self) -> &'static str {
        match self {
            Failure::BadRequest => "bad_request",
            Failure::UnknownTorrent => "unknown_torrent",
            Failure::UnknownPasskey => "unknown_passkey",
            Failure::RateLimited => "rate_limited",
            Failure::StoreUnavailable => "store_unavailable",
        }
    }
}

type Labels = [(&'static str, &'static str); 2];
type Label = [(&'static str, &'static str); 1];

/// The `kind` labels of `tracker_rate_limited_total`.
const RATE_KINDS: [&str; 4] = ["announce", "scrape", "web", "publish"];

/// Counters of one request kind (announce or scrape) by protocol and outcome.
struct ByOutcome {
    /// [protocol][outcome]
    counters: [[Counter; 3]; 2],
}

impl ByOutcome {
    fn new(family: &Family<Labels, Counter>) -> ByOutcome {
        let one = |protocol, outcome| {
            family
                .get_or_create(&[("protocol", protocol), ("outcome", outcome)])
                .clone()
        };
        let row = |p| [one(p, "ok"), one(p, "refused"), one(p, "error")];
        ByOutcome {
            counters: [row("http"), row("udp")],
        }
    }

    fn get(&self, protocol: Protocol, outcome: Outcome) -> &Counter {
        let p = match protocol {
            Protocol::Http => 0,
            Protocol::Udp => 1,
        };
        let o = match outcome {
            Outcome::Ok => 0,
            Outcome::Refused => 1,
            Outcome::Error => 2,
        };
        &self.counters[p][o]
    }

    fn total(&self) -> u64 {
        self.counters.iter().flatten().map(Counter::get).sum()
    }
}

/// Every metric the tracker exports.
pub struct Metrics {
    registry: Registry,
    announces: ByOutcome,
    scrapes: ByOutcome,
    failures: [Counter; 5],
    /// By [`RATE_KINDS`].
    rate_limited: [Counter; 4],
    /// [announce, scrape]
    store_latency: [LatencyHistogram; 2],
    /// [http, udp]
    request_duration: [LatencyHistogram; 2],
    pub torrents: Gauge,
    pub seeders: Gauge,
    pub leechers: Gauge,
    pub catalog_torrents: Gauge,
    pub uptime: Gauge,
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("tracker");
        let announces = Family::<Labels, Counter>::default();
        registry.register(
            "announces",
            "Announces answered, by protocol (http, udp) and outcome (ok, refused, error)",
            announces.clone(),
        );
        let scrapes = Family::<Labels, Counter>::default();
        registry.register(
            "scrapes",
            "Scrapes answered, by protocol (http, udp) and outcome (ok, refused, error)",
            scrapes.clone(),
        );
        let failures = Family::<Label, Counter>::default();
        registry.register(
            "failures",
            "Announces and scrapes refused with a failure reason, by reason",
            failures.clone(),
        );
        let rate_limited = Family::<Label, Counter>::default();
        registry.register(
            "rate_limited",
            "Requests refused by a rate limit, by kind (announce, scrape, web, publish)",
            rate_limited.clone(),
        );
        let store_latency = Family::<Label, LatencyHistogram>::default();
        registry.register(
            "store_latency_seconds",
            "Time the swarm store took per call, by operation (announce, scrape)",
            store_latency.clone(),
        );
        let request_duration = Family::<Label, LatencyHistogram>::default();
        registry.register(
            "request_duration_seconds",
            "Time from a parsed announce or scrape to its reply, by protocol (http, udp)",
            request_duration.clone(),
        );
        let gauge = |registry: &mut Registry, name: &str, help: &str| {
            let g = Gauge::default();
            registry.register(name, help, g.clone());
            g
        };
        let torrents = gauge(&mut registry, "torrents", "Torrents with at least one peer");
        let seeders = gauge(&mut registry, "seeders", "Seeders in every swarm");
        let leechers = gauge(&mut registry, "leechers", "Leechers in every swarm");
        let catalog_torrents = gauge(&mut registry, "catalog_torrents", "Torrents in the catalog");
        let uptime = gauge(
            &mut registry,
            "uptime_seconds",
            "Seconds since the tracker started",
        );
        let failure_counters =
            Failure::ALL.map(|f| failures.get_or_create(&[("reason", f.label())]).clone());
        let rate_limited =
            RATE_KINDS.map(|kind| rate_limited.get_or_create(&[("kind", kind)]).clone());
        Metrics {
            announces: ByOutcome::new(&announces),
            scrapes: ByOutcome::new(&scrapes),
            failures: failure_counters,
            rate_limited,
            store_latency: ["announce", "scrape"]
                .map(|op| store_latency.get_or_create(&[("operation", op)]).clone()),
            request_duration: ["http", "udp"]
                .map(|p| request_duration.get_or_create(&[("protocol", p)]).clone()),
            torrents,
            seeders,
            leechers,
            catalog_torrents,
            uptime,
            registry,
        }
    }

    /// An announce was answered.
    pub fn announce(&self, protocol: Protocol, outcome: Outcome, took: Duration) {
        self.announces.get(protocol, outcome).inc();
        self.request(protocol, took);
    }

    /// A scrape was answered.
    pub fn scrape(&self, protocol: Protocol, outcome: Outcome, took: Duration) {
        self.scrapes.get(protocol, outcome).inc();
        self.request(protocol, took);
    }

    fn request(&self, protocol: Protocol, took: Duration) {
        let i = usize::from(protocol == Protocol::Udp);
        self.request_duration[i].observe(took);
    }

    /// A request got a failure reason.
    pub fn failure(&self, reason: Failure) {
        let i = Failure::ALL.iter().position(|&f| f == reason).unwrap_or(0);
        self.failures[i].inc();
    }

    /// A request was rate limited.
    pub fn rate_limited(&self, kind: &'static str) {
        if let Some(i) = RATE_KINDS.iter().position(|&k| k == kind) {
            self.rate_limited[i].inc();
        }
    }

    /// How long a store call took (`scrape` false: an announce).
    pub fn store_call(&self, scrape: bool, took: Duration) {
        self.store_latency[usize::from(scrape)].observe(took);
    }

    /// Announces and scrapes answered so far (any protocol and outcome).
    pub fn totals(&self) -> (u64, u64) {
        (self.announces.total(), self.scrapes.total())
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(8 * 1024);
        // Writing into a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_prefixed_names_that_move() {
        let m = Metrics::new();
        m.announce(Protocol::Udp, Outcome::Ok, Duration::from_micros(30));
        m.announce(Protocol::Http, Outcome::Refused, Duration::from_micros(30));
        m.failure(Failure::UnknownPasskey);
        m.rate_limited("web");
        m.store_call(false, Duration::from_micros(3));
        let text = m.render();
        assert!(
            text.contains("tracker_announces_total{protocol=\"udp\",outcome=\"ok\"} 1"),
            "{text}"
        );
        assert!(text.contains("tracker_failures_total{reason=\"unknown_passkey\"} 1"));
        assert!(text.contains("tracker_rate_limited_total{kind=\"web\"} 1"));
        assert!(text.contains("tracker_store_latency_seconds_count{operation=\"announce\"} 1"));
        assert!(
            text.lines()
                .filter(|l| !l.starts_with('#') && !l.is_empty())
                .all(|l| l.starts_with("tracker_"))
        );
        assert_eq!(m.totals(), (2, 0));
    }
}
