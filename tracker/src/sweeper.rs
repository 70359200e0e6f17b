//! The background task that expires peers which stopped announcing.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::core::Tracker;
use crate::shutdown::Shutdown;
use crate::store::Store;

/// Seconds since the Unix epoch.
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Run the store's sweep every `every` until shutdown.
pub async fn run(tracker: Arc<Tracker>, every: Duration, mut shutdown: Shutdown) {
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            _ = shutdown.wait() => return,
        }
        match tracker.store.sweep(unix_now()).await {
            Ok(stats) if stats.peers_expired > 0 || stats.torrents_removed > 0 => {
                tracing::debug!(
                    peers = stats.peers_expired,
                    torrents = stats.torrents_removed,
                    "expired"
                );
            }
            Ok(_) => {}
            Err(e) => tracing::warn!("sweep failed: {e}"),
        }
    }
}
