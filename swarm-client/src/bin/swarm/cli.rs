//! Command-line interface: `swarm get SOURCE…` and `swarm seed PATH…`.

use std::path::PathBuf;

use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use swarm_client::disk::DiskIo;

use crate::units::{parse_duration, parse_rate, parse_ratio};

/// BitTorrent peer: downloads torrents from many peers at once and seeds them.
#[derive(Debug, Parser)]
#[command(name = "swarm", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// What to do.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Download torrents (several at once over one port), seeding while they download.
    Get(GetArgs),
    /// Seed metainfo files, library folders, or files of one's own (their metainfo is made as
    /// mkmeta would). The data is only read (a read-only folder is fine); pieces missing
    /// from it are not downloaded.
    Seed(SeedArgs),
}

/// `swarm get`.
#[derive(Debug, Args)]
pub struct GetArgs {
    /// What to download, any mix of: metainfo files (.meta / .torrent), http:// or https://
    /// URLs of metainfo files, and magnet links ('magnet:?xt=urn:btih:…', quoted; the
    /// metadata is fetched from the link's x.pe peers, its tr= trackers and --peer).
    #[arg(required = true, value_name = "SOURCE")]
    pub sources: Vec<PathBuf>,
    /// Also write the metainfo of the magnet link given to FILE once its metadata arrives
    /// (it is always kept in the state directory; the download folder gets only the
    /// torrent's files). Only with a single magnet link.
    #[arg(long, value_name = "FILE")]
    pub save_meta: Option<PathBuf>,
    /// Folder to download into: each torrent's files go to DIR/<its name>.
    #[arg(short = 'o', long = "output", default_value = ".", value_name = "DIR")]
    pub dir: PathBuf,
    /// Keep seeding after the downloads complete, until Ctrl-C (or --seed-ratio /
    /// --seed-time).
    #[arg(long)]
    pub seed: bool,
    #[command(flatten)]
    pub seeding: SeedingArgs,
    /// Give up on a torrent when nothing was downloaded for it for this many seconds (no
    /// peers, no tracker); 0 waits forever.
    #[arg(long, default_value_t = 90, value_name = "SECS")]
    pub timeout: u64,
    /// How to write the data: `buffered` through the page cache (the default; the kernel
    /// writes it back at its pace); `direct` straight to disk, bypassing the page cache (Linux
    /// O_DIRECT: less CPU and no eviction of other cached data, but every write waits for the
    /// device, much slower on a slow or busy disk); `auto` direct while the disk keeps up with
    /// the download, then buffered.
    #[arg(long, value_enum, default_value_t = DiskIo::Buffered, value_name = "MODE")]
    pub disk_io: DiskIo,
    #[command(flatten)]
    pub common: CommonArgs,
}

/// `swarm seed`.
#[derive(Debug, Args)]
pub struct SeedArgs {
    /// What to seed: a metainfo file (its data beside it, or in --data DIR); a library
    /// folder, one that `swarm get -o` downloaded into or that holds metainfo files with their
    /// data beside them (every such torrent is seeded); anything else is shared: its
    /// metainfo is made as `mkmeta PATH` would (hashing it once), written and printed with
    /// its magnet link. The first line printed says which.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Where the data of the metainfo files given is: DIR/<name> (default: the folder of
    /// each metainfo file).
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,
    /// The metainfo file of the torrent whose data is PATH (same as `swarm seed FILE --data
    /// PATH`).
    #[arg(long, value_name = "FILE")]
    pub meta: Option<PathBuf>,
    /// Read every folder given as files of one's own to share (make a metainfo for it), even
    /// if it holds metainfo files.
    #[arg(long, conflicts_with = "library")]
    pub share: bool,
    /// Read every folder given as a library: seed the torrents downloaded into it or whose
    /// metainfo files are at its top level with their data beside them.
    #[arg(long)]
    pub library: bool,
    /// Keep watching library folders: a metainfo file added (its data beside it) starts
    /// seeding, one removed stops, without a restart. Folders are read as libraries unless
    /// --share.
    #[arg(long)]
    pub watch: bool,
    #[command(flatten)]
    pub make: MakeArgs,
    #[command(flatten)]
    pub seeding: SeedingArgs,
    #[command(flatten)]
    pub common: CommonArgs,
}

/// How `swarm seed` makes the metainfo of files of one's own (as `mkmeta` does).
#[derive(Debug, Clone, Args)]
pub struct MakeArgs {
    /// Where to write the metainfo made for a shared file or folder (default: ./<name>.meta,
    /// or the state directory when the current directory is inside the shared folder).
    #[arg(long, value_name = "FILE")]
    pub meta_out: Option<PathBuf>,
    /// Overwrite an existing metainfo file of another torrent at that place.
    #[arg(long)]
    pub force: bool,
    /// Announce URL of the metainfo made; repeat for backup trackers. Default:
    /// $SWARM_TRACKER, else http://127.0.0.1:6969/announce (as mkmeta).
    #[arg(short = 't', long = "tracker", value_name = "URL")]
    pub trackers: Vec<String>,
    /// Mark the metainfo made private (BEP 27: trackers only, no peer exchange).
    #[arg(long)]
    pub private: bool,
    /// Piece length of the metainfo made (256K, 1M, 4MiB…; default: about 1,000-2,000
    /// pieces, as mkmeta).
    #[arg(long, value_name = "SIZE", value_parser = parse_rate)]
    pub piece_length: Option<u64>,
}

/// When to stop seeding (`get --seed` and `seed`); the process exits when no torrent is left.
#[derive(Debug, Clone, Args)]
pub struct SeedingArgs {
    /// Stop seeding a torrent once this session uploaded R times its size.
    #[arg(long, value_name = "R", value_parser = parse_ratio)]
    pub seed_ratio: Option<f64>,
    /// Stop seeding a torrent after seeding it this long (30s, 10m, 2h…).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub seed_time: Option<Duration>,
}

/// Options shared by `get` and `seed`.
#[derive(Debug, Clone, Args)]
pub struct CommonArgs {
    /// A peer to connect to (repeatable), with or without a tracker.
    #[arg(long = "peer", value_name = "HOST:PORT")]
    pub peers: Vec<String>,
    /// Port to listen on for other peers (one port serves every torrent): 6881 by default
    /// (or the next free up to 6889); 0 picks any free port.
    #[arg(long, value_name = "PORT")]
    pub port: Option<u16>,
    /// Address to listen on.
    #[arg(long, default_value = "0.0.0.0", value_name = "ADDR")]
    pub bind: std::net::IpAddr,
    /// Most peers connected at once, over all torrents (each costs a socket and up to a few
    /// MiB of buffers while busy).
    #[arg(long, default_value_t = 50, value_name = "N")]
    pub max_peers: usize,
    /// Peers we upload to at once, over all torrents (plus one optimistic unchoke). More
    /// slots keep the uplink busier (some unchoked peers ask nothing for a while) but give
    /// each peer a thinner share and weaken tit-for-tat. A torrent we seed keeps at most four
    /// of them once its peers hold every piece between them (they trade for the rest).
    #[arg(long, default_value_t = swarm_client::session::UPLOAD_SLOTS, value_name = "N")]
    pub upload_slots: usize,
    /// Most bytes per second uploaded, over all torrents (500K, 5MiB, 2MB…; 0 = no limit).
    #[arg(long, value_name = "RATE", value_parser = parse_rate, default_value = "0")]
    pub up_rate: u64,
    /// Most bytes per second downloaded, over all torrents (0 = no limit).
    #[arg(long, value_name = "RATE", value_parser = parse_rate, default_value = "0")]
    pub down_rate: u64,
    /// Do not contact the trackers named in the metainfo (use --peer only).
    #[arg(long)]
    pub no_tracker: bool,
    /// Where resume records and metainfo copies are kept (default
    /// $XDG_STATE_HOME/swarm, i.e. ~/.local/state/swarm).
    #[arg(long, env = "SWARM_STATE_DIR", value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    /// Without a terminal: print a status line per torrent this often.
    #[arg(long, default_value_t = 10, value_name = "SECS")]
    pub status_interval: u64,
    /// A line per peer under the progress view.
    #[arg(short, long)]
    pub verbose: bool,
    /// No progress output (errors only).
    #[arg(short, long, conflicts_with = "json")]
    pub quiet: bool,
    /// Progress as JSON lines on stdout, for scripts.
    #[arg(long)]
    pub json: bool,
}
