//! Without a terminal (a log file, systemd, CI): plain lines on stderr, no colours, no
//! redrawing. A status line per torrent every `--status-interval`, and a line whenever
//! something changes state (a tracker's reply, the first peer, complete, stopped), or
//! "waiting for peers" while a torrent has none.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use swarm_client::events::{SessionStats, TorrentId, TorrentState, TorrentStats};

use super::format;
use super::terminal::peer_lines;

/// Where one torrent stood at the last line printed about it.
#[derive(Default)]
struct Seen {
    had_peer: bool,
}

/// Plain status lines.
pub struct LinesView {
    verbose: bool,
    every: Duration,
    last_status: Option<Instant>,
    seen: HashMap<TorrentId, Seen>,
}

impl LinesView {
    pub fn new(verbose: bool, every: Duration) -> Self {
        Self {
            verbose,
            every: every.max(Duration::from_secs(1)),
            last_status: None,
            seen: HashMap::new(),
        }
    }

    pub fn println(&self, line: &str) {
        eprintln!("{line}");
    }

    pub fn stats(&mut self, stats: &SessionStats) {
        for t in &stats.torrents {
            let seen = self.seen.entry(t.torrent).or_default();
            if t.peers_connected > 0 && !seen.had_peer {
                seen.had_peer = true;
                eprintln!("{}: first peer connected", t.name);
            }
        }
        let now = Instant::now();
        let due = self
            .last_status
            .is_none_or(|last| now.duration_since(last) >= self.every);
        if !due {
            return;
        }
        self.last_status = Some(now);
        for t in &stats.torrents {
            eprintln!("{}", status_line(t));
            if self.verbose {
                for line in peer_lines(t) {
                    eprintln!("{line}");
                }
            }
        }
    }
}

/// `name: downloading 45.2% 463.00 MiB/1.00 GiB ↓ … peers 3/5`, or `… waiting for peers`;
/// while seeding, the upload: `name: seeding 1.00 GiB ↑ 2.00 MiB/s up 3.00 GiB ratio 3.00
/// peers 4/9`.
pub fn status_line(t: &TorrentStats) -> String {
    let waiting = if t.peers_connected == 0 {
        ", waiting for peers"
    } else {
        ""
    };
    if t.state == TorrentState::Seeding {
        let part = if t.verified_bytes < t.total_bytes {
            format!(
                " ({:.1}% of {})",
                format::percent(t.verified_bytes, t.total_bytes),
                format::bytes(t.total_bytes)
            )
        } else {
            String::new()
        };
        return format!(
            "{}: seeding {}{part} ↑ {} up {} ratio {} peers {}/{}{waiting}",
            t.name,
            format::bytes(t.verified_bytes),
            format::rate(t.up_rate),
            format::bytes(t.uploaded_bytes),
            format::ratio(t),
            t.peers_connected,
            t.peers_known
        );
    }
    format!(
        "{}: {} {:.1}% {}/{} {}{waiting}",
        t.name,
        format::state(t),
        format::percent(t.verified_bytes, t.total_bytes),
        format::bytes(t.verified_bytes),
        format::bytes(t.total_bytes),
        format::status(t)
    )
}
