//! Swarm client library: a BitTorrent session that downloads and seeds many torrents at once.
//!
//! The layers, bottom up (each module uses only those above it in this list):
//! - [`wire`]: the peer wire protocol (handshake, messages, bitfields); [`extension`]: the
//!   BEP 6/9/10/11 pieces without I/O (extended handshake, metadata fetch and serving, PEX,
//!   allowed-fast set); [`fetch`]: a metainfo file from an http(s) URL ([`https`]: its TLS); [`storage`]: a
//!   torrent's files addressed by piece; [`state`]: resume records and metainfo copies in the
//!   state directory; [`tracker_client`]: announces over HTTP and UDP; [`events`]: what a
//!   session reports.
//! - [`peer`]: one connection as a state machine behind [`peer::PeerHandler`]; [`magnet`]: a
//!   magnet link's metadata fetched from peers (before its torrent joins a session).
//! - [`disk`]: the piece-buffer pool and the disk threads a session shares.
//! - [`torrent`]: one torrent — picker, hash checks, peers, trackers.
//! - [`session`]: many torrents on one port, with shared limits and choking.
//!
//! The library never prints: the `swarm` binary renders [`events::Event`]s.
#![forbid(unsafe_code)]
#![deny(clippy::print_stdout, clippy::print_stderr)]

pub mod disk;
pub mod events;
pub mod extension;
pub mod fetch;
pub mod https;
pub mod magnet;
pub mod peer;
pub mod peer_id;
pub mod piece_buf;
pub mod session;
pub mod state;
pub mod storage;
pub mod torrent;
pub mod tracker_client;
pub mod wire;
