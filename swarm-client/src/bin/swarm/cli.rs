//! Command-line interface: `swarm get FILE.meta` and `swarm seed DIR`.

use std::path::PathBuf;

use crate::engine::DiskIo;
use clap::{Args, Parser, Subcommand};

/// BitTorrent peer: downloads a torrent from many peers at once and seeds it.
#[derive(Debug, Parser)]
#[command(name = "swarm", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// What to do.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Download the torrent described by a metainfo file, seeding while it downloads.
    Get(GetArgs),
    /// Seed a directory that holds a downloaded torrent (and its .meta file). Its files are
    /// only read (a read-only directory is fine); pieces missing from it are not downloaded.
    Seed(SeedArgs),
}

/// `swarm get`.
#[derive(Debug, Args)]
pub struct GetArgs {
    /// The metainfo (.meta / .torrent) file.
    pub meta: PathBuf,
    /// Directory to download into (the torrent's files are created inside it).
    #[arg(short = 'o', long = "output", default_value = ".")]
    pub dir: PathBuf,
    /// Keep seeding after the download completes, until Ctrl-C.
    #[arg(long)]
    pub seed: bool,
    /// Give up when nothing was downloaded for this many seconds (no peers, no tracker).
    #[arg(long, default_value_t = 90, value_name = "SECS")]
    pub timeout: u64,
    /// How to write the data: `direct` straight to disk, bypassing the page cache (Linux
    /// O_DIRECT: less CPU, no cache pollution, slower on a slow or busy disk); `buffered`
    /// through the page cache; `auto` direct while the disk keeps up with the download, then
    /// buffered.
    #[arg(long, value_enum, default_value_t = DiskIo::Auto, value_name = "MODE")]
    pub disk_io: DiskIo,
    #[command(flatten)]
    pub common: CommonArgs,
}

/// `swarm seed`.
#[derive(Debug, Args)]
pub struct SeedArgs {
    /// Directory holding the torrent's data (as downloaded by `swarm get -o DIR`).
    pub dir: PathBuf,
    /// The metainfo file (default: the single .meta file saved in DIR).
    #[arg(long, value_name = "FILE")]
    pub meta: Option<PathBuf>,
    #[command(flatten)]
    pub common: CommonArgs,
}

/// Options shared by `get` and `seed`.
#[derive(Debug, Clone, Args)]
pub struct CommonArgs {
    /// A peer to connect to (repeatable), with or without a tracker.
    #[arg(long = "peer", value_name = "HOST:PORT")]
    pub peers: Vec<String>,
    /// Port to listen on for other peers: 6881 by default (or the next free up to 6889);
    /// 0 picks any free port.
    #[arg(long, value_name = "PORT")]
    pub port: Option<u16>,
    /// Address to listen on.
    #[arg(long, default_value = "0.0.0.0", value_name = "ADDR")]
    pub bind: std::net::IpAddr,
    /// Most peers connected at once.
    #[arg(long, default_value_t = 50, value_name = "N")]
    pub max_peers: usize,
    /// Do not contact the trackers named in the metainfo (use --peer only).
    #[arg(long)]
    pub no_tracker: bool,
    /// A line per peer under the progress bar.
    #[arg(short, long)]
    pub verbose: bool,
    /// No progress output (errors only).
    #[arg(short, long, conflicts_with = "json")]
    pub quiet: bool,
    /// Progress as JSON lines on stdout, for scripts.
    #[arg(long)]
    pub json: bool,
}
