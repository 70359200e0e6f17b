//! Listing the files to put in new metainfo: a deterministic, sorted walk.
//!
//! The path given is always followed, even when it is a symlink. Inside a directory, entries
//! are visited in byte order of their names, hidden files included; empty directories add
//! nothing; symbolic links are skipped (and reported) unless `follow_symlinks` is set, in which
//! case a link back to a directory being walked is an error. Anything that is neither a
//! regular file nor a directory (FIFO, socket, device) is an error.

use std::fs;
use std::path::{Path, PathBuf};

use super::CreateError;
use crate::check_component;

/// One regular file to hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct InputFile {
    /// Where to read it.
    pub fs_path: PathBuf,
    /// Components below the root directory (empty for a single-file input).
    pub components: Vec<String>,
    /// Its length when listed.
    pub length: u64,
}

/// What a walk found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Listing {
    /// The root's own name (file or directory name).
    pub root_name: String,
    /// True when the root is a single regular file.
    pub single_file: bool,
    /// Files in torrent order.
    pub files: Vec<InputFile>,
    /// Symbolic links that were not followed.
    pub skipped_symlinks: Vec<PathBuf>,
}

/// Lists the files under `root` (or `root` itself when it is a file).
pub(crate) fn list(root: &Path, follow_symlinks: bool) -> Result<Listing, CreateError> {
    let metadata = fs::metadata(root).map_err(|e| CreateError::io(root, e))?;
    let root_name = root_name(root)?;
    let mut listing = Listing {
        root_name,
        single_file: false,
        files: Vec::new(),
        skipped_symlinks: Vec::new(),
    };
    if metadata.is_file() {
        listing.single_file = true;
        listing.files.push(InputFile {
            fs_path: root.to_path_buf(),
            components: Vec::new(),
            length: metadata.len(),
        });
    } else if metadata.is_dir() {
        let mut walker = Walker {
            follow_symlinks,
            ancestors: Vec::new(),
            listing,
        };
        walker.directory(root, &metadata, &mut Vec::new())?;
        listing = walker.listing;
    } else {
        return Err(CreateError::NotAFileOrDirectory(root.to_path_buf()));
    }
    Ok(listing)
}

/// The name of the file or directory at `root`, resolving `.`, `..` and the like.
fn root_name(root: &Path) -> Result<String, CreateError> {
    let name = match root.file_name() {
        Some(name) => name.to_os_string(),
        None => {
            let absolute = fs::canonicalize(root).map_err(|e| CreateError::io(root, e))?;
            absolute
                .file_name()
                .map(|name| name.to_os_string())
                .ok_or_else(|| CreateError::NoName(root.to_path_buf()))?
        }
    };
    name.into_string()
        .map_err(|_| CreateError::NonUtf8Name(root.to_path_buf()))
}

struct Walker {
    follow_symlinks: bool,
    /// Identity of the directories being walked, to catch symlink loops.
    ancestors: Vec<Option<(u64, u64)>>,
    listing: Listing,
}

impl Walker {
    fn directory(
        &mut self,
        dir: &Path,
        metadata: &fs::Metadata,
        components: &mut Vec<String>,
    ) -> Result<(), CreateError> {
        let id = file_id(metadata);
        if id.is_some() && self.ancestors.contains(&id) {
            return Err(CreateError::SymlinkLoop(dir.to_path_buf()));
        }
        self.ancestors.push(id);
        let mut entries = fs::read_dir(dir)
            .and_then(|entries| entries.collect::<Result<Vec<_>, _>>())
            .map_err(|e| CreateError::io(dir, e))?;
        entries.sort_by(|a, b| {
            a.file_name()
                .as_encoded_bytes()
                .cmp(b.file_name().as_encoded_bytes())
        });
        for entry in entries {
            let path = entry.path();
            let name = entry
                .file_name()
                .into_string()
                .map_err(|_| CreateError::NonUtf8Name(path.clone()))?;
            check_component(&name).map_err(|problem| CreateError::InvalidName {
                path: path.clone(),
                problem,
            })?;
            let mut metadata =
                fs::symlink_metadata(&path).map_err(|e| CreateError::io(&path, e))?;
            if metadata.file_type().is_symlink() {
                if !self.follow_symlinks {
                    self.listing.skipped_symlinks.push(path);
                    continue;
                }
                metadata = fs::metadata(&path).map_err(|e| CreateError::io(&path, e))?;
            }
            components.push(name);
            if metadata.is_dir() {
                self.directory(&path, &metadata, components)?;
            } else if metadata.is_file() {
                self.listing.files.push(InputFile {
                    fs_path: path,
                    components: components.clone(),
                    length: metadata.len(),
                });
            } else {
                return Err(CreateError::NotAFileOrDirectory(path));
            }
            components.pop();
        }
        self.ancestors.pop();
        Ok(())
    }
}

/// (device, inode) of a directory, where the platform has them.
#[cfg(unix)]
fn file_id(metadata: &fs::Metadata) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    Some((metadata.dev(), metadata.ino()))
}

#[cfg(not(unix))]
fn file_id(_metadata: &fs::Metadata) -> Option<(u64, u64)> {
    None
}
