//! The swarm tracker: HTTP (BEP 3/23/7/48) and UDP (BEP 15) front ends over a swarm store
//! kept in memory or in Redis.

pub mod allowlist;
pub mod app;
pub mod config;
pub mod core;
pub mod http;
pub mod shutdown;
pub mod store;
pub mod sweeper;
pub mod udp;
