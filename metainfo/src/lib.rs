//! BitTorrent v1 bencoded formats: metainfo files (`.meta`, a.k.a. `.torrent`), their
//! info-hash, the piece geometry (piece ↔ file map), piece verification, magnet links,
//! metainfo creation, and tracker replies.
//!
//! Parsing is bounded and validated: hostile input gets a typed [`MetainfoError`], and file
//! paths from a metainfo file can never leave the directory they are saved into.

pub mod bencode;
pub mod create;
mod error;
mod geometry;
mod info;
mod info_hash;
pub mod magnet;
mod metainfo;
mod piece_length;
mod raw;
mod sha1_lanes;
pub mod tracker;
mod validate;
pub mod verify;
mod write;

pub use error::{MetainfoError, PathProblem};
pub use geometry::{FileSpan, GeometryError, PieceGeometry};
pub use info::{FileEntry, Info};
pub use info_hash::InfoHash;
pub use magnet::{Magnet, MagnetError};
pub use metainfo::{MAX_DEPTH, MAX_METAINFO_SIZE, MAX_VALUES, Metainfo};
pub use piece_length::{MAX_AUTO_PIECE_LENGTH, MIN_AUTO_PIECE_LENGTH, auto_piece_length};
pub use sha1_lanes::sha1_many;
pub use validate::{MAX_FILES, MAX_PIECE_LENGTH, MAX_TOTAL_LENGTH, check_component};
