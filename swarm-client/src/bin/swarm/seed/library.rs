//! A library folder: the torrents `swarm get -o DIR` downloaded into it (the state directory
//! keeps a metainfo copy of each), and the metainfo files at its top level whose content
//! (`DIR/<name>`) is beside them. Scanning never fails as a whole: a metainfo that does not
//! parse, or whose data is not there, is skipped with a one-line reason.

use std::path::{Path, PathBuf};

use metainfo::Metainfo;
use swarm_client::state::StateDir;

/// A torrent found in a library folder.
pub struct Found {
    pub meta: Metainfo,
    /// The folder its data is in (the library folder).
    pub data_dir: PathBuf,
    /// The metainfo file at the folder's top level it came from (`None`: the state
    /// directory's copy, from a `swarm get -o` into the folder).
    pub file: Option<PathBuf>,
}

/// A metainfo that is not seeded, and why.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Skipped {
    pub path: PathBuf,
    pub reason: String,
}

impl std::fmt::Display for Skipped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "skipping {}: {}", self.path.display(), self.reason)
    }
}

/// What a scan of a folder found.
#[derive(Default)]
pub struct Scan {
    pub found: Vec<Found>,
    pub skipped: Vec<Skipped>,
    /// Metainfo files at the top level that parse but whose content is not beside them
    /// (a folder that merely holds some `.torrent` files is not a library).
    pub without_data: Vec<Skipped>,
}

impl Scan {
    /// Does the folder read as a library: `swarm get` downloaded into it, or a metainfo file
    /// at its top level has its content beside it?
    pub fn is_library(&self) -> bool {
        !self.found.is_empty()
    }
}

/// Scans `dir`: the torrents the state directory records as downloaded into it, then its
/// top-level metainfo files.
pub fn scan(dir: &Path, state: &StateDir) -> Scan {
    let mut scan = Scan::default();
    for known in state.torrents_in(dir) {
        match crate::load_meta(&known.meta) {
            Ok(meta) => scan.found.push(Found {
                meta,
                data_dir: dir.to_path_buf(),
                file: None,
            }),
            Err(e) => scan.skipped.push(Skipped {
                path: known.meta,
                reason: format!("{e:#}"),
            }),
        }
    }
    scan_files(dir, &mut scan);
    scan
}

/// The top-level metainfo files of `dir` only (what `--watch` follows).
pub fn scan_top_level(dir: &Path) -> Scan {
    let mut scan = Scan::default();
    scan_files(dir, &mut scan);
    scan
}

fn scan_files(dir: &Path, scan: &mut Scan) {
    for path in metainfo_files(dir) {
        match read_metainfo(&path) {
            Ok(meta) => {
                let content = dir.join(&meta.info.name);
                if content.exists() {
                    scan.found.push(Found {
                        meta,
                        data_dir: dir.to_path_buf(),
                        file: Some(path),
                    });
                } else {
                    scan.without_data.push(Skipped {
                        path,
                        reason: format!("its data {} is not there", content.display()),
                    });
                }
            }
            Err(reason) => scan.skipped.push(Skipped { path, reason }),
        }
    }
}

/// Reads and parses one metainfo file; the error is the reason, without the path.
fn read_metainfo(path: &Path) -> Result<Metainfo, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read it: {e}"))?;
    Metainfo::from_bytes(&bytes).map_err(|e| format!("not valid metainfo: {e}"))
}

/// Is `path` named like a metainfo file (`.meta` or `.torrent`)?
pub fn is_metainfo_name(path: &Path) -> bool {
    path.extension()
        .is_some_and(|x| x.eq_ignore_ascii_case("meta") || x.eq_ignore_ascii_case("torrent"))
}

/// The `.meta` and `.torrent` files at the top level of `dir`, sorted.
pub fn metainfo_files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| is_metainfo_name(p) && p.is_file())
        .collect();
    files.sort();
    files
}

/// Is `dir` empty (nothing at all in it, hidden files included)?
pub fn is_empty_folder(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|mut entries| entries.next().is_none())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_torrent(dir: &Path, name: &str, with_data: bool) -> Metainfo {
        let data = dir.join(name);
        std::fs::write(&data, vec![7u8; 40_000]).unwrap();
        let options = metainfo::create::CreateOptions {
            piece_length: Some(16384),
            ..Default::default()
        };
        let meta = metainfo::create::create(&data, &options, |_| {}).unwrap();
        std::fs::write(dir.join(format!("{name}.meta")), meta.to_bytes()).unwrap();
        if !with_data {
            std::fs::remove_file(&data).unwrap();
        }
        meta
    }

    #[test]
    fn a_folder_of_metainfo_files_without_their_data_is_not_a_library() {
        let dir = tempfile::tempdir().unwrap();
        write_torrent(dir.path(), "a.bin", false);
        let scan = scan_top_level(dir.path());
        assert!(!scan.is_library());
        assert_eq!(scan.without_data.len(), 1);
    }

    #[test]
    fn garbage_metainfo_is_skipped_with_its_reason_and_the_good_one_is_found() {
        let dir = tempfile::tempdir().unwrap();
        let good = write_torrent(dir.path(), "g.bin", true);
        std::fs::write(dir.path().join("bad.torrent"), b"d4:infoi1ee").unwrap();
        let scan = scan_top_level(dir.path());
        assert!(scan.is_library());
        assert_eq!(scan.found[0].meta.info_hash, good.info_hash);
        assert_eq!(scan.skipped.len(), 1);
        let line = scan.skipped[0].to_string();
        assert!(line.contains("bad.torrent") && line.contains("not valid metainfo"));
        assert!(!line.contains('\n'));
    }
}
