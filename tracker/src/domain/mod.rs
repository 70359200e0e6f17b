//! The tracker's vocabulary, at the bottom of the crate: what an announce is, the rules that
//! turn what a client sent into one, and what a swarm looks like to an announcer. Nothing
//! here does I/O or knows a transport or a store; the stores, the core and both front ends
//! (HTTP, UDP) build on it.

mod announce;
mod clock;
mod swarm;

pub use announce::{AnnounceInput, AnnounceParams, AnnouncePolicy, BadAnnounce, PeerId};
pub use clock::unix_now;
pub use metainfo::InfoHash;
pub use metainfo::tracker::{Event, ScrapeStats};
pub use swarm::{StoreSummary, SwarmView, SweepStats};
