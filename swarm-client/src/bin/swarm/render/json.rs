//! `--json`: one JSON object per line on stdout, `{"event": NAME, …}`, for scripts.
//!
//! Events: `listening`, `added`, `recheck` (at most twice a second per torrent, and at the
//! end), `started` (with `incomplete`: the files a seed-only torrent lacks, and where), `peer_connected`, `peer_dropped`, `peer_banned`, `piece_failed`,
//! `tracker_announced`, `tracker_warning`, `tracker_error`, `trackers_down`, `complete`,
//! `seed_goal_reached`,
//! `error`, `done` (a torrent's summary), and `progress` (each torrent, twice a second).
//! Every event about a torrent carries `torrent` (its number in this run) and `name`.

use std::collections::HashMap;
use std::io::Write;
use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};
use swarm_client::events::{Event, Summary, TorrentId, TorrentStats};
use swarm_client::tracker_client::TrackerStatus;

use super::format;

/// How often a recheck is reported.
const RECHECK_EVERY: Duration = Duration::from_millis(500);

/// Renders events as JSON lines.
#[derive(Default)]
pub struct JsonView {
    verbose: bool,
    names: HashMap<TorrentId, String>,
    last_recheck: HashMap<TorrentId, Instant>,
}

impl JsonView {
    pub fn new(verbose: bool) -> Self {
        Self {
            verbose,
            ..Self::default()
        }
    }

    pub fn event(&mut self, event: &Event) {
        if let Event::Added { torrent, name, .. } = event {
            self.names.insert(*torrent, name.clone());
        }
        let Some((name, fields)) = self.describe(event) else {
            return;
        };
        let mut line = Map::new();
        line.insert("event".into(), Value::String(name.into()));
        if let Some(torrent) = event.torrent() {
            line.insert("torrent".into(), json!(torrent.0));
            if let Some(n) = self.names.get(&torrent) {
                line.insert("name".into(), json!(n));
            }
        }
        if let Value::Object(map) = fields {
            line.extend(map);
        }
        print_line(&Value::Object(line));
    }

    /// The event's name and fields; `None` for what is not shown.
    fn describe(&mut self, event: &Event) -> Option<(&'static str, Value)> {
        Some(match event {
            Event::Listening { port } => ("listening", json!({ "port": port })),
            Event::Added {
                info_hash,
                total_bytes,
                piece_count,
                ..
            } => (
                "added",
                json!({
                    "info_hash": info_hash.to_string(),
                    "total_bytes": total_bytes,
                    "piece_count": piece_count,
                }),
            ),
            Event::Checking {
                torrent,
                checked,
                total,
            } => {
                if !self.recheck_due(*torrent, checked >= total) {
                    return None;
                }
                ("recheck", json!({ "checked": checked, "total": total }))
            }
            Event::Started {
                pieces, incomplete, ..
            } => {
                let mut fields = json!({ "pieces": pieces });
                if !incomplete.is_empty()
                    && let Value::Object(map) = &mut fields
                {
                    let files = incomplete
                        .iter()
                        .map(|f| {
                            json!({
                                "path": f.path.display().to_string(),
                                "length": f.length,
                                "verified_bytes": f.verified_bytes,
                            })
                        })
                        .collect();
                    map.insert("incomplete".into(), Value::Array(files));
                }
                ("started", fields)
            }
            Event::PeerConnected { addr, client, .. } => (
                "peer_connected",
                json!({ "peer": addr.to_string(), "client": client }),
            ),
            Event::PeerDropped { addr, reason, .. } => (
                "peer_dropped",
                json!({ "peer": addr.to_string(), "reason": reason }),
            ),
            Event::PeerBanned { addr, reason, .. } => (
                "peer_banned",
                json!({ "peer": addr.to_string(), "reason": reason }),
            ),
            Event::PieceVerified { index, .. } => {
                if !self.verbose {
                    return None;
                }
                ("piece_verified", json!({ "piece": index }))
            }
            Event::PieceFailed { index, peers, .. } => {
                ("piece_failed", json!({ "piece": index, "peers": peers }))
            }
            Event::Tracker { status, .. } => tracker(status),
            Event::Complete { .. } => ("complete", json!({})),
            Event::SeedGoalReached {
                ratio, seeded_for, ..
            } => (
                "seed_goal_reached",
                json!({ "ratio": (ratio * 1000.0).round() / 1000.0, "seeded_secs": seeded_for.as_secs() }),
            ),
            Event::Failed { error, .. } => ("error", json!({ "error": error.to_string() })),
            Event::Stopped { summary, .. } => ("done", Value::Object(summary_fields(summary))),
            Event::Stats(stats) => {
                for t in &stats.torrents {
                    self.progress(t);
                }
                return None;
            }
        })
    }

    fn progress(&self, t: &TorrentStats) {
        let mut fields = json!({
            "event": "progress",
            "torrent": t.torrent.0,
            "name": t.name,
            "state": format::state(t),
            "verified_bytes": t.verified_bytes,
            "total_bytes": t.total_bytes,
            "percent": format::percent(t.verified_bytes, t.total_bytes),
            "downloaded_bytes": t.downloaded_bytes,
            "uploaded_bytes": t.uploaded_bytes,
            "down_rate": t.down_rate.round(),
            "up_rate": t.up_rate.round(),
            "eta_secs": format::eta(t).map(|d| d.as_secs()),
            "pieces_done": t.pieces_done,
            "piece_count": t.piece_count,
            "peers_connected": t.peers_connected,
            "peers_known": t.peers_known,
        });
        if self.verbose
            && let Value::Object(map) = &mut fields
        {
            let peers = t
                .peers
                .iter()
                .map(|p| {
                    json!({
                        "addr": p.addr.to_string(),
                        "client": p.client,
                        "down_rate": p.down_rate.round(),
                        "up_rate": p.up_rate.round(),
                        "pieces": p.pieces,
                        "downloaded": p.downloaded,
                        "uploaded": p.uploaded,
                        "unchoked": p.unchoked,
                    })
                })
                .collect();
            map.insert("peers".into(), Value::Array(peers));
        }
        print_line(&fields);
    }

    fn recheck_due(&mut self, torrent: TorrentId, finished: bool) -> bool {
        let now = Instant::now();
        let due = finished
            || self
                .last_recheck
                .get(&torrent)
                .is_none_or(|last| now.duration_since(*last) >= RECHECK_EVERY);
        if due {
            self.last_recheck.insert(torrent, now);
        }
        due
    }
}

fn tracker(status: &TrackerStatus) -> (&'static str, Value) {
    match status {
        TrackerStatus::Announced {
            url,
            peers,
            seeders,
            leechers,
            ..
        } => (
            "tracker_announced",
            json!({ "url": url, "peers": peers, "seeders": seeders, "leechers": leechers }),
        ),
        TrackerStatus::Warning { url, message } => {
            ("tracker_warning", json!({ "url": url, "message": message }))
        }
        TrackerStatus::Failed { url, error } => {
            ("tracker_error", json!({ "url": url, "error": error }))
        }
        TrackerStatus::AllFailed { retry_in } => (
            "trackers_down",
            json!({ "retry_in_secs": retry_in.as_secs() }),
        ),
    }
}

/// The fields of a `done` event.
pub fn summary_fields(s: &Summary) -> Map<String, Value> {
    let fields = json!({
        "complete": s.complete,
        "total_bytes": s.total_bytes,
        "downloaded_bytes": s.downloaded_bytes,
        "uploaded_bytes": s.uploaded_bytes,
        "elapsed_secs": (s.elapsed.as_secs_f64() * 1000.0).round() / 1000.0,
        "download_secs": s.download_time.map(|d| (d.as_secs_f64() * 1000.0).round() / 1000.0),
        "average_rate": format::average_rate(s).round(),
        "peers_used": s.peers_used,
    });
    match fields {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

fn print_line(value: &Value) {
    let mut out = std::io::stdout().lock();
    // A closed stdout (e.g. `| head`) must not kill the download.
    let _ = writeln!(out, "{value}").and_then(|()| out.flush());
}
