//! `mkmeta`: make a metainfo (`.meta`, a.k.a. `.torrent`) file from a file or directory,
//! show what one holds (`--show`), or check data against one (`--verify`).
//!
//! Exit status: 0 on success, 1 on failure (including data that does not verify),
//! 2 on usage errors.

mod create;
mod progress;
mod publish;
mod show;
mod size;
mod verify;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

/// Make a metainfo file (BitTorrent v1 `.torrent`, saved as `.meta`) from a file or a
/// directory, show what a metainfo file holds, or verify data against one.
#[derive(Parser, Debug)]
#[command(
    name = "mkmeta",
    version,
    after_help = "Examples:\n  mkmeta file.iso                          writes file.meta in the current directory\n  mkmeta ./photos -t http://tracker:6969/announce --private\n  mkmeta --show file.meta [--json]\n  mkmeta --verify file.meta file.iso       exit status 1 if any piece is bad\n  SWARM_PUBLISH_TOKEN=… mkmeta file.iso --publish http://tracker:6969"
)]
pub struct Args {
    /// The file or directory to describe (with --verify: the data to check; for a
    /// directory, the directory itself, not its parent).
    #[arg(value_name = "PATH", required_unless_present = "show")]
    pub path: Option<PathBuf>,

    /// Where to write the metainfo; `-` writes it to stdout (then nothing else goes to
    /// stdout). Default: `<stem of PATH>.meta` in the current directory (`file.iso` →
    /// `file.meta`, `./dir` → `dir.meta`).
    #[arg(short, long, value_name = "OUT")]
    pub output: Option<PathBuf>,

    /// Announce URL of a tracker; repeat for backup trackers (each one its own tier, tried
    /// in order). Default: $SWARM_TRACKER, else http://127.0.0.1:6969/announce.
    #[arg(short = 't', long = "tracker", value_name = "URL", value_parser = parse_url)]
    pub trackers: Vec<String>,

    /// Bytes per piece: 256K, 1M, 4MiB or a plain number of bytes (K = 1024). It must be a
    /// power of two of at least 16K unless --force is given: libtorrent and other clients
    /// reject or mishandle other lengths. Default: chosen from the total size so there are
    /// about 1,000–2,000 pieces (16 KiB–16 MiB).
    #[arg(long, value_name = "SIZE", value_parser = size::parse_size)]
    pub piece_length: Option<u64>,

    /// Set the private flag (BEP 27): clients then use only the given trackers, no DHT or PEX.
    /// It changes the info-hash.
    #[arg(long)]
    pub private: bool,

    /// Free-text comment stored in the metainfo (outside the info-hash).
    #[arg(long, value_name = "TEXT")]
    pub comment: Option<String>,

    /// HTTP/FTP URL serving the same data (BEP 19 `url-list`); repeatable.
    #[arg(long = "web-seed", value_name = "URL", value_parser = parse_url)]
    pub web_seeds: Vec<String>,

    /// Name of the torrent (the file name, or the top directory). Default: PATH's file name.
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,

    /// Overwrite OUT if it already exists; also allow a --piece-length that is not a power
    /// of two of at least 16K.
    #[arg(short, long)]
    pub force: bool,

    /// Follow symbolic links and include what they point to. Without it, symlinks are
    /// skipped (not included, not followed) and mkmeta says how many it skipped.
    #[arg(long)]
    pub follow_symlinks: bool,

    /// After writing the metainfo, publish it to the catalog of the tracker at URL
    /// (`http(s)://host:port`, or its `…/torrents` address) and print the catalog URL. The
    /// bearer token comes from $SWARM_PUBLISH_TOKEN. One upload of the file just made; if
    /// the tracker refuses, the file stays written and the exit status is 1.
    #[arg(long, value_name = "URL", value_parser = publish::endpoint)]
    pub publish: Option<String>,

    /// Print what the metainfo file FILE.meta holds: name, sizes, pieces, files,
    /// trackers, private flag, info-hash and magnet link.
    #[arg(long, value_name = "FILE.meta", conflicts_with_all = ["verify", "path"])]
    pub show: Option<PathBuf>,

    /// With --show: print the same as one JSON object (only with --show).
    #[arg(long)]
    pub json: bool,

    /// Re-hash the data at PATH and compare it with FILE.meta: lists bad pieces and
    /// bad, missing or wrong-size files; exit status 1 if any.
    #[arg(long, value_name = "FILE.meta")]
    pub verify: Option<PathBuf>,
}

impl Args {
    /// Did the user pass any option that only makes sense when creating?
    fn has_create_options(&self) -> bool {
        self.output.is_some()
            || !self.trackers.is_empty()
            || self.piece_length.is_some()
            || self.private
            || self.comment.is_some()
            || !self.web_seeds.is_empty()
            || self.name.is_some()
            || self.force
            || self.follow_symlinks
            || self.publish.is_some()
    }
}

/// An absolute URL such as `http://host:port/announce` or `udp://host:port` (the library's
/// rule, which `$SWARM_TRACKER` is held to as well).
fn parse_url(text: &str) -> Result<String, String> {
    metainfo::create::check_url(text).map_err(|e| e.to_string())
}

/// A usage error found after the command line was parsed (a bad `$SWARM_TRACKER`, a piece
/// length other clients reject): reported like clap's own, with exit status 2.
#[derive(Debug)]
pub struct UsageError(pub String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// Exits with status 2 after printing `message` the way clap prints usage errors.
fn usage_error(kind: clap::error::ErrorKind, message: &str) -> ! {
    use clap::CommandFactory;
    Args::command().error(kind, message).exit()
}

fn main() -> ExitCode {
    let args = Args::parse();
    if (args.show.is_some() || args.verify.is_some()) && args.has_create_options() {
        usage_error(
            clap::error::ErrorKind::ArgumentConflict,
            "--show and --verify take no options for making a metainfo file",
        );
    }
    if args.json && args.show.is_none() {
        usage_error(
            clap::error::ErrorKind::MissingRequiredArgument,
            "--json only goes with --show FILE.meta (it prints what the metainfo holds as JSON)",
        );
    }
    match run(&args) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(err) => match err.downcast_ref::<UsageError>() {
            Some(usage) => usage_error(clap::error::ErrorKind::ValueValidation, &usage.0),
            None => {
                eprintln!("mkmeta: error: {err:#}");
                ExitCode::FAILURE
            }
        },
    }
}

/// Write `text` to stdout. A closed pipe (`mkmeta --show x | head`) is not an error: the
/// reader has what it wanted.
pub fn print_out(text: &str) -> anyhow::Result<()> {
    write_out(text.as_bytes())
}

/// Write `bytes` to stdout; a closed pipe is not an error (see [`print_out`]).
pub fn write_out(bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(anyhow::Error::new(e).context("cannot write to stdout"))
        }
        _ => Ok(()),
    }
}

/// Dispatch to the chosen mode; `Ok(false)` means "ran, but the answer is no" (bad data).
fn run(args: &Args) -> anyhow::Result<bool> {
    if let Some(meta) = &args.show {
        show::run(meta, args.json)?;
        return Ok(true);
    }
    let path = args
        .path
        .as_deref()
        .ok_or_else(|| anyhow::anyhow!("PATH is required"))?;
    if let Some(meta) = &args.verify {
        return verify::run(meta, path);
    }
    create::run(args, path)?;
    Ok(true)
}
