//! The swarm tracker: HTTP (BEP 3/23/7/48) and UDP (BEP 15) front ends over a swarm store
//! kept in memory or in Redis.
//!
//! Layers, bottom up: [`domain`] (what an announce and a swarm are; no I/O) ← [`store`]
//! (where swarms live) ← [`core`] (the service both front ends call) ← [`http`] and [`udp`]
//! (the servers) ← [`app`] (starts everything). No module imports one above it.
#![forbid(unsafe_code)]

pub mod allowlist;
pub mod app;
pub mod config;
pub mod core;
pub mod domain;
pub mod http;
pub mod shutdown;
pub mod store;
pub mod sweeper;
pub mod udp;
