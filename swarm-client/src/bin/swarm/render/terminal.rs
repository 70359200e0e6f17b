//! On a terminal: one bar per torrent (name, bytes, percent, state, rates, peers), or while
//! seeding a line of upload figures instead of a full bar (rate, uploaded, ratio); a total
//! line when there are several, notable events printed above the bars, and with `-v` a line
//! per peer every few seconds.

use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use swarm_client::events::{PeerStats, SessionStats, TorrentId, TorrentState, TorrentStats};

use super::format;

/// How often `-v` prints the per-peer lines.
const PEER_LINES_EVERY: Duration = Duration::from_secs(3);

/// The bars of a run.
pub struct TerminalView {
    verbose: bool,
    multi: MultiProgress,
    bars: BTreeMap<TorrentId, ProgressBar>,
    /// Torrents whose line shows the upload instead of a download bar.
    seeding: HashSet<TorrentId>,
    total: Option<ProgressBar>,
    last_peer_lines: Option<Instant>,
}

impl TerminalView {
    pub fn new(verbose: bool) -> Self {
        Self {
            verbose,
            multi: MultiProgress::with_draw_target(ProgressDrawTarget::stderr()),
            bars: BTreeMap::new(),
            seeding: HashSet::new(),
            total: None,
            last_peer_lines: None,
        }
    }

    /// A line above the bars.
    pub fn println(&self, line: &str) {
        if self.multi.println(line).is_err() {
            eprintln!("{line}");
        }
    }

    /// Torrent `torrent` is being checked: `checked` of `total` pieces.
    pub fn checking(&mut self, torrent: TorrentId, name: &str, checked: u32, total: u32) {
        let bar = self.bar(torrent, name);
        bar.set_length(u64::from(total.max(1)));
        bar.set_position(u64::from(checked));
        bar.set_message(format!("checking {checked}/{total} pieces"));
    }

    pub fn stats(&mut self, stats: &SessionStats) {
        for t in &stats.torrents {
            let bar = self.bar(t.torrent, &t.name);
            if t.state == TorrentState::Seeding {
                // Nothing to download: a full bar says nothing; the upload does.
                if self.seeding.insert(t.torrent) {
                    bar.set_style(seeding_style());
                }
                bar.set_message(format!(
                    "{} {}",
                    format::bytes(t.verified_bytes),
                    format::status(t)
                ));
                continue;
            }
            bar.set_length(t.total_bytes.max(1));
            bar.set_position(t.verified_bytes.min(t.total_bytes));
            bar.set_message(format::status(t));
        }
        if stats.torrents.len() > 1 {
            self.total_line(&stats.torrents);
        }
        if self.verbose && self.peer_lines_due() {
            for t in &stats.torrents {
                for line in peer_lines(t) {
                    self.println(&line);
                }
            }
        }
    }

    /// A torrent left: its bar goes.
    pub fn remove(&mut self, torrent: TorrentId) {
        self.seeding.remove(&torrent);
        if let Some(bar) = self.bars.remove(&torrent) {
            bar.finish_and_clear();
            self.multi.remove(&bar);
        }
    }

    /// Clears every bar (before the summary lines).
    pub fn finish(&mut self) {
        for (_, bar) in std::mem::take(&mut self.bars) {
            bar.finish_and_clear();
        }
        if let Some(total) = self.total.take() {
            total.finish_and_clear();
        }
        let _ = self.multi.clear();
    }

    fn bar(&mut self, torrent: TorrentId, name: &str) -> ProgressBar {
        let multi = &self.multi;
        self.bars
            .entry(torrent)
            .or_insert_with(|| {
                let bar = multi.add(ProgressBar::new(1));
                bar.set_style(bar_style());
                bar.set_prefix(format::shorten(name, 24));
                bar.enable_steady_tick(Duration::from_millis(250));
                bar
            })
            .clone()
    }

    fn total_line(&mut self, torrents: &[TorrentStats]) {
        let multi = &self.multi;
        let total = self.total.get_or_insert_with(|| {
            let bar = multi.add(ProgressBar::new(1));
            bar.set_style(bar_style());
            bar.set_prefix("total");
            bar
        });
        let size: u64 = torrents.iter().map(|t| t.total_bytes).sum();
        let done: u64 = torrents.iter().map(|t| t.verified_bytes).sum();
        let down: f64 = torrents.iter().map(|t| t.down_rate).sum();
        let up: f64 = torrents.iter().map(|t| t.up_rate).sum();
        let peers: usize = torrents.iter().map(|t| t.peers_connected).sum();
        let uploaded: u64 = torrents.iter().map(|t| t.uploaded_bytes).sum();
        if torrents.iter().all(|t| t.state == TorrentState::Seeding) {
            total.set_style(seeding_style());
            total.set_message(format!(
                "{} torrents, {} ↑ {} up {} peers {peers}",
                torrents.len(),
                format::bytes(done),
                format::rate(up),
                format::bytes(uploaded)
            ));
            return;
        }
        total.set_style(bar_style());
        total.set_length(size.max(1));
        total.set_position(done.min(size));
        total.set_message(format!(
            "{} torrents ↓ {} ↑ {} up {} peers {peers}",
            torrents.len(),
            format::rate(down),
            format::rate(up),
            format::bytes(uploaded)
        ));
    }

    fn peer_lines_due(&mut self) -> bool {
        let now = Instant::now();
        let due = self
            .last_peer_lines
            .is_none_or(|last| now.duration_since(last) >= PEER_LINES_EVERY);
        if due {
            self.last_peer_lines = Some(now);
        }
        due
    }
}

/// One line per connected peer of a torrent, fastest first.
pub fn peer_lines(t: &TorrentStats) -> Vec<String> {
    let mut peers: Vec<&PeerStats> = t.peers.iter().collect();
    peers.sort_by(|a, b| (b.down_rate + b.up_rate).total_cmp(&(a.down_rate + a.up_rate)));
    peers
        .iter()
        .map(|p| {
            format!(
                "  {:<22} {:<24} ↓ {:>13} ↑ {:>13}  {}/{} pieces{}",
                p.addr.to_string(),
                format::shorten(&p.client, 24),
                format::rate(p.down_rate),
                format::rate(p.up_rate),
                p.pieces,
                t.piece_count,
                if p.unchoked { "  unchoked" } else { "" }
            )
        })
        .collect()
}

/// A seeding torrent's line: its name and upload figures, no bar.
fn seeding_style() -> ProgressStyle {
    ProgressStyle::with_template("{prefix:24.bold} {msg}")
        .unwrap_or_else(|_| ProgressStyle::default_bar())
}

fn bar_style() -> ProgressStyle {
    ProgressStyle::with_template(
        "{prefix:24.bold} [{bar:30.cyan/blue}] {bytes}/{total_bytes} {percent:>3}% {msg}",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar())
    .progress_chars("=> ")
}
