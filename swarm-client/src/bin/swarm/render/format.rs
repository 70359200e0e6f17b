//! Text pieces shared by the views: sizes, rates, durations, the summary line.

use std::time::Duration;

use indicatif::HumanBytes;
use swarm_client::events::{IncompleteFile, Summary, TorrentState, TorrentStats};

/// `3.2s`, `4m05s`, `2h03m`.
pub fn duration(d: Duration) -> String {
    let secs = d.as_secs();
    match secs {
        0..60 => format!("{:.1}s", d.as_secs_f64()),
        60..3600 => format!("{}m{:02}s", secs / 60, secs % 60),
        _ => format!("{}h{:02}m", secs / 3600, secs % 3600 / 60),
    }
}

/// `12.00 MiB/s`.
pub fn rate(bytes_per_sec: f64) -> String {
    format!("{}/s", HumanBytes(bytes_per_sec.max(0.0) as u64))
}

/// `1.00 GiB`.
pub fn bytes(n: u64) -> String {
    HumanBytes(n).to_string()
}

/// Percent done, one decimal.
pub fn percent(done: u64, total: u64) -> f64 {
    if total == 0 {
        100.0
    } else {
        (done as f64 * 1000.0 / total as f64).round() / 10.0
    }
}

/// Remaining time at the current download rate, if it is moving.
pub fn eta(t: &TorrentStats) -> Option<Duration> {
    let left = t.total_bytes.saturating_sub(t.verified_bytes);
    if left == 0 {
        return Some(Duration::ZERO);
    }
    (t.down_rate >= 1.0).then(|| Duration::from_secs_f64((left as f64 / t.down_rate).min(1e8)))
}

/// Uploaded ÷ size, as `0.42`.
pub fn ratio(t: &TorrentStats) -> String {
    if t.total_bytes == 0 {
        return "-".into();
    }
    format!("{:.2}", t.uploaded_bytes as f64 / t.total_bytes as f64)
}

/// A torrent's state as a word.
pub fn state(t: &TorrentStats) -> &'static str {
    match t.state {
        TorrentState::Checking => "checking",
        TorrentState::Downloading => "downloading",
        TorrentState::Seeding => "seeding",
    }
}

/// What follows the bar (terminal) or the name (plain lines): state, rates, peers, upload.
pub fn status(t: &TorrentStats) -> String {
    let peers = format!("peers {}/{}", t.peers_connected, t.peers_known);
    match t.state {
        TorrentState::Seeding => format!(
            "seeding ↑ {} {peers} up {} ratio {}",
            rate(t.up_rate),
            bytes(t.uploaded_bytes),
            ratio(t)
        ),
        _ => {
            let eta = eta(t).map_or_else(|| "--".to_string(), duration);
            format!(
                "↓ {} ↑ {} ETA {eta} {peers}",
                rate(t.down_rate),
                rate(t.up_rate)
            )
        }
    }
}

/// At most `max` characters, with `…` when cut.
pub fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// Average download rate: over the download time when known, else over the whole run.
pub fn average_rate(s: &Summary) -> f64 {
    let secs = s.download_time.unwrap_or(s.elapsed).as_secs_f64();
    if secs > 0.0 {
        s.downloaded_bytes as f64 / secs
    } else {
        0.0
    }
}

/// Most incomplete files named in the line about a torrent that seeds only part of its data.
const INCOMPLETE_NAMED: usize = 5;

/// The line when a torrent joins the swarm; for one that seeds only what verifies, which of
/// its files are incomplete and where they were looked for.
pub fn started_line(name: &str, pieces: u32, incomplete: &[IncompleteFile]) -> String {
    if incomplete.is_empty() {
        return format!("{name}: started with {pieces} pieces");
    }
    let files: Vec<String> = incomplete
        .iter()
        .take(INCOMPLETE_NAMED)
        .map(|f| {
            let what = if f.verified_bytes == 0 {
                "missing or wrong".to_string()
            } else {
                format!("{} of {} good", bytes(f.verified_bytes), bytes(f.length))
            };
            format!("{} ({what})", f.path.display())
        })
        .collect();
    let more = match incomplete.len().saturating_sub(INCOMPLETE_NAMED) {
        0 => String::new(),
        n => format!(" and {n} more"),
    };
    format!(
        "{name}: seeding the {pieces} pieces that verify; {} file(s) incomplete: {}{more}",
        incomplete.len(),
        files.join(", ")
    )
}

/// The final line of a torrent that seeded only part of its data (nothing to resume).
pub fn partial_seed_line(s: &Summary) -> String {
    format!(
        "{}: seeded part of its data for {}, {} uploaded",
        s.name,
        duration(s.elapsed),
        bytes(s.uploaded_bytes)
    )
}

/// The final line, e.g. `ubuntu.iso: 1.00 GiB in 12.3s (83.2 MiB/s average) from 3 peers`.
pub fn summary_line(s: &Summary) -> String {
    let name = &s.name;
    let from = match s.peers_used {
        1 => "1 peer".to_string(),
        n => format!("{n} peers"),
    };
    let uploaded = if s.uploaded_bytes > 0 {
        format!(", {} uploaded", bytes(s.uploaded_bytes))
    } else {
        String::new()
    };
    let average = format!("{} average", rate(average_rate(s)));
    if s.complete && s.downloaded_bytes == 0 {
        return format!(
            "{name}: complete, {} already on disk{uploaded}",
            bytes(s.total_bytes)
        );
    }
    if s.complete {
        let took = duration(s.download_time.unwrap_or(s.elapsed));
        format!(
            "{name}: {} in {took} ({average}) from {from}{uploaded}",
            bytes(s.total_bytes)
        )
    } else {
        format!(
            "{name}: stopped after {}, {} downloaded ({average}) from {from}{uploaded}; \
             run the same command again to resume",
            duration(s.elapsed),
            bytes(s.downloaded_bytes)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use swarm_client::events::TorrentId;

    pub fn stats() -> TorrentStats {
        TorrentStats {
            torrent: TorrentId(1),
            name: "x.iso".into(),
            state: TorrentState::Downloading,
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
            peers: Vec::new(),
        }
    }

    #[test]
    fn status_has_rates_eta_and_peers() {
        let text = status(&stats());
        assert!(text.contains("↓ 100.00 MiB/s"), "{text}");
        assert!(text.contains("ETA 5.1s"), "{text}");
        assert!(text.contains("peers 3/5"), "{text}");
        let stalled = TorrentStats {
            down_rate: 0.0,
            ..stats()
        };
        assert!(status(&stalled).contains("ETA --"));
    }

    #[test]
    fn a_seeding_torrent_shows_upload_and_ratio() {
        let seeding = TorrentStats {
            state: TorrentState::Seeding,
            up_rate: 2.0 * 1024.0 * 1024.0,
            uploaded_bytes: 3 << 29,
            ..stats()
        };
        let text = status(&seeding);
        assert!(text.starts_with("seeding ↑ 2.00 MiB/s"), "{text}");
        assert!(text.contains("up 1.50 GiB ratio 1.50"), "{text}");
    }

    #[test]
    fn summary_lines() {
        let done = Summary {
            name: "x.iso".into(),
            complete: true,
            total_bytes: 1 << 30,
            downloaded_bytes: 1 << 30,
            uploaded_bytes: 0,
            elapsed: Duration::from_secs(30),
            download_time: Some(Duration::from_secs(10)),
            peers_used: 3,
        };
        assert_eq!(
            summary_line(&done),
            "x.iso: 1.00 GiB in 10.0s (102.40 MiB/s average) from 3 peers",
            "the average is over the download time, not the seeding after it"
        );
        let nothing = Summary {
            downloaded_bytes: 0,
            ..done.clone()
        };
        assert_eq!(
            summary_line(&nothing),
            "x.iso: complete, 1.00 GiB already on disk"
        );
        let stopped = Summary {
            complete: false,
            peers_used: 1,
            download_time: None,
            ..done.clone()
        };
        let line = summary_line(&stopped);
        assert!(
            line.contains("stopped") && line.contains("from 1 peer;") && line.contains("resume"),
            "{line}"
        );
        assert!(!line.contains('\n'));
    }

    #[test]
    fn a_partial_seed_names_its_incomplete_files_where_it_looked_on_one_line() {
        let files: Vec<IncompleteFile> = (0..7)
            .map(|i| IncompleteFile {
                path: format!("/lib/t/f{i}.bin").into(),
                length: 2048,
                verified_bytes: if i == 0 { 0 } else { 1024 },
            })
            .collect();
        let line = started_line("t", 3, &files);
        assert!(line.contains("/lib/t/f0.bin (missing or wrong)"), "{line}");
        assert!(
            line.contains("/lib/t/f1.bin (1.00 KiB of 2.00 KiB good)"),
            "{line}"
        );
        assert!(line.contains("7 file(s) incomplete") && line.ends_with("and 2 more"));
        assert!(!line.contains('\n'));
        assert_eq!(started_line("t", 3, &[]), "t: started with 3 pieces");
    }

    #[test]
    fn durations() {
        assert_eq!(duration(Duration::from_millis(3250)), "3.2s");
        assert_eq!(duration(Duration::from_secs(245)), "4m05s");
        assert_eq!(duration(Duration::from_secs(7380)), "2h03m");
    }

    #[test]
    fn shorten_cuts_on_characters() {
        assert_eq!(shorten("µTorrent", 24), "µTorrent");
        assert_eq!(shorten("abcdef", 4), "abc…");
    }
}
