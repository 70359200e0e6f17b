//! What the user sees while `swarm` runs, rendered from the session's events: bars on a
//! terminal, plain periodic lines without one, JSON lines with `--json`, nothing with `-q`;
//! and a summary line per torrent at the end (stdout).

mod format;
mod json;
mod lines;
mod terminal;

use std::collections::{HashMap, HashSet};
use std::io::IsTerminal;
use std::time::Duration;

use swarm_client::events::{Event, TorrentId};
use swarm_client::tracker_client::TrackerStatus;

pub use format::bytes;
use json::JsonView;
use lines::LinesView;
use terminal::TerminalView;

/// How progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputMode {
    /// Bars on a terminal, plain lines otherwise (both on stderr).
    Human,
    /// Nothing but errors.
    Quiet,
    /// One JSON object per line on stdout.
    Json,
}

enum View {
    Terminal(TerminalView),
    Lines(LinesView),
    Json(JsonView),
    Quiet,
}

/// Renders a session's events.
pub struct Renderer {
    view: View,
    verbose: bool,
    names: HashMap<TorrentId, String>,
    /// Torrents that seed only part of their data (`swarm seed` of incomplete files).
    partial_seeds: HashSet<TorrentId>,
}

impl Renderer {
    /// `status_every`: how often plain lines report each torrent.
    pub fn new(mode: OutputMode, verbose: bool, status_every: Duration) -> Self {
        let view = match mode {
            OutputMode::Quiet => View::Quiet,
            OutputMode::Json => View::Json(JsonView::new(verbose)),
            OutputMode::Human if std::io::stderr().is_terminal() => {
                View::Terminal(TerminalView::new(verbose))
            }
            OutputMode::Human => View::Lines(LinesView::new(verbose, status_every)),
        };
        Self {
            view,
            verbose,
            names: HashMap::new(),
            partial_seeds: HashSet::new(),
        }
    }

    /// A line of text for the user (human modes only).
    pub fn note(&self, line: &str) {
        match &self.view {
            View::Terminal(v) => v.println(line),
            View::Lines(v) => v.println(line),
            View::Json(_) | View::Quiet => {}
        }
    }

    pub fn event(&mut self, event: &Event) {
        if let Event::Started {
            torrent,
            incomplete,
            ..
        } = event
            && !incomplete.is_empty()
        {
            self.partial_seeds.insert(*torrent);
        }
        if let Event::Added { torrent, name, .. } = event {
            self.names.insert(*torrent, name.clone());
        }
        if let View::Json(v) = &mut self.view {
            v.event(event);
            return;
        }
        if matches!(self.view, View::Quiet) {
            if let Event::Failed { torrent, error } = event {
                eprintln!("swarm: {}: {error}", self.name(*torrent));
            }
            return;
        }
        match event {
            Event::Stats(stats) => match &mut self.view {
                View::Terminal(v) => v.stats(stats),
                View::Lines(v) => v.stats(stats),
                _ => {}
            },
            Event::Checking {
                torrent,
                checked,
                total,
            } => {
                let name = self.name(*torrent);
                match &mut self.view {
                    View::Terminal(v) => v.checking(*torrent, &name, *checked, *total),
                    View::Lines(_) if checked == total => {
                        self.note(&format!("{name}: checked {total} pieces of existing data"));
                    }
                    _ => {}
                }
            }
            Event::Stopped { torrent, summary } => {
                if let View::Terminal(v) = &mut self.view {
                    v.remove(*torrent);
                }
                if self.partial_seeds.remove(torrent) {
                    println!("{}", format::partial_seed_line(summary));
                } else {
                    println!("{}", format::summary_line(summary));
                }
            }
            other => {
                if let Some(line) = self.event_line(other) {
                    self.note(&line);
                }
            }
        }
    }

    /// Clears the bars (before the process prints its last lines).
    pub fn finish(&mut self) {
        if let View::Terminal(v) = &mut self.view {
            v.finish();
        }
    }

    fn name(&self, torrent: TorrentId) -> String {
        self.names
            .get(&torrent)
            .cloned()
            .unwrap_or_else(|| torrent.to_string())
    }

    /// The line shown for an event, if it is worth one: warnings always, state changes
    /// always, the rest with `-v`.
    fn event_line(&self, event: &Event) -> Option<String> {
        let name = event.torrent().map(|t| self.name(t)).unwrap_or_default();
        let verbose = self.verbose;
        Some(match event {
            Event::Listening { port } => {
                if !verbose {
                    return None;
                }
                format!("listening on port {port}")
            }
            Event::Started {
                pieces, incomplete, ..
            } => format::started_line(&name, *pieces, incomplete),
            Event::PeerConnected { addr, client, .. } if verbose => {
                format!("{name}: connected to {addr} ({client})")
            }
            Event::PeerDropped { addr, reason, .. } => {
                format!("{name}: dropped {addr}: {reason}")
            }
            Event::PeerBanned { addr, reason, .. } => format!("{name}: banned {addr}: {reason}"),
            Event::PieceFailed { index, peers, .. } => {
                format!(
                    "{name}: piece {index} failed its hash check (from {peers} peer(s)); fetching it again"
                )
            }
            Event::Tracker { status, .. } => {
                let plain = matches!(self.view, View::Lines(_));
                tracker_line(&name, status, verbose || plain)?
            }
            Event::Complete { .. } => format!("{name}: complete"),
            Event::SeedGoalReached {
                ratio, seeded_for, ..
            } => format!(
                "{name}: seeded for {} to a ratio of {ratio:.2}; stopping",
                format::duration(*seeded_for)
            ),
            Event::Failed { error, .. } => format!("{name}: {error}"),
            _ => return None,
        })
    }
}

/// A tracker's news as a line; routine replies only when `chatty`.
fn tracker_line(name: &str, status: &TrackerStatus, chatty: bool) -> Option<String> {
    Some(match status {
        TrackerStatus::Announced { url, peers, .. } => {
            if !chatty {
                return None;
            }
            format!("{name}: tracker {url} answered with {peers} peer(s)")
        }
        TrackerStatus::Warning { url, message } => {
            format!("{name}: tracker {url} warns: {message}")
        }
        TrackerStatus::Failed { url, error } => format!("{name}: tracker {url}: {error}"),
        TrackerStatus::AllFailed { retry_in } => {
            if !chatty {
                return None;
            }
            format!(
                "{name}: no tracker answered; trying again in {}",
                format::duration(*retry_in)
            )
        }
    })
}
