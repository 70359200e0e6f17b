//! A torrent's link to its trackers: the announce task (see `tracker_client::announcer`),
//! the totals it reports, and the peers and news it brings back as [`Signal`]s.

use std::time::{Duration, Instant};

use metainfo::InfoHash;
use tokio::sync::{mpsc, watch};

use super::signal::{Signal, Signals};
use crate::events::TorrentId;
use crate::tracker_client::announcer::{self, Announcer, TransferStats};
use crate::wire::PeerId;

/// Ask the trackers for more peers at most this often while short of peers.
const NEED_PEERS_EVERY: Duration = Duration::from_secs(15);
/// How long the `stopped` announces may take at the end.
const STOP_WAIT: Duration = Duration::from_secs(8);

/// The running announce task of one torrent.
pub struct Trackers {
    events: mpsc::Sender<announcer::Event>,
    stats: watch::Sender<TransferStats>,
    task: tokio::task::JoinHandle<()>,
    /// Has any tracker answered?
    pub reached: bool,
    last_need_peers: Instant,
}

impl Trackers {
    /// Starts announcing torrent `id` to `tiers` (BEP 12), or `None` when none is usable.
    pub fn start(
        id: TorrentId,
        tiers: Vec<Vec<String>>,
        info_hash: InfoHash,
        peer_id: PeerId,
        port: u16,
        stats: TransferStats,
        signals: Signals,
    ) -> Option<Trackers> {
        let announcer = Announcer::new(tiers, info_hash, peer_id, port);
        if !announcer.has_trackers() {
            return None;
        }
        let (events_tx, events_rx) = mpsc::channel(8);
        let (stats_tx, stats_rx) = watch::channel(stats);
        let (peers_tx, mut peers_rx) = mpsc::channel(16);
        let (status_tx, mut status_rx) = mpsc::channel(16);
        let task = tokio::spawn(announcer.run(stats_rx, events_rx, peers_tx, status_tx));
        // Forward what the announcer finds to the session loop.
        let forward = signals.clone();
        tokio::spawn(async move {
            while let Some(addrs) = peers_rx.recv().await {
                forward.send(id, Signal::TrackerPeers(addrs));
            }
        });
        tokio::spawn(async move {
            while let Some(status) = status_rx.recv().await {
                signals.send(id, Signal::Tracker(status));
            }
        });
        Some(Trackers {
            events: events_tx,
            stats: stats_tx,
            task,
            reached: false,
            last_need_peers: Instant::now(),
        })
    }

    /// Keeps the totals the next announce reports current.
    pub fn update(&self, stats: TransferStats) {
        self.stats.send_if_modified(|s| {
            let changed = *s != stats;
            *s = stats;
            changed
        });
    }

    /// Asks for more peers (at most every [`NEED_PEERS_EVERY`]).
    pub fn need_peers(&mut self) {
        if self.last_need_peers.elapsed() > NEED_PEERS_EVERY {
            self.last_need_peers = Instant::now();
            let _ = self.events.try_send(announcer::Event::NeedPeers);
        }
    }

    /// Announces `completed`.
    pub fn completed(&self) {
        let _ = self.events.try_send(announcer::Event::Completed);
    }

    /// Announces `stopped` with the final totals and waits (boundedly) for the task to end.
    pub async fn stop(self, stats: TransferStats) {
        self.update(stats);
        let _ = self.events.send(announcer::Event::Stopped).await;
        let _ = tokio::time::timeout(STOP_WAIT, self.task).await;
    }
}
