//! The announce task: BEP 12 tiers with fallback, re-announce at the tracker's interval,
//! backoff while every tracker is down, and the `started` / `completed` / `stopped` events.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::time::Duration;

use metainfo::InfoHash;
use metainfo::tracker::AnnounceReply;
use rand::seq::SliceRandom;
use tokio::sync::{mpsc, watch};
use tokio::time::{Instant, sleep_until};

use super::error::TrackerError;
use super::http;
use super::request::{AnnounceEvent, AnnounceRequest};
use super::tracker::Tracker;
use super::udp::UdpConfig;
use crate::wire::PeerId;

/// What the download engine tells the announcer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// Every piece is verified: announce `completed` (once).
    Completed,
    /// Short of peers: re-announce as soon as the tracker's minimum interval allows.
    NeedPeers,
    /// Shutting down: announce `stopped` (bounded time) and return.
    Stopped,
}

/// Transfer totals reported in announces, kept current by the engine.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TransferStats {
    pub uploaded: u64,
    pub downloaded: u64,
    pub left: u64,
}

/// Something worth showing the user about the trackers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrackerStatus {
    /// A tracker answered.
    Announced {
        url: String,
        peers: usize,
        seeders: Option<u64>,
        leechers: Option<u64>,
        next_in: Duration,
    },
    /// A tracker's `warning message`.
    Warning { url: String, message: String },
    /// One tracker failed (or its URL is unusable); others may still work.
    Failed { url: String, error: String },
    /// Every tracker failed this round; the next round is in `retry_in`.
    AllFailed { retry_in: Duration },
}

/// Tuning for [`Announcer`]; the defaults suit the command-line client.
#[derive(Debug, Clone)]
pub struct AnnouncerConfig {
    /// Peers asked for per announce.
    pub numwant: u32,
    /// Whole-request timeout for HTTP announces.
    pub http_timeout: Duration,
    /// Retry schedule for UDP announces.
    pub udp: UdpConfig,
    /// First wait after a round in which every tracker failed; doubles per failed round.
    pub retry_initial: Duration,
    /// Longest wait between failed rounds.
    pub retry_max: Duration,
    /// Shortest wait between announces, whatever the tracker says.
    pub min_reannounce: Duration,
    /// Longest wait between announces, whatever the tracker says.
    pub max_reannounce: Duration,
    /// Wait after a reply before a [`Event::NeedPeers`] announce when the tracker gave no
    /// `min interval`.
    pub default_min_interval: Duration,
    /// Time allowed for the `stopped` announces on shutdown.
    pub stop_timeout: Duration,
}

impl Default for AnnouncerConfig {
    fn default() -> Self {
        Self {
            numwant: 50,
            http_timeout: Duration::from_secs(15),
            udp: UdpConfig::default(),
            retry_initial: Duration::from_secs(5),
            retry_max: Duration::from_secs(300),
            min_reannounce: Duration::from_secs(1),
            max_reannounce: Duration::from_secs(3600),
            default_min_interval: Duration::from_secs(30),
            stop_timeout: Duration::from_secs(5),
        }
    }
}

/// A tracker and whether it has accepted our `started`.
#[derive(Debug)]
struct TierEntry {
    tracker: Tracker,
    started: bool,
}

/// The announce task for one torrent. Build it with [`Announcer::new`], then spawn
/// [`Announcer::run`].
#[derive(Debug)]
pub struct Announcer {
    tiers: Vec<Vec<TierEntry>>,
    rejected: Vec<(String, TrackerError)>,
    info_hash: InfoHash,
    peer_id: PeerId,
    port: u16,
    key: u32,
    config: AnnouncerConfig,
}

/// Where the announce schedule stands.
#[derive(Debug, Default)]
struct Schedule {
    /// The torrent said it completed and no tracker has heard `completed` yet.
    completed_pending: bool,
    completed_sent: bool,
    /// Some announce went out with `left > 0`: reaching `left = 0` later is a completion the
    /// tracker must hear as `completed`, whichever announce first carries `left = 0`.
    announced_incomplete: bool,
    failed_rounds: u32,
    /// When the last successful announce finished, and the soonest the tracker allows another.
    last_success: Option<(Instant, Duration)>,
}

impl Announcer {
    /// An announcer for `trackers` (BEP 12 tiers, e.g. `Metainfo::trackers()`), with the
    /// default [`AnnouncerConfig`]. Unusable URLs are reported by `run` as
    /// [`TrackerStatus::Failed`] and skipped.
    pub fn new(
        trackers: Vec<Vec<String>>,
        info_hash: InfoHash,
        peer_id: PeerId,
        port: u16,
    ) -> Self {
        Self::with_config(
            trackers,
            info_hash,
            peer_id,
            port,
            AnnouncerConfig::default(),
        )
    }

    /// Like [`Announcer::new`] with explicit tuning.
    pub fn with_config(
        trackers: Vec<Vec<String>>,
        info_hash: InfoHash,
        peer_id: PeerId,
        port: u16,
        config: AnnouncerConfig,
    ) -> Self {
        let http = http::client(config.http_timeout);
        let mut seen = HashSet::new();
        let mut rejected = Vec::new();
        let mut tiers = Vec::new();
        for tier in trackers {
            let mut entries = Vec::new();
            for url in tier {
                let url = url.trim().to_owned();
                if !seen.insert(url.clone()) {
                    continue;
                }
                let opened = match &http {
                    Ok(client) => Tracker::open(&url, client, config.udp),
                    Err(error) => Err(TrackerError::InvalidUrl {
                        url: url.clone(),
                        reason: error.to_string(),
                    }),
                };
                match opened {
                    Ok(tracker) => entries.push(TierEntry {
                        tracker,
                        started: false,
                    }),
                    Err(error) => rejected.push((url, error)),
                }
            }
            entries.shuffle(&mut rand::rng());
            if !entries.is_empty() {
                tiers.push(entries);
            }
        }
        Self {
            tiers,
            rejected,
            info_hash,
            peer_id,
            port,
            key: rand::random(),
            config,
        }
    }

    /// Whether any usable tracker URL was given.
    pub fn has_trackers(&self) -> bool {
        !self.tiers.is_empty()
    }

    /// Announces until [`Event::Stopped`] arrives (or `events` closes), then announces
    /// `stopped` to every tracker that accepted `started`, for at most
    /// [`AnnouncerConfig::stop_timeout`]. Peers from each reply go to `peers_tx`; notable
    /// happenings go to `status_tx` (dropped when it is full, never blocking).
    pub async fn run(
        mut self,
        stats: watch::Receiver<TransferStats>,
        mut events: mpsc::Receiver<Event>,
        peers_tx: mpsc::Sender<Vec<SocketAddr>>,
        status_tx: mpsc::Sender<TrackerStatus>,
    ) {
        for (url, error) in std::mem::take(&mut self.rejected) {
            report(
                &status_tx,
                TrackerStatus::Failed {
                    url,
                    error: error.to_string(),
                },
            );
        }
        if self.tiers.is_empty() {
            return;
        }
        let mut schedule = Schedule::default();
        let mut next = Instant::now();
        'running: loop {
            tokio::select! {
                event = events.recv() => {
                    if !schedule.handle(event, &mut next, &self.config) {
                        break 'running;
                    }
                    continue 'running;
                }
                () = sleep_until(next) => {}
            }
            // Whether leaving will send `stopped` to someone (a tracker accepted `started`).
            let farewell_due = self.tiers.iter().flatten().any(|e| e.started);
            let base = self.request(&stats, AnnounceEvent::None);
            let completing = schedule.owes_completed(base.left);
            schedule.announced_incomplete |= base.left > 0;
            let round = announce_round(&mut self.tiers, &base, completing, &status_tx);
            tokio::pin!(round);
            // Once told to stop, the announce in flight still lands first (for a bounded
            // while) when a `stopped` will follow: one overtaking it (on another connection,
            // or handled by another tracker worker) would be undone by it, leaving us listed
            // after we left. With no `stopped` to send, we leave at once (a hung tracker
            // does not delay Ctrl-C).
            let mut stopping: Option<Instant> = None;
            let outcome = loop {
                tokio::select! {
                    outcome = &mut round => break Some(outcome),
                    event = events.recv(), if stopping.is_none() => {
                        if !schedule.handle(event, &mut next, &self.config) {
                            if !farewell_due {
                                break 'running;
                            }
                            stopping = Some(Instant::now() + self.config.stop_timeout / 2);
                        }
                    }
                    () = sleep_until(stopping.unwrap_or_else(Instant::now)), if stopping.is_some() => {
                        break None;
                    }
                }
            };
            let Some(outcome) = outcome else {
                break 'running;
            };
            if stopping.is_some() {
                schedule.book_completed(&outcome);
                break 'running;
            }
            next = schedule
                .after_round(outcome, &self.config, &peers_tx, &status_tx)
                .await;
        }
        let completed_owed = schedule.owes_completed(stats.borrow().left);
        self.stop(&stats, completed_owed).await;
    }

    /// The farewell, within the stop timeout: `completed` first when it is owed (the download
    /// finished just before we were told to stop, so the tracker counts it), then `stopped` to
    /// every tracker that heard `started`.
    async fn stop(&mut self, stats: &watch::Receiver<TransferStats>, completed_owed: bool) {
        let timeout = self.config.stop_timeout;
        let farewell = async {
            if completed_owed {
                let request = self.request(stats, AnnounceEvent::Completed);
                let none_started = !self.tiers.iter().flatten().any(|e| e.started);
                let announces = self
                    .tiers
                    .iter_mut()
                    .filter_map(|tier| {
                        // Trackers that heard `started`, or else each tier's first.
                        if none_started {
                            tier.first_mut()
                        } else {
                            tier.iter_mut().find(|e| e.started)
                        }
                    })
                    .map(|entry| entry.tracker.announce(&request));
                for reply in futures::future::join_all(announces).await {
                    if let Err(error) = reply {
                        tracing::debug!(%error, "completed announce failed");
                    }
                }
            }
            let request = self.request(stats, AnnounceEvent::Stopped);
            let announces = self
                .tiers
                .iter_mut()
                .flatten()
                .filter(|entry| entry.started)
                .map(|entry| entry.tracker.announce(&request));
            futures::future::join_all(announces).await;
        };
        if tokio::time::timeout(timeout, farewell).await.is_err() {
            tracing::debug!("stopped announce timed out");
        }
    }

    fn request(
        &self,
        stats: &watch::Receiver<TransferStats>,
        event: AnnounceEvent,
    ) -> AnnounceRequest {
        let stats = *stats.borrow();
        AnnounceRequest {
            info_hash: self.info_hash,
            peer_id: self.peer_id,
            port: self.port,
            uploaded: stats.uploaded,
            downloaded: stats.downloaded,
            left: stats.left,
            event,
            numwant: self.config.numwant,
            key: self.key,
        }
    }
}

/// The result of one pass over the tiers.
struct RoundOutcome {
    reply: Option<(String, AnnounceReply)>,
    sent_completed: bool,
}

/// Tries trackers tier by tier, in order, until one answers; the one that answers moves to
/// the front of its tier (BEP 12). A tracker that has not accepted `started` gets it;
/// otherwise `completed` is sent when `completing`.
async fn announce_round(
    tiers: &mut [Vec<TierEntry>],
    base: &AnnounceRequest,
    completing: bool,
    status_tx: &mpsc::Sender<TrackerStatus>,
) -> RoundOutcome {
    for tier in tiers.iter_mut() {
        for position in 0..tier.len() {
            let entry = &mut tier[position];
            let event = match (entry.started, completing) {
                (false, _) => AnnounceEvent::Started,
                (true, true) => AnnounceEvent::Completed,
                (true, false) => AnnounceEvent::None,
            };
            let request = AnnounceRequest {
                event,
                ..base.clone()
            };
            match entry.tracker.announce(&request).await {
                Ok(reply) => {
                    entry.started = true;
                    let url = entry.tracker.url().to_owned();
                    tier[..=position].rotate_right(1);
                    return RoundOutcome {
                        reply: Some((url, reply)),
                        sent_completed: event == AnnounceEvent::Completed,
                    };
                }
                Err(error) => {
                    tracing::debug!(url = entry.tracker.url(), %error, "announce failed");
                    report(
                        status_tx,
                        TrackerStatus::Failed {
                            url: entry.tracker.url().to_owned(),
                            error: error.to_string(),
                        },
                    );
                }
            }
        }
    }
    RoundOutcome {
        reply: None,
        sent_completed: false,
    }
}

impl Schedule {
    /// Whether the next announce, reporting `left`, must be `completed`. Either the torrent
    /// said so, or `left` fell to 0 since an announce that reported more: a plain announce
    /// with `left = 0` would make the tracker count us as a seeder already, and the
    /// `completed` after it would no longer be counted as a download.
    fn owes_completed(&self, left: u64) -> bool {
        !self.completed_sent && (self.completed_pending || (self.announced_incomplete && left == 0))
    }

    /// Applies an engine event; returns false when the announcer should stop.
    fn handle(
        &mut self,
        event: Option<Event>,
        next: &mut Instant,
        config: &AnnouncerConfig,
    ) -> bool {
        match event {
            Some(Event::Completed) => {
                if !self.completed_sent {
                    self.completed_pending = true;
                    *next = Instant::now();
                }
                true
            }
            Some(Event::NeedPeers) => {
                // Only between successful announces: a backoff is not cut short.
                if let (Some((at, min_gap)), 0) = (self.last_success, self.failed_rounds) {
                    let allowed = at + min_gap.max(config.min_reannounce);
                    *next = (*next).min(allowed.max(Instant::now()));
                }
                true
            }
            Some(Event::Stopped) | None => false,
        }
    }

    /// Notes that a tracker heard `completed` in `outcome`'s round.
    fn book_completed(&mut self, outcome: &RoundOutcome) {
        if outcome.sent_completed {
            self.completed_pending = false;
            self.completed_sent = true;
        }
    }

    /// Books a round's outcome: hands over peers, reports, and returns when to announce next.
    async fn after_round(
        &mut self,
        outcome: RoundOutcome,
        config: &AnnouncerConfig,
        peers_tx: &mpsc::Sender<Vec<SocketAddr>>,
        status_tx: &mpsc::Sender<TrackerStatus>,
    ) -> Instant {
        let now = Instant::now();
        self.book_completed(&outcome);
        let Some((url, reply)) = outcome.reply else {
            self.failed_rounds = self.failed_rounds.saturating_add(1);
            let retry_in = backoff(self.failed_rounds, config);
            report(status_tx, TrackerStatus::AllFailed { retry_in });
            return now + retry_in;
        };
        self.failed_rounds = 0;
        let (interval, min_gap) = reannounce_interval(&reply, config);
        self.last_success = Some((now, min_gap));
        let peers = usable_peers(&reply);
        if let Some(message) = &reply.warning_message {
            report(
                status_tx,
                TrackerStatus::Warning {
                    url: url.clone(),
                    message: message.clone(),
                },
            );
        }
        report(
            status_tx,
            TrackerStatus::Announced {
                url,
                peers: peers.len(),
                seeders: reply.complete,
                leechers: reply.incomplete,
                next_in: interval,
            },
        );
        if !peers.is_empty() {
            let _ = peers_tx.send(peers).await;
        }
        if self.completed_pending {
            // `started` went out first; `completed` follows at once.
            return now;
        }
        now + interval
    }
}

/// The wait before the next regular announce and the minimum gap between announces.
fn reannounce_interval(reply: &AnnounceReply, config: &AnnouncerConfig) -> (Duration, Duration) {
    let min_gap = reply.min_interval.map_or(config.default_min_interval, |s| {
        Duration::from_secs(s.into())
    });
    let interval = Duration::from_secs(reply.interval.into())
        .max(
            reply
                .min_interval
                .map_or(Duration::ZERO, |s| Duration::from_secs(s.into())),
        )
        .clamp(
            config.min_reannounce,
            config.max_reannounce.max(config.min_reannounce),
        );
    (interval, min_gap)
}

/// `retry_initial * 2^(failed_rounds - 1)`, at most `retry_max`.
fn backoff(failed_rounds: u32, config: &AnnouncerConfig) -> Duration {
    let doublings = failed_rounds.saturating_sub(1).min(16);
    config
        .retry_initial
        .saturating_mul(1 << doublings)
        .min(config.retry_max)
}

/// The reply's peers worth connecting to: no port 0, no unspecified, broadcast or
/// multicast addresses, no duplicates.
fn usable_peers(reply: &AnnounceReply) -> Vec<SocketAddr> {
    let mut seen = HashSet::new();
    reply
        .peers
        .iter()
        .map(|peer| peer.addr)
        .filter(|addr| {
            let ip = addr.ip();
            let broadcast = matches!(ip, std::net::IpAddr::V4(v4) if v4.is_broadcast());
            addr.port() != 0 && !ip.is_unspecified() && !ip.is_multicast() && !broadcast
        })
        .filter(|addr| seen.insert(*addr))
        .collect()
}

fn report(status_tx: &mpsc::Sender<TrackerStatus>, status: TrackerStatus) {
    let _ = status_tx.try_send(status);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tracker_client::test_support::{HttpStub, UdpBehavior, UdpStub, closed_port};

    struct Harness {
        stats: watch::Sender<TransferStats>,
        events: mpsc::Sender<Event>,
        peers: mpsc::Receiver<Vec<SocketAddr>>,
        status: mpsc::Receiver<TrackerStatus>,
        task: tokio::task::JoinHandle<()>,
    }

    fn quick_config() -> AnnouncerConfig {
        AnnouncerConfig {
            http_timeout: Duration::from_secs(5),
            udp: UdpConfig {
                initial_timeout: Duration::from_millis(100),
                attempts: 2,
            },
            retry_initial: Duration::from_millis(100),
            retry_max: Duration::from_millis(400),
            min_reannounce: Duration::from_millis(1),
            stop_timeout: Duration::from_secs(2),
            ..AnnouncerConfig::default()
        }
    }

    fn start(trackers: Vec<Vec<String>>, config: AnnouncerConfig) -> Harness {
        let announcer = Announcer::with_config(
            trackers,
            InfoHash([3; 20]),
            *b"-SW0100-123456789012",
            7000,
            config,
        );
        let (stats, stats_rx) = watch::channel(TransferStats {
            left: 100,
            ..TransferStats::default()
        });
        let (events, events_rx) = mpsc::channel(8);
        let (peers_tx, peers) = mpsc::channel(8);
        let (status_tx, status) = mpsc::channel(64);
        let task = tokio::spawn(announcer.run(stats_rx, events_rx, peers_tx, status_tx));
        Harness {
            stats,
            events,
            peers,
            status,
            task,
        }
    }

    async fn next_peers(harness: &mut Harness) -> Vec<SocketAddr> {
        tokio::time::timeout(Duration::from_secs(10), harness.peers.recv())
            .await
            .expect("peers within 10 s")
            .expect("announcer alive")
    }

    async fn stop(harness: Harness) {
        harness.events.send(Event::Stopped).await.unwrap();
        tokio::time::timeout(Duration::from_secs(10), harness.task)
            .await
            .expect("announcer stops in time")
            .unwrap();
    }

    const ONE_PEER: &[u8] = b"d8:intervali3600e5:peers6:\x7f\x00\x00\x01\x1b\x58e";

    fn events_of(requests: &[String]) -> Vec<&str> {
        requests
            .iter()
            .map(|r| {
                r.split("&event=")
                    .nth(1)
                    .map_or("", |e| e.split('&').next().unwrap_or(""))
            })
            .collect()
    }

    #[tokio::test]
    async fn started_completed_stopped_once_each() {
        let stub = HttpStub::start(vec![ONE_PEER.to_vec()]).await;
        let mut harness = start(vec![vec![stub.url("/announce")]], quick_config());
        assert_eq!(
            next_peers(&mut harness).await,
            vec!["127.0.0.1:7000".parse().unwrap()]
        );
        harness.stats.send_replace(TransferStats {
            uploaded: 5,
            downloaded: 100,
            left: 0,
        });
        harness.events.send(Event::Completed).await.unwrap();
        next_peers(&mut harness).await;
        harness.events.send(Event::Completed).await.unwrap();
        stop(harness).await;
        let requests = stub.requests();
        assert_eq!(events_of(&requests), ["started", "completed", "stopped"]);
        assert!(
            requests[1].contains("&downloaded=100&left=0"),
            "{}",
            requests[1]
        );
    }

    #[tokio::test]
    async fn completed_is_announced_even_when_stopped_follows_at_once() {
        // `swarm get` completes and exits right away: both events are queued before the
        // announcer looks; the tracker must still count the download.
        let stub = HttpStub::start(vec![ONE_PEER.to_vec()]).await;
        let mut harness = start(vec![vec![stub.url("/announce")]], quick_config());
        next_peers(&mut harness).await;
        harness.stats.send_replace(TransferStats {
            uploaded: 0,
            downloaded: 100,
            left: 0,
        });
        harness.events.send(Event::Completed).await.unwrap();
        stop(harness).await;
        assert_eq!(
            events_of(&stub.requests()),
            ["started", "completed", "stopped"]
        );
    }

    #[tokio::test]
    async fn an_announce_that_first_reports_left_zero_is_completed_even_before_the_event() {
        // The regular re-announce can run between the torrent's last verified piece (stats say
        // `left=0`) and the `Completed` event: sent as a plain announce it would make the
        // tracker count us as a seeder, and the later `completed` would not count.
        let body = b"d8:intervali1e5:peers6:\x7f\x00\x00\x01\x1b\x58e";
        let stub = HttpStub::start(vec![body.to_vec()]).await;
        let mut harness = start(vec![vec![stub.url("/announce")]], quick_config());
        next_peers(&mut harness).await;
        harness.stats.send_replace(TransferStats {
            uploaded: 0,
            downloaded: 100,
            left: 0,
        });
        next_peers(&mut harness).await; // the re-announce after the 1 s interval
        harness.events.send(Event::Completed).await.unwrap();
        stop(harness).await;
        assert_eq!(
            events_of(&stub.requests()),
            ["started", "completed", "stopped"]
        );
    }

    #[tokio::test]
    async fn falls_back_to_the_next_tier_and_keeps_going() {
        let dead = format!("http://127.0.0.1:{}/announce", closed_port().await);
        let stub = HttpStub::start(vec![
            b"d8:intervali1e5:peers6:\x7f\x00\x00\x01\x1b\x58e".to_vec(),
        ])
        .await;
        let mut harness = start(
            vec![vec![dead.clone()], vec![stub.url("/announce")]],
            quick_config(),
        );
        next_peers(&mut harness).await;
        next_peers(&mut harness).await; // re-announce after the 1 s interval
        let mut statuses = Vec::new();
        while let Ok(status) = harness.status.try_recv() {
            statuses.push(status);
        }
        assert!(
            statuses
                .iter()
                .any(|s| matches!(s, TrackerStatus::Failed { url, .. } if *url == dead))
        );
        assert!(
            statuses
                .iter()
                .any(|s| matches!(s, TrackerStatus::Announced { .. }))
        );
        stop(harness).await;
        assert_eq!(events_of(&stub.requests()), ["started", "", "stopped"]);
    }

    #[tokio::test]
    async fn working_tracker_moves_to_the_front_of_its_tier() {
        let dead = format!("http://127.0.0.1:{}/announce", closed_port().await);
        let stub = HttpStub::start(vec![ONE_PEER.to_vec()]).await;
        let mut announcer = Announcer::with_config(
            vec![vec![dead, stub.url("/announce")]],
            InfoHash([3; 20]),
            [1; 20],
            7000,
            quick_config(),
        );
        // Make the order deterministic: dead tracker first.
        announcer.tiers[0].sort_by_key(|entry| entry.tracker.url() == stub.url("/announce"));
        let (status_tx, _status) = mpsc::channel(8);
        let base = AnnounceRequest {
            info_hash: InfoHash([3; 20]),
            peer_id: [1; 20],
            port: 7000,
            uploaded: 0,
            downloaded: 0,
            left: 1,
            event: AnnounceEvent::None,
            numwant: 50,
            key: 1,
        };
        let outcome = announce_round(&mut announcer.tiers, &base, false, &status_tx).await;
        assert!(outcome.reply.is_some());
        assert_eq!(announcer.tiers[0][0].tracker.url(), stub.url("/announce"));
    }

    #[tokio::test]
    async fn need_peers_reannounces_after_min_interval() {
        let body = b"d8:intervali3600e12:min intervali1e5:peers6:\x7f\x00\x00\x01\x1b\x58e";
        let stub = HttpStub::start(vec![body.to_vec()]).await;
        let mut harness = start(vec![vec![stub.url("/announce")]], quick_config());
        next_peers(&mut harness).await;
        harness.events.send(Event::NeedPeers).await.unwrap();
        next_peers(&mut harness).await;
        stop(harness).await;
        assert_eq!(events_of(&stub.requests()), ["started", "", "stopped"]);
    }

    #[tokio::test]
    async fn backs_off_while_every_tracker_is_down() {
        let dead = format!("http://127.0.0.1:{}/announce", closed_port().await);
        let mut harness = start(vec![vec![dead]], quick_config());
        let mut waits = Vec::new();
        while waits.len() < 4 {
            let status = tokio::time::timeout(Duration::from_secs(10), harness.status.recv())
                .await
                .unwrap()
                .unwrap();
            if let TrackerStatus::AllFailed { retry_in } = status {
                waits.push(retry_in.as_millis());
            }
        }
        assert_eq!(waits, [100, 200, 400, 400]);
        stop(harness).await;
    }

    #[tokio::test]
    async fn udp_tracker_in_a_tier() {
        let stub = UdpStub::start(
            "127.0.0.1:0",
            UdpBehavior {
                interval: 3600,
                peers: vec!["127.0.0.1:7100".parse().unwrap()],
                ..UdpBehavior::default()
            },
        )
        .await;
        let mut harness = start(vec![vec![stub.url()]], quick_config());
        assert_eq!(
            next_peers(&mut harness).await,
            vec!["127.0.0.1:7100".parse().unwrap()]
        );
        stop(harness).await;
        assert_eq!(stub.seen().events, [2, 3]); // started, stopped
    }

    #[tokio::test]
    async fn reports_unsupported_urls_and_failure_reasons() {
        let stub = HttpStub::start(vec![b"d14:failure reason7:go awaye".to_vec()]).await;
        let mut harness = start(
            vec![
                vec!["ftp://t.example/announce".into()],
                vec![stub.url("/announce")],
            ],
            quick_config(),
        );
        let mut errors = Vec::new();
        while errors.len() < 2 {
            let status = tokio::time::timeout(Duration::from_secs(10), harness.status.recv())
                .await
                .unwrap()
                .unwrap();
            if let TrackerStatus::Failed { error, .. } = status {
                errors.push(error);
            }
        }
        assert!(
            errors[0].contains("unsupported tracker URL scheme `ftp`"),
            "{errors:?}"
        );
        assert_eq!(errors[1], "tracker refused: go away");
        stop(harness).await;
        assert!(
            !events_of(&stub.requests()).contains(&"stopped"),
            "never started"
        );
    }

    #[tokio::test]
    async fn no_trackers_returns_at_once() {
        let harness = start(vec![vec!["gopher://x".into()]], quick_config());
        tokio::time::timeout(Duration::from_secs(5), harness.task)
            .await
            .unwrap()
            .unwrap();
    }

    #[test]
    fn interval_respects_min_interval_and_bounds() {
        let config = AnnouncerConfig::default();
        let reply = AnnounceReply {
            interval: 10,
            min_interval: Some(60),
            ..AnnounceReply::default()
        };
        assert_eq!(
            reannounce_interval(&reply, &config),
            (Duration::from_secs(60), Duration::from_secs(60))
        );
        let reply = AnnounceReply {
            interval: 0,
            ..AnnounceReply::default()
        };
        assert_eq!(
            reannounce_interval(&reply, &config).0,
            Duration::from_secs(1)
        );
        let reply = AnnounceReply {
            interval: u32::MAX,
            ..AnnounceReply::default()
        };
        assert_eq!(
            reannounce_interval(&reply, &config).0,
            Duration::from_secs(3600)
        );
    }

    #[test]
    fn filters_unusable_peers() {
        let reply = AnnounceReply {
            peers: [
                "1.2.3.4:0",
                "0.0.0.0:80",
                "224.0.0.1:80",
                "1.2.3.4:80",
                "1.2.3.4:80",
                "[::1]:9",
            ]
            .iter()
            .map(|a| a.parse::<SocketAddr>().unwrap().into())
            .collect(),
            ..AnnounceReply::default()
        };
        let expected: Vec<SocketAddr> =
            vec!["1.2.3.4:80".parse().unwrap(), "[::1]:9".parse().unwrap()];
        assert_eq!(usable_peers(&reply), expected);
    }
}
