//! The swarm tracker: HTTP (BEP 3/23/7/48) and UDP (BEP 15) front ends over a swarm store
//! kept in memory or in Redis.
//!
//! Layers, bottom up: [`domain`] (what an announce and a swarm are; no I/O) ← [`store`]
//! (where swarms live), [`persist`] → [`catalog`] (published metainfo), [`access`] (tokens,
//! passkeys, rate limits), [`observe`] (metrics, rates, access log) ← [`core`] (the service
//! every front end calls) ← [`http`], [`udp`] and [`web`] (the servers) ← [`app`] (starts
//! everything). No module imports one above it.
#![forbid(unsafe_code)]
#![deny(clippy::print_stdout, clippy::print_stderr)]

pub mod access;
pub mod allowlist;
pub mod app;
pub mod catalog;
pub mod config;
pub mod core;
pub mod domain;
pub mod housekeeping;
pub mod http;
pub mod logging;
pub mod observe;
pub mod persist;
pub mod reload;
pub mod shutdown;
pub mod store;
pub mod sweeper;
pub mod udp;
pub mod web;
