//! `GET /` (the status page), `GET /stats` (the same figures as JSON) and `GET /metrics`
//! (Prometheus). The store's totals are cached for a few seconds, so a busy status page
//! costs the store little.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Serialize;

use super::respond::{self, error};
use super::templates;
use crate::core::Tracker;
use crate::domain::StoreSummary;
use crate::store::Store;

/// Swarms listed as the busiest.
pub const BUSIEST: usize = 10;
/// How long the store's totals are reused.
const SUMMARY_MAX_AGE: Duration = Duration::from_secs(5);

/// One of the busiest swarms.
#[derive(Debug, Clone, Serialize)]
pub struct Busy {
    pub info_hash: String,
    /// From the catalog, when it lists the torrent.
    pub name: Option<String>,
    pub seeders: u64,
    pub leechers: u64,
    pub completed: u64,
}

/// What `/` shows and `/stats` returns.
#[derive(Debug, Clone, Serialize)]
pub struct Stats {
    pub torrents: u64,
    pub seeders: u64,
    pub leechers: u64,
    pub announces_per_s: f64,
    pub scrapes_per_s: f64,
    pub uptime_s: u64,
    pub version: &'static str,
    pub catalog: usize,
    pub busiest: Vec<Busy>,
}

/// The store summary, at most [`SUMMARY_MAX_AGE`] old.
async fn summary(tracker: &Tracker) -> Result<StoreSummary, String> {
    {
        let cached = tracker.summary_cache.lock();
        if let Some((at, s)) = cached.as_ref()
            && at.elapsed() < SUMMARY_MAX_AGE
        {
            return Ok(s.clone());
        }
    }
    let fresh = tracker
        .store
        .summary(BUSIEST)
        .await
        .map_err(|e| e.to_string())?;
    *tracker.summary_cache.lock() = Some((Instant::now(), fresh.clone()));
    Ok(fresh)
}

/// Gather the figures.
pub async fn stats(tracker: &Tracker) -> Result<Stats, String> {
    let s = summary(tracker).await?;
    let totals = tracker.metrics.totals();
    let (announces_per_s, scrapes_per_s) = tracker.rates.per_second(totals);
    let round = |x: f64| (x * 10.0).round() / 10.0;
    Ok(Stats {
        torrents: s.torrents,
        seeders: s.seeders,
        leechers: s.leechers,
        announces_per_s: round(announces_per_s),
        scrapes_per_s: round(scrapes_per_s),
        uptime_s: tracker.started.elapsed().as_secs(),
        version: env!("CARGO_PKG_VERSION"),
        catalog: tracker.catalog.len(),
        busiest: s
            .busiest
            .iter()
            .map(|(hash, st)| Busy {
                info_hash: hash.to_hex(),
                name: tracker.catalog.get(hash).map(|e| e.name.clone()),
                seeders: st.complete,
                leechers: st.incomplete,
                completed: st.downloaded,
            })
            .collect(),
    })
}

pub async fn page(State(tracker): State<Arc<Tracker>>) -> Response {
    match stats(&tracker).await {
        Ok(stats) => templates::status_page(&stats, tracker.config.is_private()),
        Err(e) => error(StatusCode::SERVICE_UNAVAILABLE, &e, false),
    }
}

pub async fn json(State(tracker): State<Arc<Tracker>>) -> Response {
    match stats(&tracker).await {
        Ok(stats) => respond::json(StatusCode::OK, &stats),
        Err(e) => error(StatusCode::SERVICE_UNAVAILABLE, &e, true),
    }
}

pub async fn metrics(State(tracker): State<Arc<Tracker>>) -> Response {
    if let Ok(s) = summary(&tracker).await {
        let gauge = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        tracker.metrics.torrents.set(gauge(s.torrents));
        tracker.metrics.seeders.set(gauge(s.seeders));
        tracker.metrics.leechers.set(gauge(s.leechers));
    }
    tracker
        .metrics
        .catalog_torrents
        .set(i64::try_from(tracker.catalog.len()).unwrap_or(i64::MAX));
    tracker
        .metrics
        .uptime
        .set(i64::try_from(tracker.started.elapsed().as_secs()).unwrap_or(i64::MAX));
    respond::with_type(
        StatusCode::OK,
        tracker.metrics.render().into_bytes(),
        "application/openmetrics-text; version=1.0.0; charset=utf-8",
    )
}
