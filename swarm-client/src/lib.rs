//! Swarm client library: the peer wire protocol, piece picker, choker, download engine and
//! the storage, resume and progress pieces `swarm` is built from.
pub mod choker;
pub mod cli;
pub mod engine;
pub mod extension;
pub mod fetch;
pub mod peer;
pub mod peer_id;
pub mod picker;
pub mod piece_buf;
pub mod progress;
pub mod resume;
pub mod storage;
pub mod tracker_client;
pub mod verify;
pub mod wire;
