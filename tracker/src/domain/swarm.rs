//! What a swarm looks like to one announcer, and what a sweep removed.

/// The swarm as one announcer sees it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SwarmView {
    /// Seeders, the announcer included if it is one.
    pub complete: u32,
    /// Leechers, the announcer included if it is one.
    pub incomplete: u32,
    /// Compact IPv4 peers, 6 bytes each; never the announcer.
    pub peers_v4: Vec<u8>,
    /// Compact IPv6 peers, 18 bytes each; same rules.
    pub peers_v6: Vec<u8>,
    /// The ids of the peers in `peers_v4` then `peers_v6`, in the same order; empty unless
    /// asked for (`want_peer_ids`) and kept by the store.
    pub peer_ids: Vec<[u8; 20]>,
}

/// What a sweep removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SweepStats {
    /// Peers dropped because they did not re-announce within the peer lifetime.
    pub peers_expired: usize,
    /// Torrents dropped because no peer was left.
    pub torrents_removed: usize,
}

/// Totals over every swarm, and the busiest ones.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoreSummary {
    /// Torrents with at least one peer.
    pub torrents: u64,
    pub seeders: u64,
    pub leechers: u64,
    /// Up to the number asked for, most peers first.
    pub busiest: Vec<(metainfo::InfoHash, metainfo::tracker::ScrapeStats)>,
}

impl StoreSummary {
    /// Keep the `top` busiest of `all` (by seeders + leechers) in `self.busiest`.
    pub fn keep_busiest(
        &mut self,
        mut all: Vec<(metainfo::InfoHash, metainfo::tracker::ScrapeStats)>,
        top: usize,
    ) {
        all.sort_by(|a, b| {
            let peers = |s: &metainfo::tracker::ScrapeStats| s.complete + s.incomplete;
            peers(&b.1).cmp(&peers(&a.1)).then(a.0.cmp(&b.0))
        });
        all.truncate(top);
        self.busiest = all;
    }
}
