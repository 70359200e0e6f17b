//! Which torrent an incoming connection is for: the session's one listening port serves every
//! torrent, and the peer's handshake names the torrent by info-hash. The router answers with
//! our handshake for that torrent; an info-hash we do not serve gets nothing (the listener
//! drops the connection before sending a byte).

use std::collections::HashMap;

use metainfo::InfoHash;
use parking_lot::RwLock;

use crate::events::TorrentId;
use crate::wire::Handshake;

/// Info-hash → torrent, for the torrents of a session that accept peers.
#[derive(Debug, Default)]
pub struct Router {
    routes: RwLock<HashMap<InfoHash, (TorrentId, Handshake)>>,
}

impl Router {
    /// Routes connections for `ours.info_hash` to `torrent`, answering with `ours`.
    pub fn add(&self, torrent: TorrentId, ours: Handshake) {
        self.routes.write().insert(ours.info_hash, (torrent, ours));
    }

    /// Stops routing connections for `info_hash`.
    pub fn remove(&self, info_hash: &InfoHash) {
        self.routes.write().remove(info_hash);
    }

    /// Our handshake for `info_hash` and the torrent it belongs to, if we serve it.
    pub fn route(&self, info_hash: &InfoHash) -> Option<(Handshake, TorrentId)> {
        self.routes
            .read()
            .get(info_hash)
            .map(|(torrent, ours)| (*ours, *torrent))
    }
}
