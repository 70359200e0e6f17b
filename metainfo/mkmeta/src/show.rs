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
        line("created on:", format!("{date} (Unix time)"));
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
