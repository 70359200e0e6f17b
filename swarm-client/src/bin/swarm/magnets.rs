//! The magnet links of a `swarm get`, resolved while the session runs: one task per link
//! fetches the metadata from peers (see `swarm_client::magnet`), then its torrent joins the
//! session like one from a metainfo file. Other torrents download meanwhile.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use metainfo::{Magnet, Metainfo};
use swarm_client::magnet::{ResolveConfig, ResolveError, resolve};
use swarm_client::session::Session;
use swarm_client::torrent::TorrentSpec;
use tokio::task::JoinSet;

/// Most peers asked for one link's metadata at once.
const METADATA_PEERS: usize = 16;

/// How the torrents of a `swarm get` are set up, whatever their source.
#[derive(Debug, Clone)]
pub struct SpecTemplate {
    pub data_dir: PathBuf,
    pub keep_seeding: bool,
    pub use_trackers: bool,
    pub stall_timeout: Option<Duration>,
    pub seed_ratio: Option<f64>,
    pub seed_time: Option<Duration>,
}

impl SpecTemplate {
    /// The torrent of `meta`, to download into the template's folder.
    pub fn spec(&self, meta: Metainfo) -> TorrentSpec {
        TorrentSpec {
            meta,
            data_dir: self.data_dir.clone(),
            seed_only: false,
            keep_seeding: self.keep_seeding,
            peers: Vec::new(),
            use_trackers: self.use_trackers,
            stall_timeout: self.stall_timeout,
            verified: None,
            seed_ratio: self.seed_ratio,
            seed_time: self.seed_time,
        }
    }
}

/// A magnet link to resolve.
pub struct MagnetJob {
    pub magnet: Magnet,
    pub template: SpecTemplate,
    /// `--save-meta FILE`: also write the metainfo there.
    pub save_meta: Option<PathBuf>,
}

/// How a link's resolution ended: its torrent, or a failure (exit status and message).
pub type Resolution = Result<TorrentSpec, (u8, String)>;

/// The links being resolved.
#[derive(Default)]
pub struct Resolving {
    tasks: JoinSet<Resolution>,
}

impl Resolving {
    /// Starts resolving every job, asking `peers` as well as each link's own.
    pub fn start(jobs: Vec<MagnetJob>, session: &Session, peers: &[SocketAddr]) -> Self {
        let mut tasks = JoinSet::new();
        for job in jobs {
            let config = ResolveConfig {
                peer_id: session.peer_id(),
                listen_port: session.listen_port(),
                peers: peers.to_vec(),
                use_trackers: job.template.use_trackers,
                timeout: job.template.stall_timeout,
                max_connections: METADATA_PEERS,
            };
            tasks.spawn(run(job, config));
        }
        Self { tasks }
    }

    /// Links still being resolved.
    pub fn pending(&self) -> usize {
        self.tasks.len()
    }

    /// The next resolution to finish; never resolves when none is pending.
    pub async fn next(&mut self) -> Resolution {
        match self.tasks.join_next().await {
            Some(Ok(resolution)) => resolution,
            Some(Err(e)) => Err((1, format!("magnet link: the metadata task failed: {e}"))),
            None => std::future::pending().await,
        }
    }
}

async fn run(job: MagnetJob, config: ResolveConfig) -> Resolution {
    let label = label(&job.magnet);
    let resolved = resolve(&job.magnet, config).await.map_err(|e| {
        let status = match e {
            ResolveError::NoSources => 2,
            ResolveError::Timeout { .. } => 6,
            ResolveError::Invalid(_) => 3,
        };
        (status, format!("{label}: {e}"))
    })?;
    if let Some(path) = &job.save_meta {
        save(path, &resolved.meta).map_err(|e| (4, format!("{e:#}")))?;
    }
    let mut spec = job.template.spec(resolved.meta);
    spec.peers = resolved.peers;
    Ok(spec)
}

/// The link as the user knows it: its display name, else its info-hash.
pub fn label(magnet: &Magnet) -> String {
    match &magnet.name {
        Some(name) => format!("magnet {name} ({})", magnet.info_hash),
        None => format!("magnet {}", magnet.info_hash),
    }
}

fn save(path: &PathBuf, meta: &Metainfo) -> anyhow::Result<()> {
    std::fs::write(path, meta.to_bytes())
        .with_context(|| format!("cannot write --save-meta {}", path.display()))
}
