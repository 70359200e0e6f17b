//! `mkmeta PATH`: hash a file or directory and write its metainfo file.

use std::fs::{self, OpenOptions};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use indicatif::HumanBytes;
use metainfo::create::{
    self, CreateError, CreateOptions, DEFAULT_TRACKER, TRACKER_ENV, TrackerSource,
};

use crate::{Args, UsageError, progress};

/// Where the metainfo goes.
enum Output {
    File(PathBuf),
    /// `-o -`: the metainfo alone on stdout.
    Stdout,
}

/// Create the metainfo for `input` as `args` say, and print where it went.
pub fn run(args: &Args, input: &Path) -> Result<()> {
    fs::metadata(input).with_context(|| format!("cannot read {}", input.display()))?;
    let output = match args.output.as_deref() {
        Some(out) if out == Path::new("-") => {
            if std::io::stdout().is_terminal() {
                return Err(UsageError(
                    "-o - writes binary metainfo to stdout, which is a terminal: redirect it (mkmeta PATH -o - > file.meta) or pass -o FILE".to_string(),
                )
                .into());
            }
            Output::Stdout
        }
        Some(out) => Output::File(out.to_path_buf()),
        None => Output::File(default_output(input)?),
    };
    if let Output::File(path) = &output
        && path.exists()
        && !args.force
    {
        bail!(
            "{} already exists (use --force to overwrite it)",
            path.display()
        );
    }

    // The library applies mkmeta's rules and defaults (`swarm seed` gets the same ones).
    let options = CreateOptions {
        trackers: args.trackers.clone(),
        piece_length: args.piece_length,
        any_piece_length: args.force,
        private: args.private,
        comment: args.comment.clone(),
        name: args.name.clone(),
        web_seeds: args.web_seeds.clone(),
        follow_symlinks: args.follow_symlinks,
        ..CreateOptions::default()
    };
    let plan = create::plan(input, &options).map_err(|e| match e {
        CreateError::NonStandardPieceLength(_) => {
            UsageError(format!("{e} (pass --force to use it anyway)")).into()
        }
        CreateError::BadTrackerEnv(_) | CreateError::BadUrl(_) => UsageError(e.to_string()).into(),
        e => anyhow::Error::new(e).context(format!("cannot make metainfo for {}", input.display())),
    })?;
    say_default_tracker(plan.trackers(), plan.trackers_from());

    let bar = progress::bytes_bar(plan.total_length(), "hashing");
    let started = Instant::now();
    let created = plan
        .hash(|bytes| bar.inc(bytes))
        .with_context(|| format!("cannot make metainfo for {}", input.display()))?;
    bar.finish_and_clear();
    let elapsed = started.elapsed();

    if let Some(first) = created.skipped_symlinks.first() {
        eprintln!(
            "mkmeta: skipped {} symlink(s), e.g. {} (pass --follow-symlinks to include what they point to)",
            created.skipped_symlinks.len(),
            first.display()
        );
    }
    let meta = created.metainfo;
    match &output {
        Output::File(path) => {
            warn_if_inside(path, input);
            write_output(path, &meta.to_bytes(), args.force)?;
        }
        Output::Stdout => crate::write_out(&meta.to_bytes())?,
    }

    let info = &meta.info;
    let secs = elapsed.as_secs_f64().max(1e-6);
    eprintln!(
        "mkmeta: hashed {} in {} file(s): {} pieces of {} in {:.2} s ({}/s)",
        HumanBytes(info.total_length()),
        info.files.len(),
        info.piece_count(),
        HumanBytes(info.piece_length),
        secs,
        HumanBytes((info.total_length() as f64 / secs) as u64),
    );
    let summary = |wrote: &dyn std::fmt::Display| {
        format!(
            "wrote:     {wrote}\ninfo-hash: {}\nmagnet:    {}\n",
            meta.info_hash,
            meta.magnet()
        )
    };
    match &output {
        Output::File(path) => crate::print_out(&summary(&path.display()))?,
        // stdout holds the metainfo alone; the summary goes with the other notes.
        Output::Stdout => eprint!("{}", summary(&"stdout")),
    }
    if let Some(endpoint) = &args.publish {
        let url = crate::publish::publish(endpoint, meta.to_bytes())?;
        let line = format!("catalog:   {url}\n");
        match &output {
            Output::File(_) => crate::print_out(&line)?,
            Output::Stdout => eprint!("{line}"),
        }
    }
    Ok(())
}

/// Says on stderr which default tracker was used when no -t was given.
fn say_default_tracker(trackers: &[String], from: TrackerSource) {
    let url = trackers.first().map_or(DEFAULT_TRACKER, String::as_str);
    match from {
        TrackerSource::Given => {}
        TrackerSource::Environment => {
            eprintln!("mkmeta: no -t given: announcing to {url} (from ${TRACKER_ENV})");
        }
        TrackerSource::BuiltIn => eprintln!(
            "mkmeta: no -t given: announcing to {url} (the local tracker's default; set ${TRACKER_ENV} or pass -t URL)"
        ),
    }
}

/// `<stem>.meta` in the current directory: `file.iso` → `file.meta`, `./dir` → `dir.meta`.
/// A directory keeps its whole name (`v1.2` → `v1.2.meta`).
pub fn default_output(input: &Path) -> Result<PathBuf> {
    // `.`, `..` and `dir/` have no usable file name until made absolute.
    let absolute = std::path::absolute(input)
        .with_context(|| format!("cannot resolve {}", input.display()))?;
    let named = if absolute.file_name().is_some() && !input.ends_with("..") {
        absolute
    } else {
        fs::canonicalize(input).with_context(|| format!("cannot resolve {}", input.display()))?
    };
    let stem = if named.is_dir() {
        named.file_name()
    } else {
        named.file_stem()
    };
    let stem = stem.filter(|s| !s.is_empty()).with_context(|| {
        format!(
            "{} has no name to derive the output from: pass -o OUT",
            input.display()
        )
    })?;
    let mut name = stem.to_os_string();
    name.push(".meta");
    Ok(PathBuf::from(name))
}

/// Say so when the metainfo file lands inside the directory it describes: it is not part of
/// this torrent, but a later run on the same directory would include it.
fn warn_if_inside(output: &Path, input: &Path) {
    let dir = output
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if let (Ok(dir), Ok(input)) = (fs::canonicalize(dir), fs::canonicalize(input))
        && input.is_dir()
        && dir.starts_with(&input)
    {
        eprintln!(
            "mkmeta: note: {} is inside {}; a later run on that directory would include it (use -o elsewhere)",
            output.display(),
            input.display()
        );
    }
}

/// Write the metainfo: refuses to replace an existing file unless `force`, and replaces
/// one atomically (write a temporary sibling, then rename) when it does.
fn write_output(path: &Path, bytes: &[u8], force: bool) -> Result<()> {
    let context = || format!("cannot write {}", path.display());
    if !force {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
            .map_err(|e| {
                if e.kind() == std::io::ErrorKind::AlreadyExists {
                    anyhow::anyhow!(
                        "{} already exists (use --force to overwrite it)",
                        path.display()
                    )
                } else {
                    anyhow::Error::new(e).context(context())
                }
            })?;
        return file.write_all(bytes).with_context(context);
    }
    let mut temp_name = path.file_name().unwrap_or_default().to_os_string();
    temp_name.push(format!(".tmp-{}", std::process::id()));
    let temp = path.with_file_name(temp_name);
    fs::write(&temp, bytes).with_context(context)?;
    fs::rename(&temp, path)
        .with_context(context)
        .inspect_err(|_| {
            let _ = fs::remove_file(&temp);
        })
}

#[cfg(test)]
mod tests {
    use super::default_output;
    use std::path::{Path, PathBuf};

    #[test]
    fn output_is_named_after_the_stem() {
        assert_eq!(
            default_output(Path::new("file.iso")).ok(),
            Some(PathBuf::from("file.meta"))
        );
        assert_eq!(
            default_output(Path::new("/some/where/archive.tar.gz")).ok(),
            Some(PathBuf::from("archive.tar.meta"))
        );
        assert_eq!(
            default_output(Path::new("noext")).ok(),
            Some(PathBuf::from("noext.meta"))
        );
    }
}
