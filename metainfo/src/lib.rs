//! BitTorrent v1 bencoded formats.
