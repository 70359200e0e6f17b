//! `swarm seed --watch`: library folders are watched (the `notify` crate: inotify on Linux)
//! and rescanned after each burst of changes; a metainfo file added at the top level, with
//! its data beside it, starts seeding, and one removed stops, without a restart.
//!
//! Rescanning the folder rather than following single events is what makes this robust: a
//! metainfo written in several steps, renamed into place, or whose data arrives after it
//! is seen as it stands once the burst is over.

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::time::Duration;

use metainfo::InfoHash;
use notify::{RecommendedWatcher, RecursiveMode, Watcher};
use swarm_client::torrent::TorrentSpec;
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::library::{self, Skipped};
use super::{Say, SpecTemplate};

/// How long a burst of changes must be quiet before the folders are rescanned.
const SETTLE: Duration = Duration::from_millis(300);

/// What changed in the watched folders.
pub enum Change {
    /// A torrent to start seeding.
    Add(Box<TorrentSpec>),
    /// A torrent whose metainfo is gone: stop seeding it.
    Remove(InfoHash),
}

/// One watched library folder and the metainfo files seen at its top level.
struct Library {
    dir: PathBuf,
    present: BTreeMap<PathBuf, InfoHash>,
}

/// The watched library folders.
pub struct LibraryWatch {
    _watcher: RecommendedWatcher,
    wakeups: mpsc::UnboundedReceiver<()>,
    /// When the burst of changes being waited out is over (`None`: no burst).
    settle_at: Option<Instant>,
    libraries: Vec<Library>,
    /// Torrents seeded for another reason (named on the command line, downloaded into a
    /// library, shared): a metainfo file of theirs coming or going changes nothing.
    fixed: HashSet<InfoHash>,
    template: SpecTemplate,
    /// Skip reasons already told, so a rescan does not repeat them.
    told: HashSet<Skipped>,
}

/// A library folder to watch: its path and the metainfo files at its top level seeded now.
pub struct Watched {
    pub dir: PathBuf,
    pub files: Vec<(PathBuf, InfoHash)>,
}

impl LibraryWatch {
    /// Starts watching `folders`. `fixed`: the torrents seeded for another reason.
    pub fn start(
        folders: Vec<Watched>,
        fixed: HashSet<InfoHash>,
        template: SpecTemplate,
        told: impl IntoIterator<Item = Skipped>,
    ) -> anyhow::Result<LibraryWatch> {
        let (tx, wakeups) = mpsc::unbounded_channel();
        let mut watcher =
            notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
                if event.is_ok_and(|e| !e.kind.is_access()) {
                    let _ = tx.send(());
                }
            })?;
        let mut libraries = Vec::with_capacity(folders.len());
        for folder in folders {
            watcher
                .watch(&folder.dir, RecursiveMode::NonRecursive)
                .map_err(|e| anyhow::anyhow!("cannot watch {}: {e}", folder.dir.display()))?;
            libraries.push(Library {
                dir: folder.dir,
                present: folder.files.into_iter().collect(),
            });
        }
        Ok(LibraryWatch {
            _watcher: watcher,
            wakeups,
            settle_at: None,
            libraries,
            fixed,
            template,
            told: told.into_iter().collect(),
        })
    }

    /// Waits for a burst of changes in the folders, then says what to add and remove.
    /// Cancellation-safe (the caller selects on it among other events): the burst in
    /// progress is kept in `self`.
    pub async fn changes(&mut self, say: &Say) -> Vec<Change> {
        loop {
            let Some(at) = self.settle_at else {
                if self.wakeups.recv().await.is_none() {
                    std::future::pending::<()>().await;
                }
                self.settle_at = Some(Instant::now() + SETTLE);
                continue;
            };
            tokio::select! {
                woke = self.wakeups.recv() => {
                    if woke.is_some() {
                        self.settle_at = Some(Instant::now() + SETTLE);
                    }
                }
                () = tokio::time::sleep_until(at) => {
                    self.settle_at = None;
                    return self.rescan(say);
                }
            }
        }
    }

    /// Scans every folder again and compares with what was there.
    fn rescan(&mut self, say: &Say) -> Vec<Change> {
        let before: HashSet<InfoHash> = self.seen();
        let mut added = HashSet::new();
        let mut changes = Vec::new();
        for lib in &mut self.libraries {
            let scan = library::scan_top_level(&lib.dir);
            for skipped in scan.skipped.iter().chain(&scan.without_data) {
                if self.told.insert(skipped.clone()) {
                    say.note(&skipped.to_string());
                }
            }
            lib.present.clear();
            for found in scan.found {
                let hash = found.meta.info_hash;
                if let Some(file) = &found.file {
                    lib.present.insert(file.clone(), hash);
                }
                if !before.contains(&hash) && !self.fixed.contains(&hash) && added.insert(hash) {
                    say.note(&format!(
                        "{}: new metainfo file, seeding {}",
                        lib.dir.display(),
                        found.meta.info.name
                    ));
                    changes.push(Change::Add(Box::new(self.template.spec(
                        found.meta,
                        found.data_dir,
                        None,
                    ))));
                }
            }
        }
        let after = self.seen();
        for hash in before.difference(&after) {
            if !self.fixed.contains(hash) {
                changes.push(Change::Remove(*hash));
            }
        }
        // A reason told once is told again if the file comes back with it later.
        let still: HashSet<PathBuf> = self
            .libraries
            .iter()
            .flat_map(|l| library::metainfo_files(&l.dir))
            .collect();
        self.told.retain(|s| still.contains(&s.path));
        changes
    }

    /// The torrents whose metainfo files are at the top of a watched folder now.
    fn seen(&self) -> HashSet<InfoHash> {
        self.libraries
            .iter()
            .flat_map(|l| l.present.values().copied())
            .collect()
    }
}
