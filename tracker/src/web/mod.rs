//! The web side of the tracker: the catalog (`/torrents`), the status page (`/`), `/stats`,
//! `/metrics` and passkey management (`/passkeys`). Announces and scrapes are in
//! [`crate::http`]; both are served by [`crate::http::server`].

pub mod catalog;
pub mod client;
pub mod passkeys;
pub mod respond;
pub mod status;
pub mod templates;

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};

use crate::core::Tracker;

/// The web routes (merged into the HTTP router).
pub fn router() -> Router<Arc<Tracker>> {
    Router::new()
        .route("/", get(status::page))
        .route("/stats", get(status::json))
        .route("/metrics", get(status::metrics))
        .route("/torrents", get(catalog::list).post(catalog::publish))
        .route("/torrents/{id}", get(catalog::show).delete(catalog::delete))
        .route("/passkeys", post(passkeys::add))
        .route("/passkeys/{key}", axum::routing::delete(passkeys::remove))
}
