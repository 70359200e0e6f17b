//! The HTTP front end: `/announce`, `/scrape` and `/health` on an axum router, served by
//! hyper connection by connection with timeouts and size limits.

pub mod handlers;
pub mod query;
pub mod server;
