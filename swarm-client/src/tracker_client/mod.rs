//! Tracker client: finds peers by announcing to HTTP(S) trackers (BEP 3/23/7) and UDP
//! trackers (BEP 15), across BEP 12 announce-list tiers.
//!
//! - [`announcer`]: the long-running announce task the engine spawns.
//! - [`tracker`]: one tracker, HTTP or UDP by URL scheme (anything else is refused).
//! - [`http`] / [`udp`]: the two transports.
//! - [`request`]: what an announce says; [`error`]: why one failed.
//!
//! Only the URLs given (metainfo or user) are contacted: no redirects, no proxies.
//!
//! # Use from the engine
//!
//! ```no_run
//! # async fn demo(meta: metainfo::Metainfo, peer_id: swarm_client::wire::PeerId) {
//! use swarm_client::tracker_client::{Announcer, Event, TransferStats};
//! use tokio::sync::{mpsc, watch};
//!
//! let announcer = Announcer::new(meta.trackers(), meta.info_hash, peer_id, 6881);
//! let (stats_tx, stats_rx) = watch::channel(TransferStats { uploaded: 0, downloaded: 0, left: 1 });
//! let (events_tx, events_rx) = mpsc::channel(8);
//! let (peers_tx, mut peers_rx) = mpsc::channel(16);
//! let (status_tx, mut status_rx) = mpsc::channel(64);
//! let task = tokio::spawn(announcer.run(stats_rx, events_rx, peers_tx, status_tx));
//! // peers_rx yields Vec<SocketAddr> per reply; status_rx yields TrackerStatus to show.
//! // Keep stats_tx current; send Event::Completed when done, Event::NeedPeers when short.
//! events_tx.send(Event::Stopped).await.ok(); // on shutdown: `stopped`, bounded (5 s)
//! task.await.ok();
//! # drop((stats_tx, peers_rx.recv().await, status_rx.recv().await)); }
//! ```

pub mod announcer;
pub mod error;
pub mod http;
pub mod request;
pub mod tracker;
pub mod udp;

#[cfg(test)]
mod test_support;

pub use announcer::{Announcer, AnnouncerConfig, Event, TrackerStatus, TransferStats};
pub use error::TrackerError;
pub use request::{AnnounceEvent, AnnounceRequest};
pub use tracker::{Scheme, Tracker, check_url};
pub use udp::UdpConfig;
