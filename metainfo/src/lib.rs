//! BitTorrent v1 bencoded formats: metainfo files (`.meta`, a.k.a. `.torrent`), their
//! info-hash, the piece ↔ file map, magnet links, metainfo creation, and tracker replies.
//!
//! Parsing is bounded and validated: hostile input gets a typed [`MetainfoError`], and file
//! paths from a metainfo file can never leave the directory they are saved into.

pub mod bencode;
pub mod create;
mod error;
mod info;
mod info_hash;
pub mod magnet;
mod metainfo;
mod piece_length;
mod piece_map;
mod raw;
mod sha1_lanes;
pub mod tracker;
mod validate;
mod write;

pub use error::{MetainfoError, PathProblem};
pub use info::{FileEntry, Info};
pub use info_hash::InfoHash;
pub use magnet::{Magnet, MagnetError};
pub use metainfo::{MAX_DEPTH, MAX_METAINFO_SIZE, MAX_VALUES, Metainfo};
pub use piece_length::{MAX_AUTO_PIECE_LENGTH, MIN_AUTO_PIECE_LENGTH, auto_piece_length};
pub use piece_map::{FileSpan, PieceMap};
pub use sha1_lanes::sha1_many;
pub use validate::{MAX_FILES, MAX_PIECE_LENGTH, MAX_TOTAL_LENGTH, check_component};
