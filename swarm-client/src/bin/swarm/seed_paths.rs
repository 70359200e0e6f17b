//! What `swarm seed PATH…` seeds: each PATH is a metainfo file (its data beside it, or under
//! `--data DIR`), or a library folder (the torrents `swarm get -o` downloaded into it, as the
//! state directory records, and the metainfo files at its top level whose data is beside
//! them). Identical torrents count once; a metainfo that does not parse is skipped with a
//! reason.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use anyhow::anyhow;
use metainfo::{InfoHash, Metainfo};
use swarm_client::state::StateDir;
use swarm_client::torrent::TorrentSpec;

use crate::cli::SeedArgs;
use crate::{Failure, load_meta};

/// The torrents to seed, or a failure naming the path that is unusable.
pub fn resolve(args: &SeedArgs) -> Result<Vec<TorrentSpec>, Failure> {
    let state =
        StateDir::locate(args.common.state_dir.clone()).map_err(|e| Failure::new(4, e.into()))?;
    let mut found = Found::default();
    if let Some(meta) = &args.meta {
        // `swarm seed DATA --meta FILE`: one torrent whose data is under each PATH.
        for data in &args.paths {
            found.metainfo_file(meta, data)?;
        }
    } else {
        for path in &args.paths {
            if !path.exists() {
                return Err(Failure::new(
                    4,
                    anyhow!("{} does not exist", path.display()),
                ));
            }
            if path.is_dir() {
                found.library(path, &state);
            } else {
                let data = match &args.data {
                    Some(dir) => dir.clone(),
                    None => parent_of(path),
                };
                found.metainfo_file(path, &data)?;
            }
        }
    }
    if found.specs.is_empty() {
        let paths: Vec<String> = args.paths.iter().map(|p| p.display().to_string()).collect();
        return Err(Failure::new(
            3,
            anyhow!(
                "nothing to seed in {}: no metainfo file whose data is there (make one with `mkmeta PATH`)",
                paths.join(", ")
            ),
        ));
    }
    let no_tracker = args.common.no_tracker;
    let seeding = args.seeding.clone();
    Ok(found
        .specs
        .into_iter()
        .map(|(meta, data_dir)| TorrentSpec {
            meta,
            data_dir,
            seed_only: true,
            keep_seeding: true,
            peers: Vec::new(),
            use_trackers: !no_tracker,
            stall_timeout: None,
            verified: None,
            seed_ratio: seeding.seed_ratio,
            seed_time: seeding.seed_time,
        })
        .collect())
}

/// Torrents found so far, each once.
#[derive(Default)]
struct Found {
    seen: HashSet<InfoHash>,
    specs: Vec<(Metainfo, PathBuf)>,
}

impl Found {
    fn add(&mut self, meta: Metainfo, data_dir: PathBuf) {
        if self.seen.insert(meta.info_hash) {
            self.specs.push((meta, data_dir));
        }
    }

    /// A metainfo file the user named: it must parse.
    fn metainfo_file(&mut self, meta: &Path, data_dir: &Path) -> Result<(), Failure> {
        let parsed = load_meta(meta).map_err(|e| Failure::new(3, e))?;
        self.add(parsed, data_dir.to_path_buf());
        Ok(())
    }

    /// A library folder: what the state directory knows was downloaded into it, and the
    /// metainfo files at its top level whose data is beside them.
    fn library(&mut self, dir: &Path, state: &StateDir) {
        for known in state.torrents_in(dir) {
            match load_meta(&known.meta) {
                Ok(meta) => self.add(meta, dir.to_path_buf()),
                Err(e) => eprintln!("swarm: skipping {}: {e:#}", known.info_hash),
            }
        }
        for path in metainfo_files(dir) {
            match load_meta(&path) {
                Ok(meta) if dir.join(&meta.info.name).exists() => {
                    self.add(meta, dir.to_path_buf());
                }
                Ok(_) => {}
                Err(e) => eprintln!("swarm: skipping {}: {e:#}", path.display()),
            }
        }
    }
}

/// The `.meta` and `.torrent` files at the top level of `dir`, sorted.
fn metainfo_files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "meta" || x == "torrent") && p.is_file())
        .collect();
    files.sort();
    files
}

/// The folder holding `file` (`.` for a bare file name).
fn parent_of(file: &Path) -> PathBuf {
    match file.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}
