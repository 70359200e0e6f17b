//! Sharing a file or folder of one's own: its metainfo is made exactly as `mkmeta PATH`
//! makes it (`metainfo::create::plan`, the same defaults and `-t` / `--private` /
//! `--piece-length` rules), written as `<name>.meta` in the current directory — in the state
//! directory instead when the current directory is inside what is shared, so nothing is
//! added to it — or where `--meta-out` says. An existing file with the same info-hash is
//! reused as it is; another one is kept unless `--force`. The pieces were just hashed, so the
//! torrent starts seeding with all of them verified, without reading the data again.

use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow};
use metainfo::Metainfo;
use metainfo::create::{self, CreateError, CreateOptions, Plan, TRACKER_ENV, TrackerSource};
use swarm_client::state::StateDir;
use swarm_client::wire::Bitfield;

use super::Say;
use crate::Failure;
use crate::cli::MakeArgs;

/// A shared path, ready to seed.
pub struct Shared {
    pub meta: Metainfo,
    /// The folder the torrent's data is in (`<data_dir>/<name>` is the shared path).
    pub data_dir: PathBuf,
    /// Every piece: they were hashed from the data just now.
    pub verified: Bitfield,
}

/// Makes (or reuses) the metainfo of `path`, writes it, prints where, its info-hash and
/// magnet link.
pub fn share(path: &Path, make: &MakeArgs, state: &StateDir, say: &Say) -> Result<Shared, Failure> {
    let options = CreateOptions {
        trackers: make.trackers.clone(),
        piece_length: make.piece_length,
        private: make.private,
        ..CreateOptions::default()
    };
    let plan = create::plan(path, &options).map_err(|e| plan_failure(path, e))?;
    if let Some(line) = default_tracker_note(&plan) {
        say.note(&line);
    }
    let out = destination(path, &plan, make.meta_out.as_deref(), state)?;
    if !make.force
        && let Some(reason) = plainly_other(&out, &plan)
    {
        return Err(refusal(&out, &reason));
    }
    say.note(&format!(
        "hashing {} in {} file(s), pieces of {}",
        crate::render::bytes(plan.total_length()),
        plan.file_count(),
        crate::render::bytes(u64::from(plan.geometry().piece_length())),
    ));
    let created = plan
        .hash(|_| {})
        .with_context(|| format!("cannot make metainfo for {}", path.display()))
        .map_err(|e| Failure::new(1, e))?;
    if let Some(first) = created.skipped_symlinks.first() {
        say.note(&format!(
            "skipped {} symlink(s), e.g. {} (mkmeta --follow-symlinks includes them)",
            created.skipped_symlinks.len(),
            first.display()
        ));
    }
    let made = created.metainfo;
    let data_dir = created.data_dir.ok_or_else(|| {
        Failure::new(
            1,
            anyhow!("cannot tell which folder holds {}", path.display()),
        )
    })?;
    // A file reused is seeded as it is: its trackers are the ones its users announce to.
    let (meta, wrote) = match write_or_reuse(&out, path, &made, make.force)? {
        Some(existing) => (existing, false),
        None => (made, true),
    };
    say.shared(&out, &meta, wrote);
    let verified = Bitfield::full(meta.info.piece_count());
    Ok(Shared {
        meta,
        data_dir,
        verified,
    })
}

/// Where the metainfo goes: `--meta-out`, else `<name>.meta` in the current directory (a
/// file keeps its stem: `movie.bin` → `movie.meta`, as mkmeta), else — the current
/// directory being inside the shared folder — the state directory.
fn destination(
    path: &Path,
    plan: &Plan,
    meta_out: Option<&Path>,
    state: &StateDir,
) -> Result<PathBuf, Failure> {
    if let Some(out) = meta_out {
        return Ok(out.to_path_buf());
    }
    let name = Path::new(plan.name());
    let stem = if path.is_dir() {
        Some(name.as_os_str())
    } else {
        name.file_stem()
    }
    .unwrap_or(name.as_os_str());
    let mut file = stem.to_os_string();
    file.push(".meta");
    let cwd = std::env::current_dir()
        .map_err(|e| Failure::new(4, anyhow!("cannot tell the current directory: {e}")))?;
    if path.is_dir() && inside(&cwd, path) {
        Ok(state.shared_meta(path, plan.name()))
    } else {
        Ok(cwd.join(file))
    }
}

/// Is `inner` the folder `outer` or inside it (both resolved)?
fn inside(inner: &Path, outer: &Path) -> bool {
    match (inner.canonicalize(), outer.canonicalize()) {
        (Ok(i), Ok(o)) => i.starts_with(o),
        _ => false,
    }
}

/// Why the metainfo file at `out`, if any, is plainly of another torrent than `plan` would
/// make (checked before hashing, so a refusal costs nothing): not metainfo, or another name,
/// size, piece length or file count.
fn plainly_other(out: &Path, plan: &Plan) -> Option<String> {
    let bytes = std::fs::read(out).ok()?;
    let Ok(existing) = Metainfo::from_bytes(&bytes) else {
        return Some("it is not valid metainfo".into());
    };
    let info = &existing.info;
    let same = info.name == plan.name()
        && info.total_length() == plan.total_length()
        && info.piece_length == u64::from(plan.geometry().piece_length())
        && info.files.len() == plan.file_count();
    (!same).then(|| {
        format!(
            "it is the metainfo of another torrent ({})",
            existing.info_hash
        )
    })
}

fn refusal(out: &Path, reason: &str) -> Failure {
    Failure::new(
        1,
        anyhow!(
            "{} already exists and {reason}: not overwritten (pass --force to overwrite it, or --meta-out FILE to write elsewhere)",
            out.display()
        ),
    )
}

/// Writes `meta` to `out` (atomically) unless a file with the same info-hash is there, which
/// is returned.
fn write_or_reuse(
    out: &Path,
    shared: &Path,
    meta: &Metainfo,
    force: bool,
) -> Result<Option<Metainfo>, Failure> {
    if let Ok(bytes) = std::fs::read(out) {
        match Metainfo::from_bytes(&bytes) {
            Ok(existing) if existing.info_hash == meta.info_hash => return Ok(Some(existing)),
            Ok(existing) if !force => {
                return Err(refusal(
                    out,
                    &format!(
                        "it is the metainfo of another torrent ({})",
                        existing.info_hash
                    ),
                ));
            }
            Err(_) if !force => return Err(refusal(out, "it is not valid metainfo")),
            _ => {}
        }
    }
    if shared.is_dir() && out.parent().is_some_and(|dir| inside(dir, shared)) {
        return Err(Failure::new(
            2,
            anyhow!(
                "{} is inside {}, which is shared: swarm seed writes nothing into what it serves (--meta-out FILE elsewhere)",
                out.display(),
                shared.display()
            ),
        ));
    }
    write_atomically(out, &meta.to_bytes())
        .with_context(|| format!("cannot write {}", out.display()))
        .map_err(|e| Failure::new(4, e))?;
    Ok(None)
}

/// Writes through a temporary file beside `out`, then renames it into place.
fn write_atomically(out: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let mut tmp = out.as_os_str().to_os_string();
    tmp.push(format!(".tmp-{}", std::process::id()));
    let tmp = PathBuf::from(tmp);
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, out).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

/// mkmeta's exit statuses for what `plan` refuses: a bad option is a usage error (2), an
/// unreadable input 4, anything else 1.
fn plan_failure(path: &Path, e: CreateError) -> Failure {
    match e {
        CreateError::NonStandardPieceLength(_) | CreateError::InvalidPieceLength(_) => {
            Failure::new(2, anyhow!("--piece-length: {e}"))
        }
        CreateError::BadUrl(_) | CreateError::BadTrackerEnv(_) => Failure::new(2, e.into()),
        CreateError::Io { .. } => Failure::new(
            4,
            anyhow::Error::new(e).context(format!("cannot share {}", path.display())),
        ),
        e => Failure::new(
            1,
            anyhow::Error::new(e).context(format!("cannot share {}", path.display())),
        ),
    }
}

/// The note mkmeta prints when no `-t` was given.
fn default_tracker_note(plan: &Plan) -> Option<String> {
    let url = plan.trackers().first()?;
    match plan.trackers_from() {
        TrackerSource::Given => None,
        TrackerSource::Environment => Some(format!(
            "no -t given: announcing to {url} (from ${TRACKER_ENV})"
        )),
        TrackerSource::BuiltIn => Some(format!(
            "no -t given: announcing to {url} (the local tracker's default; set ${TRACKER_ENV} or pass -t URL)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan_of(path: &Path) -> Plan {
        let options = CreateOptions {
            trackers: vec!["http://127.0.0.1:9/announce".into()],
            piece_length: Some(16384),
            ..CreateOptions::default()
        };
        create::plan(path, &options).unwrap()
    }

    #[test]
    fn an_existing_metainfo_of_another_torrent_is_refused_before_hashing() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("d.bin");
        std::fs::write(&data, vec![1u8; 50_000]).unwrap();
        let out = dir.path().join("d.meta");
        assert_eq!(plainly_other(&out, &plan_of(&data)), None, "no file yet");
        std::fs::write(&out, b"not metainfo").unwrap();
        assert!(plainly_other(&out, &plan_of(&data)).is_some());
        let other = dir.path().join("other.bin");
        std::fs::write(&other, vec![2u8; 10]).unwrap();
        let meta = plan_of(&other).hash(|_| {}).unwrap().metainfo;
        std::fs::write(&out, meta.to_bytes()).unwrap();
        assert!(
            plainly_other(&out, &plan_of(&data))
                .unwrap()
                .contains("another torrent")
        );
    }

    #[test]
    fn a_file_with_the_same_info_hash_is_reused_and_another_kept_without_force() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("d.bin");
        std::fs::write(&data, vec![1u8; 50_000]).unwrap();
        let meta = plan_of(&data).hash(|_| {}).unwrap().metainfo;
        let out = dir.path().join("out/d.meta");
        assert!(
            write_or_reuse(&out, &data, &meta, false).unwrap().is_none(),
            "written"
        );
        let before = std::fs::read(&out).unwrap();
        let mut later = meta.clone();
        later.creation_date = Some(1);
        let reused = write_or_reuse(&out, &data, &later, false).unwrap();
        assert_eq!(reused.unwrap().creation_date, meta.creation_date, "reused");
        assert_eq!(std::fs::read(&out).unwrap(), before);
        std::fs::write(&out, b"junk").unwrap();
        assert!(write_or_reuse(&out, &data, &meta, false).is_err());
        assert!(write_or_reuse(&out, &data, &meta, true).unwrap().is_none());
    }

    #[test]
    fn nothing_is_written_inside_a_shared_folder() {
        let dir = tempfile::tempdir().unwrap();
        let shared = dir.path().join("album");
        std::fs::create_dir_all(&shared).unwrap();
        std::fs::write(shared.join("a"), vec![3u8; 100]).unwrap();
        let meta = plan_of(&shared).hash(|_| {}).unwrap().metainfo;
        let failure = write_or_reuse(&shared.join("album.meta"), &shared, &meta, true);
        assert!(failure.is_err());
        assert!(!shared.join("album.meta").exists());
    }
}
