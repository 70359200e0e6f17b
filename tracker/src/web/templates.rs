//! The HTML pages (askama templates in `tracker/templates/`, escaped by default): server
//! rendered, a little CSS, no JavaScript, readable on a phone.

use askama::Template;
use axum::http::StatusCode;
use axum::response::Response;

use super::catalog::Row;
use super::respond::{error, html};
use super::status::Stats;
use crate::catalog::entry::Entry;
use crate::catalog::listing::Listing;
use crate::domain::ScrapeStats;

const VERSION: &str = env!("CARGO_PKG_VERSION");

/// `1.5 MiB`-style sizes.
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

fn uptime(secs: u64) -> String {
    match secs {
        s if s < 60 => format!("{s} s"),
        s if s < 3600 => format!("{} min", s / 60),
        s if s < 86_400 => format!("{} h {} min", s / 3600, s % 3600 / 60),
        s => format!("{} d {} h", s / 86_400, s % 86_400 / 3600),
    }
}

#[derive(Template)]
#[template(path = "status.html")]
struct StatusPage<'a> {
    stats: &'a Stats,
    uptime: String,
    private: bool,
    version: &'static str,
}

#[derive(Template)]
#[template(path = "catalog.html")]
struct CatalogPage<'a> {
    rows: &'a [Row],
    q: &'a str,
    q_url: String,
    sort: &'static str,
    sorts: [(&'static str, &'static str); 4],
    page: u32,
    pages: u32,
    per_page: u32,
    total: usize,
    catalog: usize,
    version: &'static str,
}

#[derive(Template)]
#[template(path = "torrent.html")]
struct TorrentPage<'a> {
    entry: &'a Entry,
    stats: &'a ScrapeStats,
    added: String,
    size: String,
    piece_length: String,
    files: Vec<(&'a str, String)>,
    version: &'static str,
}

fn rendered(result: askama::Result<String>) -> Response {
    match result {
        Ok(page) => html(StatusCode::OK, page),
        Err(e) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            &format!("page: {e}"),
            false,
        ),
    }
}

pub fn status_page(stats: &Stats, private: bool) -> Response {
    rendered(
        StatusPage {
            stats,
            uptime: uptime(stats.uptime_s),
            private,
            version: VERSION,
        }
        .render(),
    )
}

pub fn catalog_page(listing: &Listing, rows: &[Row], total: usize, catalog: usize) -> Response {
    rendered(
        CatalogPage {
            rows,
            q: &listing.q,
            q_url: percent_encoding::utf8_percent_encode(
                &listing.q,
                percent_encoding::NON_ALPHANUMERIC,
            )
            .to_string(),
            sort: listing.sort.as_str(),
            sorts: [
                ("added", "newest"),
                ("name", "name"),
                ("size", "largest"),
                ("seeders", "most seeders"),
            ],
            page: listing.page,
            pages: u32::try_from(listing.pages(total)).unwrap_or(u32::MAX),
            per_page: listing.per_page,
            total,
            catalog,
            version: VERSION,
        }
        .render(),
    )
}

pub fn torrent_page(entry: &Entry, stats: &ScrapeStats) -> Response {
    rendered(
        TorrentPage {
            entry,
            stats,
            added: entry.added_rfc3339(),
            size: human_size(entry.size),
            piece_length: human_size(entry.piece_length),
            files: entry
                .files
                .iter()
                .map(|f| (f.path.as_str(), human_size(f.length)))
                .collect(),
            version: VERSION,
        }
        .render(),
    )
}
