//! The tracker's service layer, shared by the HTTP and UDP front ends: configuration, the
//! stores, access control, metrics, and the announce/scrape steps that do not depend on the
//! transport.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use crate::access::passkeys::Passkeys;
use crate::access::rate_limit::{Kind, RateLimits};
use crate::access::tokens::Tokens;
use crate::allowlist::Allowlist;
use crate::catalog::Catalog;
use crate::config::Config;
use crate::domain::{
    AnnounceInput, AnnounceParams, AnnouncePolicy, BadAnnounce, InfoHash, ScrapeStats,
    StoreSummary, SwarmView, unix_now,
};
use crate::observe::metrics::{Failure, Metrics, Outcome, Protocol};
use crate::observe::rates::Rates;
use crate::store::any::AnyStore;
use crate::store::{Store, StoreError};

/// Why an announce or scrape got a failure reply instead of peers.
#[derive(Debug, thiserror::Error)]
pub enum RefuseReason {
    #[error("{0}")]
    BadRequest(#[from] BadAnnounce),
    #[error("unknown torrent: {0} is not served by this tracker")]
    NotAllowed(InfoHash),
    #[error("unknown torrent: {0} is not in this tracker's catalog")]
    NotInCatalog(InfoHash),
    #[error("unknown passkey: this tracker is private, announce with your own announce URL")]
    UnknownPasskey,
    #[error("rate limit: too many requests from your address, retry in {} s", .0.as_secs().max(1))]
    RateLimited(Duration),
    #[error("tracker storage is unavailable, retry later")]
    Store(#[from] StoreError),
}

impl RefuseReason {
    fn failure(&self) -> Failure {
        match self {
            RefuseReason::BadRequest(_) => Failure::BadRequest,
            RefuseReason::NotAllowed(_) | RefuseReason::NotInCatalog(_) => Failure::UnknownTorrent,
            RefuseReason::UnknownPasskey => Failure::UnknownPasskey,
            RefuseReason::RateLimited(_) => Failure::RateLimited,
            RefuseReason::Store(_) => Failure::StoreUnavailable,
        }
    }

    fn outcome(&self) -> Outcome {
        match self {
            RefuseReason::Store(_) => Outcome::Error,
            _ => Outcome::Refused,
        }
    }
}

/// The tracker shared by every connection and datagram.
pub struct Tracker {
    pub config: Config,
    pub policy: AnnouncePolicy,
    pub store: AnyStore,
    pub allowlist: Arc<Allowlist>,
    pub catalog: Arc<Catalog>,
    /// Present in private mode.
    pub passkeys: Option<Arc<Passkeys>>,
    pub tokens: Arc<Tokens>,
    pub limits: Arc<RateLimits>,
    pub metrics: Arc<Metrics>,
    /// Times announces and scrapes for the latency histograms. quanta reads the CPU's
    /// time-stamp counter (calibrated once per process, as for the rate limiter): ~25
    /// instructions per reading and difference where `std::time::Instant` took ~100, and an
    /// announce takes three readings (start, store call, end).
    pub request_clock: quanta::Clock,
    pub rates: Rates,
    pub started: Instant,
    /// The store's totals for the status page and metrics, with when they were taken.
    pub summary_cache: Mutex<Option<(Instant, StoreSummary)>>,
}

impl Tracker {
    /// Check the rate limit, the passkey (private mode), the allowlist and the catalog, then
    /// record the announce and return the swarm as the peer sees it. Counted in the metrics.
    pub async fn announce(
        &self,
        protocol: Protocol,
        input: &AnnounceInput,
        passkey: Option<&str>,
    ) -> Result<SwarmView, RefuseReason> {
        let started = self.request_clock.now();
        let (result, finished) = match self.admit_announce(input, passkey) {
            Ok(params) => self.call_store(false, self.store.announce(&params)).await,
            Err(refused) => (Err(refused), self.request_clock.now()),
        };
        let outcome = self.outcome(&result);
        self.metrics
            .announce(protocol, outcome, finished.duration_since(started));
        result
    }

    /// Everything an announce must pass before the store sees it.
    fn admit_announce(
        &self,
        input: &AnnounceInput,
        passkey: Option<&str>,
    ) -> Result<AnnounceParams, RefuseReason> {
        self.admit(Kind::Announce, input.source, passkey)?;
        let params = self.policy.params(input, unix_now())?;
        self.serves(&params.info_hash)?;
        Ok(params)
    }

    /// Counts for each hash, in order (after the rate limit and passkey checks).
    pub async fn scrape(
        &self,
        protocol: Protocol,
        source: IpAddr,
        hashes: &[InfoHash],
        passkey: Option<&str>,
    ) -> Result<Vec<ScrapeStats>, RefuseReason> {
        let started = self.request_clock.now();
        let (result, finished) = match self.admit(Kind::Scrape, source, passkey) {
            Ok(()) => self.call_store(true, self.store.scrape(hashes)).await,
            Err(refused) => (Err(refused), self.request_clock.now()),
        };
        let outcome = self.outcome(&result);
        self.metrics
            .scrape(protocol, outcome, finished.duration_since(started));
        result
    }

    /// Awaits a store call, timed for the store latency histogram (a store failure is logged
    /// and becomes the refusal); returns its result and when it ended, which is also when the
    /// request ended (one clock reading for both).
    async fn call_store<T>(
        &self,
        scrape: bool,
        call: impl Future<Output = Result<T, StoreError>>,
    ) -> (Result<T, RefuseReason>, quanta::Instant) {
        let started = self.request_clock.now();
        let result = call.await;
        let finished = self.request_clock.now();
        self.metrics
            .store_call(scrape, finished.duration_since(started));
        let result = result.map_err(|e| {
            let what = if scrape { "scrape" } else { "announce" };
            tracing::error!("{what}: {e}");
            RefuseReason::Store(e)
        });
        (result, finished)
    }

    /// The outcome of a request for the metrics, counting a refusal's reason.
    fn outcome<T>(&self, result: &Result<T, RefuseReason>) -> Outcome {
        match result {
            Ok(_) => Outcome::Ok,
            Err(e) => {
                self.metrics.failure(e.failure());
                e.outcome()
            }
        }
    }

    /// A request the front end could not parse (counted, then answered with its reason).
    pub fn count_bad_request(&self, protocol: Protocol, scrape: bool) {
        self.metrics.failure(Failure::BadRequest);
        if scrape {
            self.metrics
                .scrape(protocol, Outcome::Refused, Duration::ZERO);
        } else {
            self.metrics
                .announce(protocol, Outcome::Refused, Duration::ZERO);
        }
    }

    /// Rate limit and passkey.
    fn admit(&self, kind: Kind, source: IpAddr, passkey: Option<&str>) -> Result<(), RefuseReason> {
        if let Err(wait) = self.limits.check(kind, source) {
            self.metrics.rate_limited(kind.as_str());
            return Err(RefuseReason::RateLimited(wait));
        }
        if let Some(passkeys) = &self.passkeys
            && !passkey.is_some_and(|k| passkeys.allows(k))
        {
            return Err(RefuseReason::UnknownPasskey);
        }
        Ok(())
    }

    /// Is `hash` served (allowlist, and the catalog with `--catalog-only`)?
    fn serves(&self, hash: &InfoHash) -> Result<(), RefuseReason> {
        if !self.allowlist.allows(hash) {
            return Err(RefuseReason::NotAllowed(*hash));
        }
        if self.config.catalog_only && !self.catalog.contains(hash) {
            return Err(RefuseReason::NotInCatalog(*hash));
        }
        Ok(())
    }
}
