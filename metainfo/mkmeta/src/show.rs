//! `mkmeta --show FILE.meta [--json]`: print what a metainfo file holds.

use std::path::Path;

use anyhow::{Context, Result};
use indicatif::HumanBytes;
use metainfo::Metainfo;
use serde_json::json;

/// Read and parse a metainfo file, with the path in any error.
pub fn load(path: &Path) -> Result<Metainfo> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    Metainfo::from_bytes(&bytes)
        .with_context(|| format!("{} is not a valid metainfo file", path.display()))
}

/// Print the metainfo at `path` for people, or as one JSON object when `as_json`.
pub fn run(path: &Path, as_json: bool) -> Result<()> {
    let meta = load(path)?;
    if as_json {
        let text = serde_json::to_string_pretty(&to_json(&meta))
            .context("cannot format the metainfo as JSON")?;
        crate::print_out(&format!("{text}\n"))?;
    } else {
        crate::print_out(&to_text(&meta))?;
    }
    Ok(())
}

/// The same facts as [`to_text`], as a JSON value for scripts.
pub fn to_json(meta: &Metainfo) -> serde_json::Value {
    let info = &meta.info;
    let files: Vec<_> = info
        .files
        .iter()
        .map(|f| {
            json!({
                "path": f.relative_path().to_string_lossy(),
                "components": f.path,
                "length": f.length,
            })
        })
        .collect();
    json!({
        "name": info.name,
        "info_hash": meta.info_hash.to_string(),
        "total_length": info.total_length(),
        "piece_length": info.piece_length,
        "piece_count": info.piece_count(),
        "private": info.private,
        "single_file": info.single_file,
        "files": files,
        "trackers": meta.trackers(),
        "web_seeds": meta.url_list,
        "comment": meta.comment,
        "created_by": meta.created_by,
        "creation_date": meta.creation_date,
        "magnet": meta.magnet(),
    })
}

/// A human-readable summary, one fact per line.
pub fn to_text(meta: &Metainfo) -> String {
    let info = &meta.info;
    let mut out = String::new();
    let mut line = |key: &str, value: String| out.push_str(&format!("{key:<14}{value}\n"));
    line("name:", info.name.clone());
    line(
        "total size:",
        format!(
            "{} ({} bytes)",
            HumanBytes(info.total_length()),
            info.total_length()
        ),
    );
    line(
        "piece length:",
        format!(
            "{} ({} bytes)",
            HumanBytes(info.piece_length),
            info.piece_length
        ),
    );
    line("pieces:", info.piece_count().to_string());
    line(
        "private:",
        if info.private { "yes" } else { "no" }.to_string(),
    );
    line("info-hash:", meta.info_hash.to_string());
    let tiers = meta.trackers();
    if tiers.iter().all(Vec::is_empty) {
        line("trackers:", "none".to_string());
    }
    for (index, tier) in tiers.iter().enumerate().filter(|(_, t)| !t.is_empty()) {
        let key = if index == 0 { "trackers:" } else { "" };
        line(key, format!("tier {}: {}", index + 1, tier.join(" ")));
    }
    for (index, seed) in meta.url_list.iter().enumerate() {
        line(if index == 0 { "web seeds:" } else { "" }, seed.clone());
    }
    if let Some(comment) = &meta.comment {
        line("comment:", comment.clone());
    }
    if let Some(created_by) = &meta.created_by {
        line("created by:", created_by.clone());
    }
    if let Some(date) = meta.creation_date {
        line("created on:", utc_date(date));
    }
    line("files:", info.files.len().to_string());
    for file in &info.files {
        line(
            "",
            format!("{:>12}  {}", file.length, file.relative_path().display()),
        );
    }
    line("magnet:", meta.magnet());
    out
}

/// A `creation date` (Unix seconds) as a UTC date, `2023-11-14T22:13:20Z (Unix time
/// 1700000000)`; a value outside years 1970–9999 (the field is not checked by parsers) only
/// as its number.
fn utc_date(unix_seconds: i64) -> String {
    /// 10000-01-01T00:00:00Z: the formatter's limit.
    const YEAR_10000: u64 = 253_402_300_800;
    match u64::try_from(unix_seconds) {
        Ok(secs) if secs < YEAR_10000 => {
            let time = std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs);
            format!(
                "{} (Unix time {unix_seconds})",
                humantime::format_rfc3339_seconds(time)
            )
        }
        _ => format!("{unix_seconds} (Unix time, outside years 1970-9999)"),
    }
}

#[cfg(test)]
mod tests {
    use super::utc_date;

    #[test]
    fn creation_dates_read_as_utc_and_odd_ones_do_not_panic() {
        assert_eq!(
            utc_date(1_700_000_000),
            "2023-11-14T22:13:20Z (Unix time 1700000000)"
        );
        assert_eq!(utc_date(0), "1970-01-01T00:00:00Z (Unix time 0)");
        assert!(utc_date(253_402_300_799).starts_with("9999-12-31T23:59:59Z"));
        for odd in [-1, i64::MIN, 253_402_300_800, i64::MAX] {
            assert!(utc_date(odd).starts_with(&odd.to_string()), "{odd}");
        }
    }
}
