//! What each `swarm seed PATH` is read as: a metainfo file (seed it), a library folder (seed
//! the torrents whose data is in it), or files of one's own (share them: make their
//! metainfo). `--share` and `--library` force the reading of a folder; `--watch` reads
//! folders as libraries unless `--share` says otherwise.

use std::path::{Path, PathBuf};

use anyhow::anyhow;
use swarm_client::state::StateDir;

use super::library::{self, Scan};
use crate::Failure;

/// How a PATH is read.
pub enum Reading {
    /// A metainfo file.
    Metainfo(PathBuf),
    /// A library folder, with what a scan found there.
    Library { dir: PathBuf, scan: Scan },
    /// A file or folder of one's own, to share.
    Share { path: PathBuf, why: Why },
    /// An empty folder (and nothing forces a reading).
    Empty(PathBuf),
}

/// Why a path is shared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Why {
    /// `--share`.
    Forced,
    /// A plain file.
    PlainFile,
    /// A folder with no metainfo whose data is beside it, and nothing downloaded into it.
    NoMetainfo,
}

/// How the user forces the reading of folders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Force {
    None,
    Share,
    Library,
}

/// Reads `path`; fails (exit status 4) when it does not exist.
pub fn classify(path: &Path, force: Force, state: &StateDir) -> Result<Reading, Failure> {
    let metadata = std::fs::metadata(path)
        .map_err(|e| Failure::new(4, anyhow!("cannot seed {}: {e}", path.display())))?;
    let path = path.to_path_buf();
    if !metadata.is_dir() {
        return Ok(if force == Force::Share {
            Reading::Share {
                path,
                why: Why::Forced,
            }
        } else if library::is_metainfo_name(&path) {
            Reading::Metainfo(path)
        } else {
            Reading::Share {
                path,
                why: Why::PlainFile,
            }
        });
    }
    match force {
        Force::Share => Ok(Reading::Share {
            path,
            why: Why::Forced,
        }),
        Force::Library => {
            let scan = library::scan(&path, state);
            Ok(Reading::Library { dir: path, scan })
        }
        Force::None => {
            let scan = library::scan(&path, state);
            Ok(if scan.is_library() {
                Reading::Library { dir: path, scan }
            } else if library::is_empty_folder(&path) {
                Reading::Empty(path)
            } else {
                Reading::Share {
                    path,
                    why: Why::NoMetainfo,
                }
            })
        }
    }
}

/// The line that tells the user how `path` was read (the first line `swarm seed` prints
/// about it).
pub fn decision_line(reading: &Reading, watch: bool) -> String {
    match reading {
        Reading::Metainfo(path) => format!("seeding metainfo file {}", path.display()),
        Reading::Library { dir, scan } => {
            let from_get = scan.found.iter().filter(|f| f.file.is_none()).count();
            let files = scan.found.len() - from_get;
            let watching = if watch {
                "; watching it for metainfo files added or removed"
            } else {
                ""
            };
            format!(
                "seeding library folder {}: {from_get} torrent(s) downloaded into it, {files} metainfo file(s) with their data beside them{watching}",
                dir.display()
            )
        }
        Reading::Share { path, why } => {
            let because = match why {
                Why::Forced => "--share",
                Why::PlainFile => "not a metainfo file",
                Why::NoMetainfo => {
                    "no metainfo file with its data is in it and nothing was downloaded into it; --library reads it as a library"
                }
            };
            format!(
                "sharing {} ({because}): making its metainfo as `mkmeta {}` would",
                path.display(),
                path.display()
            )
        }
        Reading::Empty(path) => empty_folder_hint(path),
    }
}

/// What to say about an empty folder: how to share something with it.
pub fn empty_folder_hint(dir: &Path) -> String {
    let d = dir.display();
    format!(
        "{d} is empty: nothing to seed. To share files, put them in it and run `swarm seed {d}` (it makes their metainfo as mkmeta would); to seed torrents, put their .meta/.torrent files there with their data beside them (`swarm seed --watch {d}` picks them up as they come)"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state() -> (tempfile::TempDir, StateDir) {
        let dir = tempfile::tempdir().unwrap();
        let state = StateDir::at(dir.path());
        (dir, state)
    }

    #[test]
    fn a_folder_holding_only_torrent_files_without_their_content_is_shared() {
        let (_s, state) = state();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("x.torrent"), b"garbage").unwrap();
        std::fs::write(dir.path().join("notes.txt"), b"hello").unwrap();
        let reading = classify(dir.path(), Force::None, &state).unwrap();
        assert!(matches!(
            reading,
            Reading::Share {
                why: Why::NoMetainfo,
                ..
            }
        ));
        assert!(decision_line(&reading, false).starts_with("sharing "));
    }

    #[test]
    fn forcing_wins_over_the_guess_and_an_empty_folder_says_how_to_share() {
        let (_s, state) = state();
        let dir = tempfile::tempdir().unwrap();
        let empty = classify(dir.path(), Force::None, &state).unwrap();
        let line = decision_line(&empty, false);
        assert!(line.contains("mkmeta") && line.contains(&dir.path().display().to_string()));
        assert!(matches!(
            classify(dir.path(), Force::Library, &state).unwrap(),
            Reading::Library { .. }
        ));
        assert!(matches!(
            classify(dir.path(), Force::Share, &state).unwrap(),
            Reading::Share { .. }
        ));
    }

    #[test]
    fn a_missing_path_is_exit_status_4_naming_it() {
        let (_s, state) = state();
        let missing = Path::new("/nonexistent/swarm/seed/path.meta");
        let Err(failure) = classify(missing, Force::None, &state) else {
            panic!("a missing path was read");
        };
        assert_eq!(failure.status, 4);
        assert!(failure.error.to_string().contains("path.meta"));
    }
}
