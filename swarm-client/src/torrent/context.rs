//! What the session shares with its torrents: the event channel, the signal channel, our
//! peer id and port, the buffer pool, disk threads and read cache, and the connection and
//! upload-slot budgets over all torrents.

use std::sync::Arc;

use tokio::sync::mpsc;

use super::signal::Signals;
use crate::disk::{BufferPool, DiskThreads, ReadCache};
use crate::events::Event;
use crate::peer::{self, PeerKey};
use crate::wire::PeerId;

/// What the session shares with its torrents.
pub struct Context {
    /// Events for the user.
    pub events: mpsc::UnboundedSender<Event>,
    /// For the tasks torrents start.
    pub signals: Signals,
    pub peer_id: PeerId,
    pub listen_port: u16,
    pub pool: Arc<BufferPool>,
    pub disk: Arc<DiskThreads>,
    pub cache: Arc<ReadCache>,
    /// Most connections over all torrents.
    pub max_peers: usize,
    /// Connections over all torrents now.
    pub connected: usize,
    /// Peers we let download from us, over all torrents, and how many we may.
    pub unchoked: usize,
    pub upload_slots: usize,
    /// A torrent asks for a choke round now rather than at the next one.
    pub rechoke: bool,
    /// Transfer rate limits every connection obeys.
    pub limits: peer::Limits,
    next_key: PeerKey,
}

impl Context {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        events: mpsc::UnboundedSender<Event>,
        signals: Signals,
        peer_id: PeerId,
        listen_port: u16,
        pool: Arc<BufferPool>,
        disk: Arc<DiskThreads>,
        cache: Arc<ReadCache>,
        max_peers: usize,
        upload_slots: usize,
        limits: peer::Limits,
    ) -> Self {
        Self {
            events,
            signals,
            peer_id,
            listen_port,
            pool,
            disk,
            cache,
            max_peers,
            connected: 0,
            unchoked: 0,
            upload_slots,
            rechoke: false,
            limits,
            next_key: 1,
        }
    }

    /// Sends an event to the user.
    pub fn emit_event(&self, event: Event) {
        let _ = self.events.send(event);
    }

    pub(super) fn emit(&self, event: Event) {
        self.emit_event(event);
    }

    pub(super) fn new_key(&mut self) -> PeerKey {
        self.next_key += 1;
        self.next_key
    }
}
