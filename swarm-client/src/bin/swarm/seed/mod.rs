//! `swarm seed PATH…`: what to seed. Each PATH is read ([`classify`]) as a metainfo file (its
//! data beside it or under `--data`), a library folder ([`library`]: what `swarm get -o`
//! downloaded into it, and its top-level metainfo files whose data is beside them), or files
//! of one's own to share ([`share`]: metainfo made as mkmeta would, pieces not hashed twice).
//! The first line printed about a PATH says how it was read. Identical torrents count once;
//! a metainfo that does not parse is skipped with a one-line reason. With `--watch`, library
//! folders are followed ([`watch`]).
//!
//! `swarm seed` only reads what it serves: torrents are opened read-only, and what it writes
//! (records, a made metainfo when the current directory is inside the shared folder) goes to
//! the state directory.

mod classify;
mod library;
mod share;
pub mod watch;

use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::anyhow;
use metainfo::{InfoHash, Metainfo};
use swarm_client::state::StateDir;
use swarm_client::torrent::TorrentSpec;
use swarm_client::wire::Bitfield;

use crate::cli::SeedArgs;
use crate::render::OutputMode;
use crate::{Failure, load_meta};
use classify::{Force, Reading};
use watch::{LibraryWatch, Watched};

/// What `swarm seed` will do: the torrents to add, and the folders to watch.
pub struct SeedPlan {
    pub specs: Vec<TorrentSpec>,
    pub watch: Option<LibraryWatch>,
}

/// How `swarm seed` tells the user what it decided (stderr, not with `-q`) and what it made
/// (stdout: as mkmeta's summary, or a `shared` JSON event with `--json`).
#[derive(Debug, Clone, Copy)]
pub struct Say {
    mode: OutputMode,
}

impl Say {
    pub fn new(mode: OutputMode) -> Say {
        Say { mode }
    }

    /// A line for the user.
    pub fn note(&self, line: &str) {
        if self.mode != OutputMode::Quiet {
            eprintln!("{line}");
        }
    }

    /// The metainfo made for a shared path: where it is, its info-hash and magnet link.
    pub fn shared(&self, path: &Path, meta: &Metainfo, wrote: bool) {
        let mut out = std::io::stdout().lock();
        let _ = if self.mode == OutputMode::Json {
            let line = serde_json::json!({
                "event": "shared",
                "name": meta.info.name,
                "meta": path.display().to_string(),
                "written": wrote,
                "info_hash": meta.info_hash.to_string(),
                "magnet": meta.magnet(),
            });
            writeln!(out, "{line}")
        } else {
            let verb = if wrote { "wrote:    " } else { "reused:   " };
            writeln!(
                out,
                "{verb} {}\ninfo-hash: {}\nmagnet:    {}",
                path.display(),
                meta.info_hash,
                meta.magnet()
            )
        }
        .and_then(|()| out.flush());
    }
}

/// What every torrent `swarm seed` adds has in common.
#[derive(Debug, Clone)]
pub struct SpecTemplate {
    use_trackers: bool,
    seed_ratio: Option<f64>,
    seed_time: Option<Duration>,
}

impl SpecTemplate {
    /// A torrent that only seeds what verifies in `data_dir`; `verified`: its pieces known
    /// good already (just hashed).
    pub fn spec(
        &self,
        meta: Metainfo,
        data_dir: PathBuf,
        verified: Option<Bitfield>,
    ) -> TorrentSpec {
        TorrentSpec {
            meta,
            data_dir,
            seed_only: true,
            keep_seeding: true,
            peers: Vec::new(),
            use_trackers: self.use_trackers,
            stall_timeout: None,
            verified,
            seed_ratio: self.seed_ratio,
            seed_time: self.seed_time,
        }
    }
}

/// Torrents gathered from the PATHs, each once.
struct Gathered {
    template: SpecTemplate,
    seen: HashSet<InfoHash>,
    specs: Vec<TorrentSpec>,
    /// Torrents seeded whatever the watched folders' metainfo files do.
    fixed: HashSet<InfoHash>,
    watched: Vec<Watched>,
    told: Vec<library::Skipped>,
}

impl Gathered {
    fn add(&mut self, meta: Metainfo, data_dir: PathBuf, verified: Option<Bitfield>, fixed: bool) {
        let hash = meta.info_hash;
        if fixed {
            self.fixed.insert(hash);
        }
        if self.seen.insert(hash) {
            self.specs
                .push(self.template.spec(meta, data_dir, verified));
        }
    }
}

/// Reads every PATH, says how, and gathers the torrents to seed; fails (naming the path)
/// when one is missing (4), a metainfo file given does not parse (3), sharing fails, or
/// nothing at all is left to seed (3).
pub fn plan(args: &SeedArgs, mode: OutputMode) -> Result<SeedPlan, Failure> {
    let state =
        StateDir::locate(args.common.state_dir.clone()).map_err(|e| Failure::new(4, e.into()))?;
    let say = Say::new(mode);
    let mut gathered = Gathered {
        template: SpecTemplate {
            use_trackers: !args.common.no_tracker,
            seed_ratio: args.seeding.seed_ratio,
            seed_time: args.seeding.seed_time,
        },
        seen: HashSet::new(),
        specs: Vec::new(),
        fixed: HashSet::new(),
        watched: Vec::new(),
        told: Vec::new(),
    };
    if let Some(meta) = &args.meta {
        for data in &args.paths {
            metainfo_with_data(meta, data, &say, &mut gathered)?;
        }
    } else {
        let force = if args.share {
            Force::Share
        } else if args.library || args.watch {
            Force::Library
        } else {
            Force::None
        };
        for path in &args.paths {
            let reading = classify::classify(path, force, &state)?;
            if let (Reading::Empty(dir), [_]) = (&reading, args.paths.as_slice()) {
                return Err(Failure::new(
                    3,
                    anyhow!("{}", classify::empty_folder_hint(dir)),
                ));
            }
            say.note(&classify::decision_line(&reading, args.watch));
            take(reading, args, &state, &say, &mut gathered)?;
        }
    }
    if gathered.specs.is_empty() && gathered.watched.is_empty() {
        let paths: Vec<String> = args.paths.iter().map(|p| p.display().to_string()).collect();
        let hint = match args.paths.as_slice() {
            [one] if one.is_dir() => format!(": {}", classify::empty_folder_hint(one)),
            _ => " (give a metainfo file, a folder holding metainfo files with their data, or files to share)".into(),
        };
        return Err(Failure::new(
            3,
            anyhow!("nothing to seed in {}{hint}", paths.join(", ")),
        ));
    }
    let watch = if gathered.watched.is_empty() {
        None
    } else {
        let watched = std::mem::take(&mut gathered.watched);
        let told = std::mem::take(&mut gathered.told);
        Some(
            LibraryWatch::start(
                watched,
                gathered.fixed.clone(),
                gathered.template.clone(),
                told,
            )
            .map_err(|e| Failure::new(4, e))?,
        )
    };
    Ok(SeedPlan {
        specs: gathered.specs,
        watch,
    })
}

/// Gathers the torrents of one PATH as it was read.
fn take(
    reading: Reading,
    args: &SeedArgs,
    state: &StateDir,
    say: &Say,
    gathered: &mut Gathered,
) -> Result<(), Failure> {
    match reading {
        Reading::Metainfo(path) => {
            let meta = load_meta(&path).map_err(|e| Failure::new(3, e))?;
            let data_dir = match &args.data {
                Some(dir) => dir.clone(),
                None => parent_of(&path),
            };
            gathered.add(meta, data_dir, None, true);
        }
        Reading::Library { dir, scan } => {
            for skipped in scan.skipped.iter().chain(&scan.without_data) {
                say.note(&skipped.to_string());
            }
            if scan.found.is_empty() {
                say.note(&classify::empty_folder_hint(&dir));
            }
            let mut files = Vec::new();
            for found in scan.found {
                if let Some(file) = &found.file {
                    files.push((file.clone(), found.meta.info_hash));
                }
                let fixed = found.file.is_none() || !args.watch;
                gathered.add(found.meta, found.data_dir, None, fixed);
            }
            if args.watch {
                gathered.told.extend(scan.skipped);
                gathered.told.extend(scan.without_data);
                gathered.watched.push(Watched { dir, files });
            }
        }
        Reading::Share { path, .. } => {
            let shared = share::share(&path, &args.make, state, say)?;
            gathered.add(shared.meta, shared.data_dir, Some(shared.verified), true);
        }
        // Said by the decision line; the other PATHs are seeded.
        Reading::Empty(_) => {}
    }
    Ok(())
}

/// `swarm seed DATA --meta FILE`: the torrent of FILE, whose data is DATA — the folder
/// holding `<name>`, or `<name>` itself (`swarm seed ./photos --meta photos.meta`).
fn metainfo_with_data(
    meta_path: &Path,
    data: &Path,
    say: &Say,
    gathered: &mut Gathered,
) -> Result<(), Failure> {
    let meta = load_meta(meta_path).map_err(|e| Failure::new(3, e))?;
    if !data.exists() {
        return Err(Failure::new(
            4,
            anyhow!("cannot seed {}: it does not exist", data.display()),
        ));
    }
    let name = meta.info.name.as_str();
    let data_dir = if data.join(name).exists() {
        data.to_path_buf()
    } else if data.file_name().is_some_and(|n| n == name) {
        parent_of(data)
    } else {
        data.to_path_buf()
    };
    say.note(&format!(
        "seeding metainfo file {} with its data {}",
        meta_path.display(),
        data_dir.join(name).display()
    ));
    gathered.add(meta, data_dir, None, true);
    Ok(())
}

/// The folder holding `file` (`.` for a bare file name).
fn parent_of(file: &Path) -> PathBuf {
    match file.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}
