//! `/torrents`: publish (`POST`), list and search (`GET`, HTML or JSON), details and the
//! metainfo bytes (`GET /torrents/<hex>[.meta]`), delete (`DELETE`, with a token).

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use metainfo::InfoHash;
use serde::Serialize;

use super::client;
use super::respond::{self, error, too_many};
use super::templates;
use crate::access::rate_limit::Kind;
use crate::access::tokens::Denied;
use crate::catalog::entry::Entry;
use crate::catalog::listing::{ListParams, Listing, Sort};
use crate::catalog::{PublishError, Published};
use crate::core::Tracker;
use crate::domain::{ScrapeStats, unix_now};
use crate::store::Store;

/// How long a client may take to send an upload's body.
const UPLOAD_TIMEOUT: Duration = Duration::from_secs(30);

/// One row of `GET /torrents` as JSON.
#[derive(Debug, Serialize)]
pub struct Row {
    pub info_hash: String,
    pub name: String,
    pub size: u64,
    pub files: usize,
    pub pieces: u32,
    pub added: String,
    pub seeders: u64,
    pub leechers: u64,
    pub completed: u64,
    #[serde(skip)]
    pub size_human: String,
}

impl Row {
    fn new(entry: &Entry, stats: ScrapeStats) -> Row {
        Row {
            info_hash: entry.info_hash.clone(),
            name: entry.name.clone(),
            size: entry.size,
            files: entry.files.len(),
            pieces: entry.pieces,
            added: entry.added_rfc3339(),
            seeders: stats.complete,
            leechers: stats.incomplete,
            completed: stats.downloaded,
            size_human: super::templates::human_size(entry.size),
        }
    }
}

/// Swarm counts for `entries`, in order (zeros where the store cannot say).
async fn counts(tracker: &Tracker, entries: &[&Arc<Entry>]) -> Vec<ScrapeStats> {
    let mut out = Vec::with_capacity(entries.len());
    for batch in entries.chunks(100) {
        let hashes: Vec<InfoHash> = batch
            .iter()
            .map(|e| InfoHash::from_hex(&e.info_hash).unwrap_or(InfoHash([0; 20])))
            .collect();
        match tracker.store.scrape(&hashes).await {
            Ok(stats) => out.extend(stats),
            Err(e) => {
                tracing::warn!("catalog counts: {e}");
                out.extend(std::iter::repeat_n(ScrapeStats::default(), batch.len()));
            }
        }
    }
    out
}

/// `GET /torrents`.
pub async fn list(
    State(tracker): State<Arc<Tracker>>,
    Query(params): Query<ListParams>,
    headers: HeaderMap,
) -> Response {
    let as_json = client::wants_json(&headers, params.format.as_deref());
    let listing = match Listing::from_params(&params) {
        Ok(l) => l,
        Err(e) => return error(StatusCode::BAD_REQUEST, &e.to_string(), as_json),
    };
    if let Err(e) = tracker.catalog.refresh_if_shared(Duration::ZERO).await {
        return error(StatusCode::SERVICE_UNAVAILABLE, &e.to_string(), as_json);
    }
    let all = tracker.catalog.all();
    let (rows, total) = if listing.sort == Sort::Seeders {
        // Sorting by seeders needs every match's count.
        let matched = listing.select(&all, |_| 0);
        let stats = counts(&tracker, &matched).await;
        let mut pairs: Vec<(&Arc<Entry>, ScrapeStats)> = matched.into_iter().zip(stats).collect();
        pairs.sort_by(|a, b| {
            b.1.complete
                .cmp(&a.1.complete)
                .then(a.0.name.cmp(&b.0.name))
        });
        let total = pairs.len();
        let rows = listing
            .page_of(&pairs)
            .iter()
            .map(|(e, s)| Row::new(e, *s))
            .collect::<Vec<_>>();
        (rows, total)
    } else {
        let matched = listing.select(&all, |_| 0);
        let page = listing.page_of(&matched);
        let stats = counts(&tracker, page).await;
        let rows = page
            .iter()
            .zip(stats)
            .map(|(e, s)| Row::new(e, s))
            .collect();
        (rows, matched.len())
    };
    if as_json {
        return respond::json(StatusCode::OK, &rows);
    }
    templates::catalog_page(&listing, &rows, total, tracker.catalog.len())
}

/// `GET /torrents/<hex>` (details) or `/torrents/<hex>.meta` (the metainfo bytes).
pub async fn show(
    State(tracker): State<Arc<Tracker>>,
    Path(id): Path<String>,
    Query(params): Query<ListParams>,
    headers: HeaderMap,
) -> Response {
    let as_json = client::wants_json(&headers, params.format.as_deref());
    let (hex, meta) = match id.strip_suffix(".meta") {
        Some(hex) => (hex, true),
        None => (id.as_str(), false),
    };
    let Ok(hash) = InfoHash::from_hex(hex) else {
        return error(
            StatusCode::NOT_FOUND,
            "not an info-hash: use 40 hex digits",
            as_json,
        );
    };
    if let Err(e) = tracker
        .catalog
        .refresh_if_shared(Duration::from_secs(1))
        .await
    {
        return error(StatusCode::SERVICE_UNAVAILABLE, &e.to_string(), as_json);
    }
    let Some(entry) = tracker.catalog.get(&hash) else {
        return error(
            StatusCode::NOT_FOUND,
            "no such torrent in the catalog",
            as_json,
        );
    };
    if meta {
        return match tracker.catalog.metainfo(&hash).await {
            Ok(Some(bytes)) => metainfo_file(&hash, bytes),
            Ok(None) => error(
                StatusCode::NOT_FOUND,
                "no such torrent in the catalog",
                as_json,
            ),
            Err(e) => error(StatusCode::SERVICE_UNAVAILABLE, &e.to_string(), as_json),
        };
    }
    let stats = counts(&tracker, &[&entry]).await.pop().unwrap_or_default();
    let base = client::base_url(&tracker.config, &headers);
    if as_json {
        return respond::json(
            StatusCode::OK,
            &serde_json::json!({
                "info_hash": entry.info_hash,
                "name": entry.name,
                "size": entry.size,
                "pieces": entry.pieces,
                "piece_length": entry.piece_length,
                "added": entry.added_rfc3339(),
                "files": entry.files,
                "magnet": entry.magnet,
                "seeders": stats.complete,
                "leechers": stats.incomplete,
                "completed": stats.downloaded,
                "meta_url": format!("{base}/torrents/{}.meta", entry.info_hash),
            }),
        );
    }
    templates::torrent_page(&entry, &stats)
}

fn metainfo_file(hash: &InfoHash, bytes: Vec<u8>) -> Response {
    let mut response = respond::with_type(StatusCode::OK, bytes, "application/x-bittorrent");
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{hash}.meta\"")) {
        response
            .headers_mut()
            .insert(header::CONTENT_DISPOSITION, v);
    }
    response
}

/// The status code of a refused token.
pub fn denied(d: Denied, as_json: bool) -> Response {
    let status = match d {
        Denied::Missing => StatusCode::UNAUTHORIZED,
        Denied::Wrong | Denied::Off => StatusCode::FORBIDDEN,
    };
    let mut response = error(status, &d.to_string(), as_json);
    if d == Denied::Missing {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    response
}

/// Check the bearer token of a write request.
pub fn authorize(tracker: &Tracker, headers: &HeaderMap) -> Result<(), Denied> {
    let auth = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    tracker.tokens.check(auth)
}

/// `POST /torrents`: the body is a metainfo file.
pub async fn publish(State(tracker): State<Arc<Tracker>>, request: Request) -> Response {
    let remote = client::remote(&request);
    let headers = request.headers().clone();
    let ip = match client::ip(&tracker.config, remote, &headers) {
        Ok(ip) => ip,
        Err(reason) => return error(StatusCode::BAD_REQUEST, reason, true),
    };
    if let Err(wait) = tracker.limits.check(Kind::Publish, ip) {
        tracker.metrics.rate_limited(Kind::Publish.as_str());
        return too_many(wait, true);
    }
    if !tracker.config.open_publish
        && let Err(d) = authorize(&tracker, &headers)
    {
        return denied(d, true);
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase());
    if !matches!(
        content_type.as_deref(),
        Some("application/x-bittorrent" | "application/octet-stream")
    ) {
        return error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send the metainfo file with Content-Type: application/x-bittorrent",
            true,
        );
    }
    let max = tracker.config.max_upload;
    let too_large = || {
        error(
            StatusCode::PAYLOAD_TOO_LARGE,
            &format!("metainfo files are limited to {max} bytes (--max-upload)"),
            true,
        )
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max as u64) {
        return too_large();
    }
    let body = request.into_body();
    let bytes = match tokio::time::timeout(UPLOAD_TIMEOUT, axum::body::to_bytes(body, max)).await {
        Err(_) => return error(StatusCode::REQUEST_TIMEOUT, "upload took too long", true),
        Ok(Err(_)) => return too_large(),
        Ok(Ok(bytes)) => bytes,
    };
    match tracker.catalog.publish(bytes.to_vec(), unix_now()).await {
        Ok((published, entry)) => {
            let base = client::base_url(&tracker.config, &headers);
            let path = format!("/torrents/{}", entry.info_hash);
            let body = serde_json::json!({
                "info_hash": entry.info_hash,
                "url": format!("{base}{path}"),
                "name": entry.name,
            });
            let status = match published {
                Published::New => StatusCode::CREATED,
                Published::Existing => StatusCode::OK,
            };
            if published == Published::New {
                tracing::info!(info_hash = %entry.info_hash, name = %entry.name, "published");
            }
            let mut response = respond::json(status, &body);
            if let Ok(v) = HeaderValue::from_str(&path) {
                response.headers_mut().insert(header::LOCATION, v);
            }
            response
        }
        Err(PublishError::Invalid(e)) => error(
            StatusCode::BAD_REQUEST,
            &format!("not a valid metainfo file: {e}"),
            true,
        ),
        Err(PublishError::Store(e)) => error(StatusCode::SERVICE_UNAVAILABLE, &e.to_string(), true),
    }
}

/// `DELETE /torrents/<hex>` (with a token).
pub async fn delete(
    State(tracker): State<Arc<Tracker>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Err(d) = authorize(&tracker, &headers) {
        return denied(d, true);
    }
    let Ok(hash) = InfoHash::from_hex(id.trim_end_matches(".meta")) else {
        return error(
            StatusCode::NOT_FOUND,
            "not an info-hash: use 40 hex digits",
            true,
        );
    };
    match tracker.catalog.delete(&hash).await {
        Ok(true) => {
            tracing::info!(info_hash = %hash, "deleted from the catalog");
            let mut response = Response::new(Body::empty());
            *response.status_mut() = StatusCode::NO_CONTENT;
            response
        }
        Ok(false) => error(
            StatusCode::NOT_FOUND,
            "no such torrent in the catalog",
            true,
        ),
        Err(e) => error(StatusCode::SERVICE_UNAVAILABLE, &e.to_string(), true),
    }
}
