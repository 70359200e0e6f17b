//! A torrent's connected peers as the session loop sees them: how to reach each connection's
//! task, its counters and smoothed rates, whether we unchoked it, where it listens, and what
//! it was last told through peer exchange (BEP 11).

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use crate::events::{PeerStats, TorrentId};
use crate::extension::{PexFlags, PexPeer, PexState};
use crate::peer::{self, PeerCmd, PeerKey};
use crate::wire::{self, BlockRequest, PeerId};

/// One connection.
pub struct PeerEntry {
    /// The address the connection is with.
    pub addr: SocketAddr,
    /// Where the peer accepts connections: the address we dialled, or for a peer that dialled
    /// us its address with the port from its extended handshake (unknown before that).
    pub listen: Option<SocketAddr>,
    cmd: mpsc::UnboundedSender<PeerCmd>,
    pub stats: Arc<peer::PeerStats>,
    /// Set once the handshake is done.
    pub peer_id: Option<PeerId>,
    /// The client name from its extended handshake (BEP 10), else from its peer id.
    client: Option<String>,
    pub unchoked: bool,
    /// What the peer was told through PEX, when it exchanges peers.
    pex: Option<PexState>,
    last_down: u64,
    last_up: u64,
    pub down_rate: f64,
    pub up_rate: f64,
}

impl PeerEntry {
    /// A connection just started with `addr` (`dialled`: by us, so it listens there).
    pub fn new(
        addr: SocketAddr,
        dialled: bool,
        cmd: mpsc::UnboundedSender<PeerCmd>,
        stats: Arc<peer::PeerStats>,
    ) -> Self {
        Self {
            addr,
            listen: dialled.then_some(addr),
            cmd,
            stats,
            peer_id: None,
            client: None,
            unchoked: false,
            pex: None,
            last_down: 0,
            last_up: 0,
            down_rate: 0.0,
            up_rate: 0.0,
        }
    }

    /// Sends an order to the connection's task (dropped if it ended).
    pub fn send(&self, cmd: PeerCmd) {
        let _ = self.cmd.send(cmd);
    }

    /// What its extended handshake said: `client`, the port it listens on, and whether it
    /// exchanges peers (and we may: not on a private torrent).
    pub fn greeted(&mut self, client: Option<String>, listen_port: Option<u16>, pex: bool) {
        self.client = client.filter(|c| !c.is_empty());
        if let Some(port) = listen_port {
            self.listen = Some(SocketAddr::new(self.addr.ip(), port));
        }
        if pex {
            self.pex = Some(PexState::new());
        }
    }

    fn is_seed(&self, piece_count: u32) -> bool {
        self.stats.pieces.load(Ordering::Relaxed) == piece_count
    }
}

/// Regular upload slots a seeded torrent keeps once its connected peers hold every piece
/// between them (initial seeding is over; the optimistic slot comes on top): BEP 3's four.
/// Until then every interested leecher has a slot, so each takes a distinct piece to trade;
/// afterwards the leechers can trade for everything among themselves, and a few peers keep
/// a thin uplink busy. Serving all sixteen libtorrent leechers on loopback (`bench/seed.sh`,
/// five runs) made the seed send 2.12 copies of the payload on average where four sent 1.77
/// (aria2c's seed, which unchokes three or four: 1.71), and the swarm finished no sooner.
/// A later run with 20 slots finished sooner (13.3 s against 14.7 s) sending 2.18 copies
/// against 1.61: on loopback what the seed does not send the leechers' CPU must. In the
/// lab's network sixteen libtorrent leechers finished in 55.2 s with 20 slots, 56.1 s with
/// four (three rounds each, within their spread); the README tells these runs.
pub const SPREAD_SEED_SLOTS: usize = 4;

/// A peer the choker may rank: what it gave us and took from us lately.
#[derive(Debug, Clone)]
pub struct ChokeCandidate {
    pub key: PeerKey,
    pub torrent: TorrentId,
    pub interested: bool,
    /// Bytes/s the peer sent us recently.
    pub download_rate: f64,
    /// Bytes/s we sent the peer recently.
    pub upload_rate: f64,
    pub snubbed: bool,
    /// Its torrent is complete: rank by how fast it takes our data.
    pub seeding: bool,
    /// We seed its torrent and the connected peers hold every piece between them: the
    /// torrent gets at most [`SPREAD_SEED_SLOTS`] regular slots.
    pub spread: bool,
    /// We let it download from us now.
    pub unchoked: bool,
}

/// The connections of one torrent.
#[derive(Default)]
pub struct PeerTable {
    peers: HashMap<PeerKey, PeerEntry>,
}

impl PeerTable {
    pub fn insert(&mut self, key: PeerKey, entry: PeerEntry) {
        self.peers.insert(key, entry);
    }

    pub fn remove(&mut self, key: PeerKey) -> Option<PeerEntry> {
        self.peers.remove(&key)
    }

    pub fn get(&self, key: PeerKey) -> Option<&PeerEntry> {
        self.peers.get(&key)
    }

    pub fn get_mut(&mut self, key: PeerKey) -> Option<&mut PeerEntry> {
        self.peers.get_mut(&key)
    }

    /// Connections, handshaken or not.
    pub fn len(&self) -> usize {
        self.peers.len()
    }

    /// Connections whose handshake is done.
    pub fn handshaken(&self) -> usize {
        self.peers.values().filter(|p| p.peer_id.is_some()).count()
    }

    /// Connections we unchoked.
    pub fn unchoked(&self) -> usize {
        self.peers.values().filter(|p| p.unchoked).count()
    }

    /// Sends every connection the order `cmd()` makes.
    pub fn broadcast(&self, cmd: impl Fn() -> PeerCmd) {
        for p in self.peers.values() {
            p.send(cmd());
        }
    }

    /// Endgame: `block` arrived from `from`; the others cancel their request for it.
    pub fn cancel_others(&self, from: PeerKey, block: BlockRequest) {
        for (k, p) in &self.peers {
            if *k != from {
                p.send(PeerCmd::Cancel(block));
            }
        }
    }

    /// Folds the counters of the last `elapsed` into each peer's smoothed rates.
    pub fn update_rates(&mut self, elapsed: Duration) {
        let secs = elapsed.as_secs_f64().max(1e-3);
        for p in self.peers.values_mut() {
            let down = p.stats.downloaded.load(Ordering::Relaxed);
            let up = p.stats.uploaded.load(Ordering::Relaxed);
            p.down_rate = smooth(p.down_rate, (down - p.last_down) as f64 / secs);
            p.up_rate = smooth(p.up_rate, (up - p.last_up) as f64 / secs);
            p.last_down = down;
            p.last_up = up;
        }
    }

    /// The handshaken peers of `torrent`, for the choker; `seeding`: we have all we will
    /// serve; `spread`: the peers hold every piece between them.
    pub fn choke_candidates(
        &self,
        torrent: TorrentId,
        seeding: bool,
        spread: bool,
        out: &mut Vec<ChokeCandidate>,
    ) {
        out.extend(
            self.peers
                .iter()
                .filter(|(_, p)| p.peer_id.is_some())
                .map(|(k, p)| ChokeCandidate {
                    key: *k,
                    torrent,
                    interested: p.stats.peer_interested.load(Ordering::Relaxed),
                    download_rate: p.down_rate,
                    upload_rate: p.up_rate,
                    snubbed: p.stats.snubbed.load(Ordering::Relaxed),
                    seeding,
                    spread,
                    unchoked: p.unchoked,
                }),
        );
    }

    /// Applies a choke round: the peers in `unchoke` may download from us, the others not.
    /// Returns how the number of unchoked peers changed, and the peers choked now.
    pub fn apply_choke(&mut self, unchoke: &HashSet<PeerKey>) -> (isize, Vec<PeerKey>) {
        let mut change = 0;
        let mut choked = Vec::new();
        for (k, p) in self.peers.iter_mut() {
            let want = unchoke.contains(k);
            if want == p.unchoked {
                continue;
            }
            p.unchoked = want;
            if want {
                change += 1;
                p.send(PeerCmd::Unchoke);
            } else {
                change -= 1;
                choked.push(*k);
                p.send(PeerCmd::Choke);
            }
        }
        (change, choked)
    }

    /// Unchokes up to `free` interested peers we choke, in free upload slots (a slot's peer
    /// lost interest or left), best first: those that gave us the most, or when `seeding`
    /// those we gave the least so far. Returns how many were unchoked.
    pub fn unchoke_waiting(&mut self, free: usize, seeding: bool) -> usize {
        let mut waiting: Vec<(&PeerKey, &mut PeerEntry)> = self
            .peers
            .iter_mut()
            .filter(|(_, p)| {
                !p.unchoked
                    && p.peer_id.is_some()
                    && p.stats.peer_interested.load(Ordering::Relaxed)
            })
            .collect();
        if seeding {
            waiting.sort_by_key(|(_, p)| p.stats.uploaded.load(Ordering::Relaxed));
        } else {
            waiting.sort_by(|(_, a), (_, b)| b.down_rate.total_cmp(&a.down_rate));
        }
        let mut unchoked = 0;
        for (_, p) in waiting.into_iter().take(free) {
            p.unchoked = true;
            p.send(PeerCmd::Unchoke);
            unchoked += 1;
        }
        unchoked
    }

    /// How many peers we let download from us.
    pub fn unchoked_count(&self) -> usize {
        self.peers.values().filter(|p| p.unchoked).count()
    }

    /// Chokes `key` if we unchoked it; true if we did.
    pub fn choke(&mut self, key: PeerKey) -> bool {
        match self.peers.get_mut(&key) {
            Some(p) if p.unchoked => {
                p.unchoked = false;
                p.send(PeerCmd::Choke);
                true
            }
            _ => false,
        }
    }

    /// The handshaken peers, for the progress view.
    pub fn snapshots(&self) -> Vec<PeerStats> {
        self.peers
            .values()
            .filter_map(|p| {
                let id = p.peer_id?;
                Some(PeerStats {
                    addr: p.addr,
                    client: p
                        .client
                        .clone()
                        .unwrap_or_else(|| wire::peer_id::client_name(&id)),
                    down_rate: p.down_rate,
                    up_rate: p.up_rate,
                    pieces: p.stats.pieces.load(Ordering::Relaxed),
                    downloaded: p.stats.downloaded.load(Ordering::Relaxed),
                    uploaded: p.stats.uploaded.load(Ordering::Relaxed),
                    unchoked: p.unchoked,
                })
            })
            .collect()
    }

    /// Peer exchange (BEP 11): tells each peer that exchanges peers, at most once a minute,
    /// which of our peers (by listen address) came and went since it was last told.
    pub fn exchange_peers(&mut self, piece_count: u32, now: Instant) {
        let connected: Vec<PexPeer> = self
            .peers
            .values()
            .filter(|p| p.peer_id.is_some())
            .filter_map(|p| {
                let flags = if p.is_seed(piece_count) {
                    PexFlags(PexFlags::SEED | PexFlags::REACHABLE)
                } else {
                    PexFlags(PexFlags::REACHABLE)
                };
                Some(PexPeer {
                    addr: p.listen?,
                    flags,
                })
            })
            .collect();
        for p in self.peers.values_mut() {
            let recipient = p.listen.unwrap_or(p.addr);
            let Some(state) = p.pex.as_mut() else {
                continue;
            };
            if let Some(message) = state.next_message(connected.iter().copied(), recipient, now) {
                let _ = p.cmd.send(PeerCmd::Pex(message));
            }
        }
    }
}

/// Exponential smoothing of a rate sample.
pub fn smooth(old: f64, sample: f64) -> f64 {
    0.7 * old + 0.3 * sample
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A handshaken peer `n`, interested or not, that sent us `down` bytes/s and took
    /// `uploaded` bytes; with the receiving end of its orders.
    fn peer(
        table: &mut PeerTable,
        n: u8,
        interested: bool,
        down: f64,
        uploaded: u64,
    ) -> mpsc::UnboundedReceiver<PeerCmd> {
        let (cmd, cmds) = mpsc::unbounded_channel();
        let stats = Arc::new(peer::PeerStats::default());
        stats.peer_interested.store(interested, Ordering::Relaxed);
        stats.uploaded.store(uploaded, Ordering::Relaxed);
        let mut entry = PeerEntry::new(SocketAddr::from(([10, 0, 0, n], 6881)), true, cmd, stats);
        entry.peer_id = Some(PeerId::from([n; 20]));
        entry.down_rate = down;
        table.insert(PeerKey::from(n), entry);
        cmds
    }

    fn unchoked(cmds: &mut mpsc::UnboundedReceiver<PeerCmd>) -> bool {
        std::iter::from_fn(|| cmds.try_recv().ok()).any(|c| matches!(c, PeerCmd::Unchoke))
    }

    #[test]
    fn a_free_slot_goes_at_once_to_the_best_waiting_interested_peer() {
        let mut table = PeerTable::default();
        let mut slow = peer(&mut table, 1, true, 10.0, 0);
        let mut fast = peer(&mut table, 2, true, 500.0, 0);
        let mut idle = peer(&mut table, 3, false, 900.0, 0);
        assert_eq!(table.unchoke_waiting(1, false), 1);
        assert!(unchoked(&mut fast), "the peer that gave us most");
        assert!(!unchoked(&mut slow) && !unchoked(&mut idle));
        assert_eq!(table.unchoke_waiting(5, false), 1, "only interested peers");
        assert!(unchoked(&mut slow));
        assert!(table.choke(PeerKey::from(2u8)));
        assert!(!table.choke(PeerKey::from(3u8)), "it was not unchoked");
    }

    #[test]
    fn a_seed_gives_a_free_slot_to_the_peer_it_served_least() {
        let mut table = PeerTable::default();
        let mut served = peer(&mut table, 1, true, 0.0, 5_000_000);
        let mut starved = peer(&mut table, 2, true, 0.0, 1_000);
        assert_eq!(table.unchoke_waiting(1, true), 1);
        assert!(unchoked(&mut starved));
        assert!(!unchoked(&mut served));
    }
}
