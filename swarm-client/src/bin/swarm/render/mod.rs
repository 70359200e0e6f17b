//! What the user sees while `swarm` runs: an indicatif bar on stderr (`-v` adds a line per
//! peer every few seconds), nothing with `-q`, or JSON lines on stdout with `--json`; and a
//! one-line summary at the end.
//!
//! The engine owns the numbers and hands a [`Snapshot`] to [`Progress::update`] a couple of
//! times a second; this module only renders. Every method takes `&self`, so a `Progress` can
//! be shared (e.g. with rayon threads reporting a recheck).

use std::io::{IsTerminal, Write};
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{HumanBytes, ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::{Map, Value, json};

/// How progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OutputMode {
    /// A progress bar on stderr (drawn only when stderr is a terminal).
    #[default]
    Bar,
    /// Nothing but errors.
    Quiet,
    /// One JSON object per line on stdout.
    Json,
}

/// The state of a download at one moment, as the engine sees it.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// Bytes of verified pieces (what counts as done).
    pub verified_bytes: u64,
    pub total_bytes: u64,
    /// Payload bytes received this run (including data that later failed verification).
    pub downloaded_bytes: u64,
    pub uploaded_bytes: u64,
    /// Bytes per second, recent average.
    pub down_rate: f64,
    pub up_rate: f64,
    pub peers_connected: usize,
    pub peers_known: usize,
    pub pieces_done: u32,
    pub piece_count: u32,
    /// Connected peers (shown with `-v`, and in JSON when verbose).
    pub peers: Vec<PeerSnapshot>,
}

/// One connected peer in a [`Snapshot`].
#[derive(Debug, Clone)]
pub struct PeerSnapshot {
    pub addr: SocketAddr,
    /// Client name from its peer id (see [`crate::peer_id::client_name`]).
    pub client: String,
    pub down_rate: f64,
    pub up_rate: f64,
    /// Pieces the peer has.
    pub pieces: u32,
    /// Payload bytes received from / sent to it this run.
    pub downloaded: u64,
    pub uploaded: u64,
}

/// How a run ended, for the final line.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    /// Every piece verified.
    pub complete: bool,
    pub total_bytes: u64,
    pub downloaded_bytes: u64,
    pub uploaded_bytes: u64,
    pub elapsed: Duration,
    /// Peers that sent us at least one verified block.
    pub peers_used: usize,
}

/// How often `-v` prints the per-peer lines.
const PEER_LINES_EVERY: Duration = Duration::from_secs(3);
/// A recheck shorter than this (e.g. of a fresh download, where nothing is read) shows no bar.
const RECHECK_BAR_AFTER: Duration = Duration::from_millis(300);
/// How often a recheck is reported in JSON.
const RECHECK_EVENT_EVERY: Duration = Duration::from_millis(500);

/// Renders progress in the chosen [`OutputMode`].
pub struct Progress {
    mode: OutputMode,
    verbose: bool,
    name: String,
    total_bytes: u64,
    /// Whether bars and lines go to a terminal (Bar mode only).
    interactive: bool,
    bar: Mutex<Option<ProgressBar>>,
    recheck_bar: Mutex<Option<ProgressBar>>,
    timers: Mutex<Timers>,
}

#[derive(Default)]
struct Timers {
    last_peer_lines: Option<Instant>,
    last_recheck_event: Option<Instant>,
    /// When the current recheck started, for [`RECHECK_BAR_AFTER`].
    recheck_started: Option<Instant>,
}

impl std::fmt::Debug for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Progress")
            .field("mode", &self.mode)
            .field("name", &self.name)
            .finish()
    }
}

impl Progress {
    /// A reporter for the torrent `name` of `total_bytes` bytes. Nothing is drawn until the
    /// first [`Progress::update`] or [`Progress::recheck`].
    pub fn new(mode: OutputMode, verbose: bool, name: &str, total_bytes: u64) -> Progress {
        Progress {
            mode,
            verbose,
            name: name.to_string(),
            total_bytes,
            interactive: std::io::stderr().is_terminal(),
            bar: Mutex::new(None),
            recheck_bar: Mutex::new(None),
            timers: Mutex::new(Timers::default()),
        }
    }

    /// Shows the current state: moves the bar, prints peer lines (`-v`) or a JSON
    /// `{"event":"progress",...}` line.
    pub fn update(&self, snapshot: &Snapshot) {
        match self.mode {
            OutputMode::Quiet => {}
            OutputMode::Json => self.print_json("progress", self.snapshot_fields(snapshot)),
            OutputMode::Bar => {
                self.finish_recheck_bar();
                let bar = self.main_bar(snapshot.total_bytes);
                bar.set_length(snapshot.total_bytes.max(1));
                bar.set_position(snapshot.verified_bytes.min(snapshot.total_bytes));
                bar.set_message(bar_message(snapshot));
                if self.verbose && self.peer_lines_due() {
                    for line in peer_lines(snapshot) {
                        self.println(&line);
                    }
                }
            }
        }
    }

    /// Reports a notable event: `{"event":name,...fields}` in JSON mode (fields merged if an
    /// object, else under `"data"`); in Bar mode a line above the bar for warnings
    /// (`peer_banned`, `piece_failed`, `tracker_warning`, `tracker_error`, `error`) and, with
    /// `-v`, for every event; nothing in Quiet mode.
    pub fn event(&self, name: &str, fields: Value) {
        match self.mode {
            OutputMode::Quiet => {}
            OutputMode::Json => {
                let fields = match fields {
                    Value::Object(map) => map,
                    Value::Null => Map::new(),
                    other => Map::from_iter([("data".to_string(), other)]),
                };
                self.print_json(name, fields);
            }
            OutputMode::Bar => {
                let notable = matches!(
                    name,
                    "peer_banned" | "piece_failed" | "tracker_warning" | "tracker_error" | "error"
                );
                if notable || self.verbose {
                    self.println(&event_line(name, &fields));
                }
            }
        }
    }

    /// Reports a recheck of existing data: `done` of `total` pieces checked. Bar mode shows a
    /// separate bar, cleared when `done == total`; JSON prints `{"event":"recheck",...}` at
    /// most twice a second and at the end. Safe to call from many threads.
    pub fn recheck(&self, done: u32, total: u32) {
        match self.mode {
            OutputMode::Quiet => {}
            OutputMode::Json => {
                let due = {
                    let mut timers = lock(&self.timers);
                    let now = Instant::now();
                    let due = done >= total
                        || timers
                            .last_recheck_event
                            .is_none_or(|last| now.duration_since(last) >= RECHECK_EVENT_EVERY);
                    if due {
                        timers.last_recheck_event = Some(now);
                    }
                    due
                };
                if due {
                    let fields = json!({ "checked": done, "total": total });
                    self.print_json("recheck", object(fields));
                }
            }
            OutputMode::Bar => {
                if !self.recheck_bar_due(done >= total) {
                    return;
                }
                let mut slot = lock(&self.recheck_bar);
                let bar = slot.get_or_insert_with(|| {
                    let bar = ProgressBar::with_draw_target(Some(u64::from(total)), self.target());
                    bar.set_style(recheck_style());
                    bar.set_prefix("checking existing data");
                    bar
                });
                // Calls may arrive out of order from several threads: only move forward.
                if u64::from(done) > bar.position() {
                    bar.set_position(u64::from(done));
                }
                if done >= total {
                    bar.finish_and_clear();
                    *slot = None;
                }
            }
        }
    }

    /// Ends the display with the one-line summary (stdout in Bar mode; a `{"event":"done",...}`
    /// line in JSON mode; nothing in Quiet mode).
    pub fn finish(&self, summary: &Summary) {
        self.finish_recheck_bar();
        if let Some(bar) = lock(&self.bar).take() {
            bar.finish_and_clear();
        }
        match self.mode {
            OutputMode::Quiet => {}
            OutputMode::Json => self.print_json("done", summary_fields(summary)),
            OutputMode::Bar => println!("{}", summary_line(&self.name, summary)),
        }
    }

    /// Prints a line of text above the bar (stderr); for messages that are not events.
    /// Nothing in Quiet or JSON mode.
    pub fn println(&self, line: &str) {
        if self.mode != OutputMode::Bar {
            return;
        }
        match lock(&self.bar).as_ref() {
            Some(bar) if self.interactive => bar.println(line),
            _ => eprintln!("{line}"),
        }
    }

    /// Hides the bars while `f` runs (e.g. to print a prompt or a log line).
    pub fn suspend<R>(&self, f: impl FnOnce() -> R) -> R {
        match lock(&self.bar).as_ref() {
            Some(bar) => bar.suspend(f),
            None => f(),
        }
    }

    fn main_bar(&self, total_bytes: u64) -> ProgressBar {
        let mut slot = lock(&self.bar);
        slot.get_or_insert_with(|| {
            let total = if total_bytes > 0 {
                total_bytes
            } else {
                self.total_bytes
            };
            let bar = ProgressBar::with_draw_target(Some(total.max(1)), self.target());
            bar.set_style(main_style());
            bar.set_prefix(shorten(&self.name, 24));
            bar.enable_steady_tick(Duration::from_millis(250));
            bar
        })
        .clone()
    }

    /// Whether the recheck bar should be drawn now: only once a recheck has run for
    /// [`RECHECK_BAR_AFTER`] (or already has a bar).
    fn recheck_bar_due(&self, finished: bool) -> bool {
        if lock(&self.recheck_bar).is_some() {
            return true;
        }
        let mut timers = lock(&self.timers);
        let started = *timers.recheck_started.get_or_insert_with(Instant::now);
        if finished {
            timers.recheck_started = None;
            return false;
        }
        started.elapsed() >= RECHECK_BAR_AFTER
    }

    fn finish_recheck_bar(&self) {
        if let Some(bar) = lock(&self.recheck_bar).take() {
            bar.finish_and_clear();
        }
    }

    fn target(&self) -> ProgressDrawTarget {
        if self.interactive {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        }
    }

    fn peer_lines_due(&self) -> bool {
        let mut timers = lock(&self.timers);
        let now = Instant::now();
        let due = timers
            .last_peer_lines
            .is_none_or(|last| now.duration_since(last) >= PEER_LINES_EVERY);
        if due {
            timers.last_peer_lines = Some(now);
        }
        due
    }

    fn snapshot_fields(&self, s: &Snapshot) -> Map<String, Value> {
        let mut fields = object(json!({
            "verified_bytes": s.verified_bytes,
            "total_bytes": s.total_bytes,
            "percent": percent(s.verified_bytes, s.total_bytes),
            "downloaded_bytes": s.downloaded_bytes,
            "uploaded_bytes": s.uploaded_bytes,
            "down_rate": s.down_rate.round(),
            "up_rate": s.up_rate.round(),
            "eta_secs": eta(s).map(|d| d.as_secs()),
            "pieces_done": s.pieces_done,
            "piece_count": s.piece_count,
            "peers_connected": s.peers_connected,
            "peers_known": s.peers_known,
        }));
        if self.verbose {
            let peers = s
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
                    })
                })
                .collect();
            fields.insert("peers".to_string(), Value::Array(peers));
        }
        fields
    }

    fn print_json(&self, event: &str, fields: Map<String, Value>) {
        let mut line = Map::with_capacity(fields.len() + 1);
        line.insert("event".to_string(), Value::String(event.to_string()));
        line.extend(fields.into_iter().filter(|(key, _)| key != "event"));
        let text = Value::Object(line).to_string();
        let mut out = std::io::stdout().lock();
        // A closed stdout (e.g. `| head`) must not kill the download.
        let _ = writeln!(out, "{text}").and_then(|()| out.flush());
    }
}

/// The JSON fields of the final `done` event.
pub fn summary_fields(s: &Summary) -> Map<String, Value> {
    object(json!({
        "complete": s.complete,
        "total_bytes": s.total_bytes,
        "downloaded_bytes": s.downloaded_bytes,
        "uploaded_bytes": s.uploaded_bytes,
        "elapsed_secs": (s.elapsed.as_secs_f64() * 1000.0).round() / 1000.0,
        "average_rate": average_rate(s).round(),
        "peers_used": s.peers_used,
    }))
}

/// The final line, e.g. `ubuntu.iso: 1.00 GiB in 12.3s (83.2 MiB/s average) from 3 peers`.
pub fn summary_line(name: &str, s: &Summary) -> String {
    let elapsed = format_duration(s.elapsed);
    let from = match s.peers_used {
        1 => "1 peer".to_string(),
        n => format!("{n} peers"),
    };
    if s.complete && s.downloaded_bytes == 0 {
        return format!(
            "{name}: complete, {} already on disk",
            HumanBytes(s.total_bytes)
        );
    }
    let rate = format!("{}/s average", HumanBytes(average_rate(s) as u64));
    if s.complete {
        format!(
            "{name}: {} in {elapsed} ({rate}) from {from}",
            HumanBytes(s.total_bytes)
        )
    } else {
        format!(
            "{name}: stopped after {elapsed}, {} downloaded ({rate}) from {from}; \
             run the same command again to resume",
            HumanBytes(s.downloaded_bytes)
        )
    }
}

fn average_rate(s: &Summary) -> f64 {
    let secs = s.elapsed.as_secs_f64();
    if secs > 0.0 {
        s.downloaded_bytes as f64 / secs
    } else {
        0.0
    }
}

/// Rates, ETA and peers shown to the right of the bar.
fn bar_message(s: &Snapshot) -> String {
    let eta = eta(s).map_or_else(|| "--".to_string(), format_duration);
    format!(
        "↓ {}/s ↑ {}/s ETA {eta} peers {}/{}",
        HumanBytes(s.down_rate as u64),
        HumanBytes(s.up_rate as u64),
        s.peers_connected,
        s.peers_known
    )
}

/// One line per connected peer, fastest first.
fn peer_lines(s: &Snapshot) -> Vec<String> {
    let mut peers: Vec<&PeerSnapshot> = s.peers.iter().collect();
    peers.sort_by(|a, b| b.down_rate.total_cmp(&a.down_rate));
    peers
        .iter()
        .map(|p| {
            format!(
                "  {:<22} {:<24} ↓ {:>11}/s ↑ {:>11}/s  {}/{} pieces",
                p.addr.to_string(),
                shorten(&p.client, 24),
                HumanBytes(p.down_rate as u64).to_string(),
                HumanBytes(p.up_rate as u64).to_string(),
                p.pieces,
                s.piece_count
            )
        })
        .collect()
}

/// An event as a line of text: `peer_banned: peer=1.2.3.4:5 reason=bad data`.
fn event_line(name: &str, fields: &Value) -> String {
    let details = match fields {
        Value::Object(map) => map
            .iter()
            .map(|(k, v)| match v {
                Value::String(text) => format!("{k}={text}"),
                other => format!("{k}={other}"),
            })
            .collect::<Vec<_>>()
            .join(" "),
        Value::Null => String::new(),
        Value::String(text) => text.clone(),
        other => other.to_string(),
    };
    if details.is_empty() {
        name.to_string()
    } else {
        format!("{name}: {details}")
    }
}

/// Remaining time at the current download rate, if it is moving.
fn eta(s: &Snapshot) -> Option<Duration> {
    let left = s.total_bytes.saturating_sub(s.verified_bytes);
    if left == 0 {
        return Some(Duration::ZERO);
    }
    (s.down_rate >= 1.0).then(|| Duration::from_secs_f64((left as f64 / s.down_rate).min(1e8)))
}

fn percent(done: u64, total: u64) -> f64 {
    if total == 0 {
        100.0
    } else {
        (done as f64 * 1000.0 / total as f64).round() / 10.0
    }
}

/// `3.2s`, `4m05s`, `2h03m`.
pub fn format_duration(d: Duration) -> String {
    let secs = d.as_secs();
    match secs {
        0..60 => format!("{:.1}s", d.as_secs_f64()),
        60..3600 => format!("{}m{:02}s", secs / 60, secs % 60),
        _ => format!("{}h{:02}m", secs / 3600, secs % 3600 / 60),
    }
}

fn main_style() -> ProgressStyle {
    ProgressStyle::with_template(
        "{prefix:.bold} [{bar:30.cyan/blue}] {bytes}/{total_bytes} {percent:>3}% {msg}",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar())
    .progress_chars("=> ")
}

fn recheck_style() -> ProgressStyle {
    ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} pieces {percent:>3}%")
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ")
}

/// At most `max` characters, with `…` when cut.
fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot() -> Snapshot {
        Snapshot {
            verified_bytes: 512 << 20,
            total_bytes: 1 << 30,
            downloaded_bytes: 600 << 20,
            uploaded_bytes: 1 << 20,
            down_rate: 100.0 * 1024.0 * 1024.0,
            up_rate: 0.0,
            peers_connected: 3,
            peers_known: 5,
            pieces_done: 2048,
            piece_count: 4096,
            peers: vec![PeerSnapshot {
                addr: "127.0.0.1:6881".parse().unwrap(),
                client: "Transmission 3.00".into(),
                down_rate: 1024.0,
                up_rate: 0.0,
                pieces: 4096,
                downloaded: 10,
                uploaded: 0,
            }],
        }
    }

    #[test]
    fn bar_message_has_rates_eta_and_peers() {
        let text = bar_message(&snapshot());
        assert!(text.contains("↓ 100.00 MiB/s"), "{text}");
        assert!(text.contains("ETA 5.1s"), "{text}");
        assert!(text.contains("peers 3/5"), "{text}");
        let stalled = Snapshot {
            down_rate: 0.0,
            ..snapshot()
        };
        assert!(bar_message(&stalled).contains("ETA --"));
    }

    #[test]
    fn peer_lines_show_address_client_rates_and_pieces() {
        let lines = peer_lines(&snapshot());
        assert_eq!(lines.len(), 1);
        assert!(lines[0].contains("127.0.0.1:6881") && lines[0].contains("Transmission 3.00"));
        assert!(lines[0].contains("4096/4096 pieces"), "{}", lines[0]);
    }

    #[test]
    fn summary_lines() {
        let done = Summary {
            complete: true,
            total_bytes: 1 << 30,
            downloaded_bytes: 1 << 30,
            uploaded_bytes: 0,
            elapsed: Duration::from_secs(10),
            peers_used: 3,
        };
        assert_eq!(
            summary_line("x.iso", &done),
            "x.iso: 1.00 GiB in 10.0s (102.40 MiB/s average) from 3 peers"
        );
        let nothing = Summary {
            downloaded_bytes: 0,
            ..done.clone()
        };
        assert_eq!(
            summary_line("x.iso", &nothing),
            "x.iso: complete, 1.00 GiB already on disk"
        );
        let stopped = Summary {
            complete: false,
            peers_used: 1,
            ..done.clone()
        };
        let line = summary_line("x.iso", &stopped);
        assert!(
            line.contains("stopped") && line.contains("from 1 peer;") && line.contains("resume"),
            "{line}"
        );
        assert!(!line.contains('\n'));
        let fields = summary_fields(&done);
        for key in [
            "complete",
            "total_bytes",
            "downloaded_bytes",
            "uploaded_bytes",
            "elapsed_secs",
            "peers_used",
        ] {
            assert!(fields.contains_key(key), "{key}");
        }
        assert_eq!(fields["downloaded_bytes"], json!(1u64 << 30));
    }

    #[test]
    fn durations_and_events() {
        assert_eq!(format_duration(Duration::from_millis(3250)), "3.2s");
        assert_eq!(format_duration(Duration::from_secs(245)), "4m05s");
        assert_eq!(format_duration(Duration::from_secs(7380)), "2h03m");
        assert_eq!(
            event_line("peer_banned", &json!({"peer": "1.2.3.4:5", "strikes": 3})),
            "peer_banned: peer=1.2.3.4:5 strikes=3"
        );
        assert_eq!(event_line("stalled", &Value::Null), "stalled");
    }

    #[test]
    fn snapshot_json_fields() {
        let quiet = Progress::new(OutputMode::Json, false, "x", 1 << 30);
        let fields = quiet.snapshot_fields(&snapshot());
        assert_eq!(fields["percent"], json!(50.0));
        assert_eq!(fields["peers_connected"], json!(3));
        assert!(!fields.contains_key("peers"));
        let verbose = Progress::new(OutputMode::Json, true, "x", 1 << 30);
        let fields = verbose.snapshot_fields(&snapshot());
        assert_eq!(fields["peers"][0]["client"], json!("Transmission 3.00"));
    }

    #[test]
    fn hidden_modes_do_not_panic() {
        for mode in [OutputMode::Bar, OutputMode::Quiet] {
            let progress = Progress::new(mode, true, "name", 100);
            progress.recheck(1, 3);
            progress.recheck(3, 3);
            progress.update(&snapshot());
            progress.event("peer_banned", json!({"peer": "1.2.3.4:5"}));
            progress.finish(&Summary::default());
        }
    }

    #[test]
    fn shorten_cuts_on_characters() {
        assert_eq!(shorten("µTorrent", 24), "µTorrent");
        assert_eq!(shorten("abcdef", 4), "abc…");
    }
}
